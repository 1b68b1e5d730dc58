"""Marking and outcome rules of the moments analysis: pure functions, exact expectations."""

from __future__ import annotations

import pytest

from mining.config import ConfigError, parse_config
from mining.config.moments import Match, Moments
from mining.moments.rules import Classifier, CompiledMatch, default_rules, describe, effective_rules


def classifier(**moments) -> Classifier:
    return Classifier(Moments.model_validate(moments))


def fields(activity, resource=None, lifecycle=None, **attrs):
    return {"activity": activity, "resource": resource, "lifecycle": lifecycle, **attrs}


# --- matching -----------------------------------------------------------------------------------


def test_every_condition_of_a_match_must_hold():
    m = CompiledMatch(Match(activities=["Call"], where={"lifecycle": ["start"], "channel": {"regex": "^ph"}}))
    assert m.matches(fields("Call", lifecycle="start", channel="phone"))
    assert not m.matches(fields("Call", lifecycle="complete", channel="phone"))
    assert not m.matches(fields("Call", lifecycle="start", channel="email"))
    assert not m.matches(fields("Call back", lifecycle="start", channel="phone"))  # names are exact
    assert not m.matches(fields("Call", lifecycle="start"))  # a missing attribute never matches


def test_regexes_are_searched_case_insensitively_and_values_are_exact():
    m = CompiledMatch(Match(activity_regex="offer"))
    assert m.matches(fields("Send OFFER to client"))
    assert not m.matches(fields("Quote"))
    values = CompiledMatch(Match(where={"channel": ["letter"]}))
    assert values.matches(fields("x", channel="letter"))
    assert not values.matches(fields("x", channel="Letter"))


def test_yaml_numbers_and_booleans_are_compared_as_the_warehouse_writes_them():
    # attributes arrive as JSON text: 1 -> '1', true -> 'true'
    m = CompiledMatch(Match.model_validate({"where": {"automated": [1], "flag": [True]}}))
    assert m.matches(fields("x", automated="1", flag="true"))
    assert not m.matches(fields("x", automated="0", flag="true"))


def test_describe_names_the_conditions():
    m = Match.model_validate({"activities": ["A", "B"], "where": {"channel": ["letter"], "x": {"regex": "^y"}}})
    assert describe(m) == "activity in [A, B] and channel in [letter] and x ~ /^y/"


# --- marking ------------------------------------------------------------------------------------


RULES = {
    "marking": {
        "rules": [
            {"name": "calls", "activities": ["Call"], "where": {"lifecycle": ["start"]}, "channel": "phone"},
            {"name": "letters", "activity_regex": "letter"},
            {"name": "not the internal letter", "moment": False, "activities": ["Internal letter"]},
        ]
    }
}


def test_exclusions_win_and_the_first_inclusion_names_the_mark():
    c = classifier(**RULES)
    internal = c.classify(fields("Internal letter"))
    assert (internal.is_moment, internal.rule, internal.decided) == (False, "not the internal letter", True)
    call = c.classify(fields("Call", lifecycle="start"))
    assert (call.is_moment, call.rule, call.channel) == (True, "calls", "phone")
    undecided = c.classify(fields("Call", lifecycle="schedule"))
    assert (undecided.is_moment, undecided.rule, undecided.decided) == (False, None, False)


def test_config_rules_replace_the_defaults_unless_asked_for():
    assert [r.name for r in effective_rules(Moments.model_validate(RULES))] == [
        "calls",
        "letters",
        "not the internal letter",
    ]
    both = Moments.model_validate({"marking": {**RULES["marking"], "use_default_rules": True}})
    names = [r.name for r in effective_rules(both)]
    assert names[:3] == ["calls", "letters", "not the internal letter"]
    assert names[3:] == ["default: " + r.name for r in default_rules().rules]
    assert all(r.name.startswith("default: ") for r in effective_rules(Moments()))


@pytest.mark.parametrize(
    "activity",
    [
        # English
        "Call customer", "Send offer", "Confirmation e-mail sent", "Application submitted",
        "Schedule appointment", "Payment received", "Letter to client", "Customer withdrew",
        # Dutch
        "W_Nabellen offertes", "Klant gebeld", "Brief verzonden", "Afspraak maken", "Betaling ontvangen",
        "Aanvraag ingediend",
        # German
        "Kunde anrufen", "Angebot versendet", "Brief schicken", "Termin vereinbaren", "Zahlung eingegangen",
        "Rückruf Kundin",
    ],
)  # fmt: skip
def test_default_rules_mark_touchpoint_vocabulary(activity):
    c = classifier()
    mark = c.classify(fields(activity))
    assert mark.is_moment, f"{activity!r} should be a moment of truth"
    assert mark.rule.startswith("default: touchpoint words")


@pytest.mark.parametrize(
    "activity",
    [
        "Credit check", "Application registered", "Determine necessity of stop advice", "Monitoring",
        "Posting to ledger", "Payroll run", "Internal double-check", "T07-1 Draft intern advice aspect 1",
        "Validate application", "W_Valideren aanvraag", "Kreditprüfung",
    ],
)  # fmt: skip
def test_default_rules_leave_back_office_work_alone(activity):
    assert not classifier().classify(fields(activity)).is_moment


def test_default_rules_read_channel_direction_and_the_customer_as_resource():
    c = classifier()
    assert c.classify(fields("Documents requested", channel="letter")).rule == "default: customer channel attribute"
    assert c.classify(fields("Reply", direction="inbound")).rule == "default: customer direction"
    assert c.classify(fields("Upload", resource="customer")).rule == "default: customer as resource"
    # internal wins over the vocabulary: an internal channel or an 'internal' name is no MOT
    assert c.classify(fields("Send offer", channel="internal")).rule == "default: internal channel"
    assert c.classify(fields("Internal call", channel="phone")).rule == "default: internal by name"


def test_channels_are_normalised_and_inferred_where_the_data_says():
    c = classifier()
    assert c.classify(fields("x", channel="E-Mail")).channel == "e-mail"
    assert c.classify(fields("x", channel="branch")).channel == "face to face"
    assert c.classify(fields("x", channel="bank_transfer")).channel == "bank_transfer"  # kept as is
    assert c.classify(fields("Call customer")).channel == "phone"  # from the name
    assert c.classify(fields("Send offer", resource="SYSTEM")).channel == "automated"
    assert c.classify(fields("Send offer")).channel is None  # the data does not say


def test_effort_and_attribute_signals_apply_to_moments_only():
    c = classifier()
    inbound = c.classify(fields("Status enquiry", channel="phone", direction="inbound", sentiment="negative"))
    assert (inbound.effort, inbound.attribute_score, inbound.attribute_signals) == (True, -1.0, "negative sentiment")
    internal = c.classify(fields("Credit check", channel="internal", direction="inbound", sentiment="negative"))
    assert (internal.effort, internal.attribute_score, internal.attribute_signals) == (False, 0.0, None)


def test_outcomes_a_dropout_match_comes_first():
    c = classifier(
        outcomes={
            "success": [{"activities": ["Paid"]}],
            "dropout": [{"activity_regex": "withdr"}, {"where": {"status": ["cancelled"]}}],
        }
    )
    assert c.classify(fields("Paid")).outcome_kind == "success"
    withdrew = c.classify(fields("Customer withdrew"))
    assert (withdrew.outcome_kind, withdrew.outcome_rule) == ("dropout", "dropout: activity ~ /withdr/")
    assert c.classify(fields("Paid", status="cancelled")).outcome_kind == "dropout"
    assert c.classify(fields("Offer sent")).outcome_kind is None


def test_default_outcomes_in_three_languages():
    c = classifier()
    assert c.classify(fields("Customer withdrew")).outcome_kind == "dropout"
    assert c.classify(fields("Aanvraag geannuleerd")).outcome_kind == "dropout"
    assert c.classify(fields("Antrag zurückgezogen")).outcome_kind == "dropout"
    assert c.classify(fields("reject request")).outcome_kind == "declined"
    assert c.classify(fields("Decision letter sent", outcome="declined")).outcome_kind == "declined"
    assert c.classify(fields("Payout")).outcome_kind == "success"
    assert c.classify(fields("pay compensation")).outcome_kind == "success"
    assert c.classify(fields("Credit check")).outcome_kind is None


def test_attribute_factors_of_moments():
    c = classifier(attribution={"attributes": ["sentiment"]})
    mark = c.classify(fields("Status enquiry", channel="Phone", sentiment="negative"))
    assert mark.factors == ("channel = phone", "sentiment = negative")
    assert c.classify(fields("Credit check", channel="internal")).factors == ()


def test_the_classifier_reads_only_the_attributes_its_rules_name():
    c = classifier(
        marking={
            "rules": [{"name": "r", "where": {"org:group": ["front"], "resource": ["x"]}}],
            "channel_attributes": [],
        },
        scoring={"effort": [], "attribute_signals": [], "handoff_attribute": "resource"},
        outcomes={"success": [{"where": {"status": ["done"]}}]},
    )
    marking_automated = {"automated"}  # the built-in 'automated' conditions stay in force
    assert set(c.attributes) == {"org:group", "status"} | marking_automated


# --- settings validation ------------------------------------------------------------------------


def test_bad_settings_are_reported_with_the_key():
    with pytest.raises(ConfigError) as err:
        parse_config({"moments": {"marking": {"rules": [{"name": "r", "activity_regex": "(unclosed"}]}}}, "x.yaml")
    assert "x.yaml" in str(err.value) and "moments.marking.rules.0" in str(err.value)
    assert "invalid regular expression" in str(err.value)
    with pytest.raises(ConfigError, match="give at least one of"):
        parse_config({"moments": {"marking": {"rules": [{"name": "empty"}]}}})
    with pytest.raises(ConfigError, match="duplicate rule names: a"):
        parse_config(
            {
                "moments": {
                    "marking": {"rules": [{"name": "a", "activities": ["x"]}, {"name": "a", "activities": ["y"]}]}
                }
            }
        )
    with pytest.raises(ConfigError, match="moments.scoring.wiat_from"):
        parse_config({"moments": {"scoring": {"wiat_from": "previous_event"}}})
    with pytest.raises(ConfigError, match="service level of 'Call' must be positive"):
        parse_config({"moments": {"scoring": {"service_level_hours": {"Call": 0}}}})
    with pytest.raises(ConfigError, match="wait budget of channel 'phone' must be positive"):
        parse_config({"moments": {"scoring": {"expectations": {"channels": {"phone": -1}}}}})
    with pytest.raises(ConfigError, match="moments.scoring.expectations.activities.Call.wait_hours"):
        parse_config({"moments": {"scoring": {"expectations": {"activities": {"Call": {"wait_hours": 0}}}}}})


def test_expectation_aliases_and_activity_budgets():
    scoring = parse_config(
        {
            "moments": {
                "scoring": {
                    "service_level_hours": {"Call": 24, "Visit": 12},
                    "expectations": {
                        "channels": {"email": 8, "bank_transfer": 48, "web": 2},
                        "activities": {"Call": {"wait_hours": 48}, "Reply": {"effort": 1}},
                    },
                }
            }
        }
    ).moments.scoring
    channels = scoring.expectations.channels
    assert (channels["e-mail"], channels["bank transfer"], channels["portal"], channels["letter"]) == (8, 48, 2, 120)
    assert scoring.wait_budgets() == {"Call": 48, "Visit": 12}  # expectations.activities wins


def test_the_moments_section_has_defaults_for_everything():
    config = parse_config({})
    assert config.moments == Moments()
    # issue 16: budgets per channel / activity; no quantile reference by default (poor is no longer
    # 'above the 75th percentile', 25% by construction)
    assert config.moments.scoring.wait_reference_quantile is None
    assert config.moments.scoring.expectations.channels["phone"] == 24.0
    assert config.moments.scoring.expectations.channels["unknown"] is None  # learned
    assert config.moments.outcomes.configured() is False
