"""Outcomes with names and polarity (issue 16 item 7): the user's own kinds, the explicit 'no outcome
defined' state, and analyst rules files for two real logs with clear outcomes, checked against the
final activities counted independently with pm4py."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest
from pydantic import ValidationError

sys.path.insert(0, str(Path(__file__).parent))
from test_moments_small import warehouse_with  # noqa: E402

from mining.config import load_config  # noqa: E402
from mining.config.moments import Moments  # noqa: E402
from mining.moments.analysis import analyse  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT.parent / "shared" / "data" / "logs"

# Four tickets: a is resolved; b complains and is then resolved; c is reopened (neutral); d has
# no outcome event at all.
ROWS = [
    ("a", 0, "Ticket opened", "cust", "portal", "inbound"),
    ("a", 5, "Resolution sent", "ann", "email", "outbound"),
    ("b", 0, "Ticket opened", "cust", "email", "inbound"),
    ("b", 2, "Complaint", "cust", "phone", "inbound"),
    ("b", 9, "Resolution sent", "bob", "email", "outbound"),
    ("c", 0, "Ticket opened", "cust", "portal", "inbound"),
    ("c", 3, "Resolution sent", "ann", "email", "outbound"),
    ("c", 8, "Ticket reopened", "cust", "portal", "inbound"),
    ("d", 0, "Ticket opened", "cust", "phone", "inbound"),
]

MARKING = {"rules": [{"name": "contact", "where": {"channel": {"regex": "."}}}]}


def settings(outcomes: dict) -> Moments:
    return Moments.model_validate({"marking": MARKING, "outcomes": outcomes})


OWN = {
    "success": [{"activities": ["Resolution sent"]}],
    "kinds": [
        {"name": "complaint", "polarity": "negative", "rules": [{"activities": ["Complaint"]}]},
        {"name": "reopened", "polarity": "neutral", "rules": [{"activities": ["Ticket reopened"]}]},
    ],
}


def outcome_rows(con) -> list[tuple]:
    # outcome_pos is event_log.pos (1-based)
    return con.execute(
        "SELECT case_id, outcome, polarity, outcome_activity, outcome_pos, outcome_rule "
        "FROM case_outcomes WHERE process = 'p' ORDER BY case_id"
    ).fetchall()


def test_own_kinds_with_polarity_latest_event_decides():
    con = warehouse_with(ROWS)
    analyse(con, "p", settings(OWN))
    # the latest outcome event decides: b's complaint is followed by a resolution
    assert outcome_rows(con) == [
        ("a", "success", "positive", "Resolution sent", 2, "success: activity in [Resolution sent]"),
        ("b", "success", "positive", "Resolution sent", 3, "success: activity in [Resolution sent]"),
        ("c", "reopened", "neutral", "Ticket reopened", 3, "reopened: activity in [Ticket reopened]"),
        ("d", "other", None, None, None, None),
    ]
    kinds = con.execute(
        "SELECT kind, polarity, builtin, n_rules, n_cases FROM outcome_kinds WHERE process = 'p' ORDER BY kind"
    ).fetchall()
    assert kinds == [
        ("complaint", "negative", False, 1, 0),
        ("declined", "negative", True, 0, 0),
        ("dropout", "negative", True, 0, 0),
        ("reopened", "neutral", False, 1, 1),
        ("success", "positive", True, 1, 2),
    ]
    status = con.execute(
        "SELECT outcomes_defined, reason, rule_source, n_cases, n_decided, n_other, n_kinds_observed, "
        "n_positive, n_negative, n_neutral, n_dropout FROM outcome_status WHERE process = 'p'"
    ).fetchall()
    assert status == [(True, None, "config", 4, 3, 1, 2, 2, 0, 1, 0)]


def test_precedence_names_own_kinds():
    con = warehouse_with(ROWS)
    analyse(con, "p", settings({**OWN, "precedence": ["complaint", "reopened", "success"]}))
    # the first kind of the precedence list the case has decides; its first event is the outcome event
    assert outcome_rows(con) == [
        ("a", "success", "positive", "Resolution sent", 2, "success: activity in [Resolution sent]"),
        ("b", "complaint", "negative", "Complaint", 2, "complaint: activity in [Complaint]"),
        ("c", "reopened", "neutral", "Ticket reopened", 3, "reopened: activity in [Ticket reopened]"),
        ("d", "other", None, None, None, None),
    ]
    # readers of case_outcomes.outcome keep working: the score table carries the outcome through
    scores = con.execute("SELECT case_id, outcome FROM case_scores WHERE process = 'p' ORDER BY case_id").fetchall()
    assert scores == [("a", "success"), ("b", "complaint"), ("c", "reopened"), ("d", "other")]


def test_no_outcome_rule_gives_the_explicit_not_defined_state():
    con = warehouse_with(ROWS)
    # no outcome rule in the config; the built-in outcome words match nothing in this log
    analyse(con, "p", settings({}))
    assert {r[1] for r in outcome_rows(con)} == {"other"}
    assert {r[2] for r in outcome_rows(con)} == {None}
    defined, reason, source, decided = con.execute(
        "SELECT outcomes_defined, reason, rule_source, n_decided FROM outcome_status WHERE process = 'p'"
    ).fetchall()[0]
    assert (defined, source, decided) == (False, "built-in words", 0)
    assert reason.startswith("no outcome defined: no event matches the built-in outcome words")
    # and with the built-in words switched off
    analyse(con, "p", settings({"use_default_rules": False}))
    assert con.execute("SELECT outcomes_defined, reason, rule_source FROM outcome_status").fetchall() == [
        (False, "no outcome defined: no outcome rule in moments.outcomes and no time limit", "none")
    ]
    assert con.execute("SELECT count(*) FROM dropout_attribution").fetchall() == [(0,)]


@pytest.mark.parametrize(
    "outcomes, message",
    [
        ({"kinds": [{"name": "success", "polarity": "positive", "rules": [{"activities": ["x"]}]}]}, "reserved"),
        ({"kinds": [{"name": "other", "polarity": "neutral", "rules": [{"activities": ["x"]}]}]}, "reserved"),
        ({"kinds": [{"name": "x", "polarity": "good", "rules": [{"activities": ["x"]}]}]}, "polarity"),
        ({"kinds": [{"name": "x", "polarity": "neutral", "rules": []}]}, "rules"),
        ({"precedence": ["complaint"]}, "unknown kind"),
        (
            {"kinds": [{"name": "x", "polarity": "neutral", "rules": [{"activities": ["a"]}]}] * 2},
            "duplicate names",
        ),
    ],
)
def test_config_errors_name_the_key(outcomes, message):
    with pytest.raises(ValidationError, match=message):
        Moments.model_validate({"outcomes": outcomes})


# --- real logs with clear outcomes: the analyst's rules files --------------------------------------------


def final_activities(log: Path) -> tuple[Counter, dict[str, list[str]]]:
    """Last activity per case and every case's activity sequence, counted with pm4py (independently of us)."""
    pm4py = pytest.importorskip("pm4py")
    df = pm4py.read_xes(str(log))
    df = df.sort_values(["case:concept:name", "time:timestamp"], kind="stable")
    traces = df.groupby("case:concept:name")["concept:name"].apply(list).to_dict()
    return Counter(t[-1] for t in traces.values()), traces


def analysed(log: Path, rules: Path, tmp_path: Path):
    from mining import pipeline
    from mining.moments.step import moments_step
    from mining.warehouse import connect
    from mining.warehouse.prepare import prepare_process

    config = pipeline.config_for_log(log, rules)
    warehouse = pipeline.warehouse_path(tmp_path)
    for source in config.sources:
        pipeline.ingest_source(warehouse, config, source)
    process = config.processes[0]
    prepare_process(warehouse, process)
    moments_step(warehouse, config, process, tmp_path)
    return process, connect(warehouse, read_only=True)


def counts(con, process: str) -> dict[tuple[str, str | None], int]:
    rows = con.execute(
        "SELECT outcome, polarity, count(*) FROM case_outcomes WHERE process = $p GROUP BY ALL", {"p": process}
    ).fetchall()
    return {(o, p): n for o, p, n in rows}


@pytest.mark.slow
def test_lending_outcomes_match_the_final_activities(tmp_path):
    log = LOGS / "lending_log_high.xes.gz"
    if not log.is_file():
        pytest.skip(f"{log} is not there")
    last, _ = final_activities(log)
    process, con = analysed(log, ROOT / "data" / "lending_rules.yaml", tmp_path)
    assert counts(con, process) == {
        ("success", "positive"): last["Sign Loan Agreement"],
        ("declined", "negative"): last["Loan Denied"] + last["Application Rejected"],
        ("appointment denied", "negative"): last["Appointment Denied"],
    }
    assert sum(last.values()) == 10_000
    # no drop-out in this log: the attribution says so instead of ranking anything
    assert con.execute("SELECT count(*) FROM dropout_attribution WHERE process = $p", {"p": process}).fetchall() == [
        (0,)
    ]
    status = con.execute("SELECT outcomes_defined, n_dropout, n_kinds_observed FROM outcome_status").fetchall()
    assert status == [(True, 0, 3)]


@pytest.mark.slow
def test_hospital_outcomes_match_the_treatment_results(tmp_path):
    log = LOGS / "hospital_log_high.xes.gz"
    if not log.is_file():
        pytest.skip(f"{log} is not there")
    last, traces = final_activities(log)
    assert last == Counter({"Discharge": 10_000})  # the last activity says nothing: the treatment result does
    results = Counter()
    for trace in traces.values():
        treated = [a for a in trace if a in ("Treatment successful", "Treatment unsuccessful")]
        if "Treatment successful" in treated:
            results["success"] += 1
        elif treated:
            results["treatment unsuccessful"] += 1
        else:
            results["discharged without result"] += 1
    process, con = analysed(log, ROOT / "data" / "hospital_rules.yaml", tmp_path)
    assert counts(con, process) == {
        ("success", "positive"): results["success"],
        ("treatment unsuccessful", "negative"): results["treatment unsuccessful"],
        ("discharged without result", "neutral"): results["discharged without result"],
    }
    assert results["success"] + results["treatment unsuccessful"] + results["discharged without result"] == 10_000
    # a success's outcome event is its (only) successful treatment, after any unsuccessful ones
    late = con.execute(
        "SELECT count(*) FROM case_outcomes o JOIN event_log e USING (process, case_id) "
        "WHERE o.outcome = 'success' AND e.activity = 'Treatment unsuccessful' AND e.pos > o.outcome_pos"
    ).fetchall()
    assert late == [(0,)]


def test_rules_files_load():
    for name in ("lending_rules.yaml", "hospital_rules.yaml"):
        config = load_config(ROOT / "data" / name)
        kinds = [k for k, _, _ in config.moments.outcomes.all_kinds()]
        assert kinds[:3] == ["dropout", "declined", "success"]
