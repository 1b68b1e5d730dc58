"""Extraction DAGs against real business systems, run with ``dag.test()``.

The sample loan system, BPIC 2012 (as the audit-trail table of a loan system) and Northwind (the
order-to-delivery journey from the Orders dates) are loaded into PostgreSQL and MariaDB; the SQLite
files are read where they lie; the OCEL 2.0 example is flattened on purchase orders. Every
extraction DAG runs once and its events are checked against the source; then incremental runs,
a backfill, and a source that is down.
"""

from __future__ import annotations

import re
import socket
import sqlite3
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import yaml

from mining.orchestration import POOL
from mining.sample_system.generator import expected_event_count, generate
from mining.sources.xes import read_xes
from mining.warehouse import connect

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
NORTHWIND = SHARED_DATA / "systems" / "northwind.sqlite"
OCEL = SHARED_DATA / "systems" / "ocel20_example.sqlite"
BPIC = SHARED_DATA / "logs" / "bpic2012.xes.gz"
SAMPLE_TABLES = (
    "employees",
    "applications",
    "status_history",
    "contacts",
    "document_requests",
    "decisions",
    "payments",
)
SAMPLE_TIMES = {"submitted_at", "changed_at", "contact_at", "requested_at", "received_at", "decided_at", "paid_at"}
BAD_AUDIT_ROWS = 2  # rows of the BPIC audit trail in PostgreSQL without a case id or an activity
DOWN_PASSWORD = "s3cret-pw"


# --- the business systems ---------------------------------------------------------------------------


def sqlite_table(path, sql: str) -> pa.Table:
    import connectorx as cx

    return cx.read_sql(f"sqlite://{path}", sql, return_type="arrow")


def with_types(table: pa.Table, times=(), dates=()) -> pa.Table:
    """Text columns of SQLite as the typed columns a server schema has."""
    for name in times:
        i = table.column_names.index(name)
        table = table.set_column(i, name, pc.strptime(table.column(i), "%Y-%m-%d %H:%M:%S", "us"))
    for name in dates:
        i = table.column_names.index(name)
        table = table.set_column(i, name, table.column(i).cast(pa.date32()))
    return table


def sample_tables(path) -> dict[str, pa.Table]:
    tables = {}
    for name in SAMPLE_TABLES:
        table = sqlite_table(path, f"SELECT * FROM {name}")
        tables[name] = with_types(table, [c for c in table.column_names if c in SAMPLE_TIMES])
    return tables


def bpic_audit_trail() -> pa.Table:
    """BPIC 2012 as a loan system's audit-trail table: one row per logged state change."""
    log = read_xes(BPIC)
    return pa.table(
        {
            "audit_id": pa.array(range(1, log.num_rows + 1), pa.int64()),
            "application_id": log.column("case_id"),
            "event_name": log.column("activity"),
            "lifecycle_state": log.column("lifecycle"),
            "actor": log.column("resource"),
            "event_time": log.column("ts"),
            "amount_requested": log.column("case:AMOUNT_REQ").cast(pa.float64()),
        }
    )


def northwind_tables() -> dict[str, pa.Table]:
    orders = sqlite_table(
        NORTHWIND,
        "SELECT OrderID AS orderid, CustomerID AS customerid, EmployeeID AS employeeid, "
        "date(OrderDate) AS orderdate, date(RequiredDate) AS requireddate, date(ShippedDate) AS shippeddate, "
        "ShipVia AS shipvia, CAST(Freight AS REAL) AS freight, ShipCountry AS shipcountry FROM Orders",
    )
    return {
        "orders": with_types(orders, dates=("orderdate", "requireddate", "shippeddate")),
        "employees": sqlite_table(NORTHWIND, "SELECT EmployeeID AS employeeid, LastName AS lastname FROM Employees"),
        "shippers": sqlite_table(NORTHWIND, "SELECT ShipperID AS shipperid, CompanyName AS companyname FROM Shippers"),
    }


# --- the config -------------------------------------------------------------------------------------


def sample_mappings(kind: str, incremental: str | None = None) -> list[dict]:
    """The demo mappings (written for SQLite) in the dialect of ``kind``."""
    demo = yaml.safe_load(resources.files("mining.sample_system").joinpath("demo.yaml").read_text("utf-8"))
    mappings = []
    for m in demo["sources"][0]["mappings"]:
        sql = m["sql"]
        if kind == "mysql":
            sql = sql.replace("AS TEXT)", "AS CHAR)")
        if m["name"] == "document_requests" and kind != "sqlite":  # a derived table needs an alias
            sql, n = re.subn(r"\)\s*ORDER BY application_id", ") AS document_events ORDER BY application_id", sql)
            assert n == 1
        mappings.append({"name": m["name"], "sql": sql} | ({"incremental_column": incremental} if incremental else {}))
    return mappings


def bpic_mappings(kind: str) -> list[dict]:
    # MariaDB keeps UTC wall-clock times without a zone: the mapping says so with an explicit offset.
    ts = "event_time" if kind == "postgres" else "CONCAT(DATE_FORMAT(event_time, '%Y-%m-%d %H:%i:%s.%f'), '+00:00')"
    sql = (
        f"SELECT application_id AS case_id, event_name AS activity, {ts} AS ts, actor AS resource, "
        "lifecycle_state AS lifecycle, amount_requested FROM loan_audit_trail ORDER BY audit_id"
    )
    return [{"name": "audit_trail", "sql": sql}]


def northwind_mappings(kind: str, interval: bool = False) -> list[dict]:
    """Order placed / shipped / delivery due: one mapping per date column of the orders table."""
    text = "CHAR" if kind == "mysql" else "TEXT"
    steps = (
        ("placed", "Order placed", "orderdate", "e.lastname", "JOIN employees e ON e.employeeid = o.employeeid"),
        ("shipped", "Order shipped", "shippeddate", "s.companyname", "JOIN shippers s ON s.shipperid = o.shipvia"),
        ("due", "Delivery due", "requireddate", "'customer'", ""),
    )
    mappings = []
    for name, activity, column, resource, join in steps:
        where = f"WHERE o.{column} IS NOT NULL"
        if interval:
            where += f" AND date(o.{column}) >= date(:interval_start) AND date(o.{column}) < date(:interval_end)"
        sql = (
            f"SELECT CAST(o.orderid AS {text}) AS case_id, '{activity}' AS activity, date(o.{column}) AS ts, "
            f"{resource} AS resource, o.customerid AS customer_id, o.shipcountry AS country, o.orderid AS order_id "
            f"FROM orders o {join} {where} ORDER BY o.orderid"
        )
        mappings.append({"name": f"order_{name}", "sql": sql, "incremental_column": "order_id"})
    return mappings


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def systems(postgres, mariadb, airflow_home, tmp_path_factory):
    """The business systems on the servers, the config over them and the environment for Airflow."""
    folder = tmp_path_factory.mktemp("extraction")
    sample = folder / "sample_system.sqlite"
    generate(sample, n_cases=300, seed=11)
    tables = {
        "sample": sample_tables(sample),
        "bpic": {"loan_audit_trail": bpic_audit_trail()},
        "northwind": northwind_tables(),
    }
    with (
        postgres.database() as pg_sample,
        postgres.database() as pg_bpic,
        postgres.database() as pg_northwind,
        mariadb.database() as my_sample,
        mariadb.database() as my_bpic,
        mariadb.database() as my_northwind,
        pytest.MonkeyPatch.context() as env,
    ):
        uris = {
            ("postgres", "sample"): pg_sample,
            ("postgres", "bpic"): pg_bpic,
            ("postgres", "northwind"): pg_northwind,
            ("mysql", "sample"): my_sample,
            ("mysql", "bpic"): my_bpic,
            ("mysql", "northwind"): my_northwind,
        }
        for (kind, system), uri in uris.items():
            server = postgres if kind == "postgres" else mariadb
            for name, table in tables[system].items():
                server.write(uri, name, table)
        postgres.execute(
            pg_bpic,
            "INSERT INTO loan_audit_trail VALUES (262201, NULL, 'A_SUBMITTED', 'COMPLETE', '112', now(), 500), "
            "(262202, '173688', '', 'COMPLETE', '112', now(), 500)",
        )
        sources = [
            {"name": "sample_sqlite", "kind": "sqlite", "path": str(sample), "mappings": sample_mappings("sqlite")},
            {
                "name": "northwind_sqlite",
                "kind": "sqlite",
                "path": str(NORTHWIND),
                "schedule": "@monthly",
                "mappings": northwind_mappings("sqlite", interval=True),
            },
            {"name": "ocel_orders", "kind": "ocel", "path": str(OCEL), "ocel_object_type": "Purchase Order"},
            {
                "name": "down_pg",
                "kind": "postgres",
                "conn_id": "mot_test_down",
                "mappings": [{"name": "audit_trail", "sql": "SELECT 1 AS case_id, 'a' AS activity, now() AS ts"}],
            },
        ]
        for (kind, system), uri in uris.items():
            name = f"{system}_{'pg' if kind == 'postgres' else 'mysql'}"
            mappings = {
                "sample": sample_mappings(kind, "ts"),
                "bpic": bpic_mappings(kind),
                "northwind": northwind_mappings(kind),
            }
            sources.append({"name": name, "kind": kind, "conn_id": f"mot_test_{name}", "mappings": mappings[system]})
            scheme = "postgres" if kind == "postgres" else "mysql"
            env.setenv(f"AIRFLOW_CONN_MOT_TEST_{name.upper()}", scheme + uri[uri.index("://") :])
        for source in sources:
            source["process"] = source["name"]
        config = folder / "config.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "project": "extraction_test",
                    "timezone": "Europe/Amsterdam",
                    "sources": sources,
                    "allowed_roots": [str(NORTHWIND.parent)],  # outside the config's folder
                }
            )
        )
        env.setenv(
            "AIRFLOW_CONN_MOT_TEST_DOWN", f"postgres://postgres:{DOWN_PASSWORD}@127.0.0.1:{closed_port()}/nowhere"
        )
        env.setenv("MOT_CONFIG", str(config))
        env.setenv("MOT_OUT", str(folder / "out"))
        yield {
            "sample": sample,
            "uris": uris,
            "warehouse": folder / "out" / "warehouse.duckdb",
            "postgres": postgres,
            "mariadb": mariadb,
        }


@pytest.fixture(scope="module")
def dags(systems):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"), known_pools={POOL})
    assert bag.import_errors == {}
    return bag.dags


def run(dag, **kwargs):
    """One DAG run with dag.test(); returns the run and its task instances by (task, map index)."""
    dr = dag.test(**kwargs)
    return dr, {(ti.task_id, ti.map_index): ti for ti in dr.get_task_instances()}


def query(systems, sql: str, params=None) -> list[tuple]:
    con = connect(systems["warehouse"], read_only=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def events_of(systems, source: str) -> list[tuple]:
    return query(
        systems,
        "SELECT case_id, activity, ts, resource, lifecycle, CAST(attrs AS VARCHAR) FROM events WHERE source = ? ORDER BY ALL",
        [source],
    )


def last_loads(systems, source: str) -> dict[str, tuple]:
    """(rows_read, rows_new, rows_quarantined) of each location's latest load of ``source``."""
    rows = query(
        systems,
        "SELECT location, arg_max(rows_read, load_id), arg_max(rows_new, load_id), arg_max(rows_quarantined, load_id) "
        "FROM load_audit WHERE source = ? GROUP BY location ORDER BY location",
        [source],
    )
    return {r[0]: r[1:] for r in rows}


@pytest.fixture(scope="module")
def first_runs(dags):
    """Every extraction DAG that reads a whole system, run once."""
    names = [
        "sample_sqlite",
        "sample_pg",
        "sample_mysql",
        "bpic_pg",
        "bpic_mysql",
        "northwind_pg",
        "northwind_mysql",
        "ocel_orders",
    ]
    runs = {}
    for name in names:
        dr, tis = run(dags[f"mot_extract_{name}"])
        assert dr.state == "success", (name, {k: t.state for k, t in tis.items()})
        runs[name] = tis
    return runs


# --- whole systems ------------------------------------------------------------------------------------


def test_sample_system_arrives_whole_from_every_database(systems, first_runs):
    expected = expected_event_count(systems["sample"])
    from_sqlite = events_of(systems, "sample_sqlite")
    assert len(from_sqlite) == expected
    # PostgreSQL and MariaDB hold the same business tables with typed columns: same events.
    assert events_of(systems, "sample_pg") == from_sqlite
    assert events_of(systems, "sample_mysql") == from_sqlite
    (statuses,) = sqlite3.connect(systems["sample"]).execute("SELECT count(*) FROM status_history").fetchone()
    assert last_loads(systems, "sample_pg")["sample_pg.status_history"] == (statuses, statuses, 0)


def test_bpic2012_audit_trail_matches_the_log_and_bad_rows_are_quarantined(systems, first_runs):
    log = read_xes(BPIC)
    con = duckdb.connect()
    con.register("log", log)
    fingerprint = (
        "SELECT count(*), sum(hash(case_id, activity, epoch_us(CAST(ts AS TIMESTAMPTZ)), resource, lifecycle)) FROM {}"
    )
    expected = con.execute(fingerprint.format("log")).fetchall()[0]
    assert expected[0] == 262_200
    for source in ("bpic_pg", "bpic_mysql"):
        got = query(systems, fingerprint.format("events") + " WHERE source = ?", [source])[0]
        assert got == expected, source
    assert query(systems, "SELECT count(DISTINCT case_id) FROM events WHERE source = 'bpic_pg'") == [(13_087,)]
    assert last_loads(systems, "bpic_pg") == {
        "bpic_pg.audit_trail": (262_200 + BAD_AUDIT_ROWS, 262_200, BAD_AUDIT_ROWS)
    }
    reasons = query(systems, "SELECT reason FROM quarantine WHERE source = 'bpic_pg' ORDER BY row_number")
    assert reasons == [("missing case id",), ("missing activity",)]


def test_northwind_order_journey_from_the_order_dates(systems, first_runs):
    nw = sqlite3.connect(NORTHWIND)
    placed, shipped, due = nw.execute(
        "SELECT count(OrderDate), count(ShippedDate), count(RequiredDate) FROM Orders"
    ).fetchone()
    assert (placed, shipped, due) == (830, 809, 830)
    for source in ("northwind_pg", "northwind_mysql"):
        counts = dict(query(systems, "SELECT activity, count(*) FROM events WHERE source = ? GROUP BY ALL", [source]))
        assert counts == {"Order placed": placed, "Order shipped": shipped, "Delivery due": due}
    # Dates are local calendar days: midnight in Amsterdam.
    first = query(systems, "SELECT min(ts) FROM events WHERE source = 'northwind_pg' AND activity = 'Order placed'")
    assert first == [(datetime(2016, 7, 3, 22, tzinfo=UTC),)]
    assert events_of(systems, "northwind_mysql") == events_of(systems, "northwind_pg")


def test_ocel_flattened_on_purchase_orders_and_not_read_twice(systems, dags, first_runs):
    traces = query(
        systems,
        "SELECT case_id, list(activity ORDER BY ts, seq) FROM events WHERE source = 'ocel_orders' GROUP BY ALL ORDER BY ALL",
    )
    assert traces == [
        ("PO1", ["Create Purchase Order", "Change PO Quantity", "Insert Invoice", "Insert Invoice"]),
        ("PO2", ["Create Purchase Order"]),
    ]
    audits = query(systems, "SELECT count(*) FROM load_audit WHERE source = 'ocel_orders'")
    dr, tis = run(dags["mot_extract_ocel_orders"])
    assert dr.state == "success"
    assert tis[("extract", -1)].state == "skipped"  # the file did not change: nothing to extract
    assert tis[("changed", -1)].state == "skipped"  # nothing loaded: no Asset event
    assert query(systems, "SELECT count(*) FROM load_audit WHERE source = 'ocel_orders'") == audits


def test_load_updates_the_source_asset(first_runs):
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.settings import Session

    with Session() as session:
        events = (
            session.query(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetModel.name == "mot.extraction_test.events.sample_sqlite")
            .count()
        )
    assert events == 1


# --- incremental, backfill, failure ----------------------------------------------------------------------


def test_incremental_runs_read_only_new_rows(systems, dags, first_runs):
    pg, my = systems["uris"][("postgres", "sample")], systems["uris"][("mysql", "sample")]
    before_pg, before_my = events_of(systems, "sample_pg"), events_of(systems, "sample_mysql")
    systems["postgres"].execute(
        pg,
        "INSERT INTO status_history SELECT 900000 + g, g, 'ARCHIVED', timestamp '2026-03-02 10:00:00' + g * interval '1 minute', 1 "
        "FROM generate_series(1, 3) g",
    )
    systems["mariadb"].execute(
        my,
        "INSERT INTO contacts (contact_id, application_id, customer_id, contact_at, channel, direction, purpose, employee_id, automated) "
        "SELECT 900000 + application_id, application_id, customer_id, '2026-03-02 11:00:00', 'phone', 'inbound', 'status_enquiry', 1, 0 "
        "FROM applications WHERE application_id <= 2",
    )
    for source, added in (("sample_pg", "sample_pg.status_history"), ("sample_mysql", "sample_mysql.contacts")):
        dr, _ = run(dags[f"mot_extract_{source}"])
        assert dr.state == "success"
        loads = last_loads(systems, source)
        new = 3 if source == "sample_pg" else 2
        assert loads[added] == (new, new, 0)
        assert all(v == (0, 0, 0) for k, v in loads.items() if k != added)
    new_pg = sorted(set(events_of(systems, "sample_pg")) - set(before_pg))
    assert [e[:3] for e in new_pg] == [(str(g), "ARCHIVED", datetime(2026, 3, 2, 9, g, tzinfo=UTC)) for g in (1, 2, 3)]
    assert len(events_of(systems, "sample_mysql")) == len(before_my) + 2
    # The same interval again: nothing arrives.
    for source in ("sample_pg", "sample_mysql"):
        count = len(events_of(systems, source))
        dr, _ = run(dags[f"mot_extract_{source}"])
        assert dr.state == "success"
        assert all(v == (0, 0, 0) for v in last_loads(systems, source).values())
        assert len(events_of(systems, source)) == count


def test_backfill_reads_past_intervals_and_never_moves_the_watermark_back(systems, dags):
    dag = dags["mot_extract_northwind_sqlite"]
    nw = sqlite3.connect(NORTHWIND)

    def placed_in(month: str) -> int:
        return nw.execute("SELECT count(*) FROM Orders WHERE substr(OrderDate, 1, 7) = ?", [month]).fetchone()[0]

    def placed_loaded() -> int:
        return query(
            systems, "SELECT count(*) FROM events WHERE source = 'northwind_sqlite' AND activity = 'Order placed'"
        )[0][0]

    def watermark() -> str:
        return query(
            systems, "SELECT value FROM watermarks WHERE source = 'northwind_sqlite' AND mapping = 'order_placed'"
        )[0][0]

    september = datetime(2016, 10, 1, 12, tzinfo=UTC)  # its last complete interval: September 2016
    july = datetime(2016, 8, 1, 12, tzinfo=UTC)
    assert run(dag, logical_date=september)[0].state == "success"
    assert placed_loaded() == placed_in("2016-09") > 0
    mark = watermark()
    assert run(dag, logical_date=july)[0].state == "success"  # an old interval behind the watermark
    assert placed_loaded() == placed_in("2016-09")
    assert run(dag, logical_date=july, run_conf={"backfill": True})[0].state == "success"
    assert placed_loaded() == placed_in("2016-09") + placed_in("2016-07")
    assert watermark() == mark
    assert run(dag, logical_date=july, run_conf={"backfill": True})[0].state == "success"
    assert placed_loaded() == placed_in("2016-09") + placed_in("2016-07")


def test_source_down_retries_then_fails_clearly_and_leaves_the_warehouse_alone(systems, dags, first_runs, capfd):
    snapshot = (
        "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM load_audit), (SELECT count(*) FROM watermarks)"
    )
    before = query(systems, snapshot)
    capfd.readouterr()
    dr, tis = run(dags["mot_extract_down_pg"])
    output = "".join(capfd.readouterr())
    assert dr.state == "failed"
    extract = tis[("extract", 0)]
    assert (extract.state, extract.try_number) == ("failed", 3)  # the first try and two retries
    assert tis[("load", -1)].state == "success"  # it loads what was extracted: nothing here
    assert (tis[("verdict", -1)].state, tis[("changed", -1)].state) == ("failed", "skipped")
    assert "source 'down_pg': the postgres server at 127.0.0.1:" in output and "does not answer" in output
    assert DOWN_PASSWORD not in output
    assert query(systems, snapshot) == before
