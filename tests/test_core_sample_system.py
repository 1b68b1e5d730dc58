"""The embedded sample business system, its extraction mapping, the config and the `mot` CLI."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mining import pipeline
from mining.config import ConfigError, load_config, parse_config
from mining.sample_system.generator import expected_event_count, generate
from mining.warehouse import connect

MOT = [sys.executable, "-m", "mining.cli"]
RUNNING_EXAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "logs" / "running-example.xes.gz"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_generation_is_deterministic(tmp_path):
    a, b = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    counts_a = generate(a, n_cases=300, seed=7)
    counts_b = generate(b, n_cases=300, seed=7)
    assert counts_a == counts_b and counts_a["applications"] == 300
    assert sha256(a) == sha256(b)
    generate(b, n_cases=300, seed=8)
    assert sha256(a) != sha256(b)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    config = pipeline.demo_config(out, n_cases=600, seed=3)
    return out, config, pipeline.run(config, out)


def test_mapping_yields_the_documented_number_of_events(demo):
    out, config, summary = demo
    expected = expected_event_count(out / "sample_system.sqlite")
    assert sum(r.rows_read for r in summary.loads) == expected
    assert sum(r.rows_quarantined for r in summary.loads) == 0
    process = config.processes[0]
    assert summary.processes[process]["events"] == expected
    assert summary.processes[process]["cases"] == 600
    # one load per mapping: the log comes from config SQL, one mapping per business table
    assert [r.location for r in summary.loads] == [f"loans.{m.name}" for m in config.sources[0].mappings]


def test_every_case_starts_with_the_customers_submission(demo):
    out, config, _ = demo
    con = connect(out / "warehouse.duckdb", read_only=True)
    firsts = con.execute("SELECT DISTINCT first_activity FROM cases").fetchall()
    channels = con.execute(
        "SELECT DISTINCT attrs->>'channel' FROM events WHERE activity = 'Application submitted' ORDER BY 1"
    ).fetchall()
    con.close()
    assert firsts == [("Application submitted",)]
    assert channels == [("branch",), ("phone",), ("portal",)]


def test_rerunning_the_demo_gives_identical_tables_and_models(demo, tmp_path):
    out, _, _ = demo
    again = tmp_path / "again"
    pipeline.run(pipeline.demo_config(again, n_cases=600, seed=3), again)
    tables = ["events", "event_log", "cases", "variants", "dfg_edges", "activity_stats", "model_runs"]
    a = connect(out / "warehouse.duckdb", read_only=True)
    b = connect(again / "warehouse.duckdb", read_only=True)
    for table in tables:
        assert a.execute(f"SELECT * FROM {table}").fetchall() == b.execute(f"SELECT * FROM {table}").fetchall(), table
    a.close()
    b.close()
    for model in sorted((out / "models").rglob("*.*")):
        assert model.read_bytes() == (again / model.relative_to(out)).read_bytes(), model


def test_config_errors_name_the_file_and_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump(
            {
                "timezone": "Mars/Olympus",
                "sources": [{"name": "db", "kind": "sqlite", "path": "x.sqlite", "mappings": [{"name": "m"}]}],
                "discovery": {"imf_noise_threshold": 2, "colour": "red"},
            }
        )
    )
    with pytest.raises(ConfigError) as err:
        load_config(bad)
    text = str(err.value)
    assert str(bad) in text
    for key in ("timezone", "sources.0.mappings.0.sql", "discovery.imf_noise_threshold", "discovery.colour"):
        assert key in text
    with pytest.raises(ConfigError, match="needs 'conn_id'"):
        parse_config({"sources": [{"name": "pg", "kind": "postgres", "mappings": [{"name": "m", "sql": "select 1"}]}]})
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="list.yaml: the top level must be a mapping"):
        load_config(tmp_path / "list.yaml")


def test_every_key_has_a_default():
    config = parse_config({})
    assert config.timezone == "UTC" and config.discovery.imf_noise_threshold == 0.2


def test_cli_run_writes_warehouse_and_models(tmp_path):
    if not RUNNING_EXAMPLE.exists():
        pytest.skip(f"{RUNNING_EXAMPLE} is not on this machine")
    out = tmp_path / "re"
    done = subprocess.run([*MOT, "run", str(RUNNING_EXAMPLE), "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (out / "warehouse.duckdb").is_file()
    assert (out / "models" / "running_example" / "imf.pnml").is_file()
    con = connect(out / "warehouse.duckdb", read_only=True)
    assert con.execute("SELECT count(*), count(DISTINCT case_id) FROM events").fetchall() == [(42, 6)]
    con.close()


def test_cli_reports_bad_input_clearly(tmp_path):
    empty = tmp_path / "empty.xes"
    empty.write_text("")
    done = subprocess.run([*MOT, "run", str(empty), "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert done.returncode == 2
    assert "empty.xes: the file is empty" in done.stderr


def test_models_are_identical_across_processes(tmp_path):
    """pm4py hashes Petri-net nodes by id(); figures must not depend on the process that ran."""
    outs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"run{hash_seed}"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [*MOT, "demo", "--cases", "400", "--out", str(out)], capture_output=True, text=True, env=env
        )
        assert done.returncode == 0, done.stderr
        outs.append(out)
    rows = []
    for out in outs:
        con = connect(out / "warehouse.duckdb", read_only=True)
        rows.append(con.execute("SELECT * FROM model_runs ORDER BY process, algorithm").fetchall())
        con.close()
    assert rows[0] == rows[1] and len(rows[0]) == 2
    for model in sorted((outs[0] / "models").rglob("*.*")):
        assert model.read_bytes() == (outs[1] / model.relative_to(outs[0])).read_bytes(), model
