"""The moments analysis on small hand-built logs, with every expected figure worked out by hand."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from mining.config.moments import Moments
from mining.exports import write_csvs
from mining.moments.analysis import analyse, json_path, z_value
from mining.moments.rules import Classifier
from mining.warehouse import connect
from mining.warehouse.load import load_batch
from mining.warehouse.prepare import prepare

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
Z = z_value(0.95)


def log_table(rows: list[tuple]) -> pa.Table:
    """(case, hour, activity, resource, channel, direction) rows as a loadable Arrow table."""
    case, hour, activity, resource, channel, direction = zip(*rows, strict=True)
    return pa.table(
        {
            "case_id": pa.array(case, pa.string()),
            "activity": pa.array(activity, pa.string()),
            "ts": pa.array([T0 + timedelta(hours=h) for h in hour], pa.timestamp("us", tz="UTC")),
            "resource": pa.array(resource, pa.string()),
            "channel": pa.array(channel, pa.string()),
            "direction": pa.array(direction, pa.string()),
        }
    )


def warehouse_with(rows: list[tuple], process: str = "p"):
    con = connect(":memory:")
    load_batch(con, log_table(rows), process=process, source="s", location="test")
    prepare(con, process)
    return con


# Three cases. 'Check' is back office; everything with a channel is a contact.
ROWS = [
    ("a", 0, "Submit", "cust", "portal", "inbound"),
    ("a", 1, "Check", "bob", None, None),
    ("a", 10, "Call", "ann", "phone", "outbound"),
    ("a", 20, "Offer", "ann", "email", "outbound"),
    ("a", 30, "Paid", "sys", "bank_transfer", "outbound"),
    ("b", 0, "Submit", "cust", "portal", "inbound"),
    ("b", 30, "Call", "ann", "phone", "outbound"),
    ("b", 32, "Call", "bob", "phone", "outbound"),
    ("b", 40, "Offer", "ann", "letter", "outbound"),
    ("b", 100, "Withdraw", "cust", "phone", "inbound"),
    ("c", 0, "Submit", "cust", "email", "inbound"),
    ("c", 5, "Offer", "ann", "email", "outbound"),
]

SETTINGS = Moments.model_validate(
    {
        "marking": {
            "rules": [
                {"name": "back office", "moment": False, "activities": ["Check"]},
                {"name": "contact", "where": {"channel": {"regex": "."}}},
            ]
        },
        "scoring": {
            "min_reference_wait_s": 0,
            "wait_reference_quantile": 0.5,
            "service_level_hours": {"Call": 24},
            "effort": [{"where": {"direction": ["inbound"]}}],
            "attribute_signals": [],
        },
        "outcomes": {"success": [{"activities": ["Paid"]}], "dropout": [{"activities": ["Withdraw"]}]},
        "attribution": {"min_cases": 1, "min_dropout_cases": 1},
    }
)

LONG = 1 + math.log2(30 / 24)  # the long-wait penalty of both long waits below (10/8 = 30/24)


@pytest.fixture(scope="module")
def small():
    con = warehouse_with(ROWS)
    summary = analyse(con, "p", SETTINGS)
    yield con, summary
    con.close()


def rows_of(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def test_activity_roll_up(small):
    con, summary = small
    got = rows_of(
        con,
        "SELECT activity, is_moment_of_truth, share, channel, rule, n_events, decided, channels "
        "FROM mot_activities WHERE process = 'p' ORDER BY activity",
    )
    assert got == [
        ("Call", True, 1.0, "phone", "contact", 3, True, "phone 1.00"),
        ("Check", False, 0.0, None, "back office", 1, True, None),
        ("Offer", True, 1.0, "e-mail", "contact", 3, True, "e-mail 0.67; letter 0.33"),
        ("Paid", True, 1.0, "bank_transfer", "contact", 1, True, "bank_transfer 1.00"),
        ("Submit", True, 1.0, "portal", "contact", 3, True, "portal 0.67; e-mail 0.33"),
        ("Withdraw", True, 1.0, "phone", "contact", 1, True, "phone 1.00"),
    ]
    assert summary["undecided_activities"] == []
    assert summary["moments_of_truth"] == ["Call", "Offer", "Paid", "Submit", "Withdraw"]


def test_waits_signals_and_running_scores(small):
    """Hand calculation. Budgets: Call 24 h (activity), e-mail / portal / phone 24 h, letter 120 h,
    bank transfer 72 h (channel defaults). Met adds 0.5, beaten (wait <= half the budget) 1.0."""
    con, _ = small
    got = rows_of(
        con,
        "SELECT case_id, activity, wait_s / 3600, long_wait, occurrence, channel_switch, handoffs, effort, "
        "s_outcome, score, running_score, poor, wait_status, effort_units, effort_budget FROM mot_events "
        "WHERE process = 'p' AND is_moment_of_truth ORDER BY case_id, pos",
    )
    cust = "not measurable: customer action"
    expected = [
        # case, activity, wait h, long, n-th, switch, hand-offs, effort, outcome, score, running, poor, wait, units, budget
        ("a", "Submit", 0.0, False, 1, False, 0, True, 0.0, 0.25, 0.25, False, cust, 1, 1),  # 0.5 met - 0.25 effort
        ("a", "Call", 10.0, False, 1, True, 2, False, 0.0, 0.55, 0.80, False, "beaten", 0, 0),  # 1 - 0.25 - 0.2
        ("a", "Offer", 10.0, False, 1, True, 0, False, 0.0, 0.75, 1.55, False, "beaten", 0, 0),
        ("a", "Paid", 10.0, False, 1, True, 1, False, 1.0, 1.65, 3.20, False, "beaten", 0, 0),
        ("b", "Submit", 0.0, False, 1, False, 0, True, 0.0, 0.25, 0.25, False, cust, 1, 1),
        ("b", "Call", 30.0, True, 1, True, 1, False, 0.0, -LONG - 0.35, -0.10 - LONG, True, "missed", 0, 0),
        # repeated: effort 1 unit over a budget of 0, so poor although the wait beats its budget
        ("b", "Call", 2.0, False, 2, False, 1, False, 0.0, -1.1, -1.20 - LONG, True, "beaten", 1, 0),
        ("b", "Offer", 8.0, False, 1, True, 1, False, 0.0, 0.65, -0.55 - LONG, False, "beaten", 0, 0),
        # the customer's own step: 1 unit of effort within its budget of 1 (a channel switch is not
        # counted as effort by default), so met: 0.5 - 0.25 effort - 0.25 switch - 0.1 hand-off - 1 outcome
        ("b", "Withdraw", 60.0, False, 1, True, 1, True, -1.0, -1.1, -1.65 - LONG, False, cust, 1, 1),
        ("c", "Submit", 0.0, False, 1, False, 0, True, 0.0, 0.25, 0.25, False, cust, 1, 1),
        ("c", "Offer", 5.0, False, 1, False, 1, False, 0.0, 0.9, 1.15, False, "beaten", 0, 0),
    ]
    assert len(got) == len(expected)
    for row, want in zip(got, expected, strict=True):
        assert row[:2] == want[:2]
        assert row[2] == pytest.approx(want[2])
        assert row[3:9] == want[3:9], row
        assert row[9] == pytest.approx(want[9]) and row[10] == pytest.approx(want[10]), row
        assert row[11:] == want[11:], row


def test_budgets_come_from_the_activity_then_the_channel(small):
    con, _ = small
    refs = rows_of(
        con,
        "SELECT DISTINCT activity, channel, ref_wait_s / 3600, expectation_source FROM mot_events "
        "WHERE is_moment_of_truth ORDER BY activity, channel",
    )
    assert refs == [
        ("Call", "phone", 24.0, "activity"),
        ("Offer", "e-mail", 24.0, "channel"),
        ("Offer", "letter", 120.0, "channel"),
        ("Paid", "bank_transfer", 72.0, "channel"),
        ("Submit", "e-mail", 24.0, "channel"),
        ("Submit", "portal", 24.0, "channel"),
        ("Withdraw", "phone", 24.0, "channel"),
    ]


def test_a_learned_budget_only_as_the_fallback_and_labelled():
    """e-mail without a budget: Offer's budget is learned from its judged waits (10 h, 8 h, 5 h)."""
    con = warehouse_with(ROWS)
    for quantile, budget in ((0.5, 8.0), (None, 16.0)):  # the median of the waits; 2 x the median
        expectations = SETTINGS.scoring.expectations.model_copy(
            update={"channels": {**SETTINGS.scoring.expectations.channels, "e-mail": None}}
        )
        scoring = SETTINGS.scoring.model_copy(
            update={"wait_reference_quantile": quantile, "expectations": expectations}
        )
        analyse(con, "p", SETTINGS.model_copy(update={"scoring": scoring}))
        got = rows_of(
            con,
            "SELECT case_id, ref_wait_s / 3600, expectation_source, wait_status FROM mot_events "
            "WHERE activity = 'Offer' ORDER BY case_id",
        )
        assert got == [
            ("a", budget, "learned", "missed" if quantile else "met"),
            ("b", 120.0, "channel", "beaten"),
            ("c", budget, "learned", "met" if quantile else "beaten"),
        ]


def test_non_moments_carry_marks_but_no_scores(small):
    con, _ = small
    got = rows_of(
        con,
        "SELECT activity, is_moment_of_truth, rule, decided, score, running_score, poor, wait_s "
        "FROM mot_events WHERE NOT is_moment_of_truth",
    )
    assert got == [("Check", False, "back office", True, None, None, None, None)]
    assert rows_of(con, "SELECT count(*) FROM mot_events WHERE process = 'p'") == [(len(ROWS),)]


def test_outcomes_and_case_scores(small):
    con, summary = small
    assert rows_of(
        con, "SELECT case_id, outcome, outcome_activity, outcome_pos FROM case_outcomes ORDER BY case_id"
    ) == [("a", "success", "Paid", 5), ("b", "dropout", "Withdraw", 5), ("c", "other", None, None)]
    got = rows_of(
        con,
        "SELECT case_id, n_moments, final_score, min_score, outcome, n_poor, trajectory FROM case_scores ORDER BY case_id",
    )
    assert [g[:2] + g[4:6] for g in got] == [("a", 4, "success", 0), ("b", 5, "dropout", 2), ("c", 2, "other", 0)]
    assert [g[2] for g in got] == pytest.approx([3.20, -1.65 - LONG, 1.15])
    assert [g[3] for g in got] == pytest.approx([0.25, -1.65 - LONG, 0.25])
    assert got[0][6] == pytest.approx([0.25, 0.80, 1.55, 3.20])  # a clean journey: the score rises
    assert got[2][6] == pytest.approx([0.25, 1.15])
    means = rows_of(con, "SELECT mean_score FROM case_scores ORDER BY case_id")
    assert [m for (m,) in means] == pytest.approx([3.20 / 4, (-1.65 - LONG) / 5, 1.15 / 2])
    assert summary["outcomes"] == {"dropout": 1, "other": 1, "success": 1}


def wilson(k: int, n: int, z: float = Z) -> tuple[float, float]:
    p = k / n
    centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)


def test_knock_on_counts_consecutive_moments(small):
    con, _ = small
    overall = rows_of(
        con,
        "SELECT n, n_from_poor, n_poor_poor, p_poor_given_poor, p_poor_given_good, base_rate, "
        "adjusted_base_rate, lift, ci_low, ci_high, effect FROM knock_on WHERE from_activity = '*'",
    )[0]
    # 8 pairs; poor: b's two Calls. From a poor moment: Call -> Call (poor), Call -> Offer (good);
    # from a good one, 1 of 6 goes to a poor one (Submit -> Call)
    assert overall[:3] == (8, 2, 1)
    # adjusted: Call -> Call has base rate 1, Call -> Offer 0, one poor-from pair each
    assert overall[3:8] == pytest.approx((0.5, 1 / 6, 2 / 8, 0.5, 0.5 / (2 / 8)))
    assert overall[8:10] == pytest.approx(wilson(1, 2), abs=1e-12)
    assert overall[10] == "not measurable: n < 30"  # no headline on 8 pairs
    pair = rows_of(
        con,
        "SELECT n, n_from_poor, base_rate, p_poor_given_poor FROM knock_on "
        "WHERE from_activity = 'Submit' AND to_activity = 'Call'",
    )
    assert pair == [(2, 0, 0.5, None)]
    fewer = SETTINGS.scoring.model_copy(update={"knock_on_min_pairs": 8})
    analyse(con, "p", SETTINGS.model_copy(update={"scoring": fewer}))
    assert rows_of(con, "SELECT effect FROM knock_on WHERE from_activity = '*'") == [("none",)]
    analyse(con, "p", SETTINGS)


def test_funnel_and_places(small):
    con, summary = small
    funnel = rows_of(
        con,
        "SELECT activity, step, n_cases_reached, n_dropout_reached, n_left_after, n_dropout_events "
        "FROM dropout_funnel ORDER BY step",
    )
    assert funnel == [
        ("Submit", 1, 3, 1, 0, 0),
        ("Call", 2, 2, 1, 0, 0),
        ("Offer", 3, 3, 1, 1, 0),
        ("Paid", 4, 1, 0, 0, 0),
        ("Withdraw", 5, 1, 1, 0, 1),
    ]
    assert rows_of(con, "SELECT activity, after_activity, n_dropout, share, rank FROM dropout_places") == [
        ("Withdraw", "Offer", 1, 1.0, 1)
    ]
    assert summary["top_place"] == {"activity": "Withdraw", "after_activity": "Offer", "n_dropout": 1}


def test_attribution_upstream_only_with_echoes_last(small):
    con, summary = small
    got = rows_of(
        con,
        "SELECT rank, factor_kind, factor, n_cases, n_dropout, n_reached, confidence, base_rate, lift, "
        "ci_low, echo_of FROM dropout_attribution ORDER BY rank",
    )
    # 'poor score at X' equals 'long wait before X' here and is left out; factors at the outcome
    # event (Paid, Withdraw) are not upstream; 'Call: channel = phone' holds in every case that
    # reached Call, so it has no comparison group; factors without drop-outs are left out.
    # Exposure control: 'long wait before Call' is compared within the cases with as many Calls as
    # its case b (two); b is the only such case, so its expected drop-out rate is b's own (1) and the
    # lift is 1: no evidence (it was lift 2 against all cases that reached Call, a with one Call).
    assert [g[:6] for g in got] == [
        (1, "repeated", "Call repeated", 1, 1, 2),
        (2, "attribute", "Submit: channel = portal", 2, 1, 3),
        (3, "long_wait", "long wait before Call", 1, 1, 2),
        (4, "attribute", "Offer: channel = letter", 1, 1, 3),
    ]
    assert [x for g in got for x in g[6:9]] == pytest.approx([1, 0.5, 2, 0.5, 1 / 3, 1.5, 1, 1, 1, 1, 1 / 3, 3])
    assert [g[9] for g in got] == pytest.approx(
        [wilson(1, 1)[0] / 0.5, wilson(1, 2)[0] * 3, wilson(1, 1)[0], wilson(1, 1)[0] * 3]
    )
    # b's letter offer holds in exactly the case of an earlier factor: an echo, ranked last
    assert [g[10] for g in got] == [None, None, None, "Call repeated"]
    assert summary["top_cause"]["factor"] == "Call repeated"


def test_the_csv_files(small, tmp_path):
    con, _ = small
    write_csvs(con, ["p"], tmp_path)
    moments = (tmp_path / "moments.csv").read_text().splitlines()
    assert moments[0].startswith("activity,is_moment_of_truth,share,channel,rule,")
    assert moments[1].startswith("Call,true,1.0,phone,contact,")
    dropout = (tmp_path / "dropout.csv").read_text().splitlines()
    assert dropout[0].startswith("section,rank,factor_kind,factor,activity,after_activity,")
    assert dropout[1].startswith("place,1,place,Withdraw after Offer,Withdraw,Offer,")
    assert dropout[2].startswith("cause,1,repeated,Call repeated,Call,,")
    assert (tmp_path / "knock_on.csv").read_text().splitlines()[1].startswith("*,*,8,2,1,")
    assert (tmp_path / "moments_review.csv").read_text().splitlines()[1:] == []  # nothing undecided


def test_wait_from_the_previous_event_and_a_review_list(tmp_path):
    con = warehouse_with(ROWS)
    settings = SETTINGS.model_copy(
        update={
            "scoring": SETTINGS.scoring.model_copy(update={"wait_from": "previous_event"}),
            "marking": SETTINGS.marking.model_copy(update={"rules": SETTINGS.marking.rules[1:]}),
        }
    )
    summary = analyse(con, "p", settings)
    # without the 'back office' rule, Check is undecided: not a moment, listed for review
    assert summary["undecided_activities"] == ["Check"]
    waits = rows_of(
        con, "SELECT activity, wait_s / 3600 FROM mot_events WHERE case_id = 'a' AND is_moment_of_truth ORDER BY pos"
    )
    # the first moment's wait counts from the case start (here the moment itself)
    assert waits == [("Submit", 0.0), ("Call", 9.0), ("Offer", 10.0), ("Paid", 10.0)]
    write_csvs(con, ["p"], tmp_path)
    assert (tmp_path / "moments_review.csv").read_text().splitlines()[1].startswith("Check,1,1.0,false,")


def test_time_limit_and_precedence_of_outcomes():
    rows = [
        ("old", 0, "Submit", "cust", "portal", "inbound"),
        ("old", 5, "Offer", "ann", "email", "outbound"),
        ("new", 24 * 35, "Submit", "cust", "portal", "inbound"),
        ("new", 24 * 36, "Offer", "ann", "email", "outbound"),
        ("both", 0, "Submit", "cust", "portal", "inbound"),
        ("both", 10, "Withdraw", "cust", "phone", "inbound"),
        ("both", 20, "Paid", "sys", "bank_transfer", "outbound"),
    ]
    con = warehouse_with(rows)
    outcomes = {
        "success": [{"activities": ["Paid"]}],
        "dropout": [{"activities": ["Withdraw"]}],
        "success_within_days": 30,
    }
    analyse(con, "p", Moments.model_validate({"outcomes": outcomes}))
    sql = "SELECT case_id, outcome, outcome_activity, outcome_rule FROM case_outcomes ORDER BY case_id"
    assert rows_of(con, sql) == [
        ("both", "success", "Paid", "success: activity in [Paid]"),  # the latest outcome event decides
        ("new", "open", None, None),  # started 1 day before the end of the log
        ("old", "dropout", None, "no success within 30 days"),
    ]
    assert rows_of(con, "SELECT activity, after_activity FROM dropout_places") == [
        ("(no success within 30 days)", "Offer")
    ]
    analyse(con, "p", Moments.model_validate({"outcomes": {**outcomes, "precedence": ["dropout", "success"]}}))
    assert rows_of(con, sql)[0] == ("both", "dropout", "Withdraw", "dropout: activity in [Withdraw]")


def test_reanalysis_replaces_the_rows_of_its_process_only():
    con = warehouse_with(ROWS, "p")
    load_batch(con, log_table(ROWS[:5]), process="q", source="s2", location="test2")
    prepare(con, "q")
    analyse(con, "p", SETTINGS)
    analyse(con, "q", SETTINGS)
    analyse(con, "p", SETTINGS)
    counts = rows_of(con, "SELECT process, count(*) FROM mot_events GROUP BY process ORDER BY process")
    assert counts == [("p", 12), ("q", 5)]
    assert rows_of(con, "SELECT process, n_events, n_moments, n_cases FROM mot_runs ORDER BY process") == [
        ("p", 12, 11, 3),
        ("q", 5, 4, 1),
    ]
    temporary = rows_of(con, "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name LIKE 'mot_%'")
    assert temporary == [(0,)]


def test_attribute_names_with_any_characters():
    assert json_path("org:group") == '$."org:group"'
    assert json_path('we"ird') == '$."we\\"ird"'
    con = connect(":memory:")
    table = log_table(ROWS[:2]).append_column("org:group", pa.array(["front", "back"], pa.string()))
    load_batch(con, table, process="p", source="s", location="t")
    prepare(con, "p")
    settings = Moments.model_validate(
        {"marking": {"rules": [{"name": "front office", "where": {"org:group": ["front"]}}]}}
    )
    analyse(con, "p", settings)
    assert rows_of(con, "SELECT activity, is_moment_of_truth, rule FROM mot_events ORDER BY pos") == [
        ("Submit", True, "front office"),
        ("Check", False, None),
    ]


def test_an_unprepared_process_is_an_error():
    con = connect(":memory:")
    with pytest.raises(ValueError, match="process 'nothing' has no prepared events"):
        analyse(con, "nothing", Moments())


def test_rules_that_read_no_attribute_and_a_log_without_moments():
    con = warehouse_with(ROWS)
    bare = {
        "marking": {"rules": [{"name": "nothing", "activities": ["No such activity"]}], "channel_attributes": [],
                    "automated": []},
        "scoring": {"effort": [], "attribute_signals": []},
        "outcomes": {"success": [{"activities": ["Paid"]}]},
    }  # fmt: skip
    settings = Moments.model_validate(bare)
    assert Classifier(settings).attributes == []  # the SQL gets an empty list of JSON paths
    summary = analyse(con, "p", settings)
    assert summary["moments_of_truth"] == [] and summary["knock_on"] is None and summary["top_place"] is None
    assert len(summary["undecided_activities"]) == 6
    assert rows_of(con, "SELECT count(*), count(score) FROM mot_events") == [(12, 0)]
    assert rows_of(con, "SELECT case_id, n_moments, final_score, outcome FROM case_scores ORDER BY case_id") == [
        ("a", 0, None, "success"),
        ("b", 0, None, "other"),
        ("c", 0, None, "other"),
    ]
    assert rows_of(con, "SELECT count(*) FROM knock_on") == [(0,)]
    assert rows_of(con, "SELECT count(*) FROM dropout_attribution") == [(0,)]
