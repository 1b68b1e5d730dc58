"""Change semantics through scheduled extraction runs: Chinook's invoices in the real PostgreSQL and
MariaDB, changed step by step, each step followed by one run of the source's extraction DAG
(``dag.test`` on the next day's logical date, so each run has the next daily data interval).

The five mappings of a source cover every row of the Change semantics table in docs/airflow.md;
the case is the customer, the activity the mapping's, the time the invoice date:

- ``issued``: the default identity and a soft-delete column, read whole (no reconciliation):
  a moved or re-cased invoice leaves its old event, a hard delete is not seen;
- ``settled``: the same with ``reconcile: full``: always what the source says now;
- ``keyed``: ``key: [invoice_id]``, soft deletes and ``reconcile: full``: always what the source
  says now, moves in place;
- ``recent``: incremental on the invoice date with a two-day ``lookback``, keyed, soft deletes:
  late and corrected rows inside the window are read again;
- ``plain``: incremental on the invoice date, default identity: a late row is not read.

After each run: every mapping's events equal a query on the source (adjusted by the changes that
mapping is documented not to see), the run's audit rows count what changed, nothing is duplicated,
and the Asset event (task ``changed``) comes exactly when something changed. The last steps write
dates the reader cannot take (MariaDB's zero dates, PostgreSQL's 44 BC and infinity), one far back
and one ahead of the watermark: their rows are quarantined with the value, the rest of the run
loads, the run succeeds, an unchanged run after it triggers nothing, and the row ahead of the
watermark loads once it is fixed (regressions: PostgreSQL's infinity as the watermark crashed the
incremental mappings' extraction; a MariaDB zero date became the watermark and broke the look-back).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from airflow_run import asset_events

from mining.orchestration import POOL
from mining.warehouse import connect

REPO = Path(__file__).resolve().parents[1]
CHINOOK = REPO.parent / "shared" / "data" / "systems" / "chinook.sqlite"
TIMEZONE = "Europe/Amsterdam"
KINDS = {"postgres": "chinook_pg", "mysql": "chinook_my"}
MAPPINGS = ("issued", "settled", "keyed", "recent", "plain")
FIRST_DAY = datetime(2026, 3, 2, tzinfo=ZoneInfo(TIMEZONE))  # midnight in the zone: a day's end


def mappings(kind: str) -> list[dict]:
    columns = "customer_id AS case_id, invoice_date AS ts, invoice_id, total"
    invoices = "FROM invoice ORDER BY invoice_id"  # occurrence numbers of equal rows follow the source order

    def select(activity: str, extra: str = "") -> str:
        return f"SELECT '{activity}' AS activity, {columns}{extra} {invoices}"

    # The keyed mapping also keeps the date as an attribute: a run that must read dates as text
    # (MariaDB's zero date) may not change it.
    day = "CAST(invoice_date AS DATE)" if kind == "postgres" else "DATE(invoice_date)"
    return [
        {"name": "issued", "sql": select("Invoice issued", ", is_deleted"), "deleted_column": "is_deleted"},
        {
            "name": "settled",
            "sql": select("Invoice settled", ", is_deleted"),
            "deleted_column": "is_deleted",
            "reconcile": "full",
        },
        {
            "name": "keyed",
            "sql": select("Invoice keyed", f", is_deleted, {day} AS invoiced_on"),
            "key": ["invoice_id"],
            "deleted_column": "is_deleted",
            "reconcile": "full",
        },
        {
            "name": "recent",
            "sql": select("Invoice recent", ", is_deleted"),
            "incremental_column": "ts",
            "lookback": "2 days",
            "key": ["invoice_id"],
            "deleted_column": "is_deleted",
        },
        {"name": "plain", "sql": select("Invoice plain"), "incremental_column": "ts"},
    ]


def create_invoices(server, uri: str) -> None:
    """Chinook's Invoice table (the columns the mappings read) plus a soft-delete flag."""
    rows = sqlite3.connect(CHINOOK).execute("SELECT InvoiceId, CustomerId, InvoiceDate, Total FROM Invoice").fetchall()
    assert len(rows) == 412
    postgres = server.kind == "postgres"
    server.execute(
        uri,
        "CREATE TABLE invoice (invoice_id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, "
        f"invoice_date {'TIMESTAMP' if postgres else 'DATETIME'} NOT NULL, total NUMERIC(10,2) NOT NULL, "
        f"is_deleted {'BOOLEAN' if postgres else 'TINYINT(1)'} NOT NULL DEFAULT {'FALSE' if postgres else '0'})",
    )
    values = ", ".join(f"({i}, {c}, '{d}', {t})" for i, c, d, t in rows)
    server.execute(uri, f"INSERT INTO invoice (invoice_id, customer_id, invoice_date, total) VALUES {values}")


@pytest.fixture(scope="module")
def chinook(postgres, mariadb, airflow_home, tmp_path_factory):
    """Chinook's invoices in both servers, one config with a daily source for each, the DAGs."""
    from airflow.dag_processing.dagbag import DagBag

    folder = tmp_path_factory.mktemp("delta_airflow")
    with (
        postgres.database("mot_sched") as pg,
        mariadb.database("mot_sched") as my,
        pytest.MonkeyPatch.context() as env,
    ):
        uris = {"postgres": pg, "mysql": my}
        sources = []
        for kind, server in (("postgres", postgres), ("mysql", mariadb)):
            create_invoices(server, uris[kind])
            name = KINDS[kind]
            sources.append(
                {
                    "name": name,
                    "kind": kind,
                    "conn_id": name,
                    "process": "invoicing",
                    "schedule": "@daily",
                    "mappings": mappings(kind),
                }
            )
            # The provider connection types' URIs, as `airflow connections add` takes them.
            env.setenv(f"AIRFLOW_CONN_{name.upper()}", kind + uris[kind][uris[kind].index("://") :])
        config = folder / "config.yaml"
        config.write_text(yaml.safe_dump({"project": "sched", "timezone": TIMEZONE, "sources": sources}))
        env.setenv("MOT_CONFIG", str(config))
        env.setenv("MOT_OUT", str(folder / "out"))
        bag = DagBag(dag_folder=str(REPO / "dags"), known_pools={POOL})
        assert bag.import_errors == {}
        yield {
            "dags": bag.dags,
            "warehouse": folder / "out" / "warehouse.duckdb",
            "servers": {"postgres": postgres, "mysql": mariadb},
            "uris": uris,
        }


# --- reading the warehouse and the source -----------------------------------------------------------


def query(system, sql: str, params=None) -> list[tuple]:
    con = connect(system["warehouse"], read_only=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def warehouse(system, source: str, mapping: str) -> list[tuple]:
    """A mapping's events: (case, wall-clock time in the project zone, invoice id, total), sorted."""
    return query(
        system,
        "SELECT case_id, strftime(timezone(?, ts), '%Y-%m-%d %H:%M:%S'), CAST(attrs->>'invoice_id' AS INTEGER), "
        "CAST(attrs->>'total' AS DECIMAL(10,2)) FROM events WHERE source = ? AND activity = ? ORDER BY ALL",
        [TIMEZONE, source, f"Invoice {mapping}"],
    )


class Expected:
    """What each mapping should hold: the source's rows now (its live rows, for a mapping with a
    soft-delete column), except what the mapping is documented not to see: ``held`` events (an
    unseen change leaves the event as it was; a moved event's old copy stays) and ``unread`` rows."""

    def __init__(self, server, uri: str):
        self.server, self.uri = server, uri
        self.held: dict[str, dict] = {m: {} for m in MAPPINGS}
        self.unread: dict[str, set[int]] = {m: set() for m in MAPPINGS}

    def rows(self, where: str = "TRUE") -> dict[int, tuple]:
        text = "TEXT" if self.server.kind == "postgres" else "CHAR"
        sql = (
            f"SELECT invoice_id, customer_id, CAST(invoice_date AS {text}), total FROM invoice WHERE {where} "
            "ORDER BY invoice_id"
        )
        return {i: (str(c), d, i, Decimal(t)) for i, c, d, t in self.server.execute(self.uri, sql)}

    def row(self, invoice_id: int) -> tuple:
        return self.rows(f"invoice_id = {invoice_id}")[invoice_id]

    def events(self, mapping: str) -> list[tuple]:
        live = "NOT is_deleted" if self.server.kind == "postgres" else "is_deleted = 0"
        rows = self.rows("TRUE" if mapping == "plain" else live)
        for key, event in self.held[mapping].items():
            rows[key] = event
        for invoice_id in self.unread[mapping]:
            rows.pop(invoice_id, None)
        return sorted(rows.values())

    def hold(self, invoice_id: int, *mappings: str, key: object = None) -> None:
        """The event of ``invoice_id`` as it is now stays in ``mappings`` (under ``key``: an extra copy)."""
        event = self.row(invoice_id)
        for mapping in mappings:
            self.held[mapping][invoice_id if key is None else key] = event


# --- one scheduled run -----------------------------------------------------------------------------


class Runs:
    """Successive daily runs of one source's extraction DAG, and what each left behind."""

    def __init__(self, system, kind: str):
        self.system, self.source = system, KINDS[kind]
        self.dag = system["dags"][f"mot_extract_{self.source}"]
        self.day = 0
        self.asset = f"mot.sched.events.{self.source}"
        self.asset_events = 0

    def run(self, expect: dict[str, tuple], *, changed: bool = True) -> dict[str, int]:
        """Run the DAG on the next logical date; check the run and its audit rows against ``expect``:
        per mapping (rows_new, rows_updated, rows_deleted, rows_quarantined). Returns rows read per mapping."""
        before = 0
        if self.system["warehouse"].exists():
            before = query(self.system, "SELECT coalesce(max(load_id), 0) FROM load_audit")[0][0]
        self.before = before
        logical_date = FIRST_DAY + timedelta(days=self.day)
        self.day += 1
        dr = self.dag.test(logical_date=logical_date)
        tis = {(ti.task_id, ti.map_index): ti for ti in dr.get_task_instances()}
        states = {key: ti.state for key, ti in tis.items()}
        # A quarantined row is not a failure: every run of this scenario succeeds, each task once.
        assert dr.state == "success", states
        assert dr.data_interval_end == logical_date
        assert dr.data_interval_start == logical_date - timedelta(days=1)
        assert all(ti.try_number == 1 for ti in tis.values())
        assert states[("changed", -1)] == ("success" if changed else "skipped")
        self.asset_events += changed
        assert asset_events(self.asset) == self.asset_events  # none for a run that changed nothing
        audit = query(
            self.system,
            "SELECT location, rows_read, rows_loaded, rows_new, rows_updated, rows_deleted, rows_quarantined, status "
            "FROM load_audit WHERE source = ? AND load_id > ? ORDER BY location",
            [self.source, before],
        )
        assert all(read == loaded + quarantined for _, read, loaded, _, _, _, quarantined, _ in audit)
        assert all(status == "committed" for *_, status in audit)
        counts = {location.split(".", 1)[1]: tuple(row[2:6]) for location, *row in audit}
        assert counts == expect, f"day {self.day}: {counts}"
        totals = tis[("load", -1)].xcom_pull(task_ids="load")
        assert totals["rows_new"] == sum(c[0] for c in expect.values()) and totals["failed"] == []
        return {location.split(".", 1)[1]: row[0] for location, *row in audit}

    def quarantined(self) -> list[tuple]:
        """The last run's quarantined rows: (mapping, invoice id, reason), sorted."""
        rows = query(
            self.system,
            "SELECT location, raw, reason FROM quarantine WHERE source = ? AND load_id > ?",
            [self.source, self.before],
        )
        return sorted((location.split(".", 1)[1], json.loads(raw)["invoice_id"], why) for location, raw, why in rows)

    def watermarks(self) -> dict[str, str]:
        rows = query(self.system, "SELECT mapping, value FROM watermarks WHERE source = ?", [self.source])
        return dict(rows)

    def check(self, expected: Expected) -> None:
        """Every mapping holds what the source says, nothing twice."""
        for mapping in MAPPINGS:
            assert warehouse(self.system, self.source, mapping) == expected.events(mapping), mapping
        duplicates = query(
            self.system,
            "SELECT count(*) - count(DISTINCT event_key), "
            "count(*) - count(DISTINCT (activity, case_id, ts, attrs->>'invoice_id')) FROM events WHERE source = ?",
            [self.source],
        )
        assert duplicates == [(0, 0)]


def same(counts: tuple, **overrides: tuple) -> dict[str, tuple]:
    """The same audit counts for every mapping, except ``overrides``."""
    return {m: overrides.get(m, counts) for m in MAPPINGS}


# --- the scenario ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["postgres", "mysql"])
def test_scheduled_runs_follow_every_change_of_the_source(chinook, kind):
    server, uri = chinook["servers"][kind], chinook["uris"][kind]
    runs, expected = Runs(chinook, kind), Expected(server, uri)
    true = "TRUE" if kind == "postgres" else "1"

    def change(*statements: str) -> None:
        for sql in statements:
            server.execute(uri, sql)

    # Day 1, the first load: every invoice, in every mapping.
    runs.run(same((412, 0, 0, 0)))
    runs.check(expected)

    # Day 2, nothing changed: no Asset event; the look-back re-reads its window and changes nothing.
    read = runs.run(same((0, 0, 0, 0)), changed=False)
    assert read["recent"] == 1 and read["plain"] == 0  # 2013-12-22, the last invoice, lies in the window
    runs.check(expected)

    # Insert: two invoices of one customer at one time, equal in case, activity and time (true
    # duplicates for the default identity, kept as two events), after every other invoice.
    change(
        "INSERT INTO invoice (invoice_id, customer_id, invoice_date, total) VALUES "
        "(1000, 7, '2014-01-05 10:00:00', 9.99), (1001, 7, '2014-01-05 10:00:00', 0.99)"
    )
    runs.run(same((2, 0, 0, 0)))
    runs.check(expected)

    # Update an attribute: an old invoice (only the full reads see it) and one corrected behind the
    # watermark, inside the look-back window. Each event changes in place.
    expected.hold(5, "recent", "plain")
    expected.hold(1001, "plain")
    change(
        "UPDATE invoice SET total = 123.45 WHERE invoice_id = 5",
        "UPDATE invoice SET total = 1.99 WHERE invoice_id = 1001",
    )
    runs.run(same((0, 2, 0, 0), recent=(0, 1, 0, 0), plain=(0, 0, 0, 0)))
    runs.check(expected)

    # Update the timestamp: the keyed mapping moves the event; the default identity makes a new
    # event, whose old copy stays unless the mapping reconciles (then it is removed).
    expected.hold(6, "issued", key="old 6")
    expected.hold(6, "recent", "plain")
    change("UPDATE invoice SET invoice_date = invoice_date + INTERVAL '1' HOUR WHERE invoice_id = 6")
    runs.run(same((0, 0, 0, 0), issued=(1, 0, 0, 0), settled=(1, 0, 1, 0), keyed=(0, 1, 0, 0)))
    runs.check(expected)

    # Update the case (another customer): as a timestamp update.
    expected.hold(9, "issued", key="old 9")
    expected.hold(9, "recent", "plain")
    change("UPDATE invoice SET customer_id = 43 WHERE invoice_id = 9")
    runs.run(same((0, 0, 0, 0), issued=(1, 0, 0, 0), settled=(1, 0, 1, 0), keyed=(0, 1, 0, 0)))
    runs.check(expected)

    # Soft delete: an old invoice (the incremental mappings do not read it again) and one inside the
    # look-back window. The mappings with the soft-delete column remove the events they read.
    expected.hold(7, "recent")
    change(f"UPDATE invoice SET is_deleted = {true} WHERE invoice_id IN (7, 1000)")
    runs.run(same((0, 0, 2, 0), recent=(0, 0, 1, 0), plain=(0, 0, 0, 0)))
    runs.check(expected)

    # Hard delete: only the reconciling mappings see it.
    expected.hold(8, "issued", "recent", "plain")
    change("DELETE FROM invoice WHERE invoice_id = 8")
    runs.run(same((0, 0, 0, 0), settled=(0, 0, 1, 0), keyed=(0, 0, 1, 0)))
    runs.check(expected)

    # A late row, 34 hours behind the watermark: the look-back reads it, the plain
    # incremental mapping does not, the full reads do.
    expected.unread["plain"].add(1002)
    change(
        "INSERT INTO invoice (invoice_id, customer_id, invoice_date, total) VALUES (1002, 9, '2014-01-04 00:00:00', 1.98)"
    )
    read = runs.run(same((1, 0, 0, 0), plain=(0, 0, 0, 0)))
    assert read["plain"] == 0 and read["recent"] == 3  # 1000 (soft-deleted), 1001 and 1002
    runs.check(expected)

    # Dates the reader cannot take, with a good new invoice in the same run. One lies far back
    # (MariaDB's zero date, PostgreSQL's 44 BC): the full reads read it, the incremental ones do
    # not. One lies ahead of the watermark (a zero day in February; PostgreSQL's infinity), so
    # every mapping reads it. Each mapping that reads a bad row quarantines it with its value; the
    # good row loads everywhere, and the run succeeds.
    if kind == "mysql":
        bad = {1003: "0000-00-00 00:00:00", 1005: "2014-02-00 00:00:00"}
        reasons = {i: f"unparseable timestamp: {v}" for i, v in bad.items()}
        insert = "SET STATEMENT sql_mode = '' FOR INSERT"  # zero dates need NO_ZERO_DATE off
    else:
        bad = {1003: "0044-03-15 00:00:00 BC", 1005: "infinity"}
        reasons = {i: f"timestamp out of range: {v}" for i, v in (bad | {1003: "0044-03-15 (BC) 00:00:00"}).items()}
        insert = "INSERT"
    for mapping in MAPPINGS:
        expected.unread[mapping] |= {1003, 1005}
    change(
        f"{insert} INTO invoice (invoice_id, customer_id, invoice_date, total) VALUES "
        f"(1003, 11, '{bad[1003]}', 2.00), (1004, 12, '2014-01-06 09:00:00', 3.00), (1005, 13, '{bad[1005]}', 4.00)"
    )
    runs.run(same((1, 0, 0, 2), recent=(1, 0, 0, 1), plain=(1, 0, 0, 1)))
    runs.check(expected)
    full = [(m, 1003, reasons[1003]) for m in ("issued", "keyed", "settled")]
    assert runs.quarantined() == sorted(full + [(m, 1005, reasons[1005]) for m in MAPPINGS])
    # The row ahead of the watermark does not move it (as the watermark it would end the mapping's
    # reads, or break its look-back): it is read and quarantined again until it is fixed.
    assert runs.watermarks() == {"recent": "2014-01-06 09:00:00", "plain": "2014-01-06 09:00:00"}

    # Unchanged: the bad rows are quarantined again, which is no change, so no Asset event (no
    # mining); no event is rewritten, though MariaDB's mappings now read their dates as text.
    runs.run(same((0, 0, 0, 2), recent=(0, 0, 0, 1), plain=(0, 0, 0, 1)), changed=False)
    runs.check(expected)
    assert runs.quarantined() == sorted(full + [(m, 1005, reasons[1005]) for m in MAPPINGS])

    # The row ahead of the watermark fixed in the source: every mapping loads it now.
    for mapping in MAPPINGS:
        expected.unread[mapping].discard(1005)
    change("UPDATE invoice SET invoice_date = '2014-01-07 08:00:00' WHERE invoice_id = 1005")
    runs.run(same((1, 0, 0, 1), recent=(1, 0, 0, 0), plain=(1, 0, 0, 0)))
    runs.check(expected)
    assert runs.quarantined() == full
    assert runs.watermarks() == {"recent": "2014-01-07 08:00:00", "plain": "2014-01-07 08:00:00"}


def test_a_watermark_is_a_value_the_warehouse_can_hold():
    """The unit of the two regressions above: out-of-calendar values never become the watermark."""
    import pyarrow as pa

    from mining.sources.sql import watermark_of

    infinity = 262142 * 365 * 86400 * 10**6  # about where connectorx puts PostgreSQL's infinity
    ts = pa.array([1_389_000_000 * 10**6, infinity, None], pa.timestamp("us"))
    aware = ts.cast(pa.timestamp("us", tz="UTC"))
    days = pa.array([16_000, 2_932_897 * 40, None], pa.date32())  # 2013-10-22 and a year far after 9999
    table = pa.table({"ts": ts, "aware": aware, "day": days})
    assert watermark_of(table, "ts", "t") == "2014-01-06 09:20:00"
    assert watermark_of(table, "aware", "t") == "2014-01-06 09:20:00+00:00"
    assert watermark_of(table, "day", "t") == "2013-10-22"
    assert watermark_of(table.slice(1, 1), "ts", "t") is None  # only infinity: the watermark stays
    text = pa.table({"d": ["2014-01-06 09:00:00", "2014-02-00 00:00:00", "0000-00-00", "2014-02-31", None]})
    assert watermark_of(text, "d", "t", ["d"]) == "2014-01-06 09:00:00"
    assert watermark_of(text, "d", "t") == "2014-02-31"  # a text column that is no date: as it is
