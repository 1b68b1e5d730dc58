"""Airflow operations against real servers: permanent errors fail fast, Assets only on change,
the provider connection types.

A MariaDB source with one good mapping and one that reads a missing table, and a PostgreSQL source
that is run again unchanged and then changed, each as a real extraction DAG run (``dag.test()``);
``airflow connections test`` against both servers with the connections given as AIRFLOW_CONN_* URIs.
Then Airflow for real (``scripts/airflow-local``): triggered extractions, the Asset-triggered mining
of the changed processes only, and the warehouse, models and pool it leaves behind.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import pyarrow as pa
import pytest
import yaml
from airflow_run import airflow_env, asset_events, free_port, metadata, start_airflow, stop_airflow, wait_for

from mining.orchestration import POOL
from mining.warehouse import connect

REPO = Path(__file__).resolve().parents[1]
AIRFLOW = Path(sys.executable).with_name("airflow")


def orders(n: int, start: int = 1) -> pa.Table:
    ids = list(range(start, start + n))
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "status": pa.array(["placed"] * n),
            "at": pa.array([datetime(2026, 1, 1, 10, i % 60) for i in ids], pa.timestamp("us")),
        }
    )


def mapping(kind: str) -> dict:
    text = "CHAR" if kind == "mysql" else "TEXT"
    return {
        "name": "placed",
        "incremental_column": "row_id",
        "sql": f"SELECT CAST(id AS {text}) AS case_id, status AS activity, at AS ts, id AS row_id FROM orders",
    }


@pytest.fixture(scope="module")
def ops(postgres, mariadb, airflow_home, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ops")
    with (
        postgres.database() as pg,
        mariadb.database() as my,
        pytest.MonkeyPatch.context() as env,
    ):
        postgres.write(pg, "orders", orders(4))
        mariadb.write(my, "orders", orders(3))
        broken = {"name": "cancelled", "sql": "SELECT id AS case_id, 'x' AS activity, at AS ts FROM no_such_table"}
        sources = [
            {"name": "shop_my", "kind": "mysql", "conn_id": "mot_ops_shop", "process": "shop"},
            {"name": "crm_pg", "kind": "postgres", "conn_id": "mot_ops_crm", "process": "crm"},
        ]
        sources[0]["mappings"] = [broken, mapping("mysql")]
        sources[1]["mappings"] = [mapping("postgres")]
        config = folder / "config.yaml"
        config.write_text(yaml.safe_dump({"project": "ops", "timezone": "UTC", "sources": sources}))
        # Airflow-style URIs of the provider connection types, as `airflow connections add` takes them.
        env.setenv("AIRFLOW_CONN_MOT_OPS_SHOP", "mysql" + my[my.index("://") :])
        env.setenv("AIRFLOW_CONN_MOT_OPS_CRM", "postgres" + pg[pg.index("://") :])
        env.setenv("MOT_CONFIG", str(config))
        env.setenv("MOT_OUT", str(folder / "out"))
        yield {"warehouse": folder / "out" / "warehouse.duckdb", "pg": pg, "postgres": postgres}


@pytest.fixture(scope="module")
def dags(ops):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"), known_pools={POOL})
    assert bag.import_errors == {}
    return bag.dags


def run(dag):
    dr = dag.test()
    return dr, {(ti.task_id, ti.map_index): ti for ti in dr.get_task_instances()}


def query(ops, sql: str, params=None) -> list[tuple]:
    con = connect(ops["warehouse"], read_only=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def test_a_permanent_error_fails_at_once_and_the_good_mapping_still_loads(ops, dags, capfd):
    capfd.readouterr()
    started = datetime.now(UTC)
    dr, tis = run(dags["mot_extract_shop_my"])
    output = "".join(capfd.readouterr())
    assert dr.state == "failed"
    extracts = {ti.map_index: ti for (task, _), ti in tis.items() if task == "extract"}
    states = sorted((ti.state, ti.try_number) for ti in extracts.values())
    assert states == [("failed", 1), ("success", 1)]  # no retry of the permanent error
    assert (datetime.now(UTC) - started).total_seconds() < 60  # no back-off waits
    assert tis[("load", -1)].state == "success"
    assert tis[("verdict", -1)].state == "failed" and tis[("verdict", -1)].try_number == 1
    assert tis[("changed", -1)].state == "success"  # the good rows were loaded: the Asset says so
    assert query(ops, "SELECT count(*) FROM events WHERE source = 'shop_my'") == [(3,)]
    # The extract task names the source, the mapping and the driver's reason; verdict names the item.
    assert "source 'shop_my', mapping 'cancelled': the query failed" in output
    assert "no_such_table" in output and "doesn't exist" in output
    assert "source 'shop_my': the extraction of 'cancelled' failed" in output
    assert asset_events("mot.ops.events.shop_my") == 1


def test_the_asset_event_only_when_rows_changed_and_mining_only_the_changed_processes(ops, dags):
    from mining import orchestration as mot

    dag, asset = dags["mot_extract_crm_pg"], "mot.ops.events.crm_pg"
    dr, tis = run(dag)
    assert dr.state == "success" and tis[("changed", -1)].state == "success"
    assert asset_events(asset) == 1
    dr, tis = run(dag)  # unchanged source: the load adds nothing, no Asset event
    assert dr.state == "success"
    assert tis[("load", -1)].xcom_pull(task_ids="load")["rows_new"] == 0
    assert tis[("changed", -1)].state == "skipped"
    assert asset_events(asset) == 1
    ops["postgres"].write(ops["pg"], "orders_new", orders(2, start=100))
    ops["postgres"].execute(ops["pg"], "INSERT INTO orders SELECT * FROM orders_new")
    dr, tis = run(dag)
    assert dr.state == "success" and tis[("changed", -1)].state == "success"
    assert asset_events(asset) == 2
    assert query(ops, "SELECT count(*) FROM events WHERE source = 'crm_pg'") == [(6,)]
    # The mining DAG gets the triggering Assets' names: only their processes are mined.
    assert mot.processes([asset]) == ["crm"]
    assert mot.processes(["mot.ops.events.shop_my"]) == ["shop"]
    assert mot.processes([]) == ["shop", "crm"]  # a manual run: every process with events


def test_provider_connection_types_are_registered_and_connections_test_succeeds(ops):
    out = subprocess.run(
        [str(AIRFLOW), "providers", "list", "--output", "plain"], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert "apache-airflow-providers-postgres" in out.stdout and "apache-airflow-providers-mysql" in out.stdout
    code = "from airflow.providers_manager import ProvidersManager as P; print(sorted(P().hooks))"
    hooks = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert "'postgres'" in hooks.stdout and "'mysql'" in hooks.stdout, hooks.stderr
    env = os.environ | {"AIRFLOW__CORE__TEST_CONNECTION": "Enabled"}
    for conn_id in ("mot_ops_crm", "mot_ops_shop"):  # the connections the extraction DAGs above read
        out = subprocess.run(
            [str(AIRFLOW), "connections", "test", conn_id], capture_output=True, text=True, timeout=300, env=env
        )
        assert out.returncode == 0 and "Connection success!" in out.stdout, (conn_id, out.stdout, out.stderr)


# --- for real: scripts/airflow-local, Asset-triggered mining of the changed processes only --------------


def test_live_mining_runs_only_for_changed_sources_and_no_task_waits_for_the_api_server(tmp_path):
    from mining.sample_system.generator import expected_event_count, generate

    out, home, log = tmp_path / "out", tmp_path / "airflow-home", tmp_path / "airflow.log"
    database = out / "sample_system.sqlite"
    generate(database, n_cases=60, seed=5)
    demo = yaml.safe_load(resources.files("mining.sample_system").joinpath("demo.yaml").read_text("utf-8"))
    loans = demo["sources"][0] | {"path": str(database), "schedule": None}
    demo["sources"] = [loans | {"name": "branch_a", "process": "a"}, loans | {"name": "branch_b", "process": "b"}]
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(demo))
    env = airflow_env(home, free_port(), config, out)
    airflow = start_airflow(env, log)
    runs = "SELECT run_id, state FROM dag_run WHERE dag_id = ? ORDER BY id"

    def trigger_and_finish(dag_id: str, deadline: float) -> str:
        before = len(metadata(home, runs, (dag_id,)))
        subprocess.run(["airflow", "dags", "trigger", dag_id], env=env, check=True, capture_output=True, timeout=120)

        def done():
            rows = metadata(home, runs, (dag_id,))[before:]
            return rows and rows[0][1] in ("success", "failed") and rows[0]

        run_id, state = wait_for(f"{dag_id} to finish", done, deadline, log)
        assert state == "success", log.read_text()[-6000:]
        return run_id

    def mining_done(count: int):
        rows = metadata(home, runs, ("mot_mining",))
        assert all(state != "failed" for _, state in rows), log.read_text()[-6000:]
        return len(rows) == count and all(state == "success" for _, state in rows) and rows

    mined = (
        "SELECT count(*) FROM task_instance WHERE dag_id = 'mot_mining' AND task_id = 'mine.snapshot' AND run_id = ?"
    )
    try:
        deadline = time.monotonic() + 600
        dags = "SELECT count(*) FROM dag WHERE dag_id LIKE 'mot_%' AND NOT is_paused"
        wait_for("the DAG processor to register the DAGs", lambda: metadata(home, dags) == [(3,)], deadline, log)
        assert metadata(home, "SELECT slots FROM slot_pool WHERE pool = 'mot_duckdb'") == [(1,)]
        text = log.read_text()
        assert text.index("the API server answers") < text.index("starting the scheduler")
        trigger_and_finish("mot_extract_branch_b", deadline)
        (first, _), *_ = wait_for("the first mining run", lambda: mining_done(1), deadline, log)
        assert metadata(home, mined, (first,)) == [(1,)]  # b: the only process with events
        trigger_and_finish("mot_extract_branch_a", deadline)
        second = wait_for("the second mining run", lambda: mining_done(2), deadline, log)[1][0]
        assert metadata(home, mined, (second,)) == [(1,)]  # a only: b did not change
        b_again = trigger_and_finish("mot_extract_branch_b", deadline)  # unchanged: no Asset event
        skipped = "SELECT state FROM task_instance WHERE dag_id = 'mot_extract_branch_b' AND task_id = 'changed' AND run_id = ?"
        assert metadata(home, skipped, (b_again,)) == [("skipped",)]
        time.sleep(15)  # long enough for the scheduler to create an Asset-triggered run
        assert len(metadata(home, runs, ("mot_mining",))) == 2
        kinds = "SELECT DISTINCT run_type FROM dag_run WHERE dag_id = 'mot_mining'"
        assert metadata(home, kinds) == [("asset_triggered",)]
        # Nothing waited for the API server: every task ran once.
        assert metadata(home, "SELECT max(try_number) FROM task_instance") == [(1,)]
    finally:
        stop_airflow(airflow)
    con = connect(out / "warehouse.duckdb", read_only=True)
    try:
        cases = con.execute("SELECT process, count(*) FROM cases GROUP BY ALL ORDER BY ALL").fetchall()
        events = con.execute("SELECT process, count(*) FROM events GROUP BY ALL ORDER BY ALL").fetchall()
    finally:
        con.close()
    assert cases == [("a", 60), ("b", 60)]
    assert events == [("a", expected_event_count(database)), ("b", expected_event_count(database))]
    for process in ("a", "b"):
        assert (out / "models" / process / "imf.pnml").is_file()
