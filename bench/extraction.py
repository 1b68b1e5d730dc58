"""PostgreSQL -> DuckDB extraction throughput: our way against the psycopg2 + pandas way.

``measure()`` creates a scratch database on the PostgreSQL server, fills an audit-trail-like event
table with 1,000,000 rows (server-side ``generate_series``, so the fill is not what is measured),
then times each way of getting the rows into a DuckDB table, best of ``repeats``:

- ``pg_copy`` (ours): the extraction mapping through ``mining.sources.extract_item`` (a binary COPY
  received by psycopg2 and decoded with numpy, column by column, in blocks while it arrives:
  ``mining/sources/pg_copy.py``), then ``CREATE TABLE AS`` over the Arrow table in DuckDB;
- ``connectorx``: the same with ``pg_copy`` turned off, as the extraction was before it
  (connectorx -> Arrow, binary COPY protocol, no Python objects per row);
- ``adbc``: the ADBC PostgreSQL driver's ``fetch_arrow_table`` (also Arrow-native), for reference;
- ``psycopg2_pandas``: ``pandas.read_sql`` over a psycopg2 connection, then DuckDB from the frame
  (pandas warns that it supports only SQLAlchemy connections and sqlite3, but it works and is the
  faster of the two pandas ways);
- ``sqlalchemy_pandas``: ``pandas.read_sql`` over a SQLAlchemy engine on psycopg2 (pandas'
  documented way), then DuckDB;
- ``full_load`` (ours, end to end): extraction plus ``load_batch`` into a fresh warehouse: staging,
  timestamp parsing, quarantine check, event-key hashing and the merge, in one transaction;
- ``delta_merge`` (ours): the merge of a delta load, measured once, last (it changes the table):
  ``load_batch`` of all rows into a fresh warehouse (all new), then, after 1% of the rows got a new
  attribute value in PostgreSQL, ``load_batch`` of the full re-read (1% updated in place, the rest
  found unchanged); the seconds of ``load_batch`` alone, extraction timed apart;
- ``server_copy_floor``: the server's own binary ``COPY`` of the query result into a client that
  discards it, with the CPU seconds of the server process for it when the server runs on this
  machine. No client on one connection can be faster, so it bounds the speed-up any way can reach.
  ``pg_copy_vs_floor`` and ``connectorx_vs_floor`` are the two ways' seconds over the floor's, in
  the same run (issue 20: at most 1.3). The three are measured first, their runs taking turns.

The database is dropped afterwards. Run ``python -m bench.extraction`` to print the result.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit

import duckdb

ADMIN_URI = os.environ.get("MOT_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
QUERY = "SELECT case_id, activity, ts, resource, lifecycle, amount FROM audit_trail ORDER BY id"
FILL = """
CREATE TABLE audit_trail AS
SELECT g AS id,
       'case_' || (g / 20)                                        AS case_id,
       'activity_' || (g % 17)                                    AS activity,
       timestamp '2024-01-01' + g * interval '7 seconds'          AS ts,
       'user_' || (g % 50)                                        AS resource,
       CASE WHEN g % 3 = 0 THEN 'start' ELSE 'complete' END        AS lifecycle,
       (g % 1000) * 1.5                                           AS amount
FROM generate_series(1, {rows}) AS g
"""
# The corrected rows of the delta measurement: 1% of them get a new attribute value.
UPDATE_ONE_PERCENT = "UPDATE audit_trail SET amount = amount + 0.5 WHERE id % 100 = 0"


def _admin(uri: str):
    import psycopg2

    con = psycopg2.connect(uri)
    con.autocommit = True
    return con


def _best(run: Callable[[], int], repeats: int) -> dict:
    """Seconds of the fastest of ``repeats`` runs (and the median), and rows per second."""
    return _interleaved({"way": run}, repeats)["way"]


def _interleaved(ways: dict[str, Callable[[], int]], repeats: int) -> dict[str, dict]:
    """``_best`` of each way, their runs taking turns: a machine whose speed drifts (other work,
    a neighbour on the host) then slows every way alike, which keeps their ratio fair."""
    times: dict[str, list[float]] = {name: [] for name in ways}
    rows: dict[str, int] = {}
    for _ in range(repeats):
        for name, run in ways.items():
            started = time.perf_counter()
            rows[name] = run()
            times[name].append(time.perf_counter() - started)
    return {
        name: {
            "seconds": round(min(spent), 3),
            "median_s": round(statistics.median(spent), 3),
            "rows_per_s": round(rows[name] / min(spent)),
        }
        for name, spent in times.items()
    }


class _Discard:
    """A file-like sink for COPY output that keeps nothing."""

    def write(self, data) -> int:
        return len(data)


def _backend_pid(con) -> int:
    """The process id of the server process behind a psycopg2 connection."""
    with con.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        return cur.fetchone()[0]


def _process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` (None when it is not on this machine)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _into_duckdb(data) -> int:
    con = duckdb.connect()
    try:
        con.register("incoming", data)
        con.execute("CREATE TABLE events AS SELECT * FROM incoming").fetchall()
        return con.execute("SELECT count(*) FROM events").fetchall()[0][0]
    finally:
        con.close()


def measure(rows: int = 1_000_000, repeats: int = 3, admin_uri: str = ADMIN_URI) -> dict:
    """Load ``rows`` rows into PostgreSQL and time each way into DuckDB; return the figures."""
    import adbc_driver_postgresql.dbapi as adbc
    import pandas as pd
    import sqlalchemy

    from mining.config import Mapping, Source
    from mining.sources import extract_item, pg_copy
    from mining.warehouse import connect
    from mining.warehouse.load import load_batch

    name = f"mot_bench_extraction_{os.getpid()}"
    uri = urlsplit(admin_uri)._replace(path=f"/{name}").geturl()
    admin = _admin(admin_uri)
    admin.cursor().execute(f"CREATE DATABASE {name}")
    try:
        con = _admin(uri)
        started = time.perf_counter()
        con.cursor().execute(FILL.format(rows=int(rows)))
        con.cursor().execute("ANALYZE audit_trail")
        fill_s = time.perf_counter() - started
        source = Source(
            name="bench", kind="postgres", conn_id="bench", mappings=[Mapping(name="audit_trail", sql=QUERY)]
        )

        def ours() -> int:
            return _into_duckdb(extract_item(source, "audit_trail", uri=uri).table)

        def with_connectorx() -> int:
            # The extraction before pg_copy: the fast path declines, connectorx reads the query.
            with mock.patch.object(pg_copy, "read", return_value=None):
                return _into_duckdb(extract_item(source, "audit_trail", uri=uri).table)

        def with_adbc() -> int:
            with adbc.connect(uri) as pg, pg.cursor() as cur:
                cur.execute(QUERY)
                return _into_duckdb(cur.fetch_arrow_table())

        engine = sqlalchemy.create_engine(uri.replace("postgresql://", "postgresql+psycopg2://", 1))

        def with_pandas_engine() -> int:
            # pandas' documented way: a SQLAlchemy engine over psycopg2.
            with engine.connect() as connection:
                return _into_duckdb(pd.read_sql(QUERY, connection))

        def with_pandas() -> int:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # pandas prefers SQLAlchemy; psycopg2 works
                return _into_duckdb(pd.read_sql(QUERY, con))

        backend = _backend_pid(con)
        server_cpu: list[float] = []

        def server_floor() -> int:
            # What the server alone needs to run the query and send it (binary COPY into a sink
            # that discards it): no client can be faster, which bounds every speed-up here.
            sink = _Discard()
            cpu_before = _process_cpu_seconds(backend)
            with con.cursor() as cur:
                cur.copy_expert(f"COPY ({QUERY}) TO STDOUT (FORMAT binary)", sink)
            cpu_after = _process_cpu_seconds(backend)
            if cpu_before is not None and cpu_after is not None:
                server_cpu.append(cpu_after - cpu_before)
            return rows

        def full_load() -> int:
            with tempfile.TemporaryDirectory() as folder:
                warehouse = connect(Path(folder) / "warehouse.duckdb")
                try:
                    batch = extract_item(source, "audit_trail", uri=uri)
                    result = load_batch(
                        warehouse, batch.table, process="bench", source="bench", location=batch.location
                    )
                    return result.rows_new
                finally:
                    warehouse.close()

        def delta_merge() -> dict:
            with tempfile.TemporaryDirectory() as folder:
                warehouse = connect(Path(folder) / "warehouse.duckdb")
                try:
                    figures = {}
                    for step in ("load_new", "reload_1pct_updated"):
                        if step == "reload_1pct_updated":
                            con.cursor().execute(UPDATE_ONE_PERCENT)
                        started = time.perf_counter()
                        batch = extract_item(source, "audit_trail", uri=uri)
                        extracted = time.perf_counter()
                        result = load_batch(
                            warehouse, batch.table, process="bench", source="bench", location=batch.location
                        )
                        seconds = time.perf_counter() - extracted
                        figures[step] = {
                            "extract_s": round(extracted - started, 3),
                            "load_batch_s": round(seconds, 3),
                            "rows_per_s": round(rows / seconds),
                            "rows_new": result.rows_new,
                            "rows_updated": result.rows_updated,
                        }
                    return figures
                finally:
                    warehouse.close()

        # Ours and the floor first, their runs taking turns with connectorx's: their ratio is the target.
        results = _interleaved(
            {"connectorx": with_connectorx, "pg_copy": ours, "server_copy_floor": server_floor}, repeats
        )
        results |= {
            "adbc": _best(with_adbc, repeats),
            "psycopg2_pandas": _best(with_pandas, repeats),
            "sqlalchemy_pandas": _best(with_pandas_engine, repeats),
            "full_load": _best(full_load, repeats),
        }
        results["delta_merge"] = delta_merge()  # last: it updates the table
        if server_cpu:
            # CPU seconds of the server process for the query and its COPY (fewest of the runs):
            # a client on one connection cannot finish sooner, however little it does itself.
            results["server_copy_floor"]["server_cpu_s"] = round(min(server_cpu), 3)
        con.close()
        engine.dispose()
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()
    return {
        "rows": rows,
        "repeats": repeats,
        "postgres_fill_s": round(fill_s, 3),
        "query": QUERY,
        **results,
        "pg_copy_vs_floor": round(results["pg_copy"]["seconds"] / results["server_copy_floor"]["seconds"], 2),
        "connectorx_vs_floor": round(results["connectorx"]["seconds"] / results["server_copy_floor"]["seconds"], 2),
        "speedup_vs_psycopg2_pandas": round(results["psycopg2_pandas"]["seconds"] / results["pg_copy"]["seconds"], 2),
    }


if __name__ == "__main__":  # pragma: no cover - manual run
    print(json.dumps(measure(), indent=2))
