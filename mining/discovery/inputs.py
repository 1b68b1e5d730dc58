"""The compact inputs that discovery hands to pm4py, read from the prepared warehouse tables.

pm4py gets the variants with their counts (Inductive Miner, conformance) or the DFG and its
window-2 counts (Heuristics Miner), never the whole event log as a data frame.
"""

from __future__ import annotations

from collections import Counter

import duckdb

from mining.warehouse import run_sql
from mining.warehouse.sqlfiles import sql_file

# pm4py is imported inside the functions that use it: importing it takes seconds, and the CLI,
# the DAGs and every other step import this package without mining anything.

Variants = Counter  # Counter[tuple[str, ...]]: activity sequence -> number of cases


def variants(con: duckdb.DuckDBPyConnection, process: str) -> Variants:
    """The variants of ``process`` with their case counts, from the prepared ``variants`` table."""
    rows = con.execute(
        "SELECT activities, n_cases FROM variants WHERE process = $p ORDER BY rank", {"p": process}
    ).fetchall()
    return Counter({tuple(acts): n for acts, n in rows})


def dfg(con: duckdb.DuckDBPyConnection, process: str) -> dict[tuple[str, str], int]:
    """Directly-follows counts ``{(a, b): n}`` of ``process``."""
    rows = con.execute(
        "SELECT source_activity, target_activity, frequency FROM dfg_edges WHERE process = $p",
        {"p": process},
    ).fetchall()
    return {(a, b): n for a, b, n in rows}


def activity_counts(con: duckdb.DuckDBPyConnection, process: str) -> tuple[dict, dict, dict]:
    """(occurrences, start activities, end activities) of ``process`` as ``{activity: n}``."""
    rows = con.execute(
        "SELECT activity, frequency, n_start, n_end FROM activity_stats WHERE process = $p ORDER BY activity",
        {"p": process},
    ).fetchall()
    occurrences = {a: f for a, f, _, _ in rows}
    starts = {a: s for a, _, s, _ in rows if s}
    ends = {a: e for a, _, _, e in rows if e}
    return occurrences, starts, ends


def window_two(con: duckdb.DuckDBPyConnection, process: str) -> tuple[dict, dict]:
    """Counts of (a, c) two steps apart and of the triples (a, b, a), for the Heuristics Miner."""
    run_sql(con, sql_file(__package__, "window_two"), {"process": process})
    pairs = {(a, c): n for a, c, n in con.execute("SELECT a, c, n FROM window_two_pairs").fetchall()}
    triples = {(a, b, c): n for a, b, c, n in con.execute("SELECT a, b, c, n FROM window_two_triples").fetchall()}
    con.execute("DROP TABLE window_two_pairs").fetchall()
    con.execute("DROP TABLE window_two_triples").fetchall()
    return pairs, triples


def variant_log(log_variants: Variants):
    """A pm4py EventLog with one shared Trace object per variant, repeated by its count.

    Sharing the trace objects keeps memory at the size of the variants, while pm4py's replay and
    precision see the exact case frequencies.
    """
    from pm4py.objects.log.obj import Event, EventLog, Trace

    traces = []
    for sequence, count in sorted(log_variants.items(), key=lambda kv: (-kv[1], kv[0])):
        trace = Trace([Event({"concept:name": a}) for a in sequence])
        traces.extend([trace] * count)
    return EventLog(traces)
