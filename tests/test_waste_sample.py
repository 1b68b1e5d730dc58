"""Waste analysis on the embedded sample business system, checked against its ground truth.

The expectations come from mining/sample_system/ground_truth.yaml: the injected wasteful steps
(``waste``) must be the top-ranked candidates, the steps that carry value (``value_steps``) must
not be candidates, and the figures must agree with what the event log says directly.
"""

from __future__ import annotations

import csv
import shutil
from importlib import resources
from pathlib import Path

import pytest
import yaml

from mining import exports, pipeline
from mining.warehouse import connect
from mining.waste import analyse
from mining.waste.step import WASTE_CSV, waste_step

GROUND_TRUTH = yaml.safe_load(resources.files("mining.sample_system").joinpath("ground_truth.yaml").read_text("utf-8"))
PROCESS = GROUND_TRUTH["process"]
INJECTED = GROUND_TRUTH["waste"]  # activity -> kind
REMOVAL_KINDS = {"double_check", "courtesy_contact", "redundant_approval"}


def run_steps(config, out: Path, names: tuple[str, ...]) -> None:
    warehouse = pipeline.warehouse_path(out)
    for source in config.sources:
        pipeline.ingest_source(warehouse, config, source)
    steps = dict(pipeline.PROCESS_STEPS)
    for name in names:
        steps[name](warehouse, config, PROCESS, out)
    write_run_csvs(config, out)


def write_run_csvs(config, out: Path) -> None:
    """The run's CSV files, as mining.exports writes them after the steps (steps write tables only)."""
    with connect(pipeline.warehouse_path(out)) as con:
        exports.write_csvs(con, config.processes, out)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The sample system with the defaults of the ground truth, analysed through the pipeline steps."""
    out = tmp_path_factory.mktemp("waste-sample")
    defaults = GROUND_TRUTH["defaults"]
    config = pipeline.demo_config(out, defaults["n_cases"], defaults["seed"])
    run_steps(config, out, ("prepare", "moments", "waste"))
    con = connect(pipeline.warehouse_path(out), read_only=True)
    rows = rows_of(con)
    con.close()
    return {"out": out, "config": config, "rows": rows}


def rows_of(con, table="waste_activities", order="rank") -> list[dict]:
    cursor = con.execute(f"SELECT * FROM {table} WHERE process = $p ORDER BY {order}", {"p": PROCESS})
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def by_activity(rows):
    return {r["activity"]: r for r in rows}


def test_injected_waste_is_ranked_first(sample):
    # every candidate (remove, fix, review) is injected waste, and the candidates lead the ranking
    candidates = [r["activity"] for r in sample["rows"] if r["recommendation"] != "keep"]
    assert candidates and set(candidates) <= set(INJECTED), candidates
    assert [r["activity"] for r in sample["rows"][: len(candidates)]] == candidates
    # Second approval is done only for approved loans of 10,000 or more: within the cases that reached
    # it, cases without it also include the declined ones, so the log cannot show that removing it
    # leaves the outcome unchanged; evidence before advice keeps it (docs/waste.md, limits)
    assert len(candidates) >= len(INJECTED) - 1


def test_recommendations_follow_the_kind_of_waste(sample):
    rows = by_activity(sample["rows"])
    for activity, kind in INJECTED.items():
        row = rows[activity]
        if kind == "rework":
            # the first request is needed; the repeats are the waste
            assert row["recommendation"] == "fix" and row["scope"] == row["whatif_scope"] == "repeats", row
            assert row["rework_rate"] > 0 and row["whatif_case_hours_saved"] > 0
        else:
            assert kind in REMOVAL_KINDS
            assert row["recommendation"] in ("remove", "review", "keep"), row
            assert row["scope"] == "step" and row["whatif_scope"] == "all"
            if row["recommendation"] == "remove":
                # positive evidence: the interval within the cases that reached it, and a saving
                assert row["rate_diff_ci_high_pp"] <= 5.0 and "outcome unchanged within" in row["evidence"]


def test_value_steps_are_not_candidates(sample):
    rows = by_activity(sample["rows"])
    k = len(INJECTED)
    for activity in GROUND_TRUTH["value_steps"]:
        assert rows[activity]["recommendation"] == "keep", rows[activity]
        assert rows[activity]["rank"] > k


def test_steps_without_outcome_effect_show_an_interval_around_zero(sample):
    rows = by_activity(sample["rows"])
    details = GROUND_TRUTH["waste_details"]
    neutral = [a for a, d in details.items() if d.get("outcome_effect") == "none"]
    assert neutral
    for activity in neutral:
        row = rows[activity]
        assert row["rate_diff_ci_low_pp"] < 0 < row["rate_diff_ci_high_pp"], row
        assert "unchanged with or without it" in row["explanation"]


def test_what_if_figures_agree_with_the_event_log(sample):
    con = connect(pipeline.warehouse_path(sample["out"]), read_only=True)
    try:
        n_cases = con.execute("SELECT count(*) FROM cases WHERE process = $p", {"p": PROCESS}).fetchall()[0][0]
        per_activity = dict(
            con.execute(
                "SELECT activity, count(DISTINCT case_id) FROM event_log WHERE process = $p GROUP BY activity",
                {"p": PROCESS},
            ).fetchall()
        )
        repeated = dict(
            con.execute(
                "SELECT activity, count(*) FROM (SELECT activity, case_id FROM event_log WHERE process = $p "
                "GROUP BY activity, case_id HAVING count(*) >= 2) GROUP BY activity",
                {"p": PROCESS},
            ).fetchall()
        )
        variants = con.execute("SELECT count(*) FROM variants WHERE process = $p", {"p": PROCESS}).fetchall()[0][0]
        whatif = rows_of(con, "waste_whatif", "activity, scope")
    finally:
        con.close()
    for w in whatif:
        expected = per_activity[w["activity"]] if w["scope"] == "all" else repeated[w["activity"]]
        assert w["cases_affected"] == expected, w
        assert w["variants_before"] == variants  # one event per step in this log
        assert w["variants_after"] <= variants
        assert 0 <= w["mean_throughput_s_saved"] <= w["mean_throughput_before_s"]
        assert w["mean_throughput_after_s"] == pytest.approx(
            w["mean_throughput_before_s"] - w["mean_throughput_s_saved"]
        )
    rows = by_activity(sample["rows"])
    for activity, kind in INJECTED.items():
        row = rows[activity]
        if row["is_moment_of_truth"] and row["whatif_scope"] == "all":
            # every instance removed is one moment of truth fewer
            assert row["whatif_mots_saved_per_case"] == pytest.approx(row["frequency"] / n_cases)
        if kind in ("double_check", "courtesy_contact"):
            # ground truth: they delay nothing
            assert row["whatif_hours_saved_per_month"] == 0, row
        if kind == "redundant_approval":
            # ground truth: it costs a wait before the decision letter
            assert row["whatif_delay_s"] > 0 and row["whatif_hours_saved_per_month"] > 0, row


def test_waste_csv_holds_the_ranking(sample):
    with open(sample["out"] / WASTE_CSV, newline="", encoding="utf-8") as f:
        records = list(csv.DictReader(f))
    assert [r["activity"] for r in records] == [r["activity"] for r in sample["rows"]]
    needed = {
        "activity", "waste_score", "rank", "recommendation", "explanation", "whatif_hours_saved_per_month",
        "whatif_mots_saved_per_case", "whatif_variants_after", "whatif_mean_throughput_s_saved", "c_rework",
    }  # fmt: skip
    assert needed <= set(records[0])
    assert all(0 <= float(r["waste_score"]) <= 1 for r in records)


def test_rerun_gives_identical_tables_and_file(sample, tmp_path):
    out = tmp_path / "again"
    shutil.copytree(sample["out"], out)
    before = (out / WASTE_CSV).read_bytes()
    waste_step(pipeline.warehouse_path(out), sample["config"], PROCESS, out)
    write_run_csvs(sample["config"], out)
    assert (out / WASTE_CSV).read_bytes() == before
    con = connect(pipeline.warehouse_path(out), read_only=True)
    try:
        assert rows_of(con) == sample["rows"]
    finally:
        con.close()


def test_without_the_moments_analysis_the_ranking_holds(sample, tmp_path):
    """No case_outcomes and no MOT marks: no outcome defined, MOT figures stay empty."""
    shutil.copy(pipeline.warehouse_path(sample["out"]), tmp_path / "w.duckdb")
    con = connect(tmp_path / "w.duckdb")
    try:
        for table in ("case_outcomes", "mot_activities", "mot_events"):
            con.execute(f"DELETE FROM {table} WHERE process = $p", {"p": PROCESS}).fetchall()
        figures = analyse(con, PROCESS)
        rows = rows_of(con)
        run = con.execute(
            "SELECT outcome_source, mot_source FROM waste_runs WHERE process = $p", {"p": PROCESS}
        ).fetchall()
    finally:
        con.close()
    assert run == [("none", "none")]
    assert figures["outcome_status"] == "no outcome defined (the moments step has not run)"
    # no outcome evidence: nothing is removed, and the outcome-based components say why
    assert all(r["recommendation"] != "remove" for r in rows)
    assert all("no outcome defined" in r["not_measurable"] for r in rows)
    assert all(r["is_moment_of_truth"] is None and r["whatif_mots_saved_per_case"] is None for r in rows)
    # the repeated document request is still found: rework needs no outcome
    assert by_activity(rows)["Documents requested"]["recommendation"] == "fix"
