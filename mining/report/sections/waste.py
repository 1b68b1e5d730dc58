"""The removal-candidates section: waste scores with their explanation, what-if savings and components."""

from __future__ import annotations

import json

from mining.report import charts
from mining.report.context import Context
from mining.report.page import Column, Figure, Section, stat, table, use_result

WASTE_COLUMNS = [
    Column("rank", "#", "int"),
    Column("activity", "activity"),
    Column("recommendation", "recommendation"),
    Column("scope", "scope"),
    Column("waste_score", "waste score", "num"),
    Column("whatif_cases_affected", "cases affected", "int"),
    Column("whatif_mean_throughput_s_saved", "throughput saved per case", "dur"),
    Column("whatif_case_hours_saved", "case-hours saved over the log", "int"),
    Column("whatif_hours_saved_per_month", "case-hours saved / month (logs of a month or more)", "int"),
    Column("whatif_mots_saved_per_case", "moments saved per case", "num"),
    Column("whatif_variants_before", "variants before", "int"),
    Column("whatif_variants_after", "variants after", "int"),
]


def _why(r: dict) -> str:
    """The explanation of a waste row: the rule that decided it, its evidence, what was not measurable."""
    text = (r.get("explanation") or "").rstrip(". ")
    reason = r.get("reason")
    merge = f" Merge into: {r['merge_into']}." if r.get("merge_into") else ""
    step = r.get("functional_step")
    unit = f" Judged as one step: {step}." if step and step != r.get("activity") else ""
    gaps = json.loads(r.get("not_measurable") or "{}")
    missing = (" Not measurable: " + "; ".join(f"{k}: {v}" for k, v in sorted(gaps.items())) + ".") if gaps else ""
    head = f"{text}. " if text else ""
    # The evidence is a sentence: in the full-width line under the row, not squeezed into a column.
    evidence = f"Evidence: {r['evidence'].rstrip('. ')}. " if r.get("evidence") else ""
    if not reason:
        return evidence + text
    return f"{evidence}{head}Recommendation '{r['recommendation']}' because {reason}.{merge}{unit}{missing}"


def waste_section(ctx: Context) -> Section:
    """Removal candidates with explanations, what-if savings and the score components."""
    figure = Figure("removal-candidates", "Removal candidates")
    waste = ctx.get("waste")
    components = Figure("waste-components", "What the waste score is made of")
    if use_result(figure, waste):
        candidates = [r for r in waste.rows if r["recommendation"] != "keep"]
        figure.stats = [
            stat(
                "removal_candidates", "steps to remove", sum(1 for r in candidates if r["recommendation"] == "remove")
            ),
            stat(
                "changes",
                "steps to fix or review",
                sum(1 for r in candidates if r["recommendation"] != "remove"),
            ),
            stat(
                "hours_saved",
                "case-hours saved over the log by removing them",
                sum(r["whatif_case_hours_saved"] or 0 for r in candidates if r["recommendation"] == "remove"),
            ),
        ]
        if candidates:
            figure.tables.append(
                table(
                    "removal-candidates",
                    candidates,
                    WASTE_COLUMNS,
                    note="'remove' rests on outcome evidence within the cases that reached the step and a time saving; "
                    "'review' on structure only; 'fix' on repeats. What-if: the log replayed without the step, its "
                    "hand-off or its redo cycles (scope); per month only for logs that span a month or more.",
                    detail=_why,
                    detail_label="why",
                )
            )
            chart = charts.savings_chart(candidates)
            if chart:
                figure.svg, figure.caption = chart.svg, chart.description
        else:
            figure.empty = "No activity is recommended for removal or change."
        components.sources.append(waste.source)
        chart = charts.waste_chart(waste.rows)
        components.svg, components.caption = chart.svg, chart.description
        components.tables.append(
            table(
                "waste-all",
                waste.rows,
                [*WASTE_COLUMNS[:4], *(Column(key, label, "num") for key, label in charts.COMPONENTS)],
                note="Every activity, most wasteful first; components from 0 (fine) to 1 (wasteful), n/a = not measurable.",
                detail=_why,
                detail_label="why",
            )
        )
    else:
        components.missing = list(figure.missing)
        components.sources.append(waste.source)
    return Section(
        "waste",
        "Removal candidates",
        "Steps that add little for the customer and cost time, effort or hand-offs, scored and ranked with the evidence. "
        "Remove what adds little; make the remaining moments of truth excellent.",
        [figure, components],
    )
