"""Activity instances: lifecycle events merged into one occurrence with its queue and service time,
on hand-built logs with every figure worked out by hand, and on the real logs with lifecycles."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from mining import pipeline
from mining.config import ConfigError, parse_config
from mining.config.instances import Instances
from mining.warehouse import connect
from mining.warehouse.load import load_batch
from mining.warehouse.prepare import prepare, prepare_process

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
LOGS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "logs"


def table(rows: list[tuple]) -> pa.Table:
    """(case, minute, activity, lifecycle, resource, attrs) rows as a loadable Arrow table."""
    case, minute, activity, lifecycle, resource, attrs = zip(*rows, strict=True)
    columns = {
        "case_id": pa.array(case, pa.string()),
        "activity": pa.array(activity, pa.string()),
        "ts": pa.array([T0 + timedelta(minutes=m) for m in minute], pa.timestamp("us", tz="UTC")),
        "lifecycle": pa.array(lifecycle, pa.string()),
        "resource": pa.array(resource, pa.string()),
    }
    keys = sorted({k for a in attrs for k in a})
    for key in keys:
        columns[key] = pa.array([a.get(key) for a in attrs], pa.string())
    return pa.table(columns)


def instances(rows: list[tuple], settings: Instances | None = None) -> list[tuple]:
    con = connect(":memory:")
    load_batch(con, table(rows), process="p", source="s", location="test")
    prepare(con, "p", settings)
    found = con.execute(
        "SELECT case_id, instance_pos, activity, n_events, queue_s, service_s, idle_s, resource, closed "
        "FROM activity_instances ORDER BY case_id, instance_pos"
    ).fetchall()
    mapped = con.execute(
        "SELECT count(*), count(DISTINCT (case_id, pos)) FROM event_instances WHERE process = 'p'"
    ).fetchall()[0]
    events = con.execute("SELECT count(*) FROM event_log").fetchall()[0][0]
    con.close()
    assert mapped == (events, events)  # every event belongs to exactly one instance
    return found


def test_schedule_start_complete_is_one_instance_with_queue_and_service_time():
    rows = [
        ("c", 0, "Call", "schedule", "sys", {}),
        ("c", 30, "Call", "start", "ann", {}),
        ("c", 40, "Call", "complete", "ann", {}),
        ("c", 100, "Letter", "complete", "bob", {}),
    ]
    assert instances(rows) == [
        ("c", 1, "Call", 3, 1800.0, 600.0, None, "ann", True),
        ("c", 2, "Letter", 1, None, None, 3600.0, "bob", True),
    ]


def test_each_session_of_a_scheduled_item_is_its_own_instance():
    # One schedule, then two call sessions: two calls, the first one waited 10 minutes in the queue.
    rows = [
        ("c", 0, "Call", "SCHEDULE", "sys", {}),
        ("c", 10, "Call", "START", "ann", {}),
        ("c", 15, "Call", "COMPLETE", "ann", {}),
        ("c", 60, "Call", "START", "bob", {}),
        ("c", 80, "Call", "COMPLETE", "bob", {}),
    ]
    assert instances(rows) == [
        ("c", 1, "Call", 3, 600.0, 300.0, None, "ann", True),
        ("c", 2, "Call", 2, None, 1200.0, 2700.0, "bob", True),
    ]


def test_interleaved_activities_pair_by_name_and_an_unclosed_start_stays_open():
    rows = [
        ("c", 0, "A", "start", "ann", {}),
        ("c", 5, "B", "start", "bob", {}),
        ("c", 20, "A", "complete", "ann", {}),
        ("c", 50, "B", "complete", "bob", {}),
        ("c", 60, "A", "start", "ann", {}),
    ]
    assert instances(rows) == [
        ("c", 1, "A", 2, None, 1200.0, None, "ann", True),
        ("c", 2, "B", 2, None, 2700.0, 0.0, "bob", True),  # started before A ended: no idle time
        ("c", 3, "A", 1, None, None, 600.0, "ann", False),
    ]


def test_an_interval_event_takes_its_start_from_the_attribute():
    start = (T0 + timedelta(minutes=5)).isoformat()
    rows = [
        ("c", 0, "Order", None, "cust", {}),
        ("c", 20, "Invoice", None, "sys", {"start_timestamp": start}),
    ]
    assert instances(rows) == [
        ("c", 1, "Order", 1, None, None, None, "cust", True),
        ("c", 2, "Invoice", 1, None, 900.0, 300.0, "sys", True),
    ]


def test_with_the_lifecycle_in_the_classifier_every_event_is_an_instance_of_its_own_name():
    rows = [
        ("c", 0, "Call", "start", "ann", {}),
        ("c", 10, "Call", "complete", "ann", {}),
    ]
    found = instances(rows, Instances(classifier=["activity", "lifecycle"]))
    assert [(f[2], f[3], f[5]) for f in found] == [("Call+start", 1, None), ("Call+complete", 1, None)]


def test_an_attribute_in_the_classifier_splits_an_activity():
    rows = [
        ("c", 0, "Call", None, "ann", {"channel": "phone"}),
        ("c", 10, "Call", None, "ann", {"channel": "video"}),
        ("d", 0, "Call", None, "ann", {}),
    ]
    found = instances(rows, Instances(classifier=["activity", "channel"]))
    assert [f[2] for f in found] == ["Call+phone", "Call+video", "Call+"]


def test_a_classifier_that_names_a_field_twice_is_a_config_error():
    with pytest.raises(ConfigError, match=r"instances.classifier: .*names a field twice"):
        parse_config({"instances": {"classifier": ["activity", "activity"]}})


def test_instances_leave_the_raw_event_tables_as_they_were():
    rows = [
        ("c", 0, "Call", "schedule", "sys", {}),
        ("c", 30, "Call", "start", "ann", {}),
        ("c", 40, "Call", "complete", "ann", {}),
    ]
    con = connect(":memory:")
    load_batch(con, table(rows), process="p", source="s", location="test")
    prepare(con, "p")
    # the raw DFG keeps the lifecycle events (pm4py's view): Call -> Call twice
    assert con.execute("SELECT source_activity, target_activity, frequency FROM dfg_edges").fetchall() == [
        ("Call", "Call", 2)
    ]
    con.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("log", "activity"),
    [("bpic2012.xes.gz", "W_Nabellen offertes"), ("reviewing.xes.gz", None)],
)
def test_one_instance_per_started_work_on_the_real_logs_with_lifecycles(tmp_path, log, activity):
    config = pipeline.config_for_log(LOGS / log)
    warehouse = tmp_path / "w.duckdb"
    for source in config.sources:
        pipeline.ingest_source(warehouse, config, source)
    prepare_process(warehouse, config.processes[0], config.instances)
    with connect(warehouse) as con:
        starts = dict(
            con.execute(
                "SELECT activity, count(*) FROM event_log WHERE lower(lifecycle) = 'start' GROUP BY 1"
            ).fetchall()
        )
        merged = dict(
            con.execute(
                "SELECT activity, count(*) FROM activity_instances WHERE 'start' IN "
                "(SELECT lower(unnest(lifecycles))) GROUP BY 1"
            ).fetchall()
        )
        unmapped = con.execute(
            "SELECT count(*) FROM event_log e ANTI JOIN event_instances i USING (process, case_id, pos)"
        ).fetchall()[0][0]
    assert starts and merged == starts  # every started piece of work is one instance
    if activity:  # a call of BPIC2012: SCHEDULE / START / COMPLETE were three events, now one call
        assert merged[activity] < starts[activity] * 3
    assert unmapped == 0


@pytest.mark.slow
def test_interval_events_get_their_service_time_from_start_timestamp(tmp_path):
    config = pipeline.config_for_log(LOGS / "interval_event_log.xes.gz")
    warehouse = tmp_path / "w.duckdb"
    for source in config.sources:
        pipeline.ingest_source(warehouse, config, source)
    prepare_process(warehouse, config.processes[0], config.instances)
    with connect(warehouse) as con:
        rows = con.execute(
            "SELECT i.service_s, epoch(e.ts) - epoch(CAST(json_extract_string(e.attrs, '$.start_timestamp') AS TIMESTAMPTZ)) "
            "FROM activity_instances i JOIN event_log e ON e.process = i.process AND e.case_id = i.case_id "
            "AND e.pos = i.first_pos"
        ).fetchall()
    assert rows and all(service == expected for service, expected in rows)


def test_mot_run_with_a_config_applies_its_column_mapping_to_the_log(tmp_path):
    log = tmp_path / "tickets.csv"
    log.write_text("ticket;step;when\nt1;open;2025-01-01 10:00:00\nt1;close;2025-01-02 10:00:00\n", "utf-8")
    config_file = tmp_path / "project.yaml"
    config_file.write_text(
        json.dumps(
            {
                "sources": [
                    {
                        "name": "tickets",
                        "kind": "csv",
                        "process": "helpdesk",
                        "path": "placeholder.csv",
                        "delimiter": ";",
                        "columns": {"case_id": "ticket", "activity": "step", "ts": "when"},
                    }
                ],
                "instances": {"classifier": ["activity"]},
            }
        ),
        "utf-8",
    )
    config = pipeline.config_for_log(log, config_file)
    assert [(s.name, s.process, s.path, s.delimiter) for s in config.sources] == [
        ("tickets", "helpdesk", str(log.resolve()), ";")
    ]
    summary = pipeline.run(config, tmp_path / "out")
    assert summary.processes["helpdesk"]["cases"] == 1 and summary.processes["helpdesk"]["events"] == 2
