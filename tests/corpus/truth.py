"""The documented truth of each corpus log: the design (written here, beside the simulator constants it
quotes) plus the figures measured on the log generated with the default size and seed.

``build_truth(name)`` returns the whole document; ``python -m corpus`` (with tests/ on the path) writes
it to tests/corpus/truth/<name>.yaml. tests/test_corpus.py fails when a YAML file is not what
``build_truth`` gives, so the files cannot drift from the generator.

Recommendation vocabulary used below (issue 16): ``remove`` needs outcome evidence and a saving;
``review`` when only structure or time suggests it; ``keep`` otherwise. ``max_recommendation`` is the
strongest one an analysis may give that step on this log.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from . import measure
from . import simulate as sim

TRUTH_DIR = Path(__file__).resolve().parent / "truth"

ALT_NAMES = ["Assess claim (centre North)", "Assess claim (centre South)"]
OUTCOME_COLUMN_NOTE = (
    "the 'outcome' event attribute on the final event repeats the rule for convenience; "
    "analyses must find outcomes from the activity rules, not from this column"
)


def _mot(activity, channels, direction, automated=False):
    return {"activity": activity, "channels": list(channels), "direction": direction, "automated": automated}


DESIGN: dict[str, dict] = {}

DESIGN["alternatives"] = {
    "description": (
        "Insurance claims. The assessment call is one functional step done by two centres under two activity "
        "names; the region of the claim decides which. The decision that follows is exactly the assessment's "
        "result, so the step carries value. Each name alone is absent from about half of the successful cases, "
        "which is what makes a with/without comparison call it optional."
    ),
    "breaks": [
        "alternatives read as optional: 'x% of success cases do without it' for each of the two names",
        "a step in two departments ranked for removal (ranks 1 and 2 on the held-out claims log)",
    ],
    "case_notion": "one insurance claim (case_id ALT-nnnnn)",
    "moments_of_truth": [
        _mot("Claim submitted", ["portal", "phone"], "inbound"),
        _mot("Photos requested", ["email"], "outbound"),
        _mot("Photos received", ["portal"], "inbound"),
        _mot("Assess claim (centre North)", ["phone"], "outbound"),
        _mot("Assess claim (centre South)", ["phone"], "outbound"),
        _mot("Payment made", ["bank_transfer"], "outbound", automated=True),
        _mot("Rejection letter sent", ["letter"], "outbound", automated=True),
        _mot("Claim withdrawn", ["email"], "inbound"),
    ],
    "internal_steps": ["Claim registered", "Claim approved", "Claim rejected"],
    "functional_steps": [
        {
            "name": "Assess claim",
            "activities": ALT_NAMES,
            "rule": "never both in one case; same place in the variants; which one is fixed by the 'region' attribute",
            "shares": {"centre North": sim.ALT_P_NORTH, "centre South": round(1 - sim.ALT_P_NORTH, 2)},
        }
    ],
    "value_steps": [
        {"activity": ALT_NAMES[0], "why": "its result (assessment covered / not covered) decides approval"},
        {"activity": ALT_NAMES[1], "why": "the same functional step as centre North"},
        {"activity": "Claim submitted", "why": "the customer's own act"},
        {"activity": "Claim approved", "why": "the decision"},
        {"activity": "Claim rejected", "why": "the decision"},
        {"activity": "Payment made", "why": "what the customer came for"},
    ],
    "never_remove": ALT_NAMES,
    "injected_waste": [],
    "injected_waste_note": "none: any removal candidate on this log is a false positive",
    "outcomes": {
        "success": {"activity": "Payment made", "polarity": "positive"},
        "declined": {"activity": "Rejection letter sent", "polarity": "negative"},
        "dropout": {"activity": "Claim withdrawn", "polarity": "negative"},
        "note": OUTCOME_COLUMN_NOTE,
    },
    "dropout": {
        "cause": "none injected (withdrawal is a flat 10% of the cases asked for photos)",
        "place": "Claim withdrawn, after Photos requested",
    },
    "noise_attributes": [],
    "timer_driven_activities": [],
    "expectations_simulated": "none: waits are drawn without a budget; no moment is poor by design",
    "parameters": {
        "p_north": sim.ALT_P_NORTH,
        "p_covered_each_centre": sim.ALT_P_COVERED,
        "p_photos": sim.ALT_P_PHOTOS,
        "p_withdraw_after_photo_request": sim.ALT_P_WITHDRAW_PHOTOS,
        "mean_hours_to_assessment": {"centre North": 30.0, "centre South": 40.0},
    },
}

_LQ_COMMON = {
    "case_notion": "one permit application (case_id LQ-nnnnn)",
    "moments_of_truth": [
        _mot("Application received", ["portal"], "inbound"),
        _mot("Customer call", ["phone"], "outbound")
        | {"note": "schedule + start + complete = ONE moment (one activity instance)"},
        _mot("Request documents", ["email"], "outbound"),
        _mot("Documents received", ["portal"], "inbound"),
        _mot("Decision letter sent", ["letter"], "outbound", automated=True),
    ],
    "internal_steps": ["Intake review", "Check documents", "Decision"],
    "value_steps": [
        {"activity": "Application received", "why": "the customer's own act"},
        {"activity": "Customer call", "why": "the one personal contact; intake depends on it"},
        {"activity": "Request documents", "why": "the FIRST request is needed (round 1)"},
        {"activity": "Documents received", "why": "round 1 is needed"},
        {"activity": "Check documents", "why": "round 1 decides completeness"},
        {"activity": "Decision", "why": "decides approved / rejected"},
        {"activity": "Decision letter sent", "why": "tells the customer the decision"},
    ],
    "never_remove": ["Request documents", "Customer call", "Decision"],
    "injected_waste": [
        {
            "activity": "Request documents",
            "scope": "repeats",
            "what": (
                "rounds 2..4 of the document cycle (Request documents -> Documents received -> Check documents); "
                f"{int(sim.LQ_P_REWORK * 100)}% of cases have 1-{sim.LQ_MAX_REPEATS} repeats; each costs the "
                "request's queue, about three days of customer turnaround and the check's queue"
            ),
            "saves": "see measured.rework.removing_the_repeats_saves (what-if twin of the same seed without repeats)",
            "max_recommendation": "remove",
            "note": "the recommendation's scope must be the repeats, not the step: round 1 is a value step",
        }
    ],
    "outcomes": {
        "approved": {
            "activity": "Decision letter sent",
            "attribute": "outcome",
            "value": "approved",
            "polarity": "positive",
        },
        "rejected": {
            "activity": "Decision letter sent",
            "attribute": "outcome",
            "value": "rejected",
            "polarity": "negative",
        },
        "dropout": "none in this log",
        "note": f"P(approved) = {sim.LQ_P_APPROVED}, independent of the rework",
    },
    "dropout": {"cause": "none", "place": "none"},
    "noise_attributes": [],
    "timer_driven_activities": [],
}

DESIGN["lifecycle_queues"] = {
    "description": (
        "Permit applications recorded with lifecycle transitions: queued steps have schedule, start and "
        "complete events (Request documents only start and complete). Waiting = start - schedule, service = "
        "complete - start. One activity instance is 1-3 events; moments, rework and waits must be counted on "
        "instances. The document cycle is repeated 1-3 times in 30% of cases: real rework."
    ),
    "breaks": [
        "lifecycle events counted as separate moments (3 per call)",
        "schedule->start->complete drawn as self-loops / rework",
        "repeated document requests advised 'merge' with 'saves no measurable time'",
    ],
    **_LQ_COMMON,
    "instance_rule": "events of one instance share the 'instance' attribute; an instance ends with its complete event",
    "lifecycle_order": "schedule < start < complete within every instance (at least one minute apart)",
    "expectations_simulated": {
        "note": "mean waits drawn (gamma), no budget acts on the simulation",
        "mean_waiting_hours": {
            "Intake review": 8.0,
            "Customer call": 20.0,
            "Request documents": 6.0,
            "Check documents": 10.0,
            "Decision": 24.0,
        },
        "median_customer_turnaround_hours": {"Documents received": 72.0},
    },
}

DESIGN["lifecycle_queues_interval"] = {
    "description": (
        "The same cases and activity instances as lifecycle_queues (same seed), written as interval events: one "
        "event per instance with start_ts (XES 'start_timestamp') and ts = completion. The schedule time is not "
        "in this file, so waiting counts from the previous completion of the case."
    ),
    "breaks": [
        "readers or analyses that ignore start_timestamp (service time lost)",
        "instance counts that differ between the lifecycle and the interval form of one log",
    ],
    **_LQ_COMMON,
    "instance_rule": "one event = one instance; start_ts = ts for instant acts",
    "expectations_simulated": DESIGN["lifecycle_queues"]["expectations_simulated"],
}

DESIGN["no_outcomes"] = {
    "description": (
        "Helpdesk tickets with no outcome events: cases just end (after 'Resolution sent', or 'Closed as "
        "duplicate'). Nothing outcome-based is measurable. A ping-pong of reassignments between first and second "
        "line is injected; its time cost is measurable but, with no outcome, the strongest advice is review."
    ),
    "breaks": [
        "advice without evidence: every case 'other', components defaulting to 1.0, main path marked remove",
        "'saving 0 case-hours' removal advice",
    ],
    "case_notion": "one support ticket (case_id NO-nnnnn)",
    "moments_of_truth": [
        _mot("Ticket opened", ["portal", "email", "phone"], "inbound"),
        _mot("Ask customer for details", ["email"], "outbound"),
        _mot("Customer reply", ["email"], "inbound"),
        _mot("Resolution sent", ["email"], "outbound", automated=True),
    ],
    "internal_steps": ["Take in charge", "Ticket reassigned", "Diagnose", "Resolve", "Closed as duplicate"],
    "main_path": measure.NO_MAIN_PATH,
    "value_steps": [{"activity": a, "why": "main path"} for a in measure.NO_MAIN_PATH],
    "never_remove": measure.NO_MAIN_PATH,
    "injected_waste": [
        {
            "activity": "Ticket reassigned",
            "scope": "hand-off",
            "what": (
                f"{int(sim.NO_P_PINGPONG * 100)}% of tickets are reassigned 2-4 times between first and second "
                "line (mean 5 h each) before diagnosis"
            ),
            "saves": "see measured.ping_pong.removing_it_saves",
            "max_recommendation": "review",
        }
    ],
    "outcomes": "none",
    "outcomes_note": (
        "no event says how a case went; every outcome-based figure must read 'not measurable: no outcome defined'"
    ),
    "max_recommendation_any_step": "review",
    "dropout": {"cause": "not measurable", "place": "not measurable"},
    "noise_attributes": [{"activity": "*", "attribute": "priority", "note": "drawn per case, affects nothing"}],
    "timer_driven_activities": [],
    "expectations_simulated": "none",
}

DESIGN["timers"] = {
    "description": (
        "Subscription change requests. Some need information from the customer. A reminder goes out exactly "
        f"{sim.TM_REMINDER_DAYS} days after the request for information when there is still no answer; the case "
        f"is auto-closed exactly {sim.TM_AUTOCLOSE_DAYS} days after the customer's last action. Approved "
        "requests wait for the monthly billing run (02:00 UTC on the 1st); the confirmation letter follows "
        f"{sim.TM_LETTER_AFTER_RUN_H} h after the run. These gaps are set by timers and the calendar, not by "
        "anyone's work."
    ),
    "breaks": [
        "knock-on pairs built across fixed timer gaps ('poor' wait before the auto-close / reminder)",
        "wait expectations judged on batch waits (every letter 'late' by the calendar)",
    ],
    "case_notion": "one change request (case_id TM-nnnnn)",
    "moments_of_truth": [
        _mot("Request submitted", ["portal", "email"], "inbound"),
        _mot("Information requested", ["email"], "outbound"),
        _mot("Reminder sent", ["email"], "outbound", automated=True),
        _mot("Customer responded", ["portal"], "inbound"),
        _mot("Case auto-closed", ["email"], "outbound", automated=True),
        _mot("Rejection e-mail sent", ["email"], "outbound", automated=True),
        _mot("Confirmation letter sent", ["letter"], "outbound", automated=True),
    ],
    "internal_steps": [
        "Request reviewed",
        "Response checked",
        "Request approved",
        "Request rejected",
        "Monthly billing run",
    ],
    "value_steps": [
        {"activity": a, "why": "decides or delivers"}
        for a in [
            "Request submitted",
            "Request reviewed",
            "Request approved",
            "Request rejected",
            "Monthly billing run",
            "Confirmation letter sent",
        ]
    ],
    "never_remove": ["Request approved", "Monthly billing run", "Confirmation letter sent"],
    "timer_driven_activities": [
        {
            "activity": "Case auto-closed",
            "kind": "timer",
            "rule": f"exactly {sim.TM_AUTOCLOSE_DAYS} days ({sim.TM_AUTOCLOSE_DAYS * 86400} s) after the customer's "
            "last action (Request submitted or Customer responded)",
            "exclude_gap_before_it_from": ["knock-on", "wait expectations"],
        },
        {
            "activity": "Reminder sent",
            "kind": "timer",
            "rule": f"exactly {sim.TM_REMINDER_DAYS} days ({sim.TM_REMINDER_DAYS * 86400} s) after Information "
            "requested, when the customer has not answered",
            "exclude_gap_before_it_from": ["knock-on", "wait expectations"],
        },
        {
            "activity": "Monthly billing run",
            "kind": "batch",
            "rule": f"the 1st of each month at {sim.TM_BATCH_HOUR:02d}:00 UTC; every approved case waiting is processed",
            "exclude_gap_before_it_from": ["knock-on", "wait expectations"],
        },
        {
            "activity": "Confirmation letter sent",
            "kind": "fixed offset after batch",
            "rule": f"exactly {sim.TM_LETTER_AFTER_RUN_H} h after the monthly run",
            "exclude_gap_before_it_from": ["knock-on", "wait expectations"],
        },
    ],
    "injected_waste": [],
    "injected_waste_note": (
        "none injected; the batch wait is a finding about the calendar (review the run's "
        "frequency), not a step to remove"
    ),
    "outcomes": {
        "success": {"activity": "Confirmation letter sent", "polarity": "positive"},
        "declined": {"activity": "Rejection e-mail sent", "polarity": "negative"},
        "dropout": {
            "activity": "Case auto-closed",
            "polarity": "negative",
            "note": "no response: the customer left silently; the timer only records it",
        },
        "note": OUTCOME_COLUMN_NOTE,
    },
    "dropout": {
        "cause": "none injected (no response is drawn at random, 25% per round)",
        "place": "after Information requested / Reminder sent, recorded by the timer",
    },
    "noise_attributes": [{"activity": "*", "attribute": "plan", "note": "drawn per case, affects nothing"}],
    "expectations_simulated": "none: the timers are fixed, the other waits drawn without a budget",
    "parameters": {
        "p_information_needed": sim.TM_P_INFO,
        "p_respond_per_round": sim.TM_P_RESPOND,
        "median_response_hours": 72.0,
        "p_second_round": sim.TM_P_SECOND_ROUND,
        "p_reject": sim.TM_P_REJECT,
    },
}

DESIGN["noise_and_cause"] = {
    "description": (
        "Loan applications. The identity check call is the true upstream cause of drop-out: when it misses its "
        f"{sim.NC_ID_BUDGET_H:.0f} h budget (30% of files land in a slow queue), the customer withdraws after "
        f"the offer with P = {sim.NC_P_DROP_POOR} instead of {sim.NC_P_DROP_OK}. Drop-out happens downstream "
        "(Application withdrawn, right after Offer sent), never at the cause. 'Reply to customer' is repeated "
        "1-4 times; its clerk and channel are pure noise from a separate random stream. The number of replies "
        "rises with a poor identity check (an echo of the cause) but has no effect of its own."
    ),
    "breaks": [
        "drop-out place read as drop-out cause",
        "attributes of a repeated moment ranked as causes through exposure (more replies, more chances)",
        "repetition itself ranked as the cause when it is confounded with the real cause",
    ],
    "case_notion": "one loan application (case_id NC-nnnnn)",
    "moments_of_truth": [
        _mot("Application submitted", ["portal"], "inbound"),
        _mot("Identity check call", ["phone"], "outbound"),
        _mot("Customer question", ["email"], "inbound"),
        _mot("Reply to customer", sim.NC_REPLY_CHANNELS[0], "outbound"),
        _mot("Application declined", ["email"], "outbound", automated=True),
        _mot("Offer sent", ["email"], "outbound"),
        _mot("Application withdrawn", ["email"], "inbound"),
        _mot("Contract signed", ["portal"], "inbound"),
    ],
    "internal_steps": ["Credit assessment"],
    "value_steps": [
        {"activity": a, "why": "decides or delivers"}
        for a in ["Application submitted", "Identity check call", "Credit assessment", "Offer sent", "Contract signed"]
    ],
    "never_remove": ["Identity check call", "Offer sent", "Credit assessment"],
    "injected_waste": [],
    "outcomes": {
        "success": {"activity": "Contract signed", "polarity": "positive"},
        "declined": {
            "activity": "Application declined",
            "polarity": "negative",
            "rule": f"P(declined) by income band {sim.NC_P_DECLINE}, independent of the cause",
        },
        "dropout": {"activity": "Application withdrawn", "polarity": "negative"},
        "note": OUTCOME_COLUMN_NOTE,
    },
    "dropout": {
        "cause": {
            "activity": "Identity check call",
            "poor_variant": f"wait from Application submitted > {sim.NC_ID_BUDGET_H:.0f} h",
            "mechanism": f"P(withdraw after the offer) rises from {sim.NC_P_DROP_OK} to {sim.NC_P_DROP_POOR}",
        },
        "place": {
            "activity": "Application withdrawn",
            "after": "Offer sent",
            "note": "the place is different from the cause",
        },
        "expected_rank_1_in": ["lift ranking", "removal effect (absorbing Markov chain)"],
        "expected_magnitude": {
            "relative_risk": round(sim.NC_P_DROP_POOR / sim.NC_P_DROP_OK, 1),
            "lift": "about 2.5 (P(drop-out | poor) / P(drop-out)); measured below",
        },
        "echo_not_cause": {
            "factor": "number of 'Reply to customer' per case",
            "rule": f"1 + Binomial(3, {sim.NC_P_EXTRA_REPLY_POOR} if poor else "
            f"{sim.NC_P_EXTRA_REPLY_OK}); drop-out does not depend on it given the cause",
        },
    },
    "noise_attributes": [
        {
            "activity": "Reply to customer",
            "attribute": "resource (clerk)",
            "values": sim.NC_CLERKS,
            "rule": "uniform, own random stream",
        },
        {
            "activity": "Reply to customer",
            "attribute": "channel",
            "values": sim.NC_REPLY_CHANNELS[0],
            "rule": f"probabilities {sim.NC_REPLY_CHANNELS[1]}, own random stream",
        },
    ],
    "no_finding_may_rest_on": ["Reply to customer / resource", "Reply to customer / channel"],
    "timer_driven_activities": [],
    "expectations_simulated": {
        "Identity check call": {
            "channel": "phone",
            "wait_budget_hours": sim.NC_ID_BUDGET_H,
            "measured_from": "Application submitted",
            "causal": True,
        },
        "note": "other waits are drawn without a budget; only this one acts on the outcome",
    },
    "parameters": {
        "p_slow_queue": sim.NC_P_SLOW_QUEUE,
        "slow_queue_wait": "48 h + gamma(2, mean 48 h)",
        "normal_wait": "gamma(3, mean 24 h)",
    },
}

DESIGN["zero_value_check"] = {
    "description": (
        "Web-shop orders. A Double-check runs in 100% of cases right after registration: a queue (mean 16 h) "
        "and 10-30 minutes of work, always 'confirmed'; nothing downstream depends on it (its own random stream: "
        "removing it changes no path and no outcome). Credit check and Stock check decide the path. In 20% of "
        "orders Logistics sends the order back to Sales 1-3 times (ping-pong)."
    ),
    "breaks": [
        "a step in every case cannot be compared with/without, so it scores keep",
        "'would save about 0 case-hours' for a step that holds up every case",
    ],
    "case_notion": "one order (case_id ZV-nnnnn)",
    "moments_of_truth": [
        _mot("Order placed", ["portal", "phone"], "inbound"),
        _mot("Order confirmation sent", ["email"], "outbound", automated=True),
        _mot("Rejection e-mail sent", ["email"], "outbound", automated=True),
        _mot("Backorder notice sent", ["email"], "outbound", automated=True),
        _mot("Order cancelled", ["phone"], "inbound"),
        _mot("Shipping notice sent", ["email"], "outbound", automated=True),
        _mot("Order delivered", ["face_to_face"], "outbound"),
    ],
    "internal_steps": [
        "Order registered",
        "Double-check",
        "Credit check",
        "Order rejected",
        "Stock check",
        "Stock arrived",
        "Order sent back to Sales",
        "Order corrected by Sales",
        "Delivery planned",
        "Order shipped",
    ],
    "value_steps": [
        {"activity": "Order placed", "why": "the customer's own act"},
        {"activity": "Credit check", "why": "its result decides rejection (25% fail for new, 5% for existing)"},
        {"activity": "Stock check", "why": "its result decides backorder"},
        {"activity": "Delivery planned", "why": "delivery"},
        {"activity": "Order shipped", "why": "delivery"},
        {"activity": "Order delivered", "why": "what the customer came for"},
    ],
    "never_remove": [
        "Order placed",
        "Credit check",
        "Stock check",
        "Delivery planned",
        "Order shipped",
        "Order delivered",
    ],
    "injected_waste": [
        {
            "activity": "Double-check",
            "scope": "step",
            "rank": 1,
            "what": "zero-value double-check in every case: always confirmed, decides nothing, a queue before it",
            "saves": "see measured.double_check.removing_it_saves",
            "max_recommendation": "remove",
        },
        {
            "activity": "Order sent back to Sales / Order corrected by Sales",
            "scope": "hand-off",
            "rank": 2,
            "what": f"ping-pong Logistics -> Sales in {int(sim.ZV_P_PINGPONG * 100)}% of delivered-path orders, "
            "1-3 round trips (mean 4 h + 6 h each)",
            "saves": "see measured.ping_pong.removing_it_saves",
            "max_recommendation": "remove",
        },
    ],
    "precision_at_k": "the top 2 removal candidates are exactly these two scopes, Double-check first",
    "outcomes": {
        "success": {"activity": "Order delivered", "polarity": "positive"},
        "declined": {"activity": "Rejection e-mail sent", "polarity": "negative"},
        "dropout": {"activity": "Order cancelled", "polarity": "negative"},
        "note": OUTCOME_COLUMN_NOTE,
    },
    "dropout": {
        "cause": {
            "activity": "Stock check",
            "variant": "result = backorder",
            "rule": f"P(cancel) = {sim.ZV_CANCEL_BASE} + {sim.ZV_CANCEL_PER_DAY} x backorder days",
        },
        "place": {"activity": "Order cancelled", "after": "Backorder notice sent"},
    },
    "noise_attributes": [
        {"activity": "Double-check", "attribute": "resource (checker)", "note": "own random stream, affects nothing"}
    ],
    "timer_driven_activities": [],
    "expectations_simulated": "none",
    "parameters": {
        "p_credit_fail": sim.ZV_P_CREDIT_FAIL,
        "p_in_stock": sim.ZV_P_IN_STOCK,
        "double_check_queue_mean_hours": 16.0,
    },
}

DEFAULTS = {
    "alternatives": {"n_cases": 3000, "seed": 101},
    "lifecycle_queues": {"n_cases": 2500, "seed": 202},
    "lifecycle_queues_interval": {"n_cases": 2500, "seed": 202},
    "no_outcomes": {"n_cases": 3000, "seed": 303},
    "timers": {"n_cases": 3000, "seed": 404},
    "noise_and_cause": {"n_cases": 4000, "seed": 505},
    "zero_value_check": {"n_cases": 3000, "seed": 606},
}


def measured(name: str, n_cases: int | None = None, seed: int | None = None) -> dict:
    """The measured section for one log (generated at the defaults unless told otherwise)."""
    from . import LOGS

    n = DEFAULTS[name]["n_cases"] if n_cases is None else n_cases
    s = DEFAULTS[name]["seed"] if seed is None else seed
    df = LOGS[name](n_cases=n, seed=s)
    if name == "alternatives":
        return measure.alternatives(df)
    if name == "lifecycle_queues":
        return measure.lifecycle_queues(df, n, s)
    if name == "lifecycle_queues_interval":
        return measure.lifecycle_queues(df, n, s, interval=True)
    if name == "no_outcomes":
        return measure.no_outcomes(df, n, s)
    if name == "timers":
        return measure.timers(df)
    if name == "noise_and_cause":
        return measure.noise_and_cause(df)
    if name == "zero_value_check":
        return measure.zero_value_check(df, n, s)
    raise KeyError(name)


def build_truth(name: str) -> dict:
    return {
        "name": name,
        "generator": {
            "function": f"corpus.LOGS[{name!r}]",
            **DEFAULTS[name],
            "regenerate": "cd tests && python -m corpus --truth   (see docs/validation.md)",
        },
        **DESIGN[name],
        "measured": {"note": "measured on the log generated with the defaults above", **measured(name)},
    }


HEADER = (
    "# Truth of the corpus log {name!r}: design (tests/corpus/truth.py) + figures measured on the generated\n"
    "# log (tests/corpus/measure.py). Generated by `python -m corpus --truth`; do not edit by hand:\n"
    "# tests/test_corpus.py fails when this file differs from what the generator gives.\n"
)


def truth_text(name: str) -> str:
    body = yaml.safe_dump(build_truth(name), sort_keys=False, allow_unicode=True, width=110)
    return HEADER.format(name=name) + body


def write_truth_files(folder: Path = TRUTH_DIR) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name in DEFAULTS:
        path = folder / f"{name}.yaml"
        path.write_text(truth_text(name), encoding="utf-8")
        out.append(path)
    return out


def load_truth(name: str) -> dict:
    return yaml.safe_load((TRUTH_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
