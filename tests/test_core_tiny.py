"""Hand-built logs with exact expectations: loading, quarantine, ordering, DFG, variants."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest

from mining import discovery
from mining.config import ColumnMap
from mining.sources.delimited import read_csv
from mining.sources.files import SourceError
from mining.warehouse import connect, migrations
from mining.warehouse.load import load_batch
from mining.warehouse.prepare import prepare


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def load_csv(con, path: Path, timezone: str = "UTC", **kw):
    return load_batch(con, read_csv(path, **kw), process="p", source="s", location=str(path), timezone=timezone)


TINY = """case_id,activity,timestamp,resource
c1,a,2024-01-01 10:00:00,r1
c1,b,2024-01-01 11:00:00,r2
c1,c,2024-01-01 13:00:00,r1
c2,a,2024-01-02 10:00:00,r1
c2,c,2024-01-02 10:30:00,r1
c3,a,2024-01-03 09:00:00,r3
c3,b,2024-01-03 09:10:00,r2
c3,b,2024-01-03 09:20:00,r2
c3,c,2024-01-03 09:50:00,r1
c4,a,2024-01-04 09:00:00,r3
c4,b,2024-01-04 10:00:00,r2
c4,c,2024-01-04 12:00:00,r1
"""


@pytest.fixture
def tiny(tmp_path):
    con = connect(":memory:")
    result = load_csv(con, write(tmp_path / "tiny.csv", TINY))
    prepare(con, "p")
    yield con, result
    con.close()


def test_tiny_log_counts_and_variants(tiny):
    con, result = tiny
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (12, 12, 0)
    assert discovery.variants(con, "p") == Counter({("a", "b", "c"): 2, ("a", "c"): 1, ("a", "b", "b", "c"): 1})
    ranks = con.execute("SELECT activities, rank, share FROM variants ORDER BY rank").fetchall()
    assert ranks[0] == (["a", "b", "c"], 1, 0.5)


def test_tiny_log_dfg_edges_with_durations(tiny):
    con, _ = tiny
    rows = con.execute(
        "SELECT source_activity, target_activity, frequency, n_cases, mean_s, median_s FROM dfg_edges ORDER BY 1, 2"
    ).fetchall()
    assert rows == [
        ("a", "b", 3, 3, (3600 + 600 + 3600) / 3, 3600.0),
        ("a", "c", 1, 1, 1800.0, 1800.0),
        ("b", "b", 1, 1, 600.0, 600.0),
        ("b", "c", 3, 3, (7200 + 1800 + 7200) / 3, 7200.0),
    ]
    starts = con.execute("SELECT activity, n_start, n_end FROM activity_stats ORDER BY 1").fetchall()
    assert starts == [("a", 4, 0), ("b", 0, 0), ("c", 0, 4)]


def test_cases_table(tiny):
    con, _ = tiny
    row = con.execute(
        "SELECT n_events, duration_s, first_activity, last_activity FROM cases WHERE case_id='c3'"
    ).fetchall()
    assert row == [(4, 3000.0, "a", "c")]


def test_equal_timestamps_keep_file_order(tmp_path):
    con = connect(":memory:")
    log = "case,activity,time\nx,second,2024-01-01 10:00\nx,first,2024-01-01 10:00\nx,third,2024-01-01 11:00\n"
    load_csv(con, write(tmp_path / "ties.csv", log))
    prepare(con, "p")
    assert discovery.variants(con, "p") == Counter({("second", "first", "third"): 1})


def test_out_of_order_rows_are_sorted_by_time(tmp_path):
    con = connect(":memory:")
    log = "case,activity,time\nx,b,2024-01-01 11:00\nx,a,2024-01-01 10:00\n"
    load_csv(con, write(tmp_path / "ooo.csv", log))
    prepare(con, "p")
    assert discovery.variants(con, "p") == Counter({("a", "b"): 1})


def test_naive_timestamps_take_the_configured_zone_and_offsets_are_kept(tmp_path):
    con = connect(":memory:")
    log = (
        "case,activity,time\n"
        "x,winter,2024-01-15 12:00:00\n"
        "x,summer,2024-07-15 12:00:00\n"
        "x,explicit,2024-07-16T12:00:00+00:00\n"
    )
    load_csv(con, write(tmp_path / "tz.csv", log), timezone="Europe/Amsterdam")
    rows = con.execute("SELECT activity, strftime(ts, '%Y-%m-%d %H:%M') FROM events ORDER BY seq").fetchall()
    assert rows == [("winter", "2024-01-15 11:00"), ("summer", "2024-07-15 10:00"), ("explicit", "2024-07-16 12:00")]


def test_bad_rows_go_to_quarantine_with_reasons(tmp_path):
    con = connect(":memory:")
    log = (
        "case_id,activity,timestamp\n"
        "c1,a,2024-01-01 10:00\n"
        ",a,2024-01-01 10:00\n"
        "c1,,2024-01-01 10:00\n"
        "c1,b,\n"
        "c1,c,not a time\n"
        "c1,d,2024-02-30 10:00\n"
    )
    result = load_csv(con, write(tmp_path / "bad.csv", log))
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (6, 1, 5)
    reasons = con.execute("SELECT row_number, reason FROM quarantine ORDER BY row_number").fetchall()
    assert reasons == [
        (2, "missing case id"),
        (3, "missing activity"),
        (4, "missing timestamp"),
        (5, "unparseable timestamp: not a time"),
        (6, "unparseable timestamp: 2024-02-30 10:00"),
    ]
    raw = con.execute("SELECT raw->>'activity' FROM quarantine WHERE row_number = 5").fetchall()
    assert raw == [("c",)]
    audit = con.execute("SELECT rows_read, rows_loaded, rows_quarantined, status FROM load_audit").fetchall()
    assert audit == [(6, 1, 5, "committed")]


def test_loading_the_same_file_twice_changes_nothing(tmp_path):
    path = write(tmp_path / "tiny.csv", TINY + "c4,c,2024-01-04 12:00:00,r1\n")  # a true duplicate row
    con = connect(":memory:")
    first = load_csv(con, path)
    snapshot = con.execute("SELECT * FROM events ORDER BY event_key").fetchall()
    second = load_csv(con, path)
    assert first.rows_new == 13  # the duplicate event is kept once per occurrence
    assert second.rows_new == 0 and second.rows_loaded == 13
    assert con.execute("SELECT * FROM events ORDER BY event_key").fetchall() == snapshot


def test_a_new_row_in_a_reload_is_the_only_one_added(tmp_path):
    con = connect(":memory:")
    load_csv(con, write(tmp_path / "a.csv", TINY))
    result = load_csv(con, write(tmp_path / "a.csv", TINY + "c5,a,2024-01-05 09:00:00,r1\n"))
    assert result.rows_new == 1
    assert con.execute("SELECT count(*) FROM events").fetchall() == [(13,)]


def test_attributes_are_kept_as_json(tmp_path):
    con = connect(":memory:")
    load_csv(con, write(tmp_path / "attrs.csv", "case,activity,time,channel,amount\nx,a,2024-01-01,phone,12\n"))
    assert con.execute("SELECT attrs->>'channel', attrs->>'amount' FROM events").fetchall() == [("phone", "12")]


def test_csv_column_mapping_and_clear_errors(tmp_path):
    path = write(tmp_path / "odd.csv", "ticket;step;when\nt1;open;2024-01-01 08:00\n")
    with pytest.raises(SourceError, match=r"odd\.csv: only one column found.*delimiter.*','"):
        read_csv(path, delimiter=",")
    with pytest.raises(SourceError, match=r"odd\.csv: no column for case_id, activity, ts.*columns\.case_id"):
        read_csv(path)  # the delimiter is sniffed; the names are not common ones
    table = read_csv(path, ColumnMap(case_id="ticket", activity="step", ts="when"))
    assert table.column("case_id").to_pylist() == ["t1"]
    with pytest.raises(SourceError, match=r"column 'nope' \(config key columns.activity\)"):
        read_csv(path, ColumnMap(case_id="ticket", activity="nope", ts="when"), delimiter=";")


def test_empty_and_missing_files_name_the_file(tmp_path):
    with pytest.raises(SourceError, match=r"empty\.csv: the file is empty"):
        read_csv(write(tmp_path / "empty.csv", ""))
    with pytest.raises(SourceError, match=r"missing\.csv: file not found"):
        read_csv(tmp_path / "missing.csv")


def test_arrow_batches_with_typed_timestamps(tmp_path):
    con = connect(":memory:")
    table = pa.table(
        {
            "case_id": ["1", "1"],
            "activity": ["a", "b"],
            "ts": pa.array([0, 60_000_000], pa.timestamp("us", tz="UTC")),
        }
    )
    load_batch(con, table, process="p", source="s", location="arrow")
    assert con.execute("SELECT epoch(ts) FROM events ORDER BY seq").fetchall() == [(0.0,), (60.0,)]


def test_migrations_are_numbered_and_tracked():
    versions = [v for v, _, _ in migrations()]
    assert versions == sorted(versions) and versions[:2] == [1, 2]
    con = connect(":memory:")
    assert [r[0] for r in con.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()] == versions


def test_imf_on_a_tiny_log_fits_perfectly_without_noise_filtering(tiny):
    con, _ = tiny
    model = discovery.discover_imf(discovery.variants(con, "p"), noise_threshold=0.0)
    quality = discovery.evaluate(model, discovery.variants(con, "p"))
    assert quality["fitness"] == 1.0
    assert {t.label for t in model.net.transitions if t.label} == {"a", "b", "c"}
