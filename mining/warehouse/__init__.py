"""The DuckDB event warehouse: connection, numbered migrations, SQL files shipped with the package."""

from __future__ import annotations

import re
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from importlib import resources
from pathlib import Path

import duckdb

from mining.outputs import snapshot_path
from mining.settings import settings as machine_settings
from mining.warehouse.sqlfiles import statements

MIGRATION_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")

# The storage format of a new warehouse file: DuckDB 1.5's, which DuckDB 2 reads and writes and the
# duckdb CLI from PyPI (1.5) opens. Its read snapshot is then a copy of the file (mining.warehouse.snapshot).
STORAGE_VERSION = "v1.5.0"


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


# The memory limit of the pipeline's connections when MOT_DUCKDB_MEMORY_LIMIT is not set (config key
# budgets.sql_memory_mb, set by the pipeline for the length of a run); None: DuckDB's default.
_default_memory_mb: int | None = None


@contextmanager
def memory_limit_default(mb: int) -> Iterator[None]:
    """Within the block, connections opened without ``MOT_DUCKDB_MEMORY_LIMIT`` get DuckDB's
    memory limit ``mb`` MiB (0: DuckDB's default). The machine setting wins when it is set."""
    global _default_memory_mb
    before, _default_memory_mb = _default_memory_mb, (mb or None)
    try:
        yield
    finally:
        _default_memory_mb = before


def memory_limit_source() -> str:
    """Where the memory limit of a connection opened now comes from, for error messages."""
    machine = engine_settings().get("memory_limit")
    if machine is not None:
        return f"MOT_DUCKDB_MEMORY_LIMIT={machine} (it overrides budgets.sql_memory_mb)"
    if _default_memory_mb is not None:
        return f"budgets.sql_memory_mb={_default_memory_mb} (MOT_DUCKDB_MEMORY_LIMIT, when set, overrides it)"
    return "DuckDB's default (budgets.sql_memory_mb=0 and MOT_DUCKDB_MEMORY_LIMIT unset)"


def apply_engine_settings(con: duckdb.DuckDBPyConnection) -> None:
    """Apply the environment's DuckDB settings (``engine_settings``) to ``con``'s database, and the
    run's default memory limit (``memory_limit_default``) when the environment sets none."""
    found = engine_settings()
    if "memory_limit" not in found and _default_memory_mb is not None:
        found["memory_limit"] = f"{_default_memory_mb}MiB"
    for setting, value in found.items():
        # Validated by engine_settings; SET takes no prepared parameters.
        con.execute(f"SET {setting} = '{value}'").fetchall()


class WarehouseHeld(ValueError):
    """Another process has the warehouse file open, so DuckDB cannot lock it.

    A ValueError, like the other errors the command line reports as one plain line.
    """


# DuckDB's lock error: 'Conflicting lock is held in /usr/bin/python3.11 (PID 1234)'.
_HELD_IN = re.compile(r"held in (.+?) \(PID (\d+)\)")
CMDLINE_LIMIT = 160  # characters of the holder's command line quoted in the message


def lock_holder(message: str) -> str | None:
    """'process N (its command line)' from DuckDB's lock error, or None when it names no process.

    The command line comes from /proc when it can be read (the holder runs on this machine and the
    user may see it); else the program DuckDB names.
    """
    match = _HELD_IN.search(message)
    if not match:
        return None
    pid, program = match.group(2), match.group(1)
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        # One line: arguments (a 'python -c' script) may hold line breaks.
        command = " ".join(raw.replace(b"\0", b" ").decode("utf-8", "replace").split())
    except OSError:
        command = ""
    command = command or Path(program).name
    if len(command) > CMDLINE_LIMIT:
        command = command[: CMDLINE_LIMIT - 3] + "..."
    return f"process {pid} ({command})"


def held_message(path: str | Path, message: str, read_only: bool) -> str | None:
    """The one-line error for a warehouse another process holds open, or None when ``message`` is another error."""
    if "lock" not in message.lower():
        return None
    holder = lock_holder(message) or "another process"
    snapshot = snapshot_path(path)
    if read_only:
        return f"cannot read {path}: {holder} is writing it; read the snapshot {snapshot.name} beside it instead"
    there = "beside it" if snapshot.is_file() else "that every completed run publishes beside it"
    return (
        f"cannot write {path}: {holder} has it open, and DuckDB lets no other process write while any "
        f"process (a reader too) has the file open. Stop that process or close its connection, then run "
        f"again; readers should open the snapshot {snapshot.name} {there} (`mot sql` reads it by default)"
    )


def connect(path: str | Path = ":memory:", *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (and, unless read-only, migrate) a warehouse; the session time zone is UTC.

    DuckDB settings from the environment (``engine_settings``) apply to the whole database. A file
    another process holds open raises ``WarehouseHeld`` naming that process and the snapshot.
    """
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        if not read_only and not Path(path).exists():
            create_file(path)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        message = held_message(path, str(exc), read_only)
        if message is None:
            raise
        raise WarehouseHeld(message) from exc
    _opened_by_thread(con)
    con.execute("SET TimeZone = 'UTC'")
    apply_engine_settings(con)
    if not read_only:
        migrate(con)
    return con


def create_file(path: str | Path) -> None:
    """Create an empty warehouse file in ``STORAGE_VERSION``'s format (the format is chosen when the
    file is made; DuckDB 2 would otherwise write its own, which DuckDB 1.5 cannot read)."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {sql_literal(path)} AS created (STORAGE_VERSION '{STORAGE_VERSION}')").fetchall()
        con.execute("DETACH created").fetchall()
    finally:
        con.close()


def storage_version(con: duckdb.DuckDBPyConnection, database: str | None = None) -> str | None:
    """The storage format of a database file attached to ``con`` (default: its own) as DuckDB tags
    it (``v1.5.0+``, ``v2.0.0+``)."""
    row = con.execute(
        "SELECT tags['storage_version'] FROM duckdb_databases() "
        "WHERE database_name = coalesce($database, current_database())",
        {"database": database},
    ).fetchone()
    return row[0] if row else None


# The connections each thread opened with ``connect`` (weakly held: closed and dropped connections
# go), so that a step's watchdog can interrupt the SQL of the thread that runs the step.
_opened: dict[int, weakref.WeakSet] = {}
_opened_guard = threading.Lock()


def _opened_by_thread(con: duckdb.DuckDBPyConnection) -> None:
    with _opened_guard:
        _opened.setdefault(threading.get_ident(), weakref.WeakSet()).add(con)


def interrupt_connections(thread_id: int) -> int:
    """Interrupt the running statement of every open connection thread ``thread_id`` opened with
    ``connect``; return how many were open. The statement raises ``duckdb.InterruptException``; an
    idle connection is not affected."""
    with _opened_guard:
        found = list(_opened.get(thread_id, ()))
    count = 0
    for con in found:
        with suppress(duckdb.ConnectionException):  # closed meanwhile
            con.interrupt()
            count += 1
    return count


class Watchdog:
    """Interrupt thread ``thread_id``'s connections once ``seconds`` have passed, and again every
    ``every`` seconds until ``stop``: between two statements there is nothing to interrupt, so the
    next statement is stopped instead. ``fired`` says whether the time ran out."""

    def __init__(self, seconds: float, thread_id: int, every: float = 0.2) -> None:
        self.seconds, self.thread_id, self.every = seconds, thread_id, every
        self.fired = False
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="mot-watchdog", daemon=True)

    def start(self) -> Watchdog:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()

    def _watch(self) -> None:
        if self._stopped.wait(self.seconds):
            return
        self.fired = True
        while True:
            interrupt_connections(self.thread_id)
            if self._stopped.wait(self.every):
                return


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
