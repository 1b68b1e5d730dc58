"""Waste analysis on BPIC 2012 (../shared/data/logs): a real log with SCHEDULE/START/COMPLETE work items."""

from __future__ import annotations

from pathlib import Path

import pytest

from mining import exports, pipeline
from mining.warehouse import connect
from mining.waste import Waste

LOG = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "logs" / "bpic2012.xes.gz"
PROCESS = "bpic2012"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bpic(tmp_path_factory):
    if not LOG.exists():
        pytest.skip(f"{LOG} is not on this machine (see ../shared/data/README.md)")
    out = tmp_path_factory.mktemp("waste-bpic")
    config = pipeline.config_for_log(LOG)
    warehouse = pipeline.warehouse_path(out)
    for source in config.sources:
        pipeline.ingest_source(warehouse, config, source)
    steps = dict(pipeline.PROCESS_STEPS)
    for name in ("prepare", "moments", "waste"):
        steps[name](warehouse, config, PROCESS, out)
    with connect(warehouse) as con:
        exports.write_csvs(con, config.processes, out)
    con = connect(warehouse, read_only=True)
    yield con, out
    con.close()


def query(con, sql: str) -> list[dict]:
    cursor = con.execute(sql, {"p": PROCESS})
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_every_activity_is_scored_and_ranked(bpic):
    con, out = bpic
    rows = query(con, "SELECT * FROM waste_activities WHERE process = $p ORDER BY rank")
    activities = {
        r[0]
        for r in con.execute("SELECT DISTINCT activity FROM event_log WHERE process = $p", {"p": PROCESS}).fetchall()
    }
    assert {r["activity"] for r in rows} == activities and len(activities) == 24
    ranks = sorted({r["rank"] for r in rows})  # the members of a functional step share its rank
    assert ranks == list(range(1, len(ranks) + 1))
    assert all(r["waste_score"] is None or 0 <= r["waste_score"] <= 1 for r in rows)
    assert (out / "waste.csv").read_text(encoding="utf-8").count("\n") == 25
    # the customer's submission starts every case and is never a candidate
    submitted = next(r for r in rows if r["activity"] == "A_SUBMITTED")
    assert submitted["recommendation"] == "keep" and submitted["reason"].startswith("it starts the case")


def test_work_items_are_steps_with_queue_and_processing_time(bpic):
    con, _ = bpic
    completes = dict(
        con.execute(
            "SELECT activity, count(*) FROM event_log WHERE process = $p AND lifecycle = 'COMPLETE' GROUP BY activity",
            {"p": PROCESS},
        ).fetchall()
    )
    instances = dict(
        con.execute(
            "SELECT activity, count(*) FROM activity_instances WHERE process = $p GROUP BY activity", {"p": PROCESS}
        ).fetchall()
    )
    rows = query(con, "SELECT * FROM waste_activities WHERE process = $p")
    for r in rows:
        # steps are the activity instances of the prepare step ...
        assert r["frequency"] == instances[r["activity"]], r["activity"]
        if r["activity"] in completes:
            # ... so SCHEDULE -> START -> COMPLETE is one step: about one per COMPLETE event (an
            # instance left open, a second START before the COMPLETE, adds one)
            assert abs(r["frequency"] - completes[r["activity"]]) <= 0.01 * completes[r["activity"]], r["activity"]
        if r["activity"].startswith("W_") and r["activity"] in completes:
            assert r["timed_steps"] > 0.9 * r["frequency"]
            assert 0 < r["median_processing_s"] < 86400
        if r["activity"].startswith(("A_", "O_")):
            assert r["timed_steps"] == 0 and r["mean_processing_s"] is None
        assert (r["repeat_rate"] > 0) == (r["frequency"] > r["cases"])
        assert r["rework_rate"] <= r["repeat_rate"]


def test_recommendations_follow_their_rules(bpic):
    con, _ = bpic
    s = Waste()
    rows = query(con, "SELECT * FROM waste_activities WHERE process = $p")
    assert {r["recommendation"] for r in rows} - {"keep"}, "a real log has some candidates"
    for r in rows:
        if r["recommendation"] == "fix":
            assert r["rework_rate"] >= s.fix_min_rework
            assert r["explanation"]
        if r["recommendation"] == "remove":
            # positive evidence only: the outcome within the cases that reached it, and a saving
            assert "outcome unchanged within" in r["evidence"] or "decides nothing" in r["evidence"]
            assert r["whatif_case_hours_saved"] > 0 or (r["whatif_mots_saved_per_case"] or 0) > 0
        if r["recommendation"] == "keep":
            assert r["impact_rank"] is None


def test_what_if_figures_are_sane(bpic):
    con, _ = bpic
    mean_duration, n_cases = con.execute(
        "SELECT avg(duration_s), count(*) FROM cases WHERE process = $p", {"p": PROCESS}
    ).fetchall()[0]
    whatif = query(con, "SELECT * FROM waste_whatif WHERE process = $p")
    run = query(con, "SELECT * FROM waste_runs WHERE process = $p")[0]
    timed = {
        r["activity"]
        for r in query(con, "SELECT activity FROM waste_activities WHERE process = $p AND timed_steps > 0")
    }
    assert run["n_cases"] == n_cases == 13087
    # the step log spans each case from its first to its last step (trailing SCHEDULEs aside)
    before = whatif[0]["mean_throughput_before_s"]
    assert 0.9 * mean_duration <= before <= mean_duration + 1
    for w in whatif:
        assert w["mean_throughput_before_s"] == before
        assert 0 <= w["mean_throughput_s_saved"] <= before
        assert w["cases_affected"] <= n_cases and w["variants_after"] <= w["variants_before"] + w["cases_affected"]
        assert w["hours_saved_per_month"] == pytest.approx(w["case_hours_saved"] / run["months"], rel=1e-3, abs=0.01)
        if w["activity"] in timed and w["steps_removed"]:
            # removed work items take their measured processing time with them
            assert w["work_hours_saved_per_month"] > 0
        elif w["scope"] == "all":
            assert w["work_hours_saved_per_month"] is None  # A_ and O_ events have no START
    # the log covers about five and a half months (2011-10-01 .. 2012-03-14)
    assert 5 < run["months"] < 6
