"""Waste analysis on hand-built logs with exact expectations: step log, rework, what-if, statistics."""

from __future__ import annotations

from datetime import datetime, timedelta

import pyarrow as pa
import pytest

from mining.config import ConfigError, parse_config
from mining.warehouse import connect
from mining.warehouse.load import load_batch
from mining.warehouse.prepare import prepare
from mining.waste import Waste, analyse, what_if
from mining.waste.score import components, protection, rate_difference, recommend, waste_score, z_value

T0 = datetime(2024, 3, 4, 8, 0, 0)


def load(con, rows, process="p"):
    """Load (case, activity, hours after T0, resource, lifecycle) rows and prepare the process."""
    table = pa.table(
        {
            "case_id": [r[0] for r in rows],
            "activity": [r[1] for r in rows],
            "ts": [(T0 + timedelta(hours=r[2])).isoformat(sep=" ") for r in rows],
            "resource": [r[3] if len(r) > 3 else None for r in rows],
            "lifecycle": [r[4] if len(r) > 4 else None for r in rows],
        }
    )
    load_batch(con, table, process=process, source="s", location="tiny", timezone="UTC")
    prepare(con, process)


def activities(con, process="p") -> dict[str, dict]:
    cursor = con.execute("SELECT * FROM waste_activities WHERE process = $p", {"p": process})
    names = [d[0] for d in cursor.description]
    return {row[1]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


@pytest.fixture
def con():
    c = connect(":memory:")
    yield c
    c.close()


def test_schedule_start_complete_is_one_step_with_wait_and_processing_time(con):
    rows = []
    for i in range(3):
        base = 24 * i
        rows += [
            (f"c{i}", "register", base + 0, "clerk", "complete"),
            (f"c{i}", "review", base + 0.5, "system", "schedule"),
            (f"c{i}", "review", base + 2, "anna", "start"),
            (f"c{i}", "review", base + 2.5, "anna", "complete"),
            (f"c{i}", "close", base + 3.5, "clerk", "complete"),
        ]
    load(con, rows)
    analyse(con, "p")
    a = activities(con)
    assert set(a) == {"register", "review", "close"}
    review = a["review"]
    assert (review["frequency"], review["cases"], review["timed_steps"]) == (3, 3, 3)
    assert review["mean_processing_s"] == 1800.0  # start -> complete
    assert review["mean_wait_s"] == 7200.0  # register's end -> review's start (the queue included)
    assert a["close"]["mean_wait_s"] == 3600.0
    assert a["close"]["timed_steps"] == 0 and a["close"]["mean_processing_s"] is None
    # 'register' starts every case: it is kept whatever its score
    assert a["register"]["recommendation"] == "keep"
    assert a["register"]["reason"].startswith("it starts the case")


def test_rework_is_put_on_the_step_the_flow_goes_back_to(con):
    rows = [
        ("c1", "a", 0), ("c1", "b", 1), ("c1", "a", 2), ("c1", "b", 3), ("c1", "c", 4),
        ("c2", "a", 10), ("c2", "b", 11), ("c2", "c", 12),
    ]  # fmt: skip
    load(con, rows)
    analyse(con, "p")
    a = activities(con)
    # both repeat in c1, and both show the ping-pong a -> b -> a / b -> a -> b ...
    assert a["a"]["repeat_rate"] == a["b"]["repeat_rate"] == 0.5
    assert a["a"]["pingpong_rate"] == a["b"]["pingpong_rate"] == 0.5
    # ... but only 'a' is gone back to: 'b' repeats because 'a' was redone
    assert a["a"]["rework_rate"] == 0.5
    assert a["b"]["rework_rate"] == 0.0
    assert a["c"]["repeat_rate"] == a["c"]["rework_rate"] == 0.0


def bracket_log(n_with=12, n_without=12, delay_h=2.0):
    """P -> [X] -> N: cases with X reach N ``delay_h`` later than cases without (same gaps otherwise)."""
    rows = []
    for i in range(n_with + n_without):
        base = 24 * i
        rows.append((f"c{i:02d}", "P", base, "r1"))
        if i < n_with:
            rows.append((f"c{i:02d}", "X", base + 0.5, "r2"))
            rows.append((f"c{i:02d}", "N", base + 1 + delay_h, "r1"))
        else:
            rows.append((f"c{i:02d}", "N", base + 1, "r1"))
        rows.append((f"c{i:02d}", "E", base + 1 + delay_h + 5, "r1"))
    return rows


def test_what_if_measures_the_delay_on_a_bracket_of_milestones(con):
    load(con, bracket_log())
    [x] = what_if(con, "p", ["X"], "all", Waste(min_comparison_cases=5))
    assert (x["cases_affected"], x["steps_removed"]) == (12, 12)
    assert (x["anchor_before"], x["anchor_after"]) == ("P", "N")
    assert x["bracket_mean_with_s"] == pytest.approx(3 * 3600)
    assert x["bracket_mean_without_s"] == pytest.approx(3600)
    assert x["delay_s"] == pytest.approx(2 * 3600)
    # 12 cases x 2 h saved, spread over all 24 cases; the log spans 23 days + 8 h
    assert x["mean_throughput_s_saved"] == pytest.approx(12 * 7200 / 24)
    # the log spans 23 days: no per-month figure (never extrapolated), the total over the log instead
    assert x["hours_saved_per_month"] is None
    assert x["case_hours_saved"] == pytest.approx(24)
    assert (x["variants_before"], x["variants_after"]) == (2, 1)
    assert x["mots_saved_per_case"] is None  # no moments analysis in this warehouse


def test_what_if_of_a_step_that_delays_nothing_saves_nothing(con):
    load(con, bracket_log(delay_h=0.0))
    [x] = what_if(con, "p", ["X"], "all", Waste(min_comparison_cases=5))
    assert x["delay_s"] == 0 and x["mean_throughput_s_saved"] == 0 and x["case_hours_saved"] == 0


def test_what_if_of_a_missing_step_changes_nothing(con):
    load(con, bracket_log())
    [x] = what_if(con, "p", ["never happens"], "all")
    assert (x["cases_affected"], x["steps_removed"], x["mean_throughput_s_saved"]) == (0, 0, 0)
    assert x["variants_after"] == x["variants_before"] == 2


def test_what_if_repeats_removes_the_redo_cycles_and_keeps_the_first(con):
    rows = []
    for i in range(20):
        base, c = 24 * i, f"c{i:02d}"
        rows += [(c, "start", base), (c, "ask", base + 1), (c, "answer", base + 2)]
        if i < 10:  # a second round: ask again, answer again, 10 h later than one round
            rows += [(c, "ask", base + 6), (c, "answer", base + 12), (c, "decide", base + 13)]
        else:
            rows += [(c, "decide", base + 3)]
    load(con, rows)
    [x] = what_if(con, "p", ["ask"], "repeats", Waste(min_comparison_cases=5))
    assert (x["cases_affected"], x["steps_removed"]) == (10, 20)  # 'ask' and 'answer' of round 2
    assert (x["variants_before"], x["variants_after"]) == (2, 1)
    assert (x["anchor_before"], x["anchor_after"]) == ("ask", "decide")
    assert x["delay_s"] == pytest.approx(10 * 3600)


def test_newcombe_interval_matches_the_published_example():
    # Newcombe (1998), Statistics in Medicine 17:873, table II, method 10
    e = rate_difference(56, 70, 48, 80, z_value(0.95))
    assert (round(e.diff, 4), round(e.low, 4), round(e.high, 4)) == (0.2, 0.0524, 0.3339)
    e = rate_difference(9, 10, 3, 10, z_value(0.95))
    assert (round(e.low, 4), round(e.high, 4)) == (0.1705, 0.8090)


def test_score_is_the_weighted_mean_of_measurable_components():
    s = Waste()
    c = dict.fromkeys(
        ("no_decision", "optional", "no_outcome_effect", "redundancy", "delay", "handoff", "customer_effort")
    )
    c.update(rework=1.0, no_decision=0.0)
    # two components carry 0.4 of the weight 1.0: too little measured evidence for a score
    score, why = waste_score(c, s)
    assert score is None and "too little measured evidence (40% of the weight measured)" in why
    c.update(optional=1.0, delay=0.5)  # now 0.65 of the weight is measured
    assert waste_score(c, s)[0] == pytest.approx((0.2 + 0.15 + 0.05) / 0.65)
    # a step seen in a handful of cases is scaled down in proportion
    assert waste_score(c, s, cases=3)[0] == pytest.approx((0.4 / 0.65) * 3 / s.min_support_cases)


def test_waste_settings_are_validated_and_named_in_errors():
    config = parse_config({"waste": {"weights": {"rework": 0.5}, "review_min_score": 0.3}})
    assert config.waste.weights.rework == 0.5 and config.waste.review_min_score == 0.3
    assert parse_config({}).waste == Waste()
    with pytest.raises(ConfigError, match=r"waste\.weigths"):
        parse_config({"waste": {"weigths": {}}})
    with pytest.raises(ConfigError, match="at least one weight must be positive"):
        parse_config({"waste": {"weights": dict.fromkeys(Waste().weights.model_dump(), 0)}})
    with pytest.raises(ConfigError, match=r"waste\.system_resource_regex"):
        parse_config({"waste": {"system_resource_regex": "("}})


def test_unprepared_process_is_a_clear_error(con):
    with pytest.raises(ValueError, match="no activity instances"):
        analyse(con, "nothing")


def metrics(**given) -> dict:
    """Step metrics as the SQL returns them, for a middling step; ``given`` overrides."""
    m = {
        "activity": "x", "members": ["x"], "kind": "activity", "cases": 100, "n_cases": 200, "starts": 0,
        "rework_rate": 0.0, "cases_redone": 0, "partner": "p", "partner_share": 0.0,
        "partner_resource_similarity": 0.0, "handoff_rate": 0.5, "system_share": 0.0, "batch_share": 0.0,
        "n_reached": 200, "n_with": 100, "n_without": 100, "k_with": 50, "k_without": 50, "n_with_all": 100,
        "n_typical": 100, "typical_without": 50, "mutual_information": 0.0, "outcome_entropy": 1.0,
        "top_next_other": "y", "top_next_other_share": 0.5, "n_next_other": 100, "outcome_status": "measurable",
        "reference_outcome": "success", "is_moment_of_truth": None, "mot_poor_share": None,
        "customer_effort_share": None, "independence": None, "results": [],
    }  # fmt: skip
    m.update(given)
    return m


def scenario(hours: float, cases: int = 100, scope: str = "all") -> dict:
    return {
        "scope": scope, "n_cases": 200, "cases_affected": cases, "case_hours_saved": hours,
        "mean_throughput_before_s": 100 * 3600.0, "mean_throughput_s_saved": hours * 3600 / 200,
        "saving_method": "bracket",
    }  # fmt: skip


def decide(m: dict, s: Waste | None = None, hours: float = 1000.0, repeats: float | None = None) -> tuple:
    s = s or Waste()
    w = {"all": scenario(hours)} | ({"repeats": scenario(repeats, scope="repeats")} if repeats is not None else {})
    c, _why, effect = components(m, 0.0, 1.0, s)
    score, _ = waste_score(c, s, m["cases"])
    rec, _reason, scope, evidence, merge_into, _w = recommend(m, c, score, effect, w, s, protection(m, s, {}))
    return rec, scope, evidence, merge_into


def test_recommendation_rules():
    # 50% vs 50% within the cases that reached it, 100 a side: the interval (about +-14 pp) does not
    # exclude harm beyond the 5 pp margin, so no removal
    assert decide(metrics())[0] == "keep"
    # with 2,000 cases a side the interval is about +-3 pp: within a 5 pp margin, remove, with the
    # evidence and the saving named; not within a 2 pp margin
    big = metrics(n_with=2000, n_without=2000, k_with=1000, k_without=1000, n_reached=4000)
    assert decide(big, Waste(harm_margin_pp=2.0))[0] == "keep"
    rec, scope, evidence, _ = decide(big, Waste(harm_margin_pp=5.0))
    assert (rec, scope) == ("remove", "step")
    assert "outcome unchanged within 4,000 cases that reached it" in evidence and "CI -3.1..+3.1" in evidence
    # the same evidence without any time saved: no removal
    assert decide(big, Waste(harm_margin_pp=5.0), hours=0.0)[0] == "keep"
    # no outcome defined: never remove, whatever the structure; decides nothing and adds delay: review
    quiet = metrics(outcome_status="no outcome defined", top_next_other_share=1.0)
    rec, _, evidence, _ = decide(quiet, Waste(harm_margin_pp=5.0))
    assert rec == "review" and "no outcome evidence: no outcome defined" in evidence
    # redone in 30% of its cases (30 cases) with time saved by removing the repeats: fix, scope repeats
    assert decide(metrics(rework_rate=0.3, cases_redone=30), repeats=50.0)[:2] == ("fix", "repeats")
    # ... but not on too few cases, nor when removing the repeats saves nothing
    assert decide(metrics(rework_rate=0.3, cases_redone=5), repeats=50.0)[0] == "keep"
    assert decide(metrics(rework_rate=0.3, cases_redone=30), repeats=0.0)[0] == "keep"
    # done right after its partner by the same people: a merge review
    merged = metrics(partner_share=1.0, partner_resource_similarity=1.0, rework_rate=0.3, n_without=0)
    assert decide(merged, Waste(review_min_score=0.3))[0::3] == ("review", "p")
    # the first step of its cases is kept whatever its figures
    assert decide(metrics(starts=100, rework_rate=0.5, cases_redone=50), repeats=50.0)[0] == "keep"
    # a moment of truth whose moments mostly miss their expectation is not waste: the moments
    # analysis reports it (to make it excellent); waste keeps it
    assert decide(metrics(is_moment_of_truth=True, mot_poor_share=0.7))[0] == "keep"
