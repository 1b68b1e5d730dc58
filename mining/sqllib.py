"""The SQL library of ``queries/``: read its files and install their views and macros.

The ``.sql`` files live in the top-level ``queries/`` folder, where people look for them. A wheel
ships them as the package ``mining.sqllib_files``: pyproject.toml maps that package onto
``queries/`` (``package-dir``) and setup.py adds it to the packages found under ``mining/``.
``library_folder()`` says which copy a running ``mining`` reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import duckdb

from mining.warehouse import connect, quote_ident, run_sql, statements
from mining.warehouse.snapshot import publish_snapshot

LIBRARY_PACKAGE = "mining.sqllib_files"
CATALOG_TABLE = "mot_queries"

_OBJECT = re.compile(r"^CREATE\s+OR\s+REPLACE\s+(VIEW|MACRO)\s+([A-Za-z_][A-Za-z0-9_]*)", re.I | re.M)
_GIVES_NAME = re.compile(r"\b(view|macro)\s+([A-Za-z_][A-Za-z0-9_]*)")
_HEADER_PART = re.compile(r"^ (Question|Gives|Example):\s*(.*)$")


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


def parse_query_file(name: str, text: str) -> QueryFile:
    """Read the header of a library file: ``-- Question:``, ``-- Gives:`` and ``-- Example:``.

    Raises ValueError naming the file when a part is missing, so a new file cannot ship without
    saying what it answers and how to call it.
    """
    parts = _header_parts(text)
    missing = [p for p in ("question", "gives", "example") if not parts.get(p)]
    if missing:
        raise ValueError(f"queries/{name}: the header lacks {', '.join('-- ' + p.title() + ':' for p in missing)}")
    question = " ".join(part.strip() for part in parts["question"])
    gives = tuple(_GIVES_NAME.findall(" ".join(parts["gives"])))
    examples = tuple(statements("\n".join(parts["example"])))
    return QueryFile(name, question, gives, examples, text)


def _header_parts(text: str) -> dict[str, list[str]]:
    """The lines of each part of the leading ``--`` comment block, by lower-case part name."""
    header: list[str] = []
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        header.append(line[2:])
    parts: dict[str, list[str]] = {}
    current = None
    for line in header:
        match = _HEADER_PART.match(line)
        if match:
            current = match.group(1).lower()
            parts[current] = [match.group(2)] if match.group(2) else []
        elif current and line.startswith("   "):
            # Example lines keep their own indentation (beyond the header's); prose is re-flowed.
            parts[current].append(line.strip() if current != "example" else line[3:])
        else:
            current = None
    return parts


def library_folder() -> Traversable:
    """The folder whose ``.sql`` files make up the library.

    ``mining`` imported from a source tree (a plain checkout on sys.path, a worktree, an editable
    install) reads the ``queries/`` folder of that same tree: the package mapping exists only in a
    built wheel (setuptools' editable finder cannot import a mapped folder without ``__init__.py``
    inside a regular package), and a worktree must not read another checkout's mapped copy.
    Anywhere else (a wheel) the files are the package ``mining.sqllib_files``.
    """
    root = Path(__file__).resolve().parents[1]
    if (root / "pyproject.toml").is_file() and (root / "queries").is_dir():
        return root / "queries"
    return resources.files(LIBRARY_PACKAGE)


def query_files() -> list[QueryFile]:
    """Every file of the SQL library, in install order (file name order)."""
    folder = library_folder()
    entries = sorted((e for e in folder.iterdir() if e.name.endswith(".sql")), key=lambda e: e.name)
    if not entries:
        raise RuntimeError(f"no SQL files in {folder}: the library's queries/*.sql are missing")
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
        _write_catalog(con, wanted)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return names


def _write_catalog(con: duckdb.DuckDBPyConnection, wanted: list[tuple[QueryFile, str, str]]) -> None:
    """(Re)write ``mot_queries``: one row per object with its file, question and examples."""
    con.execute(
        f"CREATE OR REPLACE TABLE {CATALOG_TABLE} (file VARCHAR, object VARCHAR, kind VARCHAR, "
        "question VARCHAR, example VARCHAR)"
    ).fetchall()
    rows = [(f.name, name, kind, f.question, "".join(e + ";\n" for e in f.examples)) for f, kind, name in wanted]
    if rows:
        con.executemany(f"INSERT INTO {CATALOG_TABLE} VALUES (?, ?, ?, ?, ?)", rows)


def _drop_stale(con: duckdb.DuckDBPyConnection, keep: set[str]) -> None:
    """Drop the views and macros an earlier install catalogued that are not in ``keep``."""
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
