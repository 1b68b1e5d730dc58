"""Waste score, recommendation and explanation: pure functions of the step metrics.

The SQL in ``mining/waste/sql`` measures; this module judges. Each component is a number in [0, 1]
where 1 means wasteful, or ``None`` with a reason when the log cannot tell (no outcome defined, one
outcome class, a step in every case that reached it, too few cases). The waste score is the weighted
mean of the measurable components only, and no score at all on too little measured evidence.
docs/waste.md explains every component, threshold and rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from mining.config.waste import Waste
from mining.waste.explain import COMPONENTS, _pct, duration, explain  # noqa: F401

RECOMMENDATIONS = ("remove", "fix", "review", "keep")


@dataclass(frozen=True)
class Effect:
    """Difference of two rates (with minus without) and its confidence interval, as fractions."""

    rate_with: float
    rate_without: float
    diff: float
    low: float
    high: float


@dataclass(frozen=True)
class Judgement:
    """Everything the scoring decides about one step."""

    components: dict[str, float | None]
    not_measurable: dict[str, str]
    score: float | None
    recommendation: str
    reason: str
    scope: str
    evidence: str
    merge_into: str | None
    effect: Effect | None
    decision_value: float | None
    optional_share: float | None
    decides_nothing: str | None
    whatif_scope: str
    explanation: str


def z_value(confidence: float) -> float:
    """The two-sided normal quantile for a confidence level (1.96 for 0.95)."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson(k: int, n: int, z: float) -> tuple[float, float]:
    """Wilson score interval of the proportion k/n."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def rate_difference(k1: int, n1: int, k0: int, n0: int, z: float) -> Effect:
    """p1 - p0 with Newcombe's hybrid score interval (method 10), which behaves at rates near 0 or 1."""
    p1, p0 = k1 / n1, k0 / n0
    l1, u1 = wilson(k1, n1, z)
    l0, u0 = wilson(k0, n0, z)
    diff = p1 - p0
    low = diff - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    high = diff + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    return Effect(p1, p0, diff, low, high)


def decision_value(m: dict) -> float | None:
    """Uncertainty coefficient U(outcome | next step) among the decided cases with the step.

    0 when the outcome of those cases is already settled (they all end the same way): nothing is
    left to decide after the step. ``None`` when no decided case has the step.
    """
    if not m["n_with_all"]:
        return None
    entropy = m["outcome_entropy"] or 0.0
    if entropy <= 1e-12:
        return 0.0
    return max(0.0, min(1.0, (m["mutual_information"] or 0.0) / entropy))


def optional_share(m: dict, s: Waste) -> float | None:
    """Share of the cases with the step's typical outcome (the outcome most of its cases have) that
    get there without it; ``None`` when fewer than min_group_cases cases have that outcome."""
    if not m["n_typical"] or m["n_typical"] < s.min_group_cases:
        return None
    return m["typical_without"] / m["n_typical"]


def comparison_gap(m: dict, s: Waste) -> str | None:
    """Why the outcome cannot be compared with and without the step within the cases that reached
    it, or None when it can."""
    if m["outcome_status"] != "measurable":
        return m["outcome_status"]
    if not m["n_reached"]:
        return "no decided case reached it"
    if not m["n_without"]:
        return f"step in every case that reached it ({m['n_with']:,})"
    if m["n_with"] < s.min_group_cases or m["n_without"] < s.min_group_cases:
        return (
            f"too few cases ({m['n_with']:,} with it, {m['n_without']:,} without, "
            f"fewer than {s.min_group_cases} on one side)"
        )
    return None


def components(m: dict, saved_s: float, mean_throughput_s: float, s: Waste):
    """(components, not-measurable reasons, outcome effect) of one step.

    A component that the log cannot measure is None and has a reason; it never defaults to a value.
    ``saved_s`` is the mean throughput time per case that removing the step (or its redo cycles)
    saves.
    """
    z = z_value(s.confidence)
    c: dict[str, float | None] = dict.fromkeys(COMPONENTS)
    why: dict[str, str] = {}
    status = m["outcome_status"]
    u = decision_value(m)
    if status != "measurable":
        for k in ("no_decision", "optional", "no_outcome_effect"):
            why[k] = status
    else:
        if u is not None and m["n_with_all"] >= s.min_group_cases:
            c["no_decision"] = 1.0 - min(1.0, u / s.decision_value_full)
        else:
            why["no_decision"] = f"too few cases ({m['n_with_all']:,} decided cases with it)"
        share = optional_share(m, s)
        if m["cases"] >= m["n_cases"]:
            why["optional"] = "step in every case"
        elif share is None:
            why["optional"] = "too few cases with its typical outcome"
        else:
            c["optional"] = min(1.0, share / s.optional_share_full)
    effect = None
    gap = comparison_gap(m, s)
    if gap is None:
        effect = rate_difference(m["k_with"], m["n_with"], m["k_without"], m["n_without"], z)
        # the smallest change the interval allows, either way: a step that changes the outcome matters
        value_pp = max(0.0, effect.low, -effect.high) * 100
        c["no_outcome_effect"] = 1.0 - min(1.0, value_pp / s.outcome_effect_full_pp)
    elif status == "measurable":
        why["no_outcome_effect"] = gap
    if m["cases"] < s.min_support_cases:
        why["rework"] = f"too few cases ({m['cases']:,}, fewer than {s.min_support_cases})"
    else:
        c["rework"] = min(1.0, m["rework_rate"] / s.rework_full)
    if m["handoff_rate"] is None:
        why["redundancy"] = why["handoff"] = "no resources recorded"
    else:
        c["redundancy"] = (m["partner_share"] or 0.0) * (m["partner_resource_similarity"] or 0.0)
        c["handoff"] = m["handoff_rate"]
    if mean_throughput_s > 0:
        c["delay"] = min(1.0, saved_s / mean_throughput_s / s.delay_share_full)
    else:
        why["delay"] = "cases take no time"
    if m.get("is_moment_of_truth") is None:
        why["customer_effort"] = "the moments step has not run"
    elif not m["is_moment_of_truth"]:
        why["customer_effort"] = "not a moment of truth"
    elif m.get("customer_effort_share") is None:
        why["customer_effort"] = "no customer effort recorded"
    else:
        c["customer_effort"] = m["customer_effort_share"]
    return c, why, effect


def waste_score(c: dict, s: Waste, cases: int | None = None) -> tuple[float | None, str | None]:
    """Weighted mean of the measurable components only, scaled down in proportion for a step seen
    in fewer than min_support_cases cases; (None, why) when the measured components carry less than
    min_evidence_weight of the total weight."""
    weights = s.weights.model_dump()
    used = [(weights[k], v) for k, v in c.items() if v is not None and weights[k] > 0]
    total = sum(w for w, _ in used)
    everything = sum(weights.values())
    if total < s.min_evidence_weight * everything:
        return None, f"too little measured evidence ({total / everything:.0%} of the weight measured)"
    support = 1.0 if cases is None else min(1.0, cases / s.min_support_cases)
    return support * sum(w * v for w, v in used) / total, None


def protection(m: dict, s: Waste, outcome_activities: dict[str, int]) -> str | None:
    """Why a step must stay whatever its figures: it starts the case, or it records the outcome."""
    if m["cases"] and m["starts"] / m["cases"] >= s.trigger_share:
        return f"it starts the case ({_pct(m['starts'] / m['cases'])} of its cases begin with it)"
    n = sum(outcome_activities.get(a, 0) for a in m["members"])
    if n:
        return f"it records the case outcome ({n:,} cases)"
    return None


def decides_nothing(m: dict, s: Waste) -> str | None:
    """Why the step decides nothing about the path (its next step is nearly always the same), or None."""
    share = m["top_next_other_share"]
    if share is None or share < s.decides_nothing_share:
        return None
    n = m["n_next_other"]
    return f"next step is {m['top_next_other']} in {_pct(share)} of its {n:,} instances"


def independent_outcome(m: dict, s: Waste) -> str | None:
    """Why the outcome does not depend on the step: it records a result that never varies or that the
    outcome does not depend on, and the outcome does not depend on who did it (chi-square tests with
    their sample); None when any of this fails or cannot be tested."""
    t = m.get("independence")
    if not t or t["p"] is None or t["p"] < s.independence_alpha or t["n"] < s.min_group_cases:
        return None
    found = m.get("results") or []
    if not found:
        return None  # it records no result: nothing shows that it decides nothing
    said = []
    for r in found:
        if r["values"] == 1:
            said.append(f"its {r['field']} is always the same ({r['n']:,} cases)")
        elif r["p"] is not None and r["p"] >= s.independence_alpha and r["n"] >= s.min_group_cases:
            said.append(f"the outcome does not depend on its {r['field']} (chi-square p={r['p']:.2f}, n={r['n']:,})")
        else:
            return None
    who = (
        f"the outcome does not depend on who did it (chi-square p={t['p']:.2f}, {t['groups']} resources, n={t['n']:,})"
    )
    return ", ".join([*said, who])


def _hours(w: dict) -> str:
    per_case = w["case_hours_saved"] / w["cases_affected"] if w["cases_affected"] else 0.0
    text = f"saves {per_case:,.1f} case-hours per affected case ({w['case_hours_saved']:,.0f} over the log, {w['saving_method']})"
    if w.get("mots_saved_per_case"):
        text += f" and {w['mots_saved_per_case']:.2f} contacts with the customer per case"
    return text


def recommend(
    m: dict,
    c: dict,
    score: float | None,
    effect: Effect | None,
    w: dict,
    s: Waste,
    protected: str | None,
    outcome_activities: dict[str, int] | None = None,
):
    """(recommendation, reason, scope, evidence, merge_into, what-if scope) by the rules of docs/waste.md."""
    unit = "hand-off" if m["kind"] == "hand-off" else "step"
    # a step right before the outcome event may be where the outcome is decided: never removed on structure
    outcome_activities = outcome_activities or {}
    if protected:
        return "keep", protected, unit, protected, None, "all"
    whole, repeats = w["all"], w.get("repeats")
    # time (case-hours) or effort (contacts with the customer, measured work) saved
    saves = (
        whole["case_hours_saved"] > 0
        or (whole.get("mots_saved_per_case") or 0) > 0
        or (whole.get("work_hours_saved") or 0) > 0
    )
    adds_delay = whole["mean_throughput_before_s"] and (
        whole["mean_throughput_s_saved"] * whole["n_cases"] / max(1, whole["cases_affected"])
        >= s.min_delay_share * whole["mean_throughput_before_s"]
    )
    quiet = decides_nothing(m, s)
    # 1. remove: the outcome is unchanged within the cases that reached the step, and it saves time
    # ('unchanged': the whole interval within the margin either way; a large gap either way says the
    # cases with it differ from those without, which is no evidence that removing it changes nothing)
    if effect is not None and -s.harm_margin_pp <= effect.low * 100 and effect.high * 100 <= s.harm_margin_pp and saves:
        evidence = (
            f"outcome unchanged within {m['n_reached']:,} cases that reached it ({m['reference_outcome']} "
            f"diff {effect.diff * 100:+.1f} pp, {s.confidence:.0%} CI {effect.low * 100:+.1f}..{effect.high * 100:+.1f}, "
            f"harm margin {s.harm_margin_pp:g} pp); {_hours(whole)}"
        )
        return "remove", "outcome unchanged without it and time saved", unit, evidence, None, "all"
    # ... or, for a step in every case that reached it, from 'decides nothing'
    independent = independent_outcome(m, s)
    if (
        effect is None and m["outcome_status"] == "measurable" and m["n_reached"] and not m["n_without"]
        and quiet and independent and not m.get("is_moment_of_truth") and saves and adds_delay
        and m["top_next_other"] not in outcome_activities
    ):  # fmt: skip
        evidence = (
            f"in every case that reached it ({m['n_with']:,}), so no with/without comparison; it decides nothing: "
            f"{quiet}, and {independent}; {_hours(whole)}"
        )
        return "remove", "decides nothing and time saved", unit, evidence, None, "all"
    # 2. fix: redone in enough cases
    if (
        m["rework_rate"] >= s.fix_min_rework
        and repeats is not None
        and m["cases_redone"] >= s.fix_min_cases
        and repeats["case_hours_saved"] > 0
    ):
        evidence = (
            f"redone in {_pct(m['rework_rate'])} of its {m['cases']:,} cases ({m['cases_redone']:,} cases); "
            f"removing its repeats (the first instance stays) {_hours(repeats)}"
        )
        return "fix", "it is redone", "repeats", evidence, None, "repeats"
    # Poor moments of truth are not waste: the moments analysis reports them (a value step whose
    # moments miss their expectations is to be made excellent, not removed or 'fixed' here).
    # 3. review: only the structure suggests a change
    harm = effect is not None and effect.low * 100 > s.harm_margin_pp
    if quiet and adds_delay and not harm:
        outcome = (
            "no outcome evidence: " + comparison_gap(m, s)
            if effect is None
            else "outcome comparison does not exclude harm"
        )
        evidence = f"it decides nothing ({quiet}) and adds delay: removing it {_hours(whole)}; {outcome}"
        return "review", "decides nothing and adds delay (structure only)", unit, evidence, None, "all"
    if (
        score is not None
        and score >= s.review_min_score
        and c["redundancy"] is not None
        and c["redundancy"] >= s.redundancy_min
    ):
        evidence = (
            f"comes right after {m['partner']} in {_pct(m['partner_share'])} of its steps, done by the same people "
            f"({_pct(m['partner_resource_similarity'])} overlap)"
        )
        return "review", f"could be merged into {m['partner']}", unit, evidence, m["partner"], "all"
    signal = max(m["system_share"] or 0.0, m["batch_share"] or 0.0)
    if (
        score is not None
        and score >= s.review_min_score
        and (m["system_share"] or 0.0) < 0.5
        and signal >= s.automate_min_signal
    ):
        evidence = f"a system or a batch run does {_pct(signal)} of it already"
        return "review", "could be automated", unit, evidence, None, "all"
    if harm:
        text = f"cases without it end worse (diff {effect.diff * 100:+.1f} pp, CI {effect.low * 100:+.1f}..{effect.high * 100:+.1f})"
        return "keep", "it matters for the outcome", unit, text, None, "all"
    return "keep", "no evidence calls for a change", unit, "no evidence calls for a change", None, "all"


def judge(m: dict, whatif: dict[str, dict], s: Waste, outcome_activities: dict[str, int]) -> Judgement:
    """Score, recommendation and explanation of one step from its metrics and what-if scenarios."""
    mean_throughput = whatif["all"]["mean_throughput_before_s"] or 0.0
    # the redo cycles count for a step that is itself redone, not for one that only follows a redo
    scopes = ["all"] + (["repeats"] if m["rework_rate"] > 0 and "repeats" in whatif else [])
    saved = max(whatif[k]["mean_throughput_s_saved"] for k in scopes)
    c, why, effect = components(m, saved, mean_throughput, s)
    score, no_score = waste_score(c, s, m["cases"])
    if no_score:
        why["waste_score"] = no_score
    rec, reason, scope, evidence, merge_into, wscope = recommend(
        m, c, score, effect, whatif, s, protection(m, s, outcome_activities), outcome_activities
    )
    text = explain({**m, "decision_value": decision_value(m)}, c, effect, whatif[wscope], rec, s)
    return Judgement(
        c, why, score, rec, reason, scope, evidence, merge_into, effect, decision_value(m),
        optional_share(m, s), decides_nothing(m, s), wscope, text,
    )  # fmt: skip
