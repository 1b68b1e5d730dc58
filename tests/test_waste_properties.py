"""Property tests of the waste analysis: invariants that hold for any log.

Shuffling the rows or renaming the cases changes no figure; removing a step that never occurs
saves nothing; scores, components and ranks stay in their ranges.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mining.warehouse import connect
from mining.warehouse.load import load_batch
from mining.warehouse.prepare import prepare
from mining.waste import analyse, what_if
from mining.waste.score import COMPONENTS

T0 = datetime(2024, 1, 1)
ACTIVITIES = ["apply", "check", "call", "ask", "answer", "decide", "close"]
RESOURCES = ["ann", "bob", "SYSTEM", None]


@st.composite
def logs(draw):
    """A small log: cases of 1..8 steps; every event has its own timestamp (no ties to order)."""
    n_cases = draw(st.integers(2, 12))
    rows, clock = [], 0
    for i in range(n_cases):
        for _ in range(draw(st.integers(1, 8))):
            clock += draw(st.integers(1, 5000))
            rows.append((f"case{i}", draw(st.sampled_from(ACTIVITIES)), clock, draw(st.sampled_from(RESOURCES))))
    return rows


def waste_tables(rows) -> tuple[list, list]:
    """Load the rows into a fresh warehouse, analyse, and return the waste tables as sorted tuples."""
    con = connect(":memory:")
    try:
        table = pa.table(
            {
                "case_id": [r[0] for r in rows],
                "activity": [r[1] for r in rows],
                "ts": [(T0 + timedelta(minutes=r[2])).isoformat(sep=" ") for r in rows],
                "resource": [r[3] for r in rows],
            }
        )
        load_batch(con, table, process="p", source="s", location="gen", timezone="UTC")
        prepare(con, "p")
        analyse(con, "p")
        activities = con.execute("SELECT * FROM waste_activities ORDER BY activity").fetchall()
        whatif = con.execute("SELECT * FROM waste_whatif ORDER BY activity, scope").fetchall()
        return activities, whatif
    finally:
        con.close()


SETTINGS = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(logs(), st.randoms(use_true_random=False))
def test_shuffling_rows_or_renaming_cases_changes_nothing(rows, rnd):
    original = waste_tables(rows)
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    assert waste_tables(shuffled) == original
    names = sorted({r[0] for r in rows})
    new = [f"renamed-{rnd.randrange(10**9):09d}-{i}" for i in range(len(names))]
    rnd.shuffle(new)  # the new names sort in another order than the old ones
    mapping = dict(zip(names, new, strict=True))
    assert waste_tables([(mapping[r[0]], *r[1:]) for r in rows]) == original


@SETTINGS
@given(logs())
def test_removing_a_step_that_never_occurs_saves_nothing(rows):
    con = connect(":memory:")
    try:
        table = pa.table(
            {
                "case_id": [r[0] for r in rows],
                "activity": [r[1] for r in rows],
                "ts": [(T0 + timedelta(minutes=r[2])).isoformat(sep=" ") for r in rows],
            }
        )
        load_batch(con, table, process="p", source="s", location="gen", timezone="UTC")
        prepare(con, "p")
        for scope in ("all", "repeats"):
            [w] = what_if(con, "p", ["no such step"], scope)
            assert (w["cases_affected"], w["steps_removed"], w["mean_throughput_s_saved"]) == (0, 0, 0)
            assert w["case_hours_saved"] == 0 and w["work_hours_saved_per_month"] is None
            # 0 a month, or no per-month figure at all from a log shorter than a month
            assert w["hours_saved_per_month"] in (0, None)
            assert w["variants_after"] == w["variants_before"]
            assert w["mean_throughput_after_s"] == w["mean_throughput_before_s"]
    finally:
        con.close()


@SETTINGS
@given(logs())
def test_scores_components_and_ranks_stay_in_range(rows):
    con = connect(":memory:")
    try:
        table = pa.table(
            {
                "case_id": [r[0] for r in rows],
                "activity": [r[1] for r in rows],
                "ts": [(T0 + timedelta(minutes=r[2])).isoformat(sep=" ") for r in rows],
                "resource": [r[3] for r in rows],
            }
        )
        load_batch(con, table, process="p", source="s", location="gen", timezone="UTC")
        prepare(con, "p")
        analyse(con, "p")
        cursor = con.execute("SELECT * FROM waste_activities ORDER BY rank")
        names = [d[0] for d in cursor.description]
        found = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    finally:
        con.close()
    assert {r["activity"] for r in found} == {r[1] for r in rows}
    # one rank per functional step (its member activities share it), in order of the advice
    ranks = sorted({r["rank"] for r in found})
    assert ranks == list(range(1, len(ranks) + 1))
    tiers = ["remove", "fix", "review", "keep"]
    assert [tiers.index(r["recommendation"]) for r in found] == sorted(tiers.index(r["recommendation"]) for r in found)
    for r in found:
        gaps = json.loads(r["not_measurable"])
        # a score, or none with the reason; never a default
        assert (r["waste_score"] is None) == ("waste_score" in gaps)
        assert r["waste_score"] is None or 0 <= r["waste_score"] <= 1
        for k in COMPONENTS:
            assert r[f"c_{k}"] is None or 0 <= r[f"c_{k}"] <= 1
            assert (r[f"c_{k}"] is None) == (k in gaps)
        # no outcomes in these logs: nothing outcome-based is measured, nothing is removed
        assert r["recommendation"] in ("fix", "review", "keep")
        assert {"no_decision", "optional", "no_outcome_effect"} <= set(gaps)
        assert r["whatif_case_hours_saved"] >= 0
        assert (r["impact_rank"] is None) == (r["recommendation"] == "keep")
        assert r["explanation"] is not None
