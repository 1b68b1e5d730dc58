"""Airflow for real: ``scripts/airflow-local`` (the API server, then, once it answers, the scheduler,
DAG processor and triggerer) on a temporary AIRFLOW_HOME with a SQLite metadata database. The test
triggers the sample system's extraction DAG and waits until the Asset-triggered mining DAG has
succeeded, then checks the warehouse it left behind.
"""

from __future__ import annotations

import subprocess
import time
from importlib import resources
from pathlib import Path

import yaml
from airflow_run import airflow_env, free_port, metadata, start_airflow, stop_airflow, wait_for

from mining.sample_system.generator import expected_event_count, generate
from mining.warehouse import connect

REPO = Path(__file__).resolve().parents[1]
DEADLINE_S = 300  # about 2.5 minutes on an idle two-core machine


def test_triggered_extraction_updates_the_asset_and_mining_succeeds(tmp_path):
    out, home, log = tmp_path / "out", tmp_path / "airflow-home", tmp_path / "airflow.log"
    database = out / "sample_system.sqlite"
    generate(database, n_cases=150, seed=5)
    demo = yaml.safe_load(resources.files("mining.sample_system").joinpath("demo.yaml").read_text("utf-8"))
    for source in demo["sources"]:
        source.update(path=str(database), schedule=None)  # runs only when triggered
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(demo))

    env = airflow_env(home, free_port(), config, out)
    airflow = start_airflow(env, log)
    try:
        deadline = time.monotonic() + DEADLINE_S
        dags = "SELECT dag_id FROM dag WHERE dag_id IN ('mot_extract_loans', 'mot_mining') AND NOT is_paused"
        wait_for("the DAG processor to register both DAGs", lambda: len(metadata(home, dags)) == 2, deadline, log)
        assert metadata(home, "SELECT slots FROM slot_pool WHERE pool = 'mot_duckdb'") == [(1,)]
        subprocess.run(
            ["airflow", "dags", "trigger", "mot_extract_loans"], env=env, check=True, capture_output=True, timeout=120
        )

        def mining_finished():
            states = metadata(home, "SELECT state, run_type FROM dag_run WHERE dag_id = 'mot_mining'")
            assert all(state != "failed" for state, _ in states), f"mining failed:\n{log.read_text()[-6000:]}"
            return [s for s in states if s[0] == "success"]

        finished = wait_for("the Asset-triggered mining DAG to succeed", mining_finished, deadline, log)
        assert finished == [("success", "asset_triggered")]
        assert metadata(home, "SELECT state FROM dag_run WHERE dag_id = 'mot_extract_loans'") == [("success",)]
    finally:
        stop_airflow(airflow)
    con = connect(out / "warehouse.duckdb", read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM events").fetchall() == [(expected_event_count(database),)]
        assert con.execute("SELECT count(*) FROM cases WHERE process = 'loan_origination'").fetchall() == [(150,)]
    finally:
        con.close()
    assert (out / "models" / "loan_origination" / "imf.pnml").is_file()
