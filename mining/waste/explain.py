"""The one-line explanation of a waste judgement, built from the figures (docs/waste.md)."""

from __future__ import annotations

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
    """An outcome class in words."""
    return outcome


def _signed(seconds: float) -> str:
    return ("-" if seconds < 0 else "+") + duration(abs(seconds))


def _pct(x: float) -> str:
    return f"{x * 100:.0f}%"


def _phrase(key: str, m: dict, c: dict, effect, w: dict) -> str | None:
    """The figures behind one component, in words."""
    ref = outcome_label(m["reference_outcome"], m)
    if key == "rework":
        if m["rework_rate"] <= 0:
            return None
        return f"redone in {_pct(m['rework_rate'])} of its cases"
    if key == "no_decision":
        u = m.get("decision_value")
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
        if effect.low <= 0 <= effect.high:
            return f"{ref} rate unchanged with or without it within the {m['n_reached']:,} cases that reached it ({figures})"
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


def explain(m: dict, c: dict, effect, w: dict, recommendation: str, s: Waste) -> str:
    """One line from the figures: the strongest evidence first, then the wait and the what-if."""
    weights = s.weights.model_dump()
    measured = [k for k in COMPONENTS if c[k] is not None]
    if recommendation == "keep":
        # for a step that stays, the evidence of its value comes first
        order = sorted(measured, key=lambda k: (-weights[k] * (1 - c[k]), COMPONENTS.index(k)))
    else:
        order = sorted(measured, key=lambda k: (-weights[k] * c[k], COMPONENTS.index(k)))
    phrases = [p for p in (_phrase(k, m, c, effect, w) for k in order) if p][:4]
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
        if w["hours_saved_per_month"] is not None:
            total = f"{w['hours_saved_per_month']:,.0f} case-hours a month"
        else:
            total = f"{w['case_hours_saved']:,.0f} case-hours over the log, which spans less than a month"
        text = f"{what} saves {duration(per_case)} in {w['cases_affected']:,} cases ({total})"
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
