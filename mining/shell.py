"""``mot sql``: run SQL on a warehouse's read snapshot and print the results for people.

A query file, ``-c SQL``, or a small prompt (statements end with ``;``; ``.queries``, ``.tables``,
``.format``, ``.help``, ``.quit``). It prints a table (floats rounded to 4 decimals), CSV or JSON.
Opening the warehouse (snapshot or live file, waiting for a writer) is ``mining.warehouse.snapshot``.
The duckdb CLI from PyPI opens the snapshot too (docs/sql.md); this shell stays because it also reads
the live DuckDB 2 file, which that CLI (1.5) cannot, and knows the library's catalog (``.queries``).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import decimal
import json
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import duckdb
from rich.console import Console
from rich.table import Table
from rich.text import Text

from mining.sqllib import CATALOG_TABLE
from mining.warehouse.snapshot import SqlError, open_for_reading

FORMATS = ("table", "csv", "json")


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
    """Statements of SQL a person typed, split at the semicolons DuckDB's own tokenizer sees (not
    those inside strings, quoted names or comments); a comment before a statement stays with it."""
    found, start, code = [], 0, False
    for pos, kind in duckdb.tokenize(sql):
        if kind == duckdb.token_type.operator and sql[pos] == ";":
            if code:
                found.append(sql[start:pos].strip())
            start, code = pos + 1, False
        elif kind != duckdb.token_type.comment:
            code = True
    if code:
        found.append(sql[start:].strip())
    return found


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
    """The result as CSV with a header row; text a spreadsheet would run as a formula is quoted."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(map(formula_safe, result.columns))
    # Only text cells: a negative number or interval keeps its minus sign as it is.
    writer.writerows([formula_safe(v) if isinstance(v, str) else text_value(v) for v in row] for row in result.rows)


def formula_safe(text: str) -> str:
    """``text`` with a leading single quote when it starts with = + - @ tab or CR and is not a number.

    The OWASP rule for CSV injection, the same as the exports' ``mot_csv_cell`` macro: a spreadsheet
    opening the file shows such a cell as text instead of running it.
    """
    if not text or text[0] not in "=+-@\t\r":
        return text
    try:
        float(text)
    except ValueError:
        return "'" + text
    return text


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

LISTINGS = {
    ".queries": f"SELECT file, any_value(question) AS question, string_agg(object, ', ' ORDER BY object) AS objects "
    f"FROM {CATALOG_TABLE} GROUP BY file ORDER BY file",
    ".tables": "SELECT table_name AS name, table_type AS kind FROM information_schema.tables "
    "WHERE table_schema = 'main' ORDER BY table_name",
}


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
    sql = _sql_to_run(file, command)
    con, source = open_for_reading(warehouse, live=live, wait_s=wait_s, say=say)
    try:
        if sql is not None:
            write_results(execute(con, sql), fmt, out, max_rows)
        else:
            prompt(con, source, fmt, out=out, say=say, lines=lines, max_rows=max_rows)
    finally:
        con.close()


def _sql_to_run(file: str | Path | None, command: str | None) -> str | None:
    """The SQL of a query file or of ``-c``; None asks for the prompt."""
    if file is not None and command is not None:
        raise SqlError("give a query FILE or -c SQL, not both")
    if file is None:
        return command
    try:
        return Path(file).read_text("utf-8")
    except OSError as exc:
        raise SqlError(f"cannot read query file {file}: {exc.strerror}") from exc


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
    typed = iter(lines) if lines is not None else None
    buffer: list[str] = []
    while (line := _read_line(typed, interactive, continued=bool(buffer))) is not None:
        line = line.rstrip("\n")
        if not buffer and line.strip().startswith("."):
            fmt, stop = _dot_command(con, line.strip(), fmt, out, say)
            if stop:
                break
            continue
        buffer.append(line)
        if line.rstrip().endswith(";"):
            text, buffer = "\n".join(buffer), []
            _run_and_print(con, text, fmt, out, say, max_rows)
    if buffer and "".join(buffer).strip():
        _run_and_print(con, "\n".join(buffer), fmt, out, say, max_rows)


def _read_line(typed: Iterator[str] | None, interactive: bool, continued: bool) -> str | None:
    """The prompt's next line (None at the end): from ``typed``, the terminal or piped stdin."""
    try:
        if typed is not None:
            return next(typed)
        if interactive:
            return input("...> " if continued else "mot> ")
        return sys.stdin.readline() or None
    except (EOFError, StopIteration):
        return None


def _run_and_print(con, sql: str, fmt: str, out: TextIO, say: Callable[[str], None], max_rows: int) -> None:
    """Run typed SQL and print its results; an error is told and the prompt goes on."""
    try:
        write_results(execute(con, sql), fmt, out, max_rows)
    except SqlError as exc:
        say(f"error: {exc}")


def _dot_command(con, line: str, fmt: str, out: TextIO, say: Callable[[str], None]) -> tuple[str, bool]:
    """Carry out a ``.command``; return the format from now on and whether to leave."""
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
    elif word in LISTINGS:
        _run_and_print(con, LISTINGS[word], "table", out, say, 0)
    else:
        say(f"error: unknown command {word}; .help lists the commands")
    return fmt, False


def _enable_history() -> None:
    # Importing readline is what gives input() line editing and history (a side effect of the
    # import, so it happens only for a terminal); some platforms lack it.
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401
