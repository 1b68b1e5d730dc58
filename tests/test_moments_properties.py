"""Property tests: shuffling the input rows or renaming the cases changes no mark, score or figure."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mining.config.moments import Moments
from mining.moments.analysis import analyse
from mining.warehouse import connect
from mining.warehouse.load import load_batch
from mining.warehouse.prepare import prepare

T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
ACTIVITIES = ["Submit application", "Call customer", "Credit check", "Send offer", "Customer withdrew", "Payout"]
CHANNELS = [None, "phone", "email", "letter", "internal"]
RESOURCES = [None, "ann", "bob", "customer", "SYSTEM"]
SENTIMENTS = [None, "negative", "positive"]

# The built-in rules and outcomes, with every threshold low enough that all tables fill up.
SETTINGS = Moments.model_validate(
    {"scoring": {"min_reference_wait_s": 0}, "attribution": {"min_cases": 1, "min_dropout_cases": 1}}
)

event = st.tuples(
    st.sampled_from(ACTIVITIES),
    st.integers(1, 6000),  # minutes since the case's previous event: no ties inside a case
    st.sampled_from(CHANNELS),
    st.sampled_from(RESOURCES),
    st.sampled_from(SENTIMENTS),
)
case = st.tuples(st.integers(0, 20000), st.lists(event, min_size=1, max_size=7))
logs = st.lists(case, min_size=1, max_size=6)


def rows_of(log) -> list[dict]:
    rows = []
    for number, (start, events) in enumerate(log):
        ts = T0 + timedelta(minutes=start)
        for activity, gap, channel, resource, sentiment in events:
            ts += timedelta(minutes=gap)
            rows.append(
                {"case_id": f"c{number}", "activity": activity, "ts": ts, "resource": resource,
                 "channel": channel, "sentiment": sentiment}
            )  # fmt: skip
    return rows


def table(rows: list[dict]) -> pa.Table:
    return pa.table(
        {
            "case_id": pa.array([r["case_id"] for r in rows], pa.string()),
            "activity": pa.array([r["activity"] for r in rows], pa.string()),
            "ts": pa.array([r["ts"] for r in rows], pa.timestamp("us", tz="UTC")),
            "resource": pa.array([r["resource"] for r in rows], pa.string()),
            "channel": pa.array([r["channel"] for r in rows], pa.string()),
            "sentiment": pa.array([r["sentiment"] for r in rows], pa.string()),
        }
    )


TABLES = {
    # table: (key columns, columns compared); case ids are mapped back before comparing
    "mot_events": (
        ("case_id", "pos"),
        "activity, is_moment_of_truth, rule, channel, wait_s, score, running_score, poor, mot_seq, occurrence, "
        "ref_wait_s, long_wait, handoffs, channel_switch, effort, experience_score, s_outcome, event_pos, n_events, "
        "expectation_source, wait_status, effort_units, effort_budget, effort_over, s_met, timer, timer_rule",
    ),
    "case_outcomes": (("case_id",), "outcome, outcome_activity, outcome_pos, outcome_rule"),
    "case_scores": (("case_id",), "n_moments, final_score, min_score, outcome, n_poor, mean_score, trajectory"),
    "mot_activities": (
        ("activity",),
        "is_moment_of_truth, share, channel, rule, n_events, decided, channels, rules, n_instances",
    ),
    "mot_timers": (("activity", "anchor"), "kind, gap_s, n, n_equal, share"),
    "knock_on": (
        ("from_activity", "to_activity"),
        "n, n_from_poor, n_poor_poor, p_poor_given_poor, base_rate, lift, ci_low, ci_high, adjusted_base_rate, effect, "
        "n_timer_excluded",
    ),
    "dropout_funnel": (("activity",), "step, n_cases_reached, n_dropout_reached, n_left_after, n_dropout_events"),
    "dropout_places": (("rank",), "activity, after_activity, n_dropout, share"),
    "dropout_attribution": (
        ("rank",),
        "factor, n_cases, n_dropout, n_reached, confidence, base_rate, lift, ci_low, echo_of",
    ),
}


def snapshot(con, process: str, rename=None) -> dict:
    """Every compared table of ``process`` as {key: values}, case ids mapped through ``rename``."""
    rename = rename or {}
    result = {}
    for name, (key, columns) in TABLES.items():
        rows = con.execute(
            f"SELECT {', '.join(key)}, {columns} FROM {name} WHERE process = $p", {"p": process}
        ).fetchall()
        found = {}
        for row in rows:
            k = tuple(rename.get(v, v) if c == "case_id" else v for c, v in zip(key, row, strict=False))
            found[k] = row[len(key) :]
        result[name] = found
    return result


def same(a, b) -> bool:
    """Equal, with floats compared to 1e-9 (sums over groups may add in another order)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def analysed(con, process: str, rows: list[dict]) -> None:
    load_batch(con, table(rows), process=process, source=process, location=process)
    prepare(con, process)
    analyse(con, process, SETTINGS)


@settings(max_examples=20, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=logs, order=st.randoms(use_true_random=False), names=st.randoms(use_true_random=False))
def test_shuffling_rows_and_renaming_cases_changes_nothing(log, order, names):
    rows = rows_of(log)
    shuffled = list(rows)
    order.shuffle(shuffled)
    cases = sorted({r["case_id"] for r in rows})
    new_names = [f"case-{i:03d}" for i in range(len(cases))]
    names.shuffle(new_names)  # a bijection that also changes the sort order of the ids
    to_new = dict(zip(cases, new_names, strict=True))
    renamed = [{**r, "case_id": to_new[r["case_id"]]} for r in shuffled]

    con = connect(":memory:")
    try:
        analysed(con, "original", rows)
        analysed(con, "shuffled", shuffled)
        analysed(con, "renamed", renamed)
        original = snapshot(con, "original")
        back = {new: old for old, new in to_new.items()}
        for other in (snapshot(con, "shuffled"), snapshot(con, "renamed", back)):
            for name in TABLES:
                assert original[name].keys() == other[name].keys(), name
                for key, values in original[name].items():
                    assert same(values, other[name][key]), (name, key, values, other[name][key])
        # and the analysis found something to compare
        assert original["mot_events"] and original["case_scores"]
    finally:
        con.close()
