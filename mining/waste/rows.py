"""The output rows of the waste analysis: one per functional step, its figures and judgement."""

from __future__ import annotations

import json

from mining.waste import score


def _r(x: float | None, digits: int = 6) -> float | None:
    """Round for storage: sums of doubles may differ in the last bits between runs; outputs must not."""
    return None if x is None else round(float(x), digits)


def _row(m: dict, j: score.Judgement, w: dict) -> dict:
    c, e = j.components, j.effect
    return {
        "members": m["members"],
        "functional_step": m["activity"],
        "functional_kind": m["kind"],
        "waste_score": _r(j.score, 4),
        "recommendation": j.recommendation,
        "scope": j.scope,
        "evidence": j.evidence,
        "not_measurable": json.dumps(j.not_measurable, sort_keys=True),
        "explanation": j.explanation,
        "is_moment_of_truth": m["is_moment_of_truth"],
        "reason": j.reason,
        "merge_into": j.merge_into,
        **{f"c_{k}": _r(c[k], 4) for k in score.COMPONENTS},
        "frequency": m["frequency"],
        "cases": m["cases"],
        "case_share": _r(m["case_share"]),
        "repeat_rate": _r(m["repeat_rate"]),
        "rework_rate": _r(m["rework_rate"]),
        "pingpong_rate": _r(m["pingpong_rate"]),
        "handback_rate": _r(m["handback_rate"]),
        "handoff_rate": _r(m["handoff_rate"]),
        "mean_wait_s": _r(m["mean_wait_s"], 1),
        "median_wait_s": _r(m["median_wait_s"], 1),
        "p90_wait_s": _r(m["p90_wait_s"], 1),
        "timed_steps": m["n_timed"],
        "mean_processing_s": _r(m["mean_proc_s"], 1),
        "median_processing_s": _r(m["median_proc_s"], 1),
        "throughput_share": _r(m["throughput_share"]),
        "next_entropy_bits": _r(m["next_entropy"]),
        "top_next": m["top_next"],
        "top_next_share": _r(m["top_next_share"]),
        "decides_nothing": j.decides_nothing,
        "decision_value": _r(j.decision_value) if c["no_decision"] is not None else None,
        "reference_outcome": m["reference_outcome"],
        "n_reached": m["n_reached"],
        "n_with": m["n_with"],
        "n_without": m["n_without"],
        "rate_with": _r(e.rate_with) if e else None,
        "rate_without": _r(e.rate_without) if e else None,
        "rate_diff_pp": _r(e.diff * 100, 3) if e else None,
        "rate_diff_ci_low_pp": _r(e.low * 100, 3) if e else None,
        "rate_diff_ci_high_pp": _r(e.high * 100, 3) if e else None,
        "typical_outcome": m["typical_outcome"] if c["optional"] is not None else None,
        "optional_share": _r(j.optional_share) if c["optional"] is not None else None,
        "partner": m["partner"],
        "partner_share": _r(m["partner_share"]),
        "partner_jaccard": _r(m["partner_jaccard"]),
        "partner_resource_similarity": _r(m["partner_resource_similarity"]),
        "system_share": _r(m["system_share"]),
        "batch_share": _r(m["batch_share"]),
        "unassigned_share": _r(m["unassigned_share"]),
        "mot_poor_share": _r(m["mot_poor_share"]),
        "customer_effort_share": _r(m["customer_effort_share"]),
        "whatif_scope": j.whatif_scope,
        "whatif_cases_affected": w["cases_affected"],
        "whatif_steps_removed": w["steps_removed"],
        "whatif_mean_throughput_s_saved": _r(w["mean_throughput_s_saved"], 1),
        "whatif_case_hours_saved": _r(w["case_hours_saved"], 2),
        "whatif_saving_method": w["saving_method"],
        "whatif_hours_saved_per_month": _r(w["hours_saved_per_month"], 2),
        "whatif_work_hours_saved_per_month": _r(w["work_hours_saved_per_month"], 2),
        "whatif_mots_saved_per_case": _r(w["mots_saved_per_case"]),
        "whatif_variants_before": w["variants_before"],
        "whatif_variants_after": w["variants_after"],
        "whatif_delay_s": _r(w["delay_s"], 1),
        "whatif_anchor_before": w["anchor_before"],
        "whatif_anchor_after": w["anchor_after"],
    }
