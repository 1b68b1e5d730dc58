"""The moments analysis on the validation corpus (tests/corpus, docs/validation.md): moments counted
on activity instances, expectations instead of quantiles, timer-driven waits excluded.

Every expected figure comes from the corpus truth files (tests/corpus/truth/*.yaml), not from a run.
"""

from __future__ import annotations

import pyarrow as pa
import pytest
from corpus import DEFAULTS, LOGS, load_truth

from mining.config.moments import Moments
from mining.moments.analysis import analyse
from mining.warehouse import connect
from mining.warehouse.load import load_batch
from mining.warehouse.prepare import prepare


def outcome_rules(truth: dict) -> dict:
    """The truth's outcome rules (activity names) as a moments.outcomes section."""
    rules: dict = {}
    for kind, rule in truth["outcomes"].items():
        if kind in ("success", "declined", "dropout") and isinstance(rule, dict):
            rules[kind] = [{"activities": [rule["activity"]]}]
    return rules


def analysed(name: str, moments: dict | None = None):
    """The corpus log ``name`` at its default size, loaded, prepared and analysed (built-in marking rules)."""
    frame = LOGS[name](**DEFAULTS[name])
    frame = frame.astype({c: "string" for c in frame.columns if c != "ts"})
    con = connect(":memory:")
    load_batch(con, pa.Table.from_pandas(frame, preserve_index=False), process=name, source=name, location=name)
    prepare(con, name)
    settings = {"outcomes": outcome_rules(load_truth(name)), **(moments or {})}
    analyse(con, name, Moments.model_validate(settings))
    return con


def rows(con, sql: str, params: dict | None = None) -> list[tuple]:
    return con.execute(sql, params or {}).fetchall()


def truth_moments(truth: dict) -> set[str]:
    return {m["activity"] for m in truth["moments_of_truth"]}


@pytest.fixture(scope="module")
def lifecycle_queues():
    con = analysed("lifecycle_queues")
    yield con
    con.close()


@pytest.fixture(scope="module")
def timers():
    con = analysed("timers")
    yield con
    con.close()


@pytest.fixture(scope="module")
def noise_and_cause():
    budget = {"scoring": {"expectations": {"activities": {"Identity check call": {"wait_hours": 48}}}}}
    con = analysed("noise_and_cause", budget)
    yield con
    con.close()


def test_one_call_is_one_moment_on_lifecycle_queues(lifecycle_queues):
    con, truth = lifecycle_queues, load_truth("lifecycle_queues")
    marked = rows(con, "SELECT activity FROM mot_activities WHERE is_moment_of_truth ORDER BY activity")
    assert {a for (a,) in marked} == truth_moments(truth)
    per_case = rows(
        con,
        "SELECT avg(n), min(n), max(n), count(*) FROM (SELECT case_id, count(*) AS n FROM mot_events "
        "WHERE is_moment_of_truth GROUP BY case_id)",
    )[0]
    want = truth["measured"]["moments_per_case"]
    assert per_case[0] == pytest.approx(want["mean"], abs=1e-4)
    assert per_case[1:] == (want["min"], want["max"], truth["measured"]["cases"])
    # the roll-up counts instances: a call is 3 events and 1 instance
    calls = rows(con, "SELECT n_events, n_instances, n_moments FROM mot_activities WHERE activity = 'Customer call'")
    instances = truth["measured"]["instances_per_activity"]["Customer call"]
    assert calls == [(truth["measured"]["events_per_activity"]["Customer call"], instances, instances)]
    # one row per instance, and no consecutive pair of moments inside one call
    assert rows(con, "SELECT count(*) FROM mot_events") == [(truth["measured"]["instances"],)]
    assert (
        rows(con, "SELECT n FROM knock_on WHERE from_activity = 'Customer call' AND to_activity = 'Customer call'")
        == []
    )
    # repeats count instances: the document rounds
    repeats = rows(con, "SELECT count(*) FROM mot_events WHERE activity = 'Request documents' AND occurrence > 1")
    assert repeats == [(truth["measured"]["rework"]["repeated_requests"],)]


def test_timer_driven_transitions_are_flagged_and_never_judged(timers):
    con, truth = timers, load_truth("timers")
    timed = {t["activity"] for t in truth["timer_driven_activities"]}
    found = rows(con, "SELECT DISTINCT activity FROM mot_timers ORDER BY activity")
    assert {a for (a,) in found} == timed
    gaps = dict(rows(con, "SELECT activity, gap_s FROM mot_timers WHERE anchor = '(customer action)'"))
    assert gaps["Case auto-closed"] == truth["measured"]["auto_close"]["gap_seconds_after_last_customer_action"][0]
    # every instance of a timer-driven activity is flagged; no other instance is
    flags = rows(con, "SELECT activity, bool_and(timer), bool_or(timer) FROM mot_events GROUP BY activity")
    for activity, all_flagged, any_flagged in flags:
        assert (all_flagged, any_flagged) == ((True, True) if activity in timed else (False, False)), activity
    judged = rows(
        con,
        "SELECT count(*) FILTER (WHERE wait_status <> 'not measurable: timer-driven' OR long_wait OR s_wait <> 0) "
        "FROM mot_events WHERE is_moment_of_truth AND activity IN (SELECT unnest($a))",
        {"a": sorted(timed)},
    )
    assert judged == [(0,)]
    # the wait before a timer-driven moment is never judged, so it is never poor for its wait; the
    # auto-close and the letter, single and outbound, are never poor at all
    poor = dict(rows(con, "SELECT activity, count(*) FILTER (WHERE poor) FROM mot_events GROUP BY activity"))
    assert poor["Case auto-closed"] == 0 and poor["Confirmation letter sent"] == 0
    # no knock-on pair ends in a timer-driven moment; the excluded pairs are counted
    into = rows(con, "SELECT count(*) FROM knock_on WHERE to_activity IN (SELECT unnest($a))", {"a": sorted(timed)})
    assert into == [(0,)]
    excluded = rows(con, "SELECT n_timer_excluded FROM knock_on WHERE from_activity = '*'")[0][0]
    moments_timed = rows(
        con,
        "SELECT count(*) FROM mot_events WHERE is_moment_of_truth AND timer AND mot_seq > 1",
    )[0][0]
    assert excluded == moments_timed > 0


def test_poor_is_a_finding_that_differs_between_moments(noise_and_cause):
    con, truth = noise_and_cause, load_truth("noise_and_cause")
    shares = dict(rows(con, "SELECT activity, avg(poor::INT) FROM mot_events WHERE is_moment_of_truth GROUP BY 1"))
    assert set(shares) == truth_moments(truth)
    assert max(shares.values()) - min(shares.values()) > 0.2
    assert len({round(s, 3) for s in shares.values()}) >= 4  # not one constant share (25% by construction)
    # the identity-check call is poor exactly in the cases the truth says (its 48 h activity budget,
    # counted from Application submitted, the customer's action just before it)
    poor_calls = rows(
        con,
        "SELECT count(*) FILTER (WHERE poor), count(*) FILTER (WHERE long_wait), min(expectation_source), "
        "max(expectation_source) FROM mot_events WHERE activity = 'Identity check call'",
    )
    n = truth["measured"]["cause"]["poor_identity_check_cases"]
    assert poor_calls == [(n, n, "activity", "activity")]


def test_the_first_moment_counts_from_the_case_start_and_budgets_are_labelled(noise_and_cause):
    con = noise_and_cause
    first = rows(con, "SELECT count(*), count(wait_s) FROM mot_events WHERE mot_seq = 1")
    assert first[0][0] == first[0][1] > 0  # every first moment has a wait (0 when the case starts with it)
    sources = {s for (s,) in rows(con, "SELECT DISTINCT expectation_source FROM mot_events WHERE is_moment_of_truth")}
    assert sources <= {"activity", "channel", "learned"} and "channel" in sources


def test_a_clean_journey_rises_and_the_mean_is_per_moment(noise_and_cause):
    con = noise_and_cause
    clean = rows(
        con,
        "SELECT count(*), count(*) FILTER (WHERE final_score > 0), "
        "count(*) FILTER (WHERE abs(mean_score - final_score / n_moments) > 1e-9) "
        "FROM case_scores WHERE n_poor = 0 AND n_moments > 0",
    )[0]
    # met expectations add; a clean journey can still end below 0 through its hand-offs, switches, the
    # customer's effort and a declined / drop-out outcome, but most end above it (a virtuous journey)
    assert clean[0] > 0 and clean[1] >= 0.9 * clean[0] and clean[2] == 0
    rising = rows(
        con,
        "SELECT count(*) FROM case_scores WHERE n_poor = 0 AND outcome = 'success' "
        "AND trajectory[len(trajectory)] > trajectory[1]",
    )
    assert rising[0][0] > 0
