"""The one loader of the SQL files shipped inside the package, and the one statement splitter.

Every analysis keeps its SQL in ``<its package>/sql/<name>.sql`` and reads it with
``sql_file(__package__, name)`` (importlib.resources, so it works from a wheel as from a checkout).
A file may hold several ``-- @section name`` parts, read with ``sections``.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

import duckdb

_SECTION = re.compile(r"--\s*@section\s+(\w+)\s*")


@cache
def sql_file(package: str, name: str) -> str:
    """The text of ``<package>/sql/<name>.sql`` (``package`` is a dotted name, e.g. ``mining.moments``)."""
    return resources.files(package).joinpath("sql", f"{name}.sql").read_text("utf-8")


def sections(sql: str) -> dict[str, str]:
    """Split SQL text into its ``-- @section name`` parts (text before the first marker is dropped)."""
    found: dict[str, list[str]] = {}
    current = None
    for line in sql.splitlines():
        marker = _SECTION.fullmatch(line.strip())
        if marker:
            current = found.setdefault(marker.group(1), [])
        elif current is not None:
            current.append(line)
    return {name: "\n".join(lines) for name, lines in found.items()}


def statements(sql: str) -> list[str]:
    """The statements of ``sql``, split by DuckDB's own parser: each one's code without its closing
    ``;`` and the comments around it (comments-only parts dropped)."""
    found = (_code(s.query) for s in duckdb.extract_statements(sql) if has_code(s.query))
    return [code for code in found if code]


def _code(query: str) -> str:
    """``query`` up to its last token that is not a comment, a closing ``;`` left out.

    DuckDB hands each statement over with its ``;`` and the comments that follow it (up to the
    next statement); callers bind parameters by the names in the code and show the code to people.
    """
    tokens = duckdb.tokenize(query)
    starts = [start for start, _ in tokens] + [len(query)]
    code = [i for i, (_, kind) in enumerate(tokens) if kind != duckdb.token_type.comment]
    if code and query[starts[code[-1]] : starts[code[-1] + 1]].strip() == ";":
        code.pop()
    return query[: starts[code[-1] + 1]].strip() if code else ""


def has_code(text: str) -> bool:
    """Whether ``text`` holds anything besides blank lines and ``--`` comments."""
    return any(line.strip() and not line.strip().startswith("--") for line in text.splitlines())
