"""The removal-effect section: drop-outs that would not happen without a moment, beside the lift ranking."""

from __future__ import annotations

from mining.report.context import Context
from mining.report.formats import fmt_num, fmt_pct
from mining.report.page import Column, Figure, Section, Stat, table, use_result

COLUMNS = [
    Column("rank", "#", "int"),
    Column("state", "without"),
    Column("dropouts_avoided", "drop-outs avoided", "num"),
    Column("ci_low", "interval low", "num"),
    Column("ci_high", "interval high", "num"),
    Column("share_of_dropouts", "share of drop-outs", "pct"),
    Column("n_dropout_through", "drop-outs passing it", "int"),
    Column("lift_rank", "lift rank", "int"),
    Column("lift", "lift", "num"),
]


def removal_section(ctx: Context) -> Section:
    """Per moment and per poor variant: drop-outs avoided without it, and where the lift ranking disagrees."""
    figure = Figure("dropout-removal", "Drop-outs that would not happen without a moment")
    result = ctx.get("dropout_removal")
    if use_result(figure, result):
        rows = result.rows
        measured = [r for r in rows if r["measurable"]]
        if not measured:
            figure.empty = rows[0]["reason"] or "not measurable"
        else:
            first = measured[0]
            figure.caption = (
                f"Absorbing Markov chain over {first['n_cases']:,} journeys ({first['chain']}); "
                f"P(drop-out) = {fmt_pct(first['p_dropout'])}. Intervals: bootstrap over cases."
                + (f" {first['chain_note']}." if first["chain_note"] else "")
            )
            top = next((r for r in measured if r["kind"] == "poor_variant" and r["rank"] == 1), None)
            if top is not None:
                figure.stats.append(
                    Stat(
                        "removal_top",
                        "most drop-outs avoided",
                        top["state"],
                        top["state"],
                        f"{fmt_num(top['dropouts_avoided'], 0)} of {first['n_dropout']:,} drop-outs "
                        f"({fmt_num(top['ci_low'], 0)} to {fmt_num(top['ci_high'], 0)})",
                    )
                )
        for kind, key, title in (
            ("poor_variant", "removal-poor", "without its poor variant (the moment is never poor)"),
            ("moment", "removal-moment", "without the moment (journeys skip it)"),
        ):
            part = [r for r in rows if r["kind"] == kind]
            if part:
                figure.tables.append(
                    table(
                        key,
                        part,
                        COLUMNS,
                        note=title.capitalize() + ". Lift rank: the matching factor in the upstream-cause ranking.",
                        detail=lambda r: r["agreement"] or (r["reason"] or ""),
                        detail_label="the two methods",
                    )
                )
    return Section(
        "removal",
        "Drop-out: the removal effect",
        "The lift ranking says which upstream moments are over-represented in drop-out cases. The removal effect "
        "asks a different question of the journeys: how many drop-outs would not happen if the moment were skipped, "
        "or were never poor. A factor can have a high lift yet avoid few drop-outs (rare, or explained by what "
        "follows), and a moment on every drop-out's path can avoid none. Where the two disagree, the note says why.",
        [figure],
    )
