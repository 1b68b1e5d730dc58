"""Waste score, recommendation and explanation: pure functions of the step metrics.

The SQL in ``mining/waste/sql`` measures; this module judges. Each component is a number in [0, 1]
where 1 means wasteful, or ``None`` when the log cannot tell (a step in every case has no cases
without it to compare with). The waste score is the weighted mean of the measurable components.
docs/waste.md explains every component, threshold and rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from mining.config.waste import Waste

COMPONENTS = (
    "no_decision",
    "optional",
    "no_outcome_effect",
    "rework",
    "redundancy",
    "delay",
    "handoff",
    "customer_effort",
)
RECOMMENDATIONS = ("remove", "merge", "automate", "fix", "keep")
# A step whose next step tells this little about the outcome decides nothing (share of the full
# decision value): its presence cannot steer where a case goes.
DECIDES_NOTHING = 0.1


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
    score: float
    recommendation: str
    reason: str
    merge_into: str | None
    effect: Effect | None
    selection: bool
    decision_value: float | None
    optional_share: float | None
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
    """Uncertainty coefficient U(outcome | next step) among the closed cases with the step.

    0 when the outcome of those cases is already settled (they all end the same way): nothing is
    left to decide after the step. ``None`` when no closed case has the step.
    """
    if not m["n_with"]:
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


def components(m: dict, saved_s: float, mean_throughput_s: float, s: Waste) -> tuple[dict, Effect | None, bool]:
    """The components of one step, its outcome effect, and whether that effect is put down to selection.

    ``saved_s`` is the mean throughput time per case that removing the step (or, for a step that is
    redone, its redo cycles) saves: the larger of the two.
    """
    z = z_value(s.confidence)
    u = decision_value(m)
    c: dict[str, float | None] = dict.fromkeys(COMPONENTS)
    if u is not None and m["n_with"] >= s.min_group_cases:
        c["no_decision"] = 1.0 - min(1.0, u / s.decision_value_full)
    share = optional_share(m, s)
    if share is not None:
        c["optional"] = min(1.0, share / s.optional_share_full)
    effect = None
    if m["n_with"] >= s.min_group_cases and m["n_without"] >= s.min_group_cases:
        effect = rate_difference(m["k_with"], m["n_with"], m["k_without"], m["n_without"], z)
    # A step after which nothing branches cannot steer where a case goes. When cases with it reach
    # the reference outcome more often while other cases get there without it, the difference
    # comes from which cases get the step (it is only done for some), not from the step.
    selection = bool(
        effect is not None
        and effect.low > 0
        and c["no_decision"] is not None
        and c["no_decision"] >= 1.0 - DECIDES_NOTHING
        and (c["optional"] or 0.0) >= s.removable_min_optional
    )
    if effect is not None:
        # the smallest change the interval allows, either way: a step that changes the outcome matters
        value_pp = 0.0 if selection else max(0.0, effect.low, -effect.high) * 100
        c["no_outcome_effect"] = 1.0 - min(1.0, value_pp / s.outcome_effect_full_pp)
    c["rework"] = min(1.0, m["rework_rate"] / s.rework_full)
    c["redundancy"] = (m["partner_share"] or 0.0) * (m["partner_resource_similarity"] or 0.0)
    c["delay"] = min(1.0, saved_s / mean_throughput_s / s.delay_share_full) if mean_throughput_s > 0 else 0.0
    c["handoff"] = m["handoff_rate"]
    if m.get("is_moment_of_truth") and m.get("customer_effort_share") is not None:
        c["customer_effort"] = m["customer_effort_share"]
    return c, effect, selection


def waste_score(c: dict, s: Waste, cases: int | None = None) -> float:
    """Weighted mean of the measurable components, in [0, 1], scaled down in proportion for a step
    seen in fewer than min_support_cases cases."""
    weights = s.weights.model_dump()
    used = [(weights[k], v) for k, v in c.items() if v is not None and weights[k] > 0]
    total = sum(w for w, _ in used)
    support = 1.0 if cases is None else min(1.0, cases / s.min_support_cases)
    return support * sum(w * v for w, v in used) / total if total else 0.0


def protection(m: dict, s: Waste, outcome_activities: dict[str, int]) -> str | None:
    """Why a step must stay whatever its score: it starts the case, or it records the outcome."""
    if m["cases"] and m["starts"] / m["cases"] >= s.trigger_share:
        return f"it starts the case ({_pct(m['starts'] / m['cases'])} of its cases begin with it)"
    n = outcome_activities.get(m["activity"], 0)
    if n:
        return f"it records the case outcome ({n:,} cases)"
    return None


def recommend(m: dict, c: dict, score: float, effect: Effect | None, s: Waste, protected: str | None):
    """(recommendation, reason, merge_into) by the rules of docs/waste.md, first match wins."""
    if protected:
        return "keep", protected, None
    little_decision = c["no_decision"] is not None and c["no_decision"] >= 0.5
    candidate = score >= s.candidate_min_score
    if (
        candidate
        and little_decision
        and (c["optional"] or 0.0) >= s.removable_min_optional
        and (c["no_outcome_effect"] is None or c["no_outcome_effect"] >= 0.5)
    ):
        return "remove", "cases reach the outcome without it and it decides nothing", None
    if candidate and little_decision and c["redundancy"] >= s.redundancy_min:
        return "merge", f"the same people did {m['partner']} right before it", m["partner"]
    bad = []
    if m["rework_rate"] >= s.fix_min_rework:
        bad.append(f"redone in {_pct(m['rework_rate'])} of its cases")
    if m.get("is_moment_of_truth") and (m.get("mot_poor_share") or 0.0) >= s.fix_min_poor_share:
        bad.append(f"{_pct(m['mot_poor_share'])} of its moments of truth are poor")
    if bad:
        return "fix", "it matters but performs badly: " + ", ".join(bad), None
    signal = max(m["system_share"] or 0.0, m["batch_share"] or 0.0)
    if little_decision and (m["system_share"] or 0.0) < 0.5 and signal >= s.automate_min_signal:
        return "automate", "a routine step that is partly done by a system or in batches already", None
    return "keep", "no component calls for a change", None


def judge(m: dict, whatif: dict[str, dict], s: Waste, outcome_activities: dict[str, int]) -> Judgement:
    """Score, recommendation and explanation of one step from its metrics and what-if scenarios."""
    mean_throughput = whatif["all"]["mean_throughput_before_s"] or 0.0
    # the redo cycles count for a step that is itself redone, not for one that only follows a redo
    scopes = ["all"] + (["repeats"] if m["rework_rate"] > 0 and "repeats" in whatif else [])
    saved = max(whatif[k]["mean_throughput_s_saved"] for k in scopes)
    c, effect, selection = components(m, saved, mean_throughput, s)
    score = waste_score(c, s, m["cases"])
    recommendation, reason, merge_into = recommend(m, c, score, effect, s, protection(m, s, outcome_activities))
    # Where the redo cycles are the waste, the what-if removes them and keeps the first instance.
    scope = (
        "repeats" if recommendation == "fix" and m["rework_rate"] >= s.fix_min_rework and "repeats" in whatif else "all"
    )
    text = explain(m, c, effect, selection, whatif[scope], recommendation, s)
    return Judgement(
        c,
        score,
        recommendation,
        reason,
        merge_into,
        effect,
        selection,
        decision_value(m),
        optional_share(m, s),
        scope,
        text,
    )


# --- explanation ---------------------------------------------------------------------------------


def duration(seconds: float | None) -> str:
    """A duration for people: 45 s, 12 min, 5.2 h, 2.1 days."""
    if seconds is None:
        return "n/a"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def outcome_label(outcome: str, m: dict) -> str:
    """An outcome class in words: recorded classes as they are, last activities quoted."""
    return f"'{outcome}' outcome" if m.get("outcome_source") == "last_activity" else outcome


def _signed(seconds: float) -> str:
    return ("-" if seconds < 0 else "+") + duration(abs(seconds))


def _pct(x: float) -> str:
    return f"{x * 100:.0f}%"


def _phrase(key: str, m: dict, c: dict, effect: Effect | None, selection: bool, w: dict) -> str | None:
    """The figures behind one component, in words."""
    ref = outcome_label(m["reference_outcome"], m)
    if key == "rework":
        if m["rework_rate"] <= 0:
            return None
        return f"redone in {_pct(m['rework_rate'])} of its cases"
    if key == "no_decision":
        u = decision_value(m)
        if u is None:
            return None
        if (m["outcome_entropy"] or 0.0) <= 1e-12:
            return "every case with it ends the same way"
        if (m["top_next_share"] or 0) >= 0.9:
            always = "always" if m["top_next_share"] >= 0.995 else f"{_pct(m['top_next_share'])} of the time"
            return f"next step is {always} {m['top_next']}"
        return (
            f"what follows it {'tells little' if c[key] >= 0.5 else 'tells'} about the outcome (decision value {u:.2f})"
        )
    if key == "optional":
        if c[key] is None:
            return None
        share, typical = m["typical_without"] / m["n_typical"], outcome_label(m["typical_outcome"], m)
        if share == 0:
            return f"every {typical} case has it"
        return f"{_pct(share)} of {typical} cases do without it"
    if key == "no_outcome_effect":
        if effect is None:
            return None
        figures = f"diff {effect.diff * 100:+.1f} pp, CI {effect.low * 100:.1f}..{effect.high * 100:.1f}"
        if selection:
            return (
                f"{ref} {_pct(effect.rate_with)} with it vs {_pct(effect.rate_without)} without, "
                "but nothing branches after it: the gap is which cases get it"
            )
        if effect.low <= 0 <= effect.high:
            return f"{ref} rate unchanged with or without it ({figures})"
        if effect.high < 0:
            return f"{ref} rate lower with it ({figures})"
        return f"{ref} rate {_pct(effect.rate_with)} with it vs {_pct(effect.rate_without)} without ({figures})"
    if key == "redundancy":
        if not m["partner"] or c[key] < 0.3:
            return None
        return (
            f"comes right after {m['partner']} in {_pct(m['partner_share'])} of its steps, done by the same "
            f"people ({_pct(m['partner_resource_similarity'])} overlap)"
        )
    if key == "delay":
        if not w.get("delay_s"):
            return None
        start = "its first instance" if w["scope"] == "repeats" else w["anchor_before"]
        return (
            f"adds {duration(w['delay_s'])} between {start} and {w['anchor_after']} "
            f"({duration(w['bracket_mean_with_s'])} with, {duration(w['bracket_mean_without_s'])} without)"
        )
    if key == "handoff":
        if c[key] is None or c[key] < 0.5:
            return None
        return f"changes hands in {_pct(c[key])} of its steps"
    if key == "customer_effort":
        if c[key] is None or c[key] < 0.5:
            return None
        return f"the customer has to act in {_pct(c[key])}"
    raise KeyError(key)


def explain(m: dict, c: dict, effect: Effect | None, selection: bool, w: dict, recommendation: str, s: Waste) -> str:
    """One line from the figures: the strongest evidence first, then the wait and the what-if."""
    weights = s.weights.model_dump()
    measured = [k for k in COMPONENTS if c[k] is not None]
    if recommendation == "keep":
        # for a step that stays, the evidence of its value comes first
        order = sorted(measured, key=lambda k: (-weights[k] * (1 - c[k]), COMPONENTS.index(k)))
    else:
        order = sorted(measured, key=lambda k: (-weights[k] * c[k], COMPONENTS.index(k)))
    phrases = [p for p in (_phrase(k, m, c, effect, selection, w) for k in order) if p][:4]
    if (m["median_wait_s"] or 0) >= 3600:
        who = "customers wait" if m.get("is_moment_of_truth") else "the case waits"
        phrases.insert(min(1, len(phrases)), f"{who} {duration(m['median_wait_s'])} before it (median)")
    phrase = whatif_phrase(w, recommendation)
    if phrase:
        phrases.append(phrase)
    return "; ".join(phrases)


def whatif_phrase(w: dict, recommendation: str) -> str | None:
    """What removing the step (or its repeats) would change, for candidates and steps that save time."""
    if not w["cases_affected"] or (w["mean_throughput_s_saved"] <= 0 and recommendation == "keep"):
        return None
    what = "removing its repeats" if w["scope"] == "repeats" else "removing it"
    if w["mean_throughput_s_saved"] > 0:
        per_case = w["mean_throughput_s_saved"] * w["n_cases"] / w["cases_affected"]
        text = (
            f"{what} saves {duration(per_case)} in {w['cases_affected']:,} cases "
            f"({w['hours_saved_per_month']:,.0f} case-hours a month)"
        )
    elif w["bracket_diff_s"] is not None:
        start = w["anchor_before"] if w["scope"] == "all" else "its first instance"
        text = (
            f"{what} saves no time ({start} to {w['anchor_after']} takes {_signed(w['bracket_diff_s'])} "
            f"with it, CI {_signed(w['bracket_diff_ci_low_s'])}..{_signed(w['bracket_diff_ci_high_s'])})"
        )
    else:
        text = f"{what} saves no measurable time"
    if w.get("mots_saved_per_case"):
        text += f", {w['mots_saved_per_case']:.2f} fewer MOTs per case"
    return text + f", variants {w['variants_before']:,} -> {w['variants_after']:,}"
