"""Extraction without a scheduler: SQL rendering and literals (run on the real servers), watermarks,
connection URIs, file drops, OCEL 2.0 flattening and the command-line credentials path."""

from __future__ import annotations

import socket
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from mining import orchestration, pipeline
from mining.config import ConfigError, Mapping, Source, parse_config
from mining.sources import extract_item
from mining.sources.database import (
    SourceUnavailable,
    check_reachable,
    connectorx_uri,
    redact,
    scrub,
    uri_from_env,
)
from mining.sources.files import SourceError
from mining.sources.ocel import read_ocel
from mining.sources.sql import Bounds, later, literal, quote_identifier, render, watermark_of
from mining.warehouse import connect

OCEL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "systems" / "ocel20_example.sqlite"
NASTY = "O'Brien\\'; DROP TABLE x; -- \"q\" `b` :watermark"


def source(kind="postgres", sql="SELECT 1", incremental=None, **extra) -> Source:
    fields = {"path": "/nowhere.sqlite"} if kind == "sqlite" else {"conn_id": "crm"}
    mapping = Mapping(name="m", sql=sql, incremental_column=incremental)
    return Source(name="crm", kind=kind, mappings=[mapping], **(fields | extra))


# --- literals and identifiers, proven on the real databases ---------------------------------------


def test_literals_come_back_unchanged_from_every_dialect(postgres, mariadb):
    lite = sqlite3.connect(":memory:")
    for value in (NASTY, "2025-03-01 10:00:00", "12", "-3.25", "tab\there"):
        assert str(postgres.execute(postgres.admin_uri, f"SELECT {literal('postgres', value)}")[0][0]) == value
        assert str(mariadb.execute(mariadb.admin_uri, f"SELECT {literal('mysql', value)}")[0][0]) == value
        assert str(lite.execute(f"SELECT {literal('sqlite', value)}").fetchone()[0]) == value
    assert literal("postgres", None) == "NULL"
    assert literal("postgres", datetime(2025, 3, 1, 9, 5, 7)) == "'2025-03-01 09:05:07'"
    assert literal("postgres", datetime(2025, 3, 1, 9, 5, 7, 250)) == "'2025-03-01 09:05:07.000250'"


def test_odd_column_names_are_quoted_in_every_dialect(postgres, mariadb):
    for server, kind in ((postgres, "postgres"), (mariadb, "mysql")):
        column = quote_identifier(kind, 'odd "name` x')
        rows = server.execute(server.admin_uri, f"SELECT t.{column} FROM (SELECT 1 AS {column}) AS t")
        assert rows == [(1,)]
    with pytest.raises(SourceError):
        quote_identifier("postgres", "")


def test_mapping_parameters_and_watermark_filter(tmp_path):
    base = "SELECT c AS case_id, a AS activity, t AS ts FROM x WHERE t >= :interval_start AND t < :interval_end"
    src = source(sql=base + " ORDER BY t -- a trailing comment", incremental="ts")
    bounds = Bounds(interval_start=datetime(2025, 3, 1, tzinfo=UTC), interval_end=datetime(2025, 3, 2, tzinfo=UTC))
    sql = render(src, src.mappings[0], bounds, "Europe/Amsterdam")
    assert "t >= '2025-03-01 01:00:00' AND t < '2025-03-02 01:00:00' ORDER BY t" in sql
    assert "mot_mapping" not in sql  # no watermark stored yet: everything is read
    sql = render(src, src.mappings[0], Bounds(watermark="2025-03-01 12:00:00"), "UTC")
    assert sql.endswith("\n) AS mot_mapping\nWHERE mot_mapping.\"ts\" > '2025-03-01 12:00:00'")
    assert "t >= '1000-01-01 00:00:00' AND t < '9999-12-31 23:59:59'" in sql  # no interval: all of it
    assert "-- a trailing comment\n)" in sql  # the comment ends before the wrapper goes on
    assert render(source(sql="SELECT 1 ;\n"), Mapping(name="m", sql="SELECT 1 ;\n"), Bounds()) == "SELECT 1"
    placed = source(sql="SELECT x::date AS ts FROM h WHERE (:watermark IS NULL OR h.id > :watermark)", incremental="id")
    assert render(placed, placed.mappings[0], Bounds(), "UTC").endswith("(NULL IS NULL OR h.id > NULL)")
    assert render(placed, placed.mappings[0], Bounds(watermark="41"), "UTC").endswith("(41 IS NULL OR h.id > 41)")
    assert "x::date" in render(placed, placed.mappings[0], Bounds(), "UTC")
    orphan = source(sql="SELECT * FROM h WHERE id > :watermark")
    with pytest.raises(SourceError, match="no incremental_column"):
        render(orphan, orphan.mappings[0], Bounds(), "UTC")


def test_watermarks_take_the_largest_value_and_never_go_back():
    ts = pa.array([datetime(2025, 1, 2, 3, 4, 5), None, datetime(2024, 1, 1)], pa.timestamp("us"))
    table = pa.table({"ts": ts, "id": pa.array([9, 10, 2]), "code": ["b", "a", None]})
    assert watermark_of(table, "ts", "t") == "2025-01-02 03:04:05"
    assert watermark_of(table, "ID", "t") == "10"
    assert watermark_of(table, "code", "t") == "b"
    assert watermark_of(table.slice(0, 0), "id", "t") is None
    aware = pa.table({"ts": pa.array([datetime(2025, 1, 2, 3, tzinfo=UTC)], pa.timestamp("us", tz="Europe/Amsterdam"))})
    assert watermark_of(aware, "ts", "t") == "2025-01-02 03:00:00+00:00"
    with pytest.raises(SourceError, match="incremental_column 'nope'.*columns are: ts, id, code"):
        watermark_of(table, "nope", "t")
    assert later("9", "10") == "10" and later("10", "9") == "10"
    assert later("2025-01-02 00:00:00", "2024-12-31 23:59:59") == "2025-01-02 00:00:00"
    assert later(None, "5") == "5" and later("5", None) == "5"


def test_sqlite_mapping_with_odd_incremental_column(tmp_path):
    db = tmp_path / "crm.sqlite"
    con = sqlite3.connect(db)
    con.execute('CREATE TABLE calls (id INTEGER, "seq no" INTEGER, at TEXT)')
    con.executemany(
        "INSERT INTO calls VALUES (?, ?, ?)", [(1, 10, "2025-01-01 10:00:00"), (2, 11, "2025-01-01 11:00:00")]
    )
    con.commit()
    src = source(
        "sqlite",
        sql="SELECT CAST(id AS TEXT) AS case_id, 'Call' AS activity, at AS ts, \"seq no\" FROM calls ORDER BY id",
        incremental="seq no",
        path=str(db),
    )
    batch = extract_item(src, "m")
    assert (batch.table.num_rows, batch.watermark, batch.location) == (2, "11", "crm.m")
    again = extract_item(src, "m", bounds=Bounds(watermark=batch.watermark))
    assert again.table.num_rows == 0 and again.watermark is None
    con.execute("INSERT INTO calls VALUES (3, 12, '2025-01-02 09:00:00')")
    con.commit()
    newer = extract_item(src, "m", bounds=Bounds(watermark=batch.watermark))
    assert newer.table.column("case_id").to_pylist() == ["3"] and newer.watermark == "12"


# --- connection URIs ---------------------------------------------------------------------------------


def test_uris_are_normalised_and_passwords_never_shown():
    src = source()
    uri = "postgres://reader:p%40ss@db.example:5433/crm?__extra__=%7B%7D&sslmode=require"
    assert connectorx_uri(src, uri) == "postgresql://reader:p%40ss@db.example:5433/crm?sslmode=require"
    assert redact(uri).startswith("postgres://reader:***@db.example:5433/crm")
    assert "p@ss" not in scrub(f"failed for {uri}: password p@ss rejected", uri)
    assert connectorx_uri(source("mysql"), "mariadb://u@h/db") == "mysql://u@h/db"
    with pytest.raises(SourceError, match="is of type 'mysql'"):
        connectorx_uri(src, "mysql://u@h/db")


def test_credentials_come_from_the_environment_and_errors_name_the_variable():
    src = source()
    assert uri_from_env(src, {"AIRFLOW_CONN_CRM": "postgres://a@b/c"}) == "postgres://a@b/c"
    assert (
        uri_from_env(src, {"MOT_CONN_CRM": "postgres://x@y/z", "AIRFLOW_CONN_CRM": "postgres://a@b/c"})
        == "postgres://x@y/z"
    )
    with pytest.raises(SourceError, match="MOT_CONN_CRM \\(or AIRFLOW_CONN_CRM\\)"):
        uri_from_env(src, {})


def test_a_server_that_is_down_is_reported_at_once():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(SourceUnavailable, match=f"server at 127.0.0.1:{port} .*does not answer"):
        check_reachable(source(), f"postgresql://u:pw@127.0.0.1:{port}/db")
    assert time.monotonic() - started < 5


def test_schedule_must_be_cron_or_preset():
    base = {"name": "s", "kind": "xes", "path": "x.xes"}
    for ok in ("@daily", "0 6 * * 1-5", None):
        assert parse_config({"sources": [base | {"schedule": ok}]}).sources[0].schedule == ok
    with pytest.raises(ConfigError, match="sources.0.schedule"):
        parse_config({"sources": [base | {"schedule": "every day"}]})


# --- command line: credentials from the environment --------------------------------------------------


def test_cli_ingest_reads_postgres_with_credentials_from_the_environment(postgres, tmp_path, monkeypatch):
    with postgres.database() as uri:
        postgres.execute(uri, "CREATE TABLE visits (id int, who text, at timestamptz)")
        postgres.execute(
            uri, "INSERT INTO visits VALUES (1, 'ann', '2025-01-01 10:00+01'), (2, 'bob', '2025-01-01 11:00+01')"
        )
        src = source(sql="SELECT who AS case_id, 'Visit' AS activity, at AS ts FROM visits ORDER BY id")
        config = parse_config({"sources": [src.model_dump()]})
        monkeypatch.setenv("MOT_CONN_CRM", uri)
        (result,) = pipeline.ingest_source(tmp_path / "w.duckdb", config, config.sources[0])
    assert (result.rows_read, result.rows_new, result.location) == (2, 2, "crm.m")
    con = connect(tmp_path / "w.duckdb", read_only=True)
    assert con.execute("SELECT case_id, ts FROM events ORDER BY ts").fetchall() == [
        ("ann", datetime(2025, 1, 1, 9, tzinfo=UTC)),
        ("bob", datetime(2025, 1, 1, 10, tzinfo=UTC)),
    ]
    con.close()


# --- file drops through the task functions ---------------------------------------------------------------


def run_tasks(settings: orchestration.Settings, name: str) -> dict:
    """plan -> extract each item -> load, as the extraction DAG runs them."""
    staged = [
        orchestration.extract(name, item, run_id="r1", s=settings) for item in orchestration.plan(name, s=settings)
    ]
    return orchestration.load(name, staged, s=settings)


def test_drop_folder_loads_each_new_or_changed_file_once(tmp_path):
    drops = tmp_path / "drops"
    drops.mkdir()
    (drops / "2025-01-01.csv").write_text(
        "case,activity,timestamp\nc1,Call,2025-01-01 09:00:00\nc1,Mail,2025-01-01 10:00:00\n"
    )
    (drops / "notes.txt").write_text("not an event file\n")
    config = tmp_path / "config.yaml"
    config.write_text("sources:\n  - {name: drops, kind: csv, path: drops}\n")
    settings = orchestration.Settings(config_file=config, out_dir=tmp_path / "out")
    assert run_tasks(settings, "drops") == {
        "loads": 1,
        "rows_read": 2,
        "rows_loaded": 2,
        "rows_new": 2,
        "rows_quarantined": 0,
        "rows_updated": 0,
        "rows_deleted": 0,
        "failed": [],
    }
    assert orchestration.plan("drops", s=settings) == []  # nothing new: nothing to read
    (drops / "2025-01-02.csv").write_text("case,activity,timestamp\nc2,Call,2025-01-02 09:00:00\nc2,Call,yesterday\n")
    with open(drops / "2025-01-01.csv", "a") as f:
        f.write("c1,Visit,2025-01-01 11:00:00\n")
    assert [i["name"] for i in orchestration.plan("drops", s=settings)] == [
        str(drops / "2025-01-01.csv"),
        str(drops / "2025-01-02.csv"),
    ]
    assert run_tasks(settings, "drops") == {
        "loads": 2,
        "rows_read": 5,
        "rows_loaded": 4,
        "rows_new": 2,
        "rows_quarantined": 1,
        "rows_updated": 0,
        "rows_deleted": 0,
        "failed": [],
    }
    con = connect(settings.warehouse, read_only=True)
    assert con.execute("SELECT count(*) FROM events").fetchall() == [(4,)]
    assert con.execute("SELECT reason FROM quarantine").fetchall() == [("unparseable timestamp: yesterday",)]
    assert con.execute("SELECT count(*) FROM watermarks WHERE source = 'drops'").fetchall() == [(2,)]
    con.close()
    assert not any((settings.staging / "drops").iterdir())  # staged files are removed after the load


def test_without_mot_config_the_dags_use_the_demo_system(tmp_path):
    settings = orchestration.settings({"MOT_OUT": str(tmp_path)})
    assert settings.config_file is None and settings.warehouse == tmp_path / "warehouse.duckdb"
    config = orchestration.project(settings)
    assert [s.path for s in config.sources] == [str(tmp_path / "sample_system.sqlite")]
    assert config.processes == ["loan_origination"]
    assert orchestration.task_defaults(settings)["retries"] >= 2


# --- OCEL 2.0 ----------------------------------------------------------------------------------------


def test_ocel_flattens_on_an_object_type():
    table = read_ocel(OCEL, "Invoice")
    rows = list(zip(*(table.column(c).to_pylist() for c in ("case_id", "activity", "ocel:eid")), strict=True))
    assert rows == [
        ("R1", "Insert Invoice", "e5"),
        ("R1", "Insert Payment", "e7"),
        ("R2", "Insert Invoice", "e6"),
        ("R2", "Insert Payment", "e8"),
        ("R3", "Insert Invoice", "e9"),
        ("R3", "Create Purchase Order", "e10"),
        ("R3", "Set Payment Block", "e11"),
        ("R3", "Remove Payment Block", "e12"),
        ("R3", "Insert Payment", "e13"),
    ]
    assert table.column("ts").type == pa.timestamp("us", tz="UTC")
    assert table.column("ts")[0].as_py() == datetime(2022, 1, 14, 12, tzinfo=UTC)


def test_ocel_json_form_flattens_like_the_sqlite_form(tmp_path):
    import pm4py

    json_file = tmp_path / "log.jsonocel"
    pm4py.write_ocel2_json(pm4py.read_ocel2_sqlite(str(OCEL)), str(json_file))
    columns = ["case_id", "activity", "ts", "ocel:eid"]
    assert read_ocel(json_file, "Purchase Order").select(columns) == read_ocel(OCEL, "Purchase Order").select(columns)


def test_ocel_unknown_object_type_names_the_known_ones():
    with pytest.raises(SourceError, match="ocel_object_type.*Invoice, Payment, Purchase Order, Purchase Requisition"):
        read_ocel(OCEL, "Customer")
