"""Waste analysis on the validation corpus (tests/corpus), checked against each log's documented truth.

Expected figures come from the truth files (tests/corpus/truth/*.yaml): the injected waste and its
rank, the value steps that must never be removed, the case-hours that removing the waste saves
(measured on the generator's what-if twin). The outcome rules given to the moments step are the
truth's activity rules, never the convenience 'outcome' column (docs/validation.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from corpus import DEFAULTS, LOGS, load_truth

from mining import exports, pipeline
from mining.config import parse_config
from mining.warehouse import connect

pytestmark = pytest.mark.slow

KINDS = {"success": "success", "approved": "success", "declined": "declined", "rejected": "declined"}
KINDS["dropout"] = "dropout"


def outcome_rules(truth: dict) -> dict:
    """moments.outcomes from the truth's outcome rules (activity, optionally attribute = value)."""
    rules: dict[str, list] = {}
    given = truth.get("outcomes")
    for name, rule in (given if isinstance(given, dict) else {}).items():
        if not isinstance(rule, dict) or name not in KINDS:
            continue
        match = {"activities": [rule["activity"]]}
        if "attribute" in rule:
            match["where"] = {rule["attribute"]: [rule["value"]]}
        rules.setdefault(KINDS[name], []).append(match)
    return {**rules, "use_default_rules": False}


def analyse_frame(frame: pd.DataFrame, name: str, truth: dict, folder: Path) -> list[dict]:
    """Run prepare, moments and waste on a corpus frame; the waste_activities rows in rank order."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.csv"
    out = frame.copy()
    out["ts"] = out["ts"].map(lambda t: t.isoformat())
    if "start_ts" in out:
        out["start_ts"] = out["start_ts"].map(lambda t: t.isoformat() if pd.notna(t) else "")
    out.to_csv(path, index=False)
    config = parse_config({"project": name, "moments": {"outcomes": outcome_rules(truth)}})
    config_file = folder / "config.yaml"
    config_file.write_text(json.dumps(config.model_dump(mode="json", exclude_defaults=True)), "utf-8")
    config = pipeline.config_for_log(path, config_file)
    warehouse = pipeline.warehouse_path(folder)
    for source in config.sources:
        pipeline.ingest_source(warehouse, config, source)
    steps = dict(pipeline.PROCESS_STEPS)
    for step in ("prepare", "moments", "waste"):
        steps[step](warehouse, config, name, folder)
    with connect(warehouse) as con:
        exports.write_csvs(con, config.processes, folder)
        cursor = con.execute("SELECT * FROM waste_activities WHERE process = $p ORDER BY rank, activity", {"p": name})
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


@pytest.fixture(scope="module")
def corpus_rows(tmp_path_factory):
    cache: dict[str, list[dict]] = {}

    def get(name: str) -> list[dict]:
        if name not in cache:
            truth = load_truth(name)
            frame = LOGS[name](**DEFAULTS[name])
            cache[name] = analyse_frame(frame, name, truth, tmp_path_factory.mktemp(name))
        return cache[name]

    return get


def candidates(rows: list[dict]) -> list[str]:
    """The functional steps recommended for a change, in rank order (each once)."""
    seen: list[str] = []
    for r in rows:
        if r["recommendation"] != "keep" and r["functional_step"] not in seen:
            seen.append(r["functional_step"])
    return seen


def by_activity(rows: list[dict]) -> dict[str, dict]:
    return {r["activity"]: r for r in rows}


def test_zero_value_check_double_check_first_ping_pong_second(corpus_rows):
    truth = load_truth("zero_value_check")
    rows = by_activity(corpus_rows("zero_value_check"))
    top = candidates(corpus_rows("zero_value_check"))[:2]
    injected = sorted(truth["injected_waste"], key=lambda w: w["rank"])
    # precision@2 = 1.0, in the truth's order: the double-check, then the ping-pong hand-off
    check, ping_pong = injected[0]["activity"], injected[1]["activity"].split(" / ")
    assert top[0] == check
    assert rows[ping_pong[0]]["functional_step"] == rows[ping_pong[1]]["functional_step"] == top[1]
    assert rows[ping_pong[0]]["scope"] == "hand-off"
    double = rows[check]
    assert double["recommendation"] == "remove" and "decides nothing" in double["evidence"]
    # its saving: the queue before it and its work, within 5% of the truth's twin log
    saves = truth["measured"]["double_check"]["removing_it_saves"]["case_hours_total"]
    assert double["whatif_case_hours_saved"] == pytest.approx(saves, rel=0.05)
    hand_off = truth["measured"]["ping_pong"]["removing_it_saves"]["case_hours_total"]
    assert rows[ping_pong[0]]["whatif_case_hours_saved"] == pytest.approx(hand_off, rel=0.15)


def test_lifecycle_queues_repeated_request_is_fixed_in_its_repeats(corpus_rows):
    truth = load_truth("lifecycle_queues")
    rows = corpus_rows("lifecycle_queues")
    [injected] = truth["injected_waste"]
    row = by_activity(rows)[injected["activity"]]
    assert row["recommendation"] == "fix" and row["scope"] == row["whatif_scope"] == "repeats"
    saves = truth["measured"]["rework"]["removing_the_repeats_saves"]["case_hours_total"]
    assert row["whatif_case_hours_saved"] == pytest.approx(saves, rel=0.03)
    assert row["whatif_cases_affected"] == truth["measured"]["rework"]["cases_with_repeats"]
    # ranked first among the candidates (the step-level 'remove' tier is empty here)
    assert candidates(rows)[0] == injected["activity"]


@pytest.mark.parametrize("name", sorted(LOGS))
def test_no_value_step_is_ever_removed(corpus_rows, name):
    truth = load_truth(name)
    rows = by_activity(corpus_rows(name))
    protected = {v["activity"] for v in truth.get("value_steps", [])} | set(truth.get("never_remove") or [])
    for activity in protected & set(rows):
        assert rows[activity]["recommendation"] != "remove", rows[activity]
    for r in rows.values():
        # every recommendation names its evidence and scope; every gap has a reason
        assert r["evidence"] and r["scope"] in ("step", "repeats", "hand-off")
        gaps = json.loads(r["not_measurable"])
        assert all(gaps.values())
        # no per-month figure from a log shorter than a month, and a total over the log always
        assert r["whatif_case_hours_saved"] is not None


def test_alternatives_are_one_functional_step_and_not_candidates(corpus_rows):
    truth = load_truth("alternatives")
    rows = by_activity(corpus_rows("alternatives"))
    [step] = truth["functional_steps"]
    north, south = (rows[a] for a in step["activities"])
    assert north["functional_step"] == south["functional_step"]
    assert north["functional_kind"] == "alternatives"
    # a value step: never a removal candidate (it may be 'fix' when its moments miss their expectations)
    assert north["recommendation"] == south["recommendation"]
    assert north["recommendation"] in ("keep", "fix")


def test_no_outcomes_gives_no_removal_and_says_why(corpus_rows):
    rows = corpus_rows("no_outcomes")
    assert all(r["recommendation"] != "remove" for r in rows)
    for r in rows:
        gaps = json.loads(r["not_measurable"])
        assert gaps["no_outcome_effect"].startswith("no outcome defined")
        assert r["c_no_outcome_effect"] is None and r["c_optional"] is None and r["c_no_decision"] is None
    # the injected reassignment ping-pong is at most 'review', and it is a candidate
    truth = load_truth("no_outcomes")
    [injected] = truth["injected_waste"]
    assert by_activity(rows)[injected["activity"]]["recommendation"] == "review"


def test_short_log_has_no_per_month_figures(tmp_path):
    """The zero_value_check design over 12 hours: every figure is per log, none per month."""
    truth = load_truth("zero_value_check")
    frame = LOGS["zero_value_check"](n_cases=300, seed=7)
    first = frame["ts"].min()
    frame = frame[frame["ts"] < first + pd.Timedelta(hours=12)]
    rows = analyse_frame(frame, "zero_value_check", truth, tmp_path)
    assert rows
    assert all(r["whatif_hours_saved_per_month"] is None for r in rows)
    assert all(r["whatif_work_hours_saved_per_month"] is None for r in rows)
    assert all("hours a month" not in r["explanation"] + r["evidence"] for r in rows)


def test_splitting_a_step_into_renamed_alternatives_changes_no_other_step(corpus_rows, tmp_path):
    """Rename Credit check in half of the cases: one functional step again; no other advice moves."""
    name = "zero_value_check"
    truth = load_truth(name)
    before = by_activity(corpus_rows(name))
    frame = LOGS[name](**DEFAULTS[name])
    cases = sorted(frame["case_id"].unique())
    half = set(cases[::2])
    split = (frame["activity"] == "Credit check") & frame["case_id"].isin(half)
    frame.loc[split, "activity"] = "Credit check (team B)"
    after = by_activity(analyse_frame(frame, name, truth, tmp_path))
    assert after["Credit check"]["functional_step"] == after["Credit check (team B)"]["functional_step"]
    for activity, row in before.items():
        if activity != "Credit check":
            assert after[activity]["recommendation"] == row["recommendation"], activity
            assert after[activity]["scope"] == row["scope"], activity


REAL_LOGS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "logs"


@pytest.mark.parametrize("file_name", ["receipt.xes.gz", "roadtraffic100traces.xes"])
def test_real_logs_without_outcomes_remove_nothing_and_the_to_be_keeps_every_step(file_name, tmp_path):
    log = REAL_LOGS / file_name
    if not log.exists():
        pytest.skip(f"{log} is not on this machine (see ../shared/data/README.md)")
    config = pipeline.config_for_log(log)
    pipeline.run(config, tmp_path)
    [process] = config.processes
    with connect(pipeline.warehouse_path(tmp_path), read_only=True) as con:
        status = con.execute("SELECT outcome_status FROM waste_runs WHERE process = $p", {"p": process}).fetchone()[0]
        recommendations = dict(
            con.execute(
                "SELECT activity, recommendation FROM waste_activities WHERE process = $p", {"p": process}
            ).fetchall()
        )
    assert status.startswith("no outcome defined")
    assert recommendations and "remove" not in recommendations.values()
    to_be = next(tmp_path.rglob("to-be.bpmn")).read_text("utf-8")
    assert 'removed=""' in to_be
