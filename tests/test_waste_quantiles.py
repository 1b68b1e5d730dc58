"""Waste's medians and 90th percentiles come from a count per distinct value (exact_quantile in
quantiles.sql, used by metrics.sql's section `quantiles` and by whatif.sql's anchors), because
median() / quantile_cont() cannot spill at 100 M steps. The medians must equal DuckDB's own bit for
bit on every shape of group; the 90th percentiles may differ in the last bit (DuckDB's binary fuses
the interpolation's multiply and add), far below the 12 digits a figure keeps."""

from __future__ import annotations

import random

import duckdb
import pytest

from mining.warehouse.sqlfiles import sections
from mining.waste.analysis import sql

OURS = "SELECT activity, median_wait_s, p90_wait_s, median_proc_s FROM waste_step_quantiles ORDER BY activity"
DUCKDB = (
    "SELECT activity, median(wait_s), quantile_cont(wait_s, 0.9), median(proc_s) FROM waste_step_flags "
    "GROUP BY activity HAVING count(wait_s) + count(proc_s) > 0 ORDER BY activity"
)


def groups(rng: random.Random) -> list[tuple]:
    """(activity, wait_s, proc_s) rows: groups of 1 to 60 rows, odd and even, many ties, NULLs,
    negative and fractional values, a group without any processing time."""
    rows = []
    for g in range(120):
        size = rng.choice([1, 2, 3, 4, 5, 10, 11, 59, 60])
        pool = [rng.choice([0.0, 1.5, 60.0, -3.25, 1e9, rng.uniform(-1e6, 1e6)]) for _ in range(4)]
        for _ in range(size):
            wait = None if rng.random() < 0.1 else rng.choice([*pool, rng.uniform(0, 86400), round(rng.uniform(0, 9))])
            proc = None if g % 7 == 0 or rng.random() < 0.3 else rng.choice([*pool, rng.expovariate(0.01)])
            rows.append((f"a{g:03d}", wait, proc))
    return rows


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_quantiles_from_value_counts_equal_duckdbs_own(seed):
    con = duckdb.connect()
    con.execute("CREATE TEMP TABLE waste_step_flags (activity VARCHAR, wait_s DOUBLE, proc_s DOUBLE)")
    con.executemany("INSERT INTO waste_step_flags VALUES (?, ?, ?)", groups(random.Random(seed)))
    for statement in duckdb.extract_statements(sql("quantiles") + sections(sql("metrics"))["quantiles"]):
        con.execute(statement.query)
    ours, theirs = con.execute(OURS).fetchall(), con.execute(DUCKDB).fetchall()
    assert len(ours) == len(theirs) > 100  # groups without any wait or processing time have no row
    for mine, duckdbs in zip(ours, theirs, strict=True):
        activity, median_wait, p90_wait, median_proc = mine
        assert (activity, median_wait, median_proc) == (duckdbs[0], duckdbs[1], duckdbs[3])  # exact
        assert (p90_wait is None) == (duckdbs[2] is None), activity
        if p90_wait is not None:
            assert p90_wait == pytest.approx(duckdbs[2], rel=1e-15, abs=1e-9), activity
    assert any(row[3] is None for row in ours)  # the groups without a processing time
