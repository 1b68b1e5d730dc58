"""The drop-out section: where customers leave (the place) and what drives them out (the cause), kept apart."""

from __future__ import annotations

from mining.report import charts
from mining.report.context import Context
from mining.report.formats import fmt_pct
from mining.report.page import Column, Figure, Section, Stat, stat, table, use_result


def dropout_section(ctx: Context) -> Section:
    """Where customers leave (the place) and what drives them out (the cause), kept apart."""
    place = Figure("dropout-place", "Where customers leave: the place")
    funnel = ctx.get("funnel")
    if use_result(place, funnel):
        chart = charts.funnel_chart(funnel.rows)
        place.svg, place.caption = chart.svg, chart.description
        total = sum(r["n_left_after"] for r in funnel.rows)
        place.stats = [
            stat("dropouts", "drop-out cases", max((r["n_dropout_reached"] for r in funnel.rows), default=0))
        ]
        if total:
            top = max(funnel.rows, key=lambda r: (r["n_left_after"], -r["step"]))
            place.stats.append(
                Stat(
                    "dropout_top_place",
                    "most left after",
                    top["activity"],
                    top["activity"],
                    f"{fmt_pct(top['share_of_dropouts'])} of drop-outs",
                )
            )
        place.tables.append(
            table(
                "funnel",
                funnel.rows,
                [
                    Column("step", "step", "int"),
                    Column("activity", "moment of truth"),
                    Column("n_cases_reached", "cases reaching it", "int"),
                    Column("n_left_after", "left after it", "int"),
                    Column("share_of_dropouts", "share of drop-outs", "pct"),
                    Column("leave_rate", "leave rate", "pct"),
                    Column("n_dropout_events", "drop-out events here", "int"),
                ],
            )
        )
    places = ctx.get("dropout_places")
    if use_result(place, places, "drop-out places"):
        place.tables.append(
            table(
                "dropout-places",
                places.rows,
                [
                    Column("rank", "#", "int"),
                    Column("activity", "drop-out event"),
                    Column("after_activity", "after moment of truth"),
                    Column("n_dropout", "drop-outs", "int"),
                    Column("share", "share", "pct"),
                ],
            )
        )
    elif places.empty:
        place.empty = _sentence(places.empty)
    cause = Figure("dropout-cause", "What drives them out: upstream causes")
    causes = ctx.get("dropout_causes")
    if use_result(cause, causes):
        chart = charts.causes_chart([r for r in causes.rows if r["status"] != "too few cases"] or causes.rows)
        cause.svg, cause.caption = chart.svg, chart.description
        findings = sum(r["status"] == "finding" for r in causes.rows)
        cause.stats = [stat("dropout_findings", "upstream findings", findings)]
        cause.tables.append(
            table(
                "dropout-causes",
                causes.rows,
                [
                    Column("rank", "#", "int"),
                    Column("factor", "upstream factor"),
                    Column("n_cases", "cases with it", "int"),
                    Column("n_dropout", "of them dropped out", "int"),
                    Column("confidence", "drop-out rate with it", "pct"),
                    Column("base_rate", "overall rate", "pct"),
                    Column("lift", "lift", "num"),
                    Column("ci_low", "interval low", "num"),
                    Column("ci_high", "interval high", "num"),
                    Column("crude_lift", "lift ignoring exposure", "num"),
                    Column("support", "support", "pct"),
                    Column("status", "status"),
                ],
                note="Only events before the outcome count; population: cases that are not open. A factor at a "
                "repeated moment is compared within the cases with the same number of that moment, so that more "
                "occurrences (more chances to carry any value) do not pass for a cause. Status 'finding': the "
                "interval lies above 1 and the factor has the minimum cases; 'echo': it repeats an earlier factor or "
                "the repetition itself; 'too few cases': listed, never a finding.",
                detail=lambda r: r["note"] or "",
                detail_label="why",
            )
        )
    elif causes.empty:
        cause.empty = _sentence(causes.empty)
    if funnel.empty and not place.empty:
        place.empty = _sentence(funnel.empty)
    return Section(
        "dropout",
        "Drop-out: the place and the cause",
        "Where customers leave is often not why they leave. The first figure shows the place: the last moment of truth "
        "before leaving. The second shows likely causes: upstream moments and patterns that are over-represented in the "
        "drop-out cases. Fix the cause, not the place.",
        [place, cause],
    )


def _sentence(text: str) -> str:
    """``text`` as a sentence: capitalised, with a full stop."""
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
