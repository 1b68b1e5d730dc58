"""Reading the report's figures from the warehouse, each with the query that reproduces it.

The report opens the warehouse read-only and installs the SQL library of ``queries/`` as
temporary views and macros of its own connection (nothing is written to the file), so the figures
are computed by the very SQL people run with ``mot sql`` or the duckdb CLI, whether or not the
``queries`` step has run. Each figure comes from one file in ``mining/report/sql/`` that reads a
library view where one exists and a warehouse table otherwise; ``Source`` records which, and the
exact statement with the process filled in, so the report can print both next to the figure.

A part that cannot be computed (a table of a step that has not run, a view that fails) yields a
``Result`` with ``missing`` set to a sentence saying what is missing, never an exception. A part
whose step ran and found nothing, or could not measure anything, yields no rows and ``empty`` set
to a sentence saying which ("the moments step ran and found no drop-out factor with at least 20
cases ..." or "not measurable: no outcome defined ...").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import duckdb

from mining.sqllib import query_files
from mining.warehouse import connect, sql_literal
from mining.warehouse.figures import stable_figure
from mining.warehouse.sqlfiles import sql_file, statements

_FROM = re.compile(r"\b(?:FROM|JOIN)\s+([A-Za-z_][A-Za-z0-9_]*)\b(?!\s*\()", re.I)
_LIBRARY_OBJECT = re.compile(r"^(CREATE\s+OR\s+REPLACE)\s+(VIEW|MACRO)\b", re.I | re.M)
_CREATE_OBJECT = re.compile(r"^\s*CREATE\s+OR\s+REPLACE\s+(VIEW|MACRO)\s+(\w+)", re.I | re.M)
_CREATE_TABLE = re.compile(r"^CREATE\s+TABLE\s+([A-Za-z_][A-Za-z0-9_]*)", re.I | re.M)
_MISSING_NAME = re.compile(r"(?:Table|View|Table Function|Macro) with name (\w+) does not exist", re.I)

# Which pipeline step fills a warehouse table (to say what to run when a part is missing).
STEP_OF_TABLE = {
    "model_runs": "discover",
    "mot_activities": "moments",
    "mot_events": "moments",
    "case_outcomes": "moments",
    "case_scores": "moments",
    "knock_on": "moments",
    "dropout_funnel": "moments",
    "dropout_places": "moments",
    "dropout_attribution": "moments",
    "dropout_removal": "attribution",
    "outcome_kinds": "moments",
    "outcome_status": "moments",
    "waste_activities": "waste",
    "waste_whatif": "waste",
}


# The table in which each step records that it ran for a process (one row per process).
RUN_TABLE_OF_STEP = {"discover": "model_runs", "moments": "mot_runs", "waste": "waste_runs"}

# Tables whose rows need case outcomes: empty, they are "not measurable" when no outcome is defined.
NEEDS_OUTCOMES = {"dropout_attribution", "dropout_places"}

TABLES_WITHOUT_PROCESS = {"quarantine", "watermarks", "schema_migrations"}


@dataclass(frozen=True)
class LibraryObject:
    """A view or macro of the SQL library and the file in ``queries/`` that defines it."""

    name: str
    kind: str
    file: str


@dataclass(frozen=True)
class Source:
    """Where a figure comes from: the report query, the SQL people can run, what it reads."""

    query: str  # name of the file in mining/report/sql/ (without .sql)
    sql: str  # the statement with the process filled in, runnable against the warehouse
    library: tuple[LibraryObject, ...]  # library views it reads
    tables: tuple[tuple[str, str], ...]  # (table, migration file) it reads directly
    reads: tuple[str, ...] = ()  # every warehouse table behind it, through the views too

    @property
    def files(self) -> tuple[str, ...]:
        """The ``queries/`` files that define what this figure reads."""
        return tuple(sorted({f"queries/{o.file}" for o in self.library}))


@dataclass
class Result:
    """The rows of one report query (as dicts), or why there are none.

    ``missing``: the query could not answer (its step has not run, it failed). ``empty``: it ran
    over tables its step filled and has no rows: why (found nothing, or not measurable and why).
    """

    source: Source
    rows: list[dict] = field(default_factory=list)
    missing: str | None = None
    empty: str | None = None

    @property
    def ok(self) -> bool:
        """True when the query ran and returned rows."""
        return self.missing is None


@cache
def library_objects() -> dict[str, LibraryObject]:
    """Every view and macro of the SQL library by name."""
    return {name: LibraryObject(name, kind, f.name) for f in query_files() for kind, name in f.objects}


@cache
def table_migrations() -> dict[str, str]:
    """Warehouse tables by name with the migration file that creates them."""
    found = {}
    folder = resources.files("mining.warehouse").joinpath("migrations")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            for table in _CREATE_TABLE.findall(entry.read_text("utf-8")):
                found.setdefault(table, f"mining/warehouse/migrations/{entry.name}")
    return found


def source_of(name: str, process: str) -> Source:
    """The ``Source`` of report query ``name`` for ``process``."""
    text = sql_file("mining.report", name)
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--")).strip()
    names = sorted(set(_FROM.findall(_without_comments(body))))
    body = body.rstrip(";").strip().replace("$process", sql_literal(process)) + ";"
    library = library_objects()
    migrations = table_migrations()
    ctes = set(re.findall(r"\b([A-Za-z_]\w*)\s+AS\s*\(", body, re.I))
    objects = tuple(library[n] for n in names if n in library and n not in ctes)
    tables = tuple((n, migrations[n]) for n in names if n in migrations and n not in library and n not in ctes)
    reads = set(t for t, _ in tables)
    for o in objects:
        reads.update(tables_behind(o.name))
    return Source(query=name, sql=body, library=objects, tables=tables, reads=tuple(sorted(reads)))


def _without_comments(sql: str) -> str:
    """``sql`` without its ``--`` comments (they mention table names in prose)."""
    return re.sub(r"--[^\n]*", "", sql)


@cache
def library_statements() -> dict[str, str]:
    """The CREATE statement of every library object by name."""
    found = {}
    for f in query_files():
        for statement in statements(f.sql):
            match = _CREATE_OBJECT.search(statement)
            if match:
                found[match.group(2)] = statement
    return found


@cache
def tables_behind(name: str, seen: frozenset[str] = frozenset()) -> frozenset[str]:
    """The warehouse tables a library view or macro reads, through the other views it reads."""
    text = _without_comments(library_statements().get(name, ""))
    migrations = table_migrations()
    found: set[str] = set()
    for ref in set(_FROM.findall(text)):
        if ref in migrations:
            found.add(ref)
        elif ref in library_statements() and ref not in seen and ref != name:
            found |= tables_behind(ref, seen | {name})
    return frozenset(found)


class Reader:
    """A read-only view of a warehouse with the SQL library installed as temporary objects.

    ``warehouse`` is the warehouse file (opened read-only, closed with the reader) or an open
    DuckDB connection to it (used as it is and left open; the library's temporary views and
    macros stay in it).
    """

    def __init__(self, warehouse: str | Path | duckdb.DuckDBPyConnection):
        if isinstance(warehouse, duckdb.DuckDBPyConnection):
            self.con, self.owns_connection = warehouse, False
            self.name = database_name(warehouse)
        else:
            path = Path(warehouse)
            if not path.is_file():
                raise FileNotFoundError(f"no warehouse at {path}: run `mot run` or `mot demo` first")
            self.con, self.owns_connection = connect(path, read_only=True), True
            self.name = path.name
        self.library_errors = install_library(self.con)

    def close(self) -> None:
        """Close the connection if the reader opened it."""
        if self.owns_connection:
            self.con.close()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def fetch(self, name: str, process: str) -> Result:
        """Run report query ``name`` for ``process``.

        A failure becomes ``missing``; so does an empty result when a table behind the query holds
        nothing for the process (its step has not run). An empty result over tables that do hold
        the process is a real answer (say, no quarantined rows) and comes back as no rows.
        """
        source = source_of(name, process)
        try:
            cursor = self.con.execute(sql_file("mining.report", name), {"process": process})
            columns = [d[0] for d in cursor.description]
            rows = [dict(zip(columns, stable_figure(row), strict=True)) for row in cursor.fetchall()]
        except duckdb.Error as exc:
            return Result(source, missing=self.explain(exc, source))
        if not rows:
            missing = self.explain_empty(source, process)
            return Result(source, missing=missing, empty=None if missing else self.why_empty(source, process))
        return Result(source, rows)

    def explain(self, exc: duckdb.Error, source: Source) -> str:
        """A sentence saying why a query could not run."""
        match = _MISSING_NAME.search(str(exc))
        if match:
            name = match.group(1)
            step = STEP_OF_TABLE.get(name)
            if name in library_objects():
                why = self.library_errors.get(name, "it could not be installed")
                return f"view {name} of queries/{library_objects()[name].file} is not available: {why}"
            run = f" (the {step} step has not run on this warehouse)" if step else ""
            return f"table {name} is not in the warehouse{run}"
        return f"query mining/report/sql/{source.query}.sql failed: {str(exc).splitlines()[0]}"

    def explain_empty(self, source: Source, process: str) -> str | None:
        """Why a query returned no rows when its step has not run: a table behind it without the
        process whose step has no run for it; None when every step behind it ran (a real empty answer)."""
        for table in source.reads:
            if not self.has_rows(table, process):
                step = STEP_OF_TABLE.get(table)
                if step and self.step_ran(step, process):
                    continue
                run = f": the {step} step has not run for it" if step else ""
                return f"table {table} holds no rows for process {process!r}{run}"
        return None

    def why_empty(self, source: Source, process: str) -> str | None:
        """Why a query over tables whose steps ran has no rows: found nothing, or not measurable (why)."""
        for table in source.reads:
            if self.has_rows(table, process):
                continue
            step = STEP_OF_TABLE.get(table)
            if table in NEEDS_OUTCOMES:
                reason = self.outcomes_unmeasurable(process)
                if reason:
                    return f"not measurable: {reason}"
            if table == "dropout_attribution":
                mins = self.run_settings("mot_runs", process, "$.attribution")
                return (
                    f"the {step} step ran and found no drop-out factor with at least "
                    f"{mins.get('min_cases', '?')} cases and {mins.get('min_dropout_cases', '?')} drop-outs "
                    "that can be compared with cases without it"
                )
            if step:
                return f"the {step} step ran and found nothing for table {table}"
        return None

    def step_ran(self, step: str, process: str) -> bool:
        """True when ``step`` recorded a run for ``process`` in its run table."""
        table = RUN_TABLE_OF_STEP.get(step)
        return bool(table) and self.has_rows(table, process)

    def outcomes_unmeasurable(self, process: str) -> str | None:
        """Why nothing outcome-based is measurable for ``process`` (outcome_status), or None."""
        row = self.first_row(
            "SELECT outcomes_defined, reason, n_decided, n_dropout, n_kinds_observed "
            "FROM outcome_status WHERE process = $p",
            process,
        )
        if row is None:
            return None
        defined, reason, n_decided, n_dropout, n_kinds = row
        if not defined:
            return reason
        if not n_dropout:
            return f"no drop-out case among the {n_decided:,} cases with an outcome"
        if n_kinds == 1:
            return "one outcome class: every case with an outcome is a drop-out, nothing to compare them with"
        return None

    def run_settings(self, table: str, process: str, path: str) -> dict:
        """A part of the settings JSON a step recorded for ``process`` ({} when there is none)."""
        row = self.first_row(f"SELECT json_extract(settings, '{path}') FROM {table} WHERE process = $p", process)
        if row is None or row[0] is None:
            return {}
        value = row[0]
        return json.loads(value) if isinstance(value, str) else dict(value)

    def first_row(self, sql: str, process: str) -> tuple | None:
        """The first row of ``sql`` (parameter ``$p`` = process), or None (no row, or no such table)."""
        try:
            rows = self.con.execute(sql, {"p": process}).fetchall()
        except duckdb.Error:
            return None
        return rows[0] if rows else None

    def has_rows(self, table: str, process: str) -> bool:
        """True when ``table`` holds rows of ``process`` (tables without a process column: always)."""
        if table in TABLES_WITHOUT_PROCESS:
            return True
        try:
            return bool(
                self.con.execute(f"SELECT count(*) FROM {table} WHERE process = $p", {"p": process}).fetchall()[0][0]
            )
        except duckdb.Error:
            return False

    def processes(self) -> list[str]:
        """The processes with prepared cases in this warehouse, sorted."""
        try:
            return [r[0] for r in self.con.execute("SELECT DISTINCT process FROM cases ORDER BY process").fetchall()]
        except duckdb.Error:
            return []


def database_name(con: duckdb.DuckDBPyConnection) -> str:
    """The file name of the database ``con`` works on (its catalog name when it has no file)."""
    name, path = con.execute(
        "SELECT database_name, path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()[0]
    return Path(path).name if path else name


def install_library(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Create the views and macros of ``queries/`` as temporary objects; return {name: error} of failures.

    Temporary objects live in the connection, not in the file, so this works on a read-only
    connection and leaves the warehouse as it was. A file whose tables are missing (an older
    warehouse) fails for its objects only; the report says so where it needs them.
    """
    errors: dict[str, str] = {}
    for f in query_files():
        for statement in statements(f.sql):
            match = _CREATE_OBJECT.search(statement)
            if not match:
                continue
            temp = _LIBRARY_OBJECT.sub(r"\1 TEMP \2", statement, count=1)
            try:
                con.execute(temp).fetchall()
            except duckdb.Error as exc:
                errors[match.group(2)] = str(exc).splitlines()[0]
    return errors
