"""Change semantics of delta loads (docs/airflow.md, "Change semantics") on Chinook's invoices in
the real PostgreSQL and MariaDB: inserts, attribute and timestamp updates, soft and hard deletes and
late rows behind the watermark, loaded through the functions the Airflow tasks call.

Each mapping turns the invoices into one activity, with the customer as case and the invoice id and
total as attributes:

- ``issued``: the default identity (case, activity, timestamp), soft deletes by ``is_deleted``;
- ``keyed``: ``key: [invoice_id]`` and ``reconcile: full`` over the rows not soft-deleted;
- ``recent`` / ``recent_lookback``: incremental on the invoice date, without and with a look-back.

After every load the warehouse is compared with a query on the source.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal

import duckdb
import pytest
import yaml

from mining.config import Source
from mining.orchestration import Settings, extract, load, plan
from mining.sources import SourceError, extract_item
from mining.warehouse import connect, migrations
from mining.warehouse.load import load_batch

CHINOOK = "/work/shared/data/systems/chinook.sqlite"
COLUMNS = "customer_id AS case_id, invoice_date AS ts, invoice_id, total"


def mappings(kind: str) -> list[dict]:
    false = "FALSE" if kind == "postgres" else "0"
    return [
        {
            "name": "issued",
            "sql": f"SELECT 'Invoice issued' AS activity, {COLUMNS}, is_deleted FROM invoice",
            "deleted_column": "is_deleted",
        },
        {
            "name": "keyed",
            "sql": f"SELECT 'Invoice keyed' AS activity, {COLUMNS} FROM invoice WHERE is_deleted = {false}",
            "key": ["invoice_id"],
            "reconcile": "full",
        },
        {
            "name": "recent",
            "sql": f"SELECT 'Invoice recent' AS activity, {COLUMNS} FROM invoice",
            "incremental_column": "ts",
        },
        {
            "name": "recent_lookback",
            "sql": f"SELECT 'Invoice late' AS activity, {COLUMNS} FROM invoice",
            "incremental_column": "ts",
            "lookback": "2 days",
        },
    ]


@pytest.fixture(params=["postgres", "mysql"])
def system(request, tmp_path):
    """Chinook's invoices in a scratch database, a config over them and Settings at ``tmp_path``."""
    server = request.getfixturevalue("postgres" if request.param == "postgres" else "mariadb")
    rows = sqlite3.connect(CHINOOK).execute("SELECT InvoiceId, CustomerId, InvoiceDate, Total FROM Invoice").fetchall()
    with server.database("mot_delta") as uri:
        boolean = "BOOLEAN" if request.param == "postgres" else "TINYINT(1)"
        server.execute(
            uri,
            "CREATE TABLE invoice (invoice_id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, "
            f"invoice_date TIMESTAMP NOT NULL, total NUMERIC(10,2) NOT NULL, is_deleted {boolean} NOT NULL)",
        )
        values = ", ".join(f"({i}, {c}, '{d}', {t}, FALSE)" for i, c, d, t in rows)
        server.execute(uri, f"INSERT INTO invoice VALUES {values}")
        source = {"name": "chinook", "kind": request.param, "conn_id": "chinook", "mappings": mappings(request.param)}
        config = tmp_path / "config.yaml"
        config.write_text(yaml.safe_dump({"project": "delta", "timezone": "UTC", "sources": [source]}))
        yield {"server": server, "uri": uri, "settings": Settings(config_file=config, out_dir=tmp_path / "out")}


def run(system) -> dict[str, tuple]:
    """One extraction run as the DAG makes it (plan, extract each item, load); the audit of each load."""
    s = system["settings"]
    items = plan("chinook", s=s)
    staged = [extract("chinook", item, uri=system["uri"], run_id=f"r{len(items)}", s=s) for item in items]
    load("chinook", staged, s=s)
    con = duckdb.connect(str(s.warehouse), read_only=True)
    try:
        audit = con.execute(
            "SELECT location, rows_read, rows_loaded, rows_quarantined, rows_new, rows_updated, rows_deleted "
            "FROM load_audit WHERE load_id > (SELECT coalesce(max(load_id), 0) FROM load_audit) - ? ORDER BY location",
            [len(staged)],
        ).fetchall()
    finally:
        con.close()
    for _, read, loaded, quarantined, *_ in audit:
        assert loaded + quarantined == read
    return {location.split(".")[1]: tuple(counts) for location, *counts in audit}


def warehouse(system, activity: str) -> list[tuple]:
    """The events of one activity: (case, time, invoice id, total), sorted."""
    con = duckdb.connect(str(system["settings"].warehouse), read_only=True)
    try:
        return con.execute(
            "SELECT case_id, strftime(ts, '%Y-%m-%d %H:%M:%S'), CAST(attrs->>'invoice_id' AS INTEGER), "
            "CAST(attrs->>'total' AS DECIMAL(10,2)) FROM events WHERE activity = ? ORDER BY ALL",
            [activity],
        ).fetchall()
    finally:
        con.close()


def source(system, where: str = "TRUE") -> list[tuple]:
    """The source's invoices as the warehouse should hold them, sorted."""
    rows = system["server"].execute(
        system["uri"], f"SELECT customer_id, invoice_date, invoice_id, total FROM invoice WHERE {where}"
    )
    return sorted((str(c), d.strftime("%Y-%m-%d %H:%M:%S"), i, Decimal(t)) for c, d, i, t in rows)


def change(system, sql: str) -> None:
    system["server"].execute(system["uri"], sql)


def test_delta_loads_follow_the_source(system):
    live = "is_deleted = " + ("FALSE" if system["server"].kind == "postgres" else "0")

    # First load: every mapping holds the source, nothing updated or deleted.
    audit = run(system)
    assert {name: counts[3:] for name, counts in audit.items()} == {
        "issued": (412, 0, 0),
        "keyed": (412, 0, 0),
        "recent": (412, 0, 0),
        "recent_lookback": (412, 0, 0),
    }
    for activity in ("Invoice issued", "Invoice keyed", "Invoice recent", "Invoice late"):
        assert warehouse(system, activity) == source(system)

    # A re-run adds nothing; the look-back re-reads its two days and changes nothing.
    audit = run(system)
    assert audit["issued"][3:] == (0, 0, 0) and audit["keyed"][3:] == (0, 0, 0)
    assert audit["recent_lookback"][0] > 0 and audit["recent_lookback"][3:] == (0, 0, 0)
    assert warehouse(system, "Invoice late") == source(system)

    # Insert: a new invoice after all others.
    change(system, "INSERT INTO invoice VALUES (1000, 7, '2014-01-05 00:00:00', 9.99, FALSE)")
    audit = run(system)
    assert all(counts[3:] == (1, 0, 0) for counts in audit.values()), audit
    for activity in ("Invoice issued", "Invoice keyed", "Invoice recent", "Invoice late"):
        assert warehouse(system, activity) == source(system)

    # Update an attribute: the event changes in place, no second copy (the measured defect).
    change(system, "UPDATE invoice SET total = 123.45 WHERE invoice_id = 5")
    audit = run(system)
    assert audit["issued"][3:] == (0, 1, 0) and audit["keyed"][3:] == (0, 1, 0)
    assert warehouse(system, "Invoice issued") == source(system)
    assert warehouse(system, "Invoice keyed") == source(system)

    # Update a timestamp: with key columns the event moves in place; with the default identity it is
    # a new event and the old one stays (no reconciliation on that mapping), as documented.
    moved = source(system, "invoice_id = 6")[0]
    change(system, "UPDATE invoice SET invoice_date = invoice_date + INTERVAL '1' HOUR WHERE invoice_id = 6")
    audit = run(system)
    assert audit["keyed"][3:] == (0, 1, 0)
    assert warehouse(system, "Invoice keyed") == source(system)
    assert audit["issued"][3:] == (1, 0, 0)
    assert warehouse(system, "Invoice issued") == sorted(source(system) + [moved])

    # Soft delete: the deleted_column removes the event; the reconciling mapping (which reads only
    # live rows) removes it as vanished. The audit says so.
    change(system, "UPDATE invoice SET is_deleted = TRUE WHERE invoice_id = 7")
    audit = run(system)
    assert audit["issued"][3:] == (0, 0, 1) and audit["keyed"][3:] == (0, 0, 1)
    assert warehouse(system, "Invoice keyed") == source(system, live)
    assert warehouse(system, "Invoice issued") == sorted(source(system, live) + [moved])

    # Hard delete: only the reconciling mapping sees it.
    change(system, "DELETE FROM invoice WHERE invoice_id = 8")
    audit = run(system)
    assert audit["keyed"][3:] == (0, 0, 1) and audit["issued"][3:] == (0, 0, 0)
    assert warehouse(system, "Invoice keyed") == source(system, live)

    # A late row, one day behind the watermark: the look-back picks it up, the plain watermark not.
    change(system, "INSERT INTO invoice VALUES (1001, 9, '2014-01-04 00:00:00', 1.98, FALSE)")
    before = warehouse(system, "Invoice recent")
    audit = run(system)
    assert audit["recent_lookback"][3:] == (1, 0, 0) and audit["recent"][0] == 0
    assert warehouse(system, "Invoice recent") == before
    late = warehouse(system, "Invoice late")
    assert (str(9), "2014-01-04 00:00:00", 1001, Decimal("1.98")) in late
    assert len(late) == len(set(late))  # the re-read window added nothing twice


def test_identity_config_is_checked():
    from pydantic import ValidationError

    from mining.config import Mapping

    with pytest.raises(ValidationError, match="lookback needs an incremental_column"):
        Mapping(name="m", sql="SELECT 1", lookback="2 days")
    with pytest.raises(ValidationError, match="write a duration"):
        Mapping(name="m", sql="SELECT 1", incremental_column="ts", lookback="soon")
    assert Mapping(name="m", sql="SELECT 1", incremental_column="id", lookback=100).lookback == 100


def csv_source(path) -> Source:
    return Source(name="drops", kind="csv", path=str(path))


def test_a_reloaded_changed_file_updates_in_place_and_drops_vanished_rows(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text(
        "case_id,activity,ts,amount\nc1,A,2024-01-01 10:00,1\nc1,B,2024-01-01 11:00,2\nc2,A,2024-01-02 10:00,3\n"
        "c2,A,2024-01-02 10:00,3\n"  # a true duplicate: kept as a second event
    )
    con = connect(tmp_path / "w.duckdb")
    try:
        first = load_batch(
            con, extract_item(csv_source(log), str(log)).table, process="p", source="drops", location=str(log)
        )
        assert (first.rows_new, first.rows_updated, first.rows_deleted) == (4, 0, 0)
        log.write_text("case_id,activity,ts,amount\nc1,A,2024-01-01 10:00,9\nc2,A,2024-01-02 10:00,3\n")
        second = load_batch(
            con, extract_item(csv_source(log), str(log)).table, process="p", source="drops", location=str(log)
        )
        assert (second.rows_new, second.rows_updated, second.rows_deleted) == (0, 1, 2)
        events = con.execute("SELECT case_id, activity, attrs->>'amount' FROM events ORDER BY ALL").fetchall()
        assert events == [("c1", "A", "9"), ("c2", "A", "3")]
        audit = con.execute("SELECT rows_updated, rows_deleted FROM load_audit ORDER BY load_id").fetchall()
        assert audit == [(0, 0), (1, 2)]
    finally:
        con.close()


def test_migration_017_gives_existing_events_their_new_identity(tmp_path):
    """A warehouse written before 017 (events keyed by their whole content) is upgraded: reloading
    the same rows afterwards finds every event, changes nothing and adds nothing."""
    log = tmp_path / "log.csv"
    log.write_text(
        "case_id,activity,ts,amount\nc1,A,2024-01-01 10:00,1\nc1,A,2024-01-01 10:00,1\nc2,B,2024-01-02 10:00,2\n"
    )
    path = tmp_path / "old.duckdb"
    old = duckdb.connect(str(path))
    old.execute("SET TimeZone = 'UTC'")
    old.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL)")
    for version, name, sql in migrations():
        if version < 17:
            old.execute(sql)
            old.execute("INSERT INTO schema_migrations VALUES (?, ?)", [version, name])
    # The events as the loader before 017 wrote them: content hash + occurrence as the key.
    old.execute(
        "INSERT INTO events SELECT md5('old' || case_id || activity || CAST(n AS VARCHAR)), 'p', 'drops', case_id, "
        "activity, CAST(ts AS TIMESTAMPTZ), NULL, NULL, n, 1, json_object('amount', amount) "
        "FROM (SELECT *, row_number() OVER () AS n FROM read_csv(?, all_varchar = true))",
        [str(log)],
    )
    old.execute(
        "INSERT INTO load_audit (load_id, process, source, location, started_at, status) "
        "VALUES (1, 'p', 'drops', ?, now(), 'committed')",
        [str(log)],
    )
    old.close()
    con = connect(path)
    try:
        assert con.execute("SELECT count(DISTINCT event_key) FROM events").fetchall() == [(3,)]
        again = load_batch(
            con, extract_item(csv_source(log), str(log)).table, process="p", source="drops", location=str(log)
        )
        assert (again.rows_new, again.rows_updated, again.rows_deleted) == (0, 0, 0)
        assert con.execute("SELECT count(*) FROM events").fetchall() == [(3,)]
    finally:
        con.close()


def test_lookback_moves_the_start_of_the_read_back():
    from mining.sources.sql import looked_back

    assert looked_back("2014-01-05 00:00:00", "2 days") == "2014-01-03 00:00:00"
    assert looked_back("2014-01-05 00:00:00+00:00", "6 hours") == "2014-01-04 18:00:00+00:00"
    assert looked_back("1500", 100) == "1400"
    assert looked_back(None, "2 days") is None  # the first load reads everything anyway
    with pytest.raises(SourceError, match="no date-time"):
        looked_back("1500", "2 days")


def test_mot_run_and_the_report_show_what_a_reload_updated_and_deleted(tmp_path):
    """The command line's load table and the report's data-quality table count updates and deletes."""
    from typer.testing import CliRunner

    from mining.cli import app

    log = tmp_path / "log.csv"
    rows = [f"c{c},{a},2024-01-{1 + c:02d} {9 + i}:00,{c * 10 + i}" for c in range(12) for i, a in enumerate("ABC")]
    log.write_text("case_id,activity,ts,amount\n" + "\n".join(rows) + "\n")
    out = tmp_path / "out"
    first = CliRunner().invoke(app, ["run", str(log), "--out", str(out)])
    assert first.exit_code == 0, first.output
    changed = [r.replace(",0", ",99") if r.startswith("c0,A") else r for r in rows if not r.startswith("c11,")]
    log.write_text("case_id,activity,ts,amount\n" + "\n".join(changed) + "\n")
    second = CliRunner().invoke(app, ["run", str(log), "--out", str(out)])
    assert second.exit_code == 0, second.output
    header = next(line for line in second.output.splitlines() if "updated" in line and "deleted" in line)
    cells = [c.strip() for c in header.split("┃") if c.strip()]
    values = next(line for line in second.output.splitlines() if line.startswith("│ log "))
    counts = dict(zip(cells, [c.strip() for c in values.split("│") if c.strip()], strict=False))
    assert (counts["read"], counts["new"], counts["updated"], counts["deleted"]) == ("33", "0", "1", "3")
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "updated in place" in report
