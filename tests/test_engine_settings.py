"""DuckDB settings from the environment (MOT_DUCKDB_MEMORY_LIMIT, MOT_DUCKDB_THREADS) and the
per-statement SQL profile (MOT_SQL_PROFILE)."""

from __future__ import annotations

import pytest

from mining import pipeline
from mining.warehouse import connect, engine_settings, run_sql
from mining.warehouse.snapshot import publish_snapshot


def test_engine_settings_reads_and_validates_the_environment():
    assert engine_settings({}) == {}
    assert engine_settings({"MOT_DUCKDB_MEMORY_LIMIT": " 512MB ", "MOT_DUCKDB_THREADS": "1"}) == {
        "memory_limit": "512MB",
        "threads": "1",
    }
    assert engine_settings({"MOT_DUCKDB_MEMORY_LIMIT": "1.5 GiB"}) == {"memory_limit": "1.5 GiB"}


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MOT_DUCKDB_MEMORY_LIMIT", "1GB'; DROP TABLE events; --"),
        ("MOT_DUCKDB_MEMORY_LIMIT", "lots"),
        ("MOT_DUCKDB_MEMORY_LIMIT", "80%"),
        ("MOT_DUCKDB_THREADS", "0"),
        ("MOT_DUCKDB_THREADS", "two"),
    ],
)
def test_a_bad_setting_is_refused_with_the_variable_named(variable, value):
    with pytest.raises(ValueError, match=variable):
        engine_settings({variable: value})


def test_connect_applies_the_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("MOT_DUCKDB_MEMORY_LIMIT", "300MB")
    monkeypatch.setenv("MOT_DUCKDB_THREADS", "1")
    con = connect(tmp_path / "w.duckdb")
    try:
        limit, threads = con.execute("SELECT current_setting('memory_limit'), current_setting('threads')").fetchall()[0]
    finally:
        con.close()
    assert limit in ("286.1 MiB", "300.0 MB") and threads == 1


def test_a_whole_demo_run_works_under_a_small_memory_limit(tmp_path, monkeypatch):
    """The bounded-memory mode the benchmark uses at 10 M events gives the same results."""
    config = pipeline.demo_config(tmp_path / "data", n_cases=300)
    free = pipeline.run(config, tmp_path / "free")
    monkeypatch.setenv("MOT_DUCKDB_MEMORY_LIMIT", "96MB")
    monkeypatch.setenv("MOT_DUCKDB_THREADS", "1")
    bounded = pipeline.run(config, tmp_path / "bounded")
    for name in ("waste.csv", "moments.csv", "as-is.bpmn", "to-be.bpmn"):
        assert (tmp_path / "bounded" / name).read_bytes() == (tmp_path / "free" / name).read_bytes(), name
    assert bounded.processes["loan_origination"]["models"] == free.processes["loan_origination"]["models"]
    publish_snapshot(pipeline.warehouse_path(tmp_path / "bounded"))  # the snapshot copy under the limit too


def test_sql_profile_records_every_statement(tmp_path, monkeypatch):
    profile = tmp_path / "profile.tsv"
    monkeypatch.setenv("MOT_SQL_PROFILE", str(profile))
    con = connect(":memory:")
    try:
        run_sql(con, "-- a comment first\nCREATE TABLE t AS SELECT 1 AS x;\nSELECT x + $n FROM t;\n", {"n": 2})
    finally:
        con.close()
    lines = [line.split("\t") for line in profile.read_text().splitlines()]
    assert [code for _, code in lines] == ["CREATE TABLE t AS SELECT 1 AS x", "SELECT x + $n FROM t"]
    assert all(float(seconds) >= 0 for seconds, _ in lines)
