"""The knock-on section: does a poor moment of truth make the next one poor?"""

from __future__ import annotations

from mining.report import charts
from mining.report.context import Context
from mining.report.formats import fmt_pct
from mining.report.page import Column, Figure, Section, Stat, stat, table, use_result


def knock_on_section(ctx: Context) -> Section:
    """Knock-on of poor moments: overall and per pair."""
    figure = Figure("knock-on", "Does a poor moment make the next one poor?")
    result = ctx.get("knock_on")
    if use_result(figure, result):
        overall = [r for r in result.rows if r["from_activity"] == "*"]
        pairs = [r for r in result.rows if r["from_activity"] != "*"]
        if overall:
            o = overall[0]
            figure.stats = [
                stat("knock_on_p", "P(next poor | this poor)", o["p_poor_given_poor"], "pct"),
                stat("knock_on_base", "base rate P(next poor)", o["base_rate"], "pct"),
                stat("knock_on_lift", "lift", o["lift"], "num"),
                stat("knock_on_pairs", "consecutive pairs", o["n"]),
                stat("knock_on_timer_pairs", "pairs left out (timer-driven wait)", o.get("n_timer_excluded") or 0),
                Stat(
                    "knock_on_effect",
                    "effect",
                    o["effect"],
                    o["effect"],
                    f"interval {fmt_pct(o['ci_low'])}–{fmt_pct(o['ci_high'])}",
                ),
            ]
        chart = charts.knock_on_chart(result.rows)
        if chart:
            figure.svg, figure.caption = (
                chart.svg,
                chart.description + " Vicious: the interval lies above the base rate; damping: below it.",
            )
        figure.tables.append(
            table(
                "knock-on",
                pairs[:20],
                [
                    Column("from_activity", "this moment"),
                    Column("to_activity", "next moment"),
                    Column("n", "pairs", "int"),
                    Column("n_from_poor", "this poor", "int"),
                    Column("p_poor_given_poor", "P(next poor | poor)", "pct"),
                    Column("base_rate", "base rate", "pct"),
                    Column("lift", "lift", "num"),
                    Column("ci_low", "interval low", "pct"),
                    Column("ci_high", "interval high", "pct"),
                    Column("effect", "effect"),
                ],
                note=(
                    f"The 20 pairs with the strongest effect, of {len(pairs)}."
                    if len(pairs) > 20
                    else f"All {len(pairs)} pairs of consecutive moments, the strongest effect first."
                ),
            )
        )
    return Section(
        "knock-on",
        "Knock-on effects",
        "A poor moment of truth can make the next one more likely to be poor: a vicious circle. Measured as the probability "
        "that the next moment is poor after a poor one, against the base rate, with a 95% interval. Pairs are "
        "consecutive moments (activity instances); pairs whose second moment waited on a timer or the calendar are "
        "left out, and an effect on fewer than 30 pairs is 'not measurable'.",
        [figure],
    )
