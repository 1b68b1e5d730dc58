"""Exposure control in the lift-based drop-out attribution (issue 16 item 6, first half), on the corpus
log noise_and_cause (truth: tests/corpus/truth/noise_and_cause.yaml): the clerk and channel of the
repeated 'Reply to customer' are pure noise that a naive lift ranks through exposure (more replies,
more chances to carry any value); the true cause is the identity-check call missing its 48 h budget.
Also: how the report words an attribution that ran and found nothing, or could not measure."""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pytest
from corpus import DEFAULTS, LOGS, load_truth

sys.path.insert(0, str(Path(__file__).parent))
from test_moments_small import ROWS, SETTINGS, warehouse_with  # noqa: E402

from mining.config.moments import Moments  # noqa: E402
from mining.moments.analysis import analyse  # noqa: E402
from mining.report.data import Reader  # noqa: E402
from mining.warehouse import connect  # noqa: E402
from mining.warehouse.load import load_batch  # noqa: E402
from mining.warehouse.prepare import prepare  # noqa: E402

TRUTH = load_truth("noise_and_cause")
BUDGET_H = TRUTH["expectations_simulated"]["Identity check call"]["wait_budget_hours"]
NOISE = {(n["activity"], n["attribute"].split(" ")[0]) for n in TRUTH["noise_attributes"]}

SETTINGS_NC = Moments.model_validate(
    {
        # the simulated expectation: the identity check within its 48 h budget; no floor
        "scoring": {"service_level_hours": {"Identity check call": BUDGET_H}, "min_reference_wait_s": 0},
        "outcomes": {
            kind: [{"activities": [TRUTH["outcomes"][kind]["activity"]]}] for kind in ("success", "declined", "dropout")
        },
        "attribution": {"attributes": ["resource"]},  # test the clerk too, not only the channel
    }
)


@pytest.fixture(scope="module")
def noise_and_cause():
    frame = LOGS["noise_and_cause"](**DEFAULTS["noise_and_cause"]).drop(columns=["outcome"])
    con = connect(":memory:")
    load_batch(con, pa.Table.from_pandas(frame, preserve_index=False), process="nc", source="s", location="t")
    prepare(con, "nc")
    analyse(con, "nc", SETTINGS_NC)
    rows = con.execute(
        "SELECT rank, factor_kind, factor, activity, value, n_cases, lift, ci_low, ci_high, crude_lift, "
        "crude_ci_low, n_strata, relative_risk, status, echo_of FROM dropout_attribution "
        "WHERE process = 'nc' ORDER BY rank"
    ).fetchall()
    names = ["rank", "kind", "factor", "activity", "value", "n_cases", "lift", "ci_low", "ci_high", "crude_lift", "crude_ci_low", "n_strata", "rr", "status", "echo_of"]  # fmt: skip
    yield con, [dict(zip(names, r, strict=True)) for r in rows]
    con.close()


def is_noise(row: dict) -> bool:
    if row["kind"] != "attribute":
        return False
    attribute = row["value"].split(" = ")[0]
    return (row["activity"], attribute) in NOISE


def test_the_true_cause_is_rank_1_with_the_truth_figures(noise_and_cause):
    _, rows = noise_and_cause
    top = rows[0]
    assert top["factor"] == f"long wait before {TRUTH['dropout']['cause']['activity']}"
    assert top["status"] == "finding" and top["ci_low"] > 1
    cause = TRUTH["measured"]["cause"]
    assert top["n_cases"] == cause["poor_identity_check_cases"]
    assert top["lift"] == pytest.approx(cause["lift"], abs=0.01)
    assert top["rr"] == pytest.approx(cause["relative_risk"], abs=0.01)
    # a moment once per case: one stratum, the stratified figures are the crude ones
    assert top["lift"] == top["crude_lift"] and top["n_strata"] == 1


def test_no_noise_attribute_is_a_finding(noise_and_cause):
    _, rows = noise_and_cause
    noise = [r for r in rows if is_noise(r)]
    # every clerk (10) and channel (3) of the replies is tested
    assert len(noise) == 13
    naive = TRUTH["measured"]["noise"]["naive_case_level_lift_any_reply_with_value"]
    low = min(v["min"] for v in naive.values())
    high = max(v["max"] for v in naive.values())
    # the crude lifts are the naive ones of the truth file, some with an interval above 1 ...
    assert low - 0.01 <= min(r["crude_lift"] for r in noise) and max(r["crude_lift"] for r in noise) <= high + 0.01
    assert any(r["crude_ci_low"] > 1 for r in noise)
    # ... but compared within cases with the same number of replies none holds
    for r in noise:
        assert r["status"] != "finding", r
        assert r["ci_low"] <= 1, r
        assert r["n_strata"] > 1
    # noise is not in the top ranks: only findings rank above it, and the true cause first
    findings = [r for r in rows if r["status"] == "finding"]
    assert min(r["rank"] for r in noise) > len(findings)
    # an attribute over-represented only through exposure is an echo of the repetition
    for r in noise:
        if r["crude_ci_low"] > 1:
            assert r["status"] == "echo" and r["echo_of"] == "Reply to customer repeated"


def test_a_factor_below_the_minimum_cases_is_listed_never_a_finding():
    con = warehouse_with(ROWS)
    settings = SETTINGS.model_copy(
        update={"attribution": SETTINGS.attribution.model_copy(update={"min_cases": 2, "min_dropout_cases": 1})}
    )
    analyse(con, "p", settings)
    rows = con.execute("SELECT factor, n_cases, status, note, rank FROM dropout_attribution ORDER BY rank").fetchall()
    few = [r for r in rows if r[1] < 2]
    assert few and all(r[2] == "too few cases" for r in few)
    assert all(r[3].startswith("too few cases: 1 cases (minimum 2)") for r in few)
    # they rank after every factor with enough cases
    assert max(r[4] for r in rows if r[1] >= 2) < min(r[4] for r in few)


def test_report_says_not_run_ran_and_found_nothing_or_not_measurable(tmp_path):
    con = warehouse_with(ROWS)
    reader = Reader(con)
    # not run
    assert reader.fetch("dropout_causes", "p").missing == (
        "table dropout_attribution holds no rows for process 'p': the moments step has not run for it"
    )
    # ran, found nothing: minimum cases above every factor
    settings = SETTINGS.model_copy(update={"attribution": SETTINGS.attribution.model_copy(update={"min_cases": 50})})
    analyse(con, "p", settings)
    con.execute("DELETE FROM dropout_attribution WHERE status = 'too few cases'")
    result = Reader(con).fetch("dropout_causes", "p")
    assert result.missing is None and result.rows == []
    assert result.empty.startswith("the moments step ran and found no drop-out factor with at least 50 cases")
    # not measurable: no outcome defined
    analyse(
        con,
        "p",
        SETTINGS.model_copy(
            update={
                "outcomes": SETTINGS.outcomes.model_copy(
                    update={"success": [], "dropout": [], "use_default_rules": False}
                )
            }
        ),
    )
    result = Reader(con).fetch("dropout_causes", "p")
    assert result.missing is None
    assert result.empty == "not measurable: no outcome defined: no outcome rule in moments.outcomes and no time limit"
    places = Reader(con).fetch("dropout_places", "p")
    assert places.empty == result.empty
