"""The SQL library in ``queries/``: install its views and macros, and read a warehouse safely.

The ``.sql`` files live in the top-level ``queries/`` folder, where people look for them.
``mining/queries_sql`` is a symlink to that folder, so the files are package data of ``mining``:
setuptools copies them into the wheel (it follows the link) and an editable install reads them
in place. ``query_files()`` loads them with importlib.resources, like every other SQL file.

Reading while a pipeline writes: DuckDB lets one process hold a database file for writing, and a
process that merely reads it also blocks the writer. So the ``queries`` pipeline step, the last
one of a run that writes, publishes a snapshot copy of the finished warehouse next to it
(``warehouse.snapshot.duckdb``, replaced atomically). ``mot sql`` reads that snapshot, so neither
side waits for the other; it reads the live file only when asked to (``--live``) or when there is
no snapshot, and then retries with back-off while a writer holds the lock.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import decimal
import json
import os
import re
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TextIO

import duckdb

from mining.warehouse import apply_engine_settings, connect, quote_ident, run_sql
from mining.warehouse.sqlfiles import statements

QUERIES_PACKAGE_DIR = "queries_sql"
WAREHOUSE_FILE = "warehouse.duckdb"
SNAPSHOT_SUFFIX = ".snapshot.duckdb"
SNAPSHOT_STORAGE_VERSION = "v1.5.0"
CATALOG_TABLE = "mot_queries"
FORMATS = ("table", "csv", "json")

_OBJECT = re.compile(r"^CREATE\s+OR\s+REPLACE\s+(VIEW|MACRO)\s+([A-Za-z_][A-Za-z0-9_]*)", re.I | re.M)
_GIVES_NAME = re.compile(r"\b(view|macro)\s+([A-Za-z_][A-Za-z0-9_]*)")


class SqlError(Exception):
    """A problem running SQL for a person: bad arguments, a busy warehouse, a failing query."""


@dataclass(frozen=True)
class QueryFile:
    """One file of the SQL library with its header: the question it answers and example calls."""

    name: str
    question: str
    gives: tuple[tuple[str, str], ...]  # (kind, name) as the header lists them
    examples: tuple[str, ...]
    sql: str

    @property
    def objects(self) -> tuple[tuple[str, str], ...]:
        """(kind, name) of every view and macro the file creates, in file order."""
        return tuple((kind.lower(), name) for kind, name in _OBJECT.findall(self.sql))


# --- the library ---------------------------------------------------------------------------------


def parse_query_file(name: str, text: str) -> QueryFile:
    """Read the header of a library file: ``-- Question:``, ``-- Gives:`` and ``-- Example:``.

    Raises ValueError naming the file when a part is missing, so a new file cannot ship without
    saying what it answers and how to call it.
    """
    header: list[str] = []
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        header.append(line[2:])
    sections: dict[str, list[str]] = {}
    current = None
    for line in header:
        match = re.match(r"^ (Question|Gives|Example):\s*(.*)$", line)
        if match:
            current = match.group(1).lower()
            sections[current] = [match.group(2)] if match.group(2) else []
        elif current and line.startswith("   "):
            sections[current].append(line.strip() if current != "example" else line[3:])
        else:
            current = None
    missing = [s for s in ("question", "gives", "example") if not sections.get(s)]
    if missing:
        raise ValueError(f"queries/{name}: the header lacks {', '.join('-- ' + s.title() + ':' for s in missing)}")
    question = " ".join(part.strip() for part in sections["question"])
    gives = tuple(_GIVES_NAME.findall(" ".join(sections["gives"])))
    examples = tuple(statements("\n".join(sections["example"])))
    return QueryFile(name, question, gives, examples, text)


def query_files() -> list[QueryFile]:
    """Every file of the SQL library, in install order (file name order)."""
    folder = resources.files("mining").joinpath(QUERIES_PACKAGE_DIR)
    entries = sorted((e for e in folder.iterdir() if e.name.endswith(".sql")), key=lambda e: e.name)
    if not entries:
        raise RuntimeError(f"no SQL files in {folder}: is mining/{QUERIES_PACKAGE_DIR} a link to queries/?")
    return [parse_query_file(e.name, e.read_text("utf-8")) for e in entries]


def install_queries(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Create every view and macro of the library in a migrated warehouse; return their names.

    Runs the files in order in one transaction (a reader never sees half a library), drops objects
    that an earlier install created and the library no longer has, and records each object with its
    question and examples in the ``mot_queries`` table, so ``FROM mot_queries`` lists them.
    """
    files = query_files()
    wanted = [(f, kind, name) for f in files for kind, name in f.objects]
    names = [name for _, _, name in wanted]
    con.execute("BEGIN TRANSACTION")
    try:
        _drop_stale(con, set(names))
        for query_file in files:
            try:
                run_sql(con, query_file.sql)
            except duckdb.Error as exc:
                raise RuntimeError(f"queries/{query_file.name}: {exc}") from exc
        con.execute(
            f"CREATE OR REPLACE TABLE {CATALOG_TABLE} (file VARCHAR, object VARCHAR, kind VARCHAR, "
            "question VARCHAR, example VARCHAR)"
        ).fetchall()
        rows = [(f.name, name, kind, f.question, "".join(e + ";\n" for e in f.examples)) for f, kind, name in wanted]
        if rows:
            con.executemany(f"INSERT INTO {CATALOG_TABLE} VALUES (?, ?, ?, ?, ?)", rows)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return names


def _drop_stale(con: duckdb.DuckDBPyConnection, keep: set[str]) -> None:
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main'", [CATALOG_TABLE]
    ).fetchall()[0][0]
    if not exists:
        return
    old = con.execute(f"SELECT DISTINCT object FROM {CATALOG_TABLE} ORDER BY object").fetchall()
    for (name,) in old:
        if name in keep:
            continue
        kinds = con.execute(
            "SELECT 'VIEW' FROM duckdb_views() WHERE view_name = $n AND schema_name = 'main' UNION ALL "
            "SELECT DISTINCT CASE function_type WHEN 'table_macro' THEN 'MACRO TABLE' ELSE 'MACRO' END "
            "FROM duckdb_functions() WHERE function_name = $n AND schema_name = 'main' "
            "AND function_type IN ('macro', 'table_macro')",
            {"n": name},
        ).fetchall()
        for (kind,) in kinds:
            con.execute(f"DROP {kind} IF EXISTS {quote_ident(name)}").fetchall()


# --- pipeline step and snapshot -----------------------------------------------------------------


def snapshot_path(warehouse: str | Path) -> Path:
    """Where the read snapshot of a warehouse lives: ``warehouse.snapshot.duckdb`` beside it."""
    warehouse = Path(warehouse)
    stem = warehouse.name[: -len(".duckdb")] if warehouse.name.endswith(".duckdb") else warehouse.name
    return warehouse.with_name(stem + SNAPSHOT_SUFFIX)


def publish_snapshot(warehouse: str | Path) -> tuple[Path, str]:
    """Copy a closed warehouse to its snapshot path, replacing the old snapshot atomically.

    The copy is written in DuckDB's v1.5 storage format when the data allows it, so that the duckdb
    CLI from PyPI (``duckdb-cli``, 1.5 at the time of writing) opens it as well as DuckDB 2 does;
    otherwise in the current format. Readers that have the old snapshot open keep reading the old
    file; new readers get the new one; nobody sees a half-written snapshot, because the copy is
    built under a temporary name first. Returns the path and the storage version written.
    """
    warehouse = Path(warehouse)
    target = snapshot_path(warehouse)
    partial = target.with_name(target.name + ".partial")
    storage = SNAPSHOT_STORAGE_VERSION
    for leftover in (partial, partial.with_name(partial.name + ".wal")):
        leftover.unlink(missing_ok=True)
    con = duckdb.connect()
    try:
        apply_engine_settings(con)
        con.execute(f"SET temp_directory = {_literal(partial.with_name(partial.name + '.tmp'))}").fetchall()
        con.execute(f"ATTACH {_literal(warehouse)} AS live (READ_ONLY)").fetchall()
        try:
            con.execute(f"ATTACH {_literal(partial)} AS snap (STORAGE_VERSION '{storage}')").fetchall()
            con.execute("COPY FROM DATABASE live TO snap").fetchall()
            con.execute("DETACH snap").fetchall()
        except duckdb.Error:
            # Something in the warehouse needs the newer format: the snapshot then opens in DuckDB 2
            # only, and the step's figures say so (snapshot_storage).
            con.execute("DETACH DATABASE IF EXISTS snap").fetchall()
            partial.unlink(missing_ok=True)
            con.execute("DETACH live").fetchall()
            shutil.copyfile(warehouse, partial)
            storage = "current"
    finally:
        con.close()
    os.replace(partial, target)
    return target, storage


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def queries_step(warehouse: Path, config, process: str, out_dir: Path) -> dict:
    """Pipeline step: install the SQL library into the warehouse and publish the read snapshot."""
    con = connect(warehouse)
    try:
        names = install_queries(con)
        # Everything must be in the database file itself before it is copied, not in the WAL.
        con.execute("CHECKPOINT").fetchall()
    finally:
        con.close()
    _, storage = publish_snapshot(warehouse)
    return {"query_objects": len(names), "snapshot_storage": storage}


# --- reading -------------------------------------------------------------------------------------


def resolve_warehouse(path: str | Path) -> Path:
    """A warehouse file from what a person typed: the file itself or an output folder holding it."""
    path = Path(path)
    if path.is_dir():
        path = path / WAREHOUSE_FILE
    if not path.is_file():
        raise SqlError(f"no warehouse at {path}: give a .duckdb file or the output folder of `mot run`")
    return path


def open_for_reading(
    path: str | Path,
    *,
    live: bool = False,
    wait_s: float = 60.0,
    say: Callable[[str], None] | None = None,
) -> tuple[duckdb.DuckDBPyConnection, Path]:
    """Open a warehouse read-only for queries; return the connection and the file it reads.

    Reads the snapshot of the last completed run when there is one (never blocks a pipeline), else
    the live file; while a writer holds the live file it retries with back-off for ``wait_s``
    seconds, telling ``say`` once why it waits.
    """
    say = say or (lambda _msg: None)
    warehouse = resolve_warehouse(path)
    snapshot = snapshot_path(warehouse)
    if warehouse.name.endswith(SNAPSHOT_SUFFIX) or live or not snapshot.is_file():
        target = warehouse
    else:
        target = snapshot
        if warehouse.stat().st_mtime > snapshot.stat().st_mtime + 1:
            say(
                f"reading the snapshot of the last completed run ({snapshot.name}); the live warehouse "
                "has changed since (a run in progress, or one that stopped early): --live reads it"
            )
    return _connect_with_retry(target, wait_s, say), target


def _connect_with_retry(path: Path, wait_s: float, say: Callable[[str], None]) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + wait_s
    delay = 0.05
    told = False
    while True:
        try:
            con = duckdb.connect(str(path), read_only=True)
            con.execute("SET TimeZone = 'UTC'").fetchall()
            return con
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise SqlError(f"cannot open {path}: {exc}") from exc
            holder = _lock_holder(str(exc))
            if time.monotonic() >= deadline:
                raise SqlError(
                    f"{path} is being written by {holder} and stayed busy for {wait_s:g} s; "
                    "try again when the run has finished, or raise --wait"
                ) from exc
            if not told:
                say(f"{path.name} is being written by {holder}; waiting up to {wait_s:g} s for it")
                told = True
            time.sleep(min(delay, max(deadline - time.monotonic(), 0)))
            delay = min(delay * 2, 2.0)


def _lock_holder(message: str) -> str:
    match = re.search(r"held in (.+?) \(PID (\d+)\)", message)
    return f"process {match.group(2)} ({Path(match.group(1)).name})" if match else "another process"


# --- running statements and printing results -----------------------------------------------------


@dataclass
class Result:
    """The columns and rows of one statement's result."""

    columns: list[str]
    rows: list[tuple]


def execute(con: duckdb.DuckDBPyConnection, sql: str) -> list[Result]:
    """Run every statement of ``sql``; return the results of those that return rows."""
    results = []
    for statement in split_statements(sql):
        try:
            cursor = con.execute(statement)
            rows = cursor.fetchall()
        except duckdb.Error as exc:
            raise SqlError(str(exc)) from exc
        if cursor.description:
            results.append(Result([d[0] for d in cursor.description], rows))
    return results


def split_statements(sql: str) -> list[str]:
    """Statements of SQL a person typed: split at semicolons outside quotes and comments."""
    parts, current, i = [], [], 0
    while i < len(sql):
        ch = sql[i]
        if ch in ("'", '"'):
            end = sql.find(ch, i + 1)
            end = len(sql) if end == -1 else end + 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            end = len(sql) if end == -1 else end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = len(sql) if end == -1 else end + 2
        elif ch == ";":
            parts.append("".join(current))
            current, i = [], i + 1
            continue
        else:
            end = i + 1
        current.append(sql[i:end])
        i = end
    parts.append("".join(current))
    return [p.strip() for p in parts if _has_code(p)]


def _has_code(text: str) -> bool:
    without_blocks = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return any(line.strip() and not line.strip().startswith("--") for line in without_blocks.splitlines())


def text_value(value) -> str:
    """A value as text for a table or CSV cell (NULL is the empty string)."""
    if value is None:
        return ""
    if isinstance(value, dt.timedelta):
        return interval_text(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list | dict | tuple):
        return json.dumps(json_value(value), ensure_ascii=False)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def json_value(value):
    """A value as JSON data: numbers stay numbers, times become ISO 8601 text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, uuid.UUID):
        return str(value)
    return text_value(value)


def interval_text(value: dt.timedelta) -> str:
    """An interval the way DuckDB prints one: ``3 days 04:05:06``."""
    sign = "-" if value < dt.timedelta(0) else ""
    value = abs(value)
    days, rest = value.days, value.seconds
    clock = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    if value.microseconds:
        clock += f".{value.microseconds:06d}"
    if not days:
        return sign + clock
    return f"{sign}{days} day{'s' if days != 1 else ''} {clock}"


def write_csv(result: Result, out: TextIO) -> None:
    """The result as CSV with a header row."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(result.columns)
    writer.writerows([text_value(v) for v in row] for row in result.rows)


def write_json(result: Result, out: TextIO) -> None:
    """The result as a JSON array of objects, one object per line."""
    rows = [
        json.dumps(dict(zip(result.columns, map(json_value, row), strict=True)), ensure_ascii=False)
        for row in result.rows
    ]
    out.write("[\n" + ",\n".join(rows) + ("\n" if rows else "") + "]\n")


def write_table(result: Result, out: TextIO, max_rows: int = 100) -> None:
    """The result as a rich table for people: floats rounded to 4 decimals (CSV and JSON keep them
    whole); with more than ``max_rows`` rows (0 = no limit) the rest is only counted."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(show_lines=False, header_style="bold")
    for i, name in enumerate(result.columns):
        values = [row[i] for row in result.rows if row[i] is not None]
        numeric = bool(values) and all(
            isinstance(v, int | float | decimal.Decimal) and not isinstance(v, bool) for v in values
        )
        table.add_column(Text(name), justify="right" if numeric else "left", overflow="fold")
    shown = result.rows if max_rows <= 0 else result.rows[:max_rows]
    for row in shown:
        # Text, not str: a value like '[portal]' is data, not rich markup.
        table.add_row(*(Text(text_value(round(v, 4) if isinstance(v, float) else v)) for v in row))
    console = Console(file=out, width=None if out.isatty() else 200, highlight=False, soft_wrap=False)
    console.print(table)
    hidden = len(result.rows) - len(shown)
    summary = f"{len(result.rows):,} row{'s' if len(result.rows) != 1 else ''}"
    if hidden:
        summary += f" ({hidden:,} not shown: raise --max-rows or use --format csv)"
    console.print(summary, markup=False)


def write_results(results: list[Result], fmt: str, out: TextIO, max_rows: int = 100) -> None:
    """Print results: every result as a table, or the last one as CSV or JSON."""
    if fmt not in FORMATS:
        raise SqlError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if fmt == "table":
        for result in results:
            write_table(result, out, max_rows)
    elif results:
        (write_csv if fmt == "csv" else write_json)(results[-1], out)


# --- the `mot sql` command -----------------------------------------------------------------------

PROMPT_HELP = """Type SQL ending with ';' (it may span lines). Commands:
  .queries        what the SQL library answers (FROM mot_queries)
  .tables         tables and views of the warehouse
  .format FORMAT  table, csv or json
  .help           this text
  .quit           leave (or Ctrl-D)"""


def sql_command(
    warehouse: str | Path,
    file: str | Path | None = None,
    command: str | None = None,
    fmt: str = "table",
    *,
    live: bool = False,
    wait_s: float = 60.0,
    max_rows: int = 100,
    out: TextIO | None = None,
    say: Callable[[str], None] | None = None,
    lines: Iterable[str] | None = None,
) -> None:
    """Run a query file, a statement, or (with neither) an interactive prompt on a warehouse."""
    out = out or sys.stdout
    say = say or (lambda msg: print(msg, file=sys.stderr))
    if fmt not in FORMATS:
        raise SqlError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if file is not None and command is not None:
        raise SqlError("give a query FILE or -c SQL, not both")
    sql = None
    if file is not None:
        try:
            sql = Path(file).read_text("utf-8")
        except OSError as exc:
            raise SqlError(f"cannot read query file {file}: {exc.strerror}") from exc
    elif command is not None:
        sql = command
    con, source = open_for_reading(warehouse, live=live, wait_s=wait_s, say=say)
    try:
        if sql is not None:
            write_results(execute(con, sql), fmt, out, max_rows)
        else:
            prompt(con, source, fmt, out=out, say=say, lines=lines, max_rows=max_rows)
    finally:
        con.close()


def prompt(
    con: duckdb.DuckDBPyConnection,
    source: Path,
    fmt: str,
    *,
    out: TextIO,
    say: Callable[[str], None],
    lines: Iterable[str] | None = None,
    max_rows: int = 100,
) -> None:
    """A small SQL prompt: statements end with ';'; errors are shown and the prompt goes on."""
    interactive = lines is None and sys.stdin.isatty()
    if interactive:
        _enable_history()
    say(f"reading {source} (read-only). .help for help, .quit to leave")
    source_lines = iter(lines) if lines is not None else None
    buffer: list[str] = []
    while True:
        try:
            if source_lines is not None:
                line = next(source_lines)
            elif interactive:
                line = input("mot> " if not buffer else "...> ")
            else:
                line = sys.stdin.readline()
                if not line:
                    raise EOFError
        except (EOFError, StopIteration):
            break
        line = line.rstrip("\n")
        if not buffer and line.strip().startswith("."):
            fmt, stop = _dot_command(con, line.strip(), fmt, out, say, max_rows)
            if stop:
                break
            continue
        buffer.append(line)
        if line.rstrip().endswith(";"):
            text, buffer = "\n".join(buffer), []
            try:
                write_results(execute(con, text), fmt, out, max_rows)
            except SqlError as exc:
                say(f"error: {exc}")
    if buffer and "".join(buffer).strip():
        try:
            write_results(execute(con, "\n".join(buffer)), fmt, out, max_rows)
        except SqlError as exc:
            say(f"error: {exc}")


def _dot_command(con, line: str, fmt: str, out: TextIO, say, max_rows: int) -> tuple[str, bool]:
    word, _, arg = line.partition(" ")
    if word in (".quit", ".exit", ".q"):
        return fmt, True
    if word == ".help":
        say(PROMPT_HELP)
    elif word == ".format":
        if arg.strip() in FORMATS:
            fmt = arg.strip()
        else:
            say(f"error: unknown format {arg.strip()!r}: use one of {', '.join(FORMATS)}")
    elif word in (".queries", ".tables"):
        sql = (
            f"SELECT file, any_value(question) AS question, string_agg(object, ', ' ORDER BY object) AS objects "
            f"FROM {CATALOG_TABLE} GROUP BY file ORDER BY file"
            if word == ".queries"
            else "SELECT table_name AS name, table_type AS kind FROM information_schema.tables "
            "WHERE table_schema = 'main' ORDER BY table_name"
        )
        try:
            write_results(execute(con, sql), "table", out, 0)
        except SqlError as exc:
            say(f"error: {exc}")
    else:
        say(f"error: unknown command {word}; .help lists the commands")
    return fmt, False


def _enable_history() -> None:
    # Importing readline gives input() line editing and history; some platforms lack it.
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401
