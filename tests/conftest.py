"""Shared fixtures: the real database servers (PostgreSQL, MariaDB) and a throw-away Airflow home.

Tests create their own databases with unique names on the servers CI runs (PostgreSQL on
127.0.0.1:5432 as ``postgres``, MariaDB on 127.0.0.1:3306 as ``root``; see .ci/run) and drop them
afterwards. Add fixtures here; keep each one small.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow as pa
import pytest
import shared_run

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
MARIADB_ADMIN = "mysql://root@127.0.0.1:3306/mysql"
_NAMES = itertools.count(1)
# The longest test files (measured with --durations on a two-core machine), longest first. `make test`
# runs `--dist loadfile --no-loadscope-reorder`: xdist then hands files to its workers in collection
# order, and these go first, so that no long file starts last while the other worker sits idle
# (longest-processing-time-first scheduling). Update the list when a file's cost changes a lot.
LONGEST_FIRST = (
    "test_celery.py",
    "test_airflow_ops.py",
    "test_bpmn_clients.py",
    "test_alerts.py",
    "test_incremental.py",
    "test_core_real_logs.py",
    "test_outputs_atomic.py",
    "test_docs_airflow.py",
    "test_extraction_dags.py",
    "test_faults.py",
    "test_chunked.py",
    "test_delta_airflow.py",
    "test_budgets.py",
    "test_determinism.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files of ``LONGEST_FIRST`` first, in its order; the others after them, as collected."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: a file's tests keep their order


class Server:
    """A running database server on which a test makes its own databases and tables."""

    def __init__(self, kind: str, admin_uri: str):
        self.kind = kind
        self.admin_uri = admin_uri

    def _connect(self, uri: str):
        parts = urlsplit(uri)
        if self.kind == "postgres":
            import psycopg2

            con = psycopg2.connect(uri)
            con.autocommit = True
            return con
        import pymysql

        return pymysql.connect(
            host=parts.hostname,
            port=parts.port or 3306,
            user=parts.username or "root",
            password=parts.password or "",
            database=parts.path.lstrip("/") or None,
            autocommit=True,
            local_infile=True,
        )

    def execute(self, uri: str, sql: str, params=None) -> list[tuple]:
        """Run one statement on the database at ``uri``; return its rows (if any)."""
        con = self._connect(uri)
        try:
            with con.cursor() as cur:
                cur.execute(sql, params)
                return list(cur.fetchall()) if cur.description else []
        finally:
            con.close()

    @contextmanager
    def database(self, prefix: str = "mot_test") -> Iterator[str]:
        """A new, empty database with a name no other test run uses; dropped afterwards."""
        name = f"{prefix}_{os.getpid()}_{next(_NAMES)}"
        self.execute(self.admin_uri, f"CREATE DATABASE {name}")
        parts = urlsplit(self.admin_uri)
        try:
            yield parts._replace(path=f"/{name}").geturl()
        finally:
            drop = f"DROP DATABASE IF EXISTS {name}" + (" WITH (FORCE)" if self.kind == "postgres" else "")
            self.execute(self.admin_uri, drop)

    def write(self, uri: str, name: str, table: pa.Table) -> None:
        """Create table ``name`` from an Arrow table (PostgreSQL: ADBC COPY; MariaDB: LOAD DATA)."""
        if self.kind == "postgres":
            import adbc_driver_postgresql.dbapi as adbc

            with adbc.connect(uri) as con, con.cursor() as cur:
                cur.adbc_ingest(name, table, mode="create")
                con.commit()
            return
        self.execute(uri, f"CREATE TABLE `{name}` ({', '.join(_mariadb_columns(table.schema))})")
        with tempfile.TemporaryDirectory() as folder:
            csv = Path(folder) / f"{name}.csv"
            _write_mariadb_csv(table, csv)
            self.execute(
                uri,
                f"LOAD DATA LOCAL INFILE %s INTO TABLE `{name}` CHARACTER SET utf8mb4 "
                "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '\\\\' "
                "LINES TERMINATED BY '\\n'",
                (str(csv),),
            )


def _mariadb_columns(schema: pa.Schema) -> list[str]:
    columns = []
    for field in schema:
        t = field.type
        if pa.types.is_integer(t) or pa.types.is_boolean(t):
            sql = "BIGINT"
        elif pa.types.is_floating(t):
            sql = "DOUBLE"
        elif pa.types.is_timestamp(t):
            sql = "DATETIME(6)"
        elif pa.types.is_date(t):
            sql = "DATE"
        elif pa.types.is_decimal(t):
            sql = f"DECIMAL({t.precision},{t.scale})"
        else:
            sql = "TEXT"
        columns.append(f"`{field.name}` {sql}")
    return columns


def _write_mariadb_csv(table: pa.Table, path: Path) -> None:
    """CSV as LOAD DATA reads it: \\N for NULL, quotes doubled, UTC wall-clock times."""
    import duckdb

    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type) and field.type.tz is not None:
            table = table.set_column(
                i,
                field.name,
                table.column(i).cast(pa.timestamp(field.type.unit, tz="UTC")).cast(pa.timestamp(field.type.unit)),
            )
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            import pyarrow.compute as pc

            if pc.any(pc.match_substring(table.column(i), "\\")).as_py():
                raise ValueError(f"column {field.name!r} holds backslashes, which LOAD DATA would read as escapes")
    con = duckdb.connect()
    try:
        con.register("incoming", table)
        con.execute(f"COPY incoming TO '{path}' (HEADER false, NULLSTR '\\N', QUOTE '\"')").fetchall()
    finally:
        con.close()


@pytest.fixture(scope="session")
def postgres() -> Server:
    """The PostgreSQL server; fails (does not skip) when it is not running."""
    server = Server("postgres", POSTGRES_ADMIN)
    server.execute(server.admin_uri, "SELECT 1")
    return server


@pytest.fixture(scope="session")
def mariadb() -> Server:
    """The MariaDB server; fails (does not skip) when it is not running."""
    server = Server("mysql", MARIADB_ADMIN)
    server.execute(server.admin_uri, "SELECT 1")
    return server


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory) -> Path:
    """A fresh AIRFLOW_HOME with a migrated SQLite metadata database and our dags/ folder.

    Airflow reads its configuration once, when it is first imported, so this must come before
    any ``import airflow`` in the test process; tests import Airflow inside their functions.
    """
    home = tmp_path_factory.mktemp("airflow_home")
    if "airflow" in sys.modules:
        pytest.fail("airflow was imported before the airflow_home fixture set AIRFLOW_HOME")
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "MOT_RETRY_DELAY_SECONDS": "1",
        }
    )
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True, timeout=300)
    return home


@pytest.fixture(scope="session")
def bpic2012_run(tmp_path_factory, worker_id) -> Path:
    """The output folder of one whole run on BPIC2012 with the default config (``mot run LOG``),
    made once per test session and shared by the xdist workers (``shared_run.make``). Read-only:
    ``shared_run.copy`` gives a test a folder of its own, ``shared_run.summary`` the RunSummary."""
    root = tmp_path_factory.getbasetemp()
    root = root if worker_id == "master" else root.parent  # the folder every worker's basetemp is in
    return shared_run.make(root, SHARED_DATA / "logs" / "bpic2012.xes.gz")
