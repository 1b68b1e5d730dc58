"""Functional steps of the waste analysis: alternatives and hand-off pairs (docs/waste.md).

Two activities that never share a case and take the same place in the instance-level DFG are one
functional step done under two names (the same assessment in two centres); an optional pair in which
the second always directly follows the first is one hand-off (sent back to Sales, corrected by
Sales). Both are judged, and removed in the what-if, as one step.
"""

from __future__ import annotations

import re

import duckdb
import numpy as np
from scipy.special import chdtrc

from mining.config.waste import Waste
from mining.warehouse.sqlfiles import sections, sql_file


def find_units(con: duckdb.DuckDBPyConnection, settings: Waste) -> list[tuple[str, str, str, int]]:
    """(activity, unit name, kind, member position) rows of waste_units, from waste_raw."""
    parts = sections(sql_file(__package__, "units"))
    params = {
        "min_group_cases": settings.min_group_cases,
        "alternative_similarity": settings.alternative_similarity,
        "pair_share": settings.pair_share,
        "pair_max_case_share": settings.pair_max_case_share,
        "pair_min_repeat_share": settings.pair_min_repeat_share,
    }
    alternatives = _rows(con, parts["alternatives"], params)
    # union-find over the alternative pairs; a group keeps only members that exclude each other
    parent: dict[str, str] = {}

    def root(a: str) -> str:
        while parent.get(a, a) != a:
            a = parent[a]
        return a

    for a, b, *_ in alternatives:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, list[str]] = {}
    for a in sorted({x for pair in alternatives for x in pair[:2]}):
        groups.setdefault(root(a), []).append(a)
    exclusive = {(a, b) for a, b, *_ in alternatives}
    rows: list[tuple[str, str, str, int]] = []
    taken: set[str] = set()
    for members in groups.values():
        if all((x, y) in exclusive for i, x in enumerate(members) for y in members[i + 1 :]):
            name = " | ".join(members)
            rows += [(m, name, "alternatives", i) for i, m in enumerate(members, 1)]
            taken |= set(members)
    for a, b, _n, handoff in _rows(con, parts["pairs"], params):
        if a in taken or b in taken or (handoff or 0.0) < 0.5:
            continue
        name = f"{a} → {b}"
        rows += [(a, name, "hand-off", 1), (b, name, "hand-off", 2)]
        taken |= {a, b}
    return rows


def load_units(con: duckdb.DuckDBPyConnection, settings: Waste) -> list[tuple[str, str, str, int]]:
    """Create waste_units and return its rows."""
    rows = find_units(con, settings)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE waste_units (activity VARCHAR, unit VARCHAR, kind VARCHAR, member_pos INTEGER)"
    ).fetchall()
    if rows:
        con.executemany("INSERT INTO waste_units VALUES (?, ?, ?, ?)", rows)
    return rows


def independence(con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    """Per step: chi-square test of its resource against the case outcome (resources with at least
    5 cases). p is None when the table has fewer than two rows or two columns."""
    cells: dict[str, dict[str, dict[str, int]]] = {}
    for activity, resource, outcome, n in _rows(con, sql_file(__package__, "independence"), {}):
        cells.setdefault(activity, {}).setdefault(resource, {})[outcome] = n
    return {activity: _chi_square(table) for activity, table in cells.items()}


def results(con: duckdb.DuckDBPyConnection, process: str) -> dict[str, list[dict]]:
    """Per step: the result fields it records, each constant (one value) or tested against the
    outcome (chi-square p over values with at least 5 cases; None when not testable)."""
    cells: dict[tuple[str, str], dict[str, dict[str, int]]] = {}
    for activity, key, value, outcome, n in _rows(con, sql_file(__package__, "results"), {"process": process}):
        cells.setdefault((activity, key), {}).setdefault(value, {})[outcome] = n
    out: dict[str, list[dict]] = {}
    for (activity, key), table in sorted(cells.items()):
        out.setdefault(activity, []).append({"field": key, **_chi_square(table)})
    return out


def _chi_square(table: dict[str, dict[str, int]]) -> dict:
    values = len(table)
    n = sum(sum(row.values()) for row in table.values())
    table = {r: row for r, row in table.items() if sum(row.values()) >= 5}
    outcomes = sorted({o for row in table.values() for o in row})
    p = None
    if len(table) >= 2 and len(outcomes) >= 2:
        p = independence_p([[table[r].get(o, 0) for o in outcomes] for r in sorted(table)])
    return {"p": p, "n": n, "groups": len(table), "values": values}


def independence_p(observed: list[list[int]]) -> float:
    """The p-value of Pearson's chi-square test of independence on an r x c table of counts whose
    rows and columns each hold some count: ``scipy.stats.chi2_contingency(observed)[1]``, with
    Yates' continuity correction at one degree of freedom as there.

    Written out (ten lines over ``scipy.special``) because importing scipy.stats costs every run
    about 46 MB of resident memory in the main process, where the SQL steps peak (issue 20).
    tests/test_waste_independence.py compares both on random tables.
    """
    counts = np.asarray(observed, dtype=float)
    expected = np.outer(counts.sum(axis=1), counts.sum(axis=0)) / counts.sum()
    dof = (counts.shape[0] - 1) * (counts.shape[1] - 1)
    if dof == 0:
        return 1.0
    if dof == 1:  # Yates: move each count half a unit towards its expectation, never past it
        diff = expected - counts
        counts = counts + np.sign(diff) * np.minimum(0.5, np.abs(diff))
    statistic = float(((counts - expected) ** 2 / expected).sum())
    return float(chdtrc(dof, statistic))


def _rows(con: duckdb.DuckDBPyConnection, query: str, params: dict) -> list[tuple]:
    """The rows of one query, bound to the parameters it uses."""
    used = {k: v for k, v in params.items() if re.search(rf"\${k}\b", query)}
    return con.execute(query, used or None).fetchall()
