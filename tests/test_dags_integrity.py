"""DAG integrity: every file in dags/ imports without errors, for the demo config and for a config
with every source kind; every DAG has tags and doc_md, every task retries at least twice with
back-off, the DuckDB writers share the one-slot pool, and parsing stays light."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mining.orchestration import MINING_DAG_ID, POOL

REPO = Path(__file__).resolve().parents[1]
DAGS = REPO / "dags"
WRITERS = {"plan", "load"}  # extraction tasks that open the warehouse
MINING_WRITERS = {"processes", "mine.snapshot", "mine.merge", "publish"}  # mining: everything but analyse


def all_kinds_config(folder: Path) -> Path:
    sources = [
        {
            "name": "crm_pg",
            "kind": "postgres",
            "conn_id": "crm",
            "schedule": "0 6 * * 1-5",
            "mappings": [{"name": "calls", "sql": "SELECT 1", "incremental_column": "id"}],
        },
        {
            "name": "shop_mysql",
            "kind": "mysql",
            "conn_id": "shop",
            "process": "orders",
            "mappings": [{"name": "orders", "sql": "SELECT 1"}],
        },
        {
            "name": "erp_sqlite",
            "kind": "sqlite",
            "path": "erp.sqlite",
            "schedule": "@hourly",
            "mappings": [{"name": "po", "sql": "SELECT 1"}],
        },
        {"name": "drops", "kind": "csv", "path": "drops/*.csv", "schedule": None},
        {
            "name": "p2p",
            "kind": "ocel",
            "path": "p2p.sqlite",
            "ocel_object_type": "Invoice",
            "process": "p2p",
            "schedule": "@once",
        },
        {"name": "log", "kind": "xes", "path": "log.xes.gz"},
    ]
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump({"project": "integrity", "sources": sources}))
    return path


def parse(monkeypatch, config: Path | None, out: Path):
    from airflow.dag_processing.dagbag import DagBag

    if config is None:
        monkeypatch.delenv("MOT_CONFIG", raising=False)
    else:
        monkeypatch.setenv("MOT_CONFIG", str(config))
    monkeypatch.setenv("MOT_OUT", str(out))
    return DagBag(dag_folder=str(DAGS), known_pools={POOL})


@pytest.mark.parametrize("which", ["demo", "all_kinds"])
def test_every_dag_imports_and_follows_the_house_rules(airflow_home, monkeypatch, tmp_path, which):
    config = all_kinds_config(tmp_path) if which == "all_kinds" else None
    bag = parse(monkeypatch, config, tmp_path / "out")
    assert bag.import_errors == {}
    assert not bag.captured_warnings  # e.g. a task in a pool Airflow does not know
    expected = (
        {"mot_extract_loans"}
        if which == "demo"
        else {f"mot_extract_{n}" for n in ("crm_pg", "shop_mysql", "erp_sqlite", "drops", "p2p", "log")}
    )
    assert set(bag.dags) == expected | {MINING_DAG_ID}
    for dag_id, dag in bag.dags.items():
        assert dag.tags and "mot" in dag.tags, dag_id
        assert dag.doc_md and dag.doc_md.strip(), dag_id
        for task in dag.tasks:
            assert task.retries >= 2 and task.retry_exponential_backoff > 1, (dag_id, task.task_id)
            writes = task.task_id in (MINING_WRITERS if dag_id == MINING_DAG_ID else WRITERS)
            assert (task.pool == POOL) == writes, (dag_id, task.task_id, task.pool)
    assert not (tmp_path / "out").exists()  # parsing opens no warehouse and writes nothing


def test_extraction_and_mining_dags_meet_at_the_assets(airflow_home, monkeypatch, tmp_path):
    bag = parse(monkeypatch, all_kinds_config(tmp_path), tmp_path / "out")
    loads = {dag_id: dag.get_task("changed") for dag_id, dag in bag.dags.items() if dag_id != MINING_DAG_ID}
    outlets = {dag_id: [a.uri for a in task.outlets] for dag_id, task in loads.items()}
    assert outlets["mot_extract_crm_pg"] == ["x-mot://integrity/events/crm_pg"]
    # The Asset's outlet is on `changed`, after `load`, which runs when all extractions ended.
    crm_pg = bag.dags["mot_extract_crm_pg"]
    assert crm_pg.get_task("load").trigger_rule == "all_done" and not crm_pg.get_task("load").outlets
    assert crm_pg.get_task("changed").upstream_task_ids == crm_pg.get_task("verdict").upstream_task_ids == {"load"}
    mining = bag.dags[MINING_DAG_ID]
    assert sorted(a.uri for a in mining.timetable.asset_condition.objects) == sorted(
        u for o in outlets.values() for u in o
    )
    # One mapped task group per process (snapshot -> analyse -> merge), then publish once.
    order = [t.task_id for t in mining.topological_sort()]
    assert order == ["processes", "mine.snapshot", "mine.analyse", "mine.merge", "publish"]
    assert mining.get_task("mine.analyse").pool != POOL  # the parallel part holds no warehouse slot
    kinds = {dag_id: type(bag.dags[dag_id].timetable).__name__ for dag_id in loads}
    assert kinds["mot_extract_crm_pg"] == "CronDataIntervalTimetable"  # cron sources get data intervals
    assert (kinds["mot_extract_drops"], kinds["mot_extract_p2p"]) == ("NullTimetable", "OnceTimetable")
    crm = bag.dags["mot_extract_crm_pg"].timetable
    assert (crm.expression, str(crm.timezone)) == ("0 6 * * 1-5", "UTC")


def test_a_bad_config_is_an_import_error_that_names_the_key(airflow_home, monkeypatch, tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("sources:\n  - {name: crm, kind: postgres, mappings: [{name: m, sql: SELECT 1}]}\n")
    bag = parse(monkeypatch, config, tmp_path / "out")
    errors = "\n".join(bag.import_errors.values())
    assert "needs 'conn_id'" in errors and str(config) in errors


def test_dag_files_are_thin_and_parse_without_heavy_imports(airflow_home, tmp_path):
    for path in DAGS.glob("*.py"):
        assert len(path.read_text().splitlines()) < 80, path
    script = (
        "import json, sys, time; from airflow.dag_processing.dagbag import DagBag; t = time.monotonic(); "
        f"bag = DagBag(dag_folder={str(DAGS)!r}); "
        "print(json.dumps({'seconds': time.monotonic() - t, 'errors': bag.import_errors, 'dags': len(bag.dags), "
        "'heavy': sorted(m for m in ('pm4py', 'pandas', 'connectorx', 'adbc_driver_postgresql') if m in sys.modules)}))"
    )
    env = {**os.environ, "MOT_OUT": str(tmp_path / "out")}
    env.pop("MOT_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True, timeout=300
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["errors"] == {} and report["dags"] == 2
    assert report["heavy"] == []
