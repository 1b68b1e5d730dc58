"""Run one SQL text per range of a process's cases, or per slice of its rows (issue 20).

At 10 to 100 M events, a sort, window or aggregate over a whole process outgrows DuckDB's memory
limit where it cannot spill (ordered aggregates, lists, windows over many partitions). The analyses
run such statements once per range of cases (``case_ranges``: about equal event counts, ascending
case ids, so appended rows come in the order one pass would write them), once per range of any
other ordered key (``for_bounds``), or once per slice of a hash.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

import duckdb

from mining.warehouse import run_sql
from mining.warehouse.prepare import case_ranges


def for_case_ranges(
    con: duckdb.DuckDBPyConnection, sql_text: str, params: dict, chunk_events: int, appends: Collection[str] = ()
) -> None:
    """Run ``sql_text`` once for each range of cases ``[$lo, $hi)`` of about ``chunk_events`` events.

    A table of ``appends`` that the text creates is created by the first range and appended to by
    the others (``appending``); the text's other tables are made anew each range.
    """
    for_bounds(con, sql_text, params, case_ranges(con, params["process"], chunk_events), appends)


def for_bounds(
    con: duckdb.DuckDBPyConnection,
    sql_text: str,
    params: dict,
    bounds: Sequence[tuple[object, object]],
    appends: Collection[str] = (),
) -> None:
    """Run ``sql_text`` once for each ``($lo, $hi)`` of ``bounds`` (in order); a table of ``appends``
    that it creates is created by the first and appended to by the others."""
    later = appending(sql_text, appends)
    for i, (lo, hi) in enumerate(bounds):
        run_sql(con, sql_text if i == 0 else later, {**params, "lo": lo, "hi": hi})


def open_bounds(starts: Sequence[object]) -> list[tuple[object, object]]:
    """The ranges ``[lo, hi)`` that ``starts`` (the lower bounds after the first range, ascending)
    cut a whole into; the first starts and the last ends open (None)."""
    lows = [None, *starts]
    return list(zip(lows, [*starts, None], strict=True))


def for_slices(
    con: duckdb.DuckDBPyConnection, sql_text: str, params: dict, slices: int, appends: Collection[str]
) -> None:
    """Run ``sql_text`` once for each slice ``$slice`` of ``$slices`` (0 .. slices - 1); a table of
    ``appends`` that it creates is created by the first slice and appended to by the others."""
    later = appending(sql_text, appends)
    for i in range(slices):
        run_sql(con, sql_text if i == 0 else later, {**params, "slices": slices, "slice": i})


def appending(sql_text: str, tables: Collection[str]) -> str:
    """``sql_text`` with each ``CREATE OR REPLACE TEMP TABLE t AS`` of a table of ``tables`` made an
    ``INSERT INTO t`` (the same rows, appended)."""
    if not tables:
        return sql_text
    creates = re.compile(rf"CREATE OR REPLACE TEMP TABLE ({'|'.join(map(re.escape, tables))}) AS")
    return creates.sub(r"INSERT INTO \1", sql_text)
