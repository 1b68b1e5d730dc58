"""dropout.sql's funnel reads the median first place and the cases reached from counts (issue 20:
median() and count(DISTINCT) hold a group's values in memory and cannot spill), and the first places
from a table built per range of cases. On random journeys its rows must equal those of the plain
median() / count(DISTINCT) form over every case at once."""

from __future__ import annotations

import random

import pytest

from mining.moments.analysis import DROPOUT_TABLES, sql
from mining.warehouse import connect, statements
from mining.warehouse.ranges import appending
from mining.warehouse.sqlfiles import sections

# The funnel as it was written before: the reference the count-based form must reproduce.
REFERENCE = """
WITH first_seen AS (
    SELECT activity, case_id, min(mot_seq) AS first_seq FROM mot_journey GROUP BY activity, case_id
),
journey_order AS (
    SELECT activity, median(first_seq) AS median_seq, count(*) AS n_cases_reached
    FROM first_seen GROUP BY activity
),
dropout_reached AS (
    SELECT activity, count(DISTINCT case_id) AS n
    FROM mot_journey
    WHERE outcome = 'dropout' AND (outcome_pos IS NULL OR pos <= outcome_pos)
    GROUP BY activity
)
SELECT j.activity, CAST(row_number() OVER (ORDER BY j.median_seq, j.activity) AS INTEGER) AS step,
    j.n_cases_reached, coalesce(r.n, 0) AS n_dropout_reached
FROM journey_order j LEFT JOIN dropout_reached r USING (activity)
ORDER BY step
"""


def _funnel_statement() -> str:
    return next(s for s in statements(sql("dropout")) if "INSERT INTO dropout_funnel" in s)


def _per_case_tables(con, split: str) -> None:
    """The funnel's per-case tables, built as analyse builds them: in two ranges of cases, split at ``split``."""
    for name in ("mot_first_seen", "mot_last_before"):
        statement = next(s for s in statements(sections(sql("dropout"))["per_case"]) if f"TABLE {name} AS" in s)
        con.execute(statement, {"lo": None, "hi": split}).fetchall()
        con.execute(appending(statement, DROPOUT_TABLES), {"lo": split, "hi": None}).fetchall()


def _journeys(con, seed: int) -> None:
    """mot_journey / mot_case_outcomes of random cases: repeated activities, odd and even counts."""
    rng = random.Random(seed)
    activities = [f"A{i}" for i in range(rng.randint(2, 7))]
    rows, outcomes = [], []
    for case in range(rng.randint(1, 60)):
        outcome = rng.choice(["success", "dropout", "declined", None])
        n = rng.randint(1, 9)
        outcome_pos = rng.choice([None, rng.randint(1, 12)])
        outcomes.append((f"c{case}", outcome, outcome_pos, None, None))
        for seq in range(1, n + 1):
            upstream = outcome_pos is None or seq < outcome_pos
            rows.append((f"c{case}", seq, rng.choice(activities), seq, outcome, outcome_pos, upstream))
    con.execute(
        "CREATE OR REPLACE TEMP TABLE mot_journey (case_id VARCHAR, pos INTEGER, activity VARCHAR, "
        "mot_seq INTEGER, outcome VARCHAR, outcome_pos INTEGER, upstream BOOLEAN)"
    )
    con.executemany("INSERT INTO mot_journey VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE mot_case_outcomes (case_id VARCHAR, outcome VARCHAR, outcome_pos INTEGER, "
        "outcome_activity VARCHAR, outcome_rule VARCHAR)"
    )
    con.executemany("INSERT INTO mot_case_outcomes VALUES (?, ?, ?, ?, ?)", outcomes)


@pytest.mark.parametrize("seed", range(40))
def test_funnel_from_counts_equals_median_form(seed):
    con = connect()
    _journeys(con, seed)
    _per_case_tables(con, split=f"c{random.Random(seed).randint(0, 60)}")
    con.execute(_funnel_statement(), {"process": "p"}).fetchall()
    got = con.execute(
        "SELECT activity, step, n_cases_reached, n_dropout_reached FROM dropout_funnel ORDER BY step"
    ).fetchall()
    assert got == con.execute(REFERENCE).fetchall()
    assert got  # every journey has moments: the funnel is never empty here
