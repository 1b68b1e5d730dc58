"""run_process_steps: discover and attribution run in threads beside later steps; the results must be those of
the steps run one by one, and a failure in the background step must not go unnoticed."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import pytest

from mining import exports, pipeline

LOG = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "logs" / "receipt.xes.gz"
RESULT_FILES = ("as-is.bpmn", "to-be.bpmn", "moments.csv", "waste.csv", "models/receipt/imf.pnml")
SKIP_TABLES = {"load_audit"}  # holds the wall-clock time of each load


def ingested(out: Path):
    config = pipeline.config_for_log(LOG)
    out.mkdir(parents=True, exist_ok=True)
    for source in config.sources:
        pipeline.ingest_source(pipeline.warehouse_path(out), config, source)
    return config, config.processes[0]


def table_rows(warehouse: Path) -> dict[str, list]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        names = [
            r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()
        ]
        return {
            n: sorted(map(repr, con.execute(f'SELECT * FROM "{n}"').fetchall())) for n in names if n not in SKIP_TABLES
        }
    finally:
        con.close()


def test_steps_side_by_side_give_what_one_by_one_gives(tmp_path):
    config, process = ingested(tmp_path / "one")
    one_by_one = {}
    for _name, step in pipeline.PROCESS_STEPS:
        one_by_one.update(step(pipeline.warehouse_path(tmp_path / "one"), config, process, tmp_path / "one"))
    exports.write_outputs(pipeline.warehouse_path(tmp_path / "one"), config, tmp_path / "one")

    config, process = ingested(tmp_path / "beside")
    said = []
    figures, seconds = pipeline.run_process_steps(
        pipeline.warehouse_path(tmp_path / "beside"),
        config,
        process,
        tmp_path / "beside",
        progress=lambda message: said.append((message, threading.current_thread().name)),
    )
    exports.write_outputs(pipeline.warehouse_path(tmp_path / "beside"), config, tmp_path / "beside")

    assert list(seconds) == [name for name, _ in pipeline.PROCESS_STEPS]
    # progress comes in step order and from the caller's thread only: a printing callback called
    # from two threads at once can run two messages into one line (a CI run lost "discover loans" so)
    caller = threading.current_thread().name
    assert said == [(f"{name} {process}", caller) for name, _ in pipeline.PROCESS_STEPS]
    # the same figures in the same key order (file paths name their own output folder)
    assert repr(figures) == repr(one_by_one).replace(str(tmp_path / "one"), str(tmp_path / "beside"))
    for name in RESULT_FILES:
        assert (tmp_path / "beside" / name).read_bytes() == (tmp_path / "one" / name).read_bytes(), name
    assert table_rows(tmp_path / "beside" / "warehouse.duckdb") == table_rows(tmp_path / "one" / "warehouse.duckdb")


# A step beside the others, and a file that the step reading its results would write.
NEVER_WRITTEN = {
    "discover": "as-is.bpmn",  # bpmn needs discover's model
    "attribution": "warehouse.snapshot.duckdb",  # queries publishes the snapshot after it
}


@pytest.mark.parametrize("beside", sorted(pipeline.BESIDE))
def test_a_step_beside_runs_in_another_thread_and_its_failure_stops_the_run(tmp_path, monkeypatch, beside):
    config, process = ingested(tmp_path)
    seen = {}

    def failing(warehouse, config, process, out_dir):
        seen["thread"] = threading.current_thread().name
        raise RuntimeError(f"{beside} failed")

    steps = [(n, failing if n == beside else s) for n, s in pipeline.PROCESS_STEPS]
    monkeypatch.setattr(pipeline, "PROCESS_STEPS", steps)
    with pytest.raises(RuntimeError, match=f"{beside} failed"):
        pipeline.run_process_steps(pipeline.warehouse_path(tmp_path), config, process, tmp_path)
    assert seen["thread"].startswith("mot-beside")
    assert not (tmp_path / NEVER_WRITTEN[beside]).exists()  # the step that reads it is never reached


def test_steps_side_by_side_may_open_and_close_connections_at_will(tmp_path, monkeypatch):
    """A step closing the last connection while another thread opens one raced DuckDB's instance cache
    ("Unique file handle conflict": a CI run lost `mot run` so); the database stays open meanwhile."""
    from mining.warehouse import connect

    config, process = ingested(tmp_path)
    opened = []

    def churn(warehouse, config, process, out_dir):
        for _ in range(150):
            with connect(warehouse) as con:
                opened.append(con.execute("SELECT count(*) FROM events").fetchall()[0][0])
        return {}

    monkeypatch.setattr(pipeline, "PROCESS_STEPS", [(n, churn) for n, _ in pipeline.PROCESS_STEPS])
    pipeline.run_process_steps(pipeline.warehouse_path(tmp_path), config, process, tmp_path)
    assert len(opened) == 150 * len(pipeline.PROCESS_STEPS) and len(set(opened)) == 1
