"""The DuckDB event warehouse: connection, numbered migrations, SQL files shipped with the package."""

from __future__ import annotations

import re
import time
from importlib import resources
from pathlib import Path

import duckdb

from mining.settings import settings as machine_settings
from mining.warehouse.sqlfiles import statements

MIGRATION_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


def migrations() -> list[tuple[int, str, str]]:
    """All migrations as (version, name, sql), in version order."""
    found = []
    for entry in resources.files("mining.warehouse").joinpath("migrations").iterdir():
        match = MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if len(versions) != len(set(versions)):
        raise RuntimeError(f"duplicate migration versions: {versions}")
    return found


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply the migrations the database lacks, each in its own transaction; return their versions."""
    con.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL)")
    applied = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    done = []
    for version, name, sql in migrations():
        if version in applied:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?)", [version, name])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        done.append(version)
    return done


def engine_settings(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The DuckDB settings the environment asks for, validated (``{setting: value}``).

    ``MOT_DUCKDB_MEMORY_LIMIT`` (e.g. ``1GB``) caps DuckDB's memory: beyond it, sorts, joins and
    temporary tables spill to disk next to the warehouse instead of growing the process.
    ``MOT_DUCKDB_THREADS`` caps its threads. Unset, DuckDB's defaults apply (80 % of the memory,
    one thread per core). The machine settings (``mining.settings``) validate them.
    """
    machine = machine_settings(environ)
    found = {"memory_limit": machine.duckdb_memory_limit, "threads": machine.duckdb_threads}
    return {setting: str(value) for setting, value in found.items() if value is not None}


def apply_engine_settings(con: duckdb.DuckDBPyConnection) -> None:
    """Apply the environment's DuckDB settings (``engine_settings``) to ``con``'s database."""
    for setting, value in engine_settings().items():
        # Validated by engine_settings; SET takes no prepared parameters.
        con.execute(f"SET {setting} = '{value}'").fetchall()


def connect(path: str | Path = ":memory:", *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (and, unless read-only, migrate) a warehouse; the session time zone is UTC.

    DuckDB settings from the environment (``engine_settings``) apply to the whole database.
    """
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    con.execute("SET TimeZone = 'UTC'")
    apply_engine_settings(con)
    if not read_only:
        migrate(con)
    return con


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params=None):
    """The single value a query returns (the whole result is consumed, as DuckDB 2 requires)."""
    rows = con.execute(sql, params).fetchall() if params else con.execute(sql).fetchall()
    return rows[0][0] if rows else None


def run_sql(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> None:
    """Run every statement of ``sql``, binding to each only the ``$name`` parameters it uses.

    With ``MOT_SQL_PROFILE=FILE`` in the environment, each statement's wall time is appended to
    FILE (tab-separated: seconds, the statement's first line of code), for profiling.
    """
    params = params or {}
    for statement in statements(sql):
        used = {k: v for k, v in params.items() if re.search(rf"\${k}\b", statement)}
        execute(con, statement, used or None)


def execute(con: duckdb.DuckDBPyConnection, statement: str, params: dict | None = None) -> None:
    """Run one statement and consume its result (timed into ``MOT_SQL_PROFILE`` when that is set)."""
    profile = machine_settings().sql_profile
    started = time.perf_counter()
    try:
        con.execute(statement, params).fetchall()
    finally:
        if profile:
            _profile_line(profile, time.perf_counter() - started, statement)


def _profile_line(path: str | Path, seconds: float, statement: str) -> None:
    code = next(line.strip() for line in statement.splitlines() if line.strip() and not line.strip().startswith("--"))
    with open(path, "a", encoding="utf-8") as out:
        out.write(f"{seconds:.3f}\t{code[:120]}\n")


def sql_literal(text: str | Path) -> str:
    """``text`` (a path, a name) as a SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    """Quote an identifier for DuckDB SQL, whatever characters it holds."""
    return '"' + name.replace('"', '""') + '"'
