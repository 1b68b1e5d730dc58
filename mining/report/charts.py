"""The report's charts: Vega-Lite specifications built with Altair, rendered to SVG offline.

vl-convert (a pinned wheel with Vega, Vega-Lite and a JavaScript engine inside) turns each
specification into static SVG in this process, so the report needs no chart library, no
JavaScript and no network to show the charts, and the same data gives the same SVG. Each function
takes the rows of one report query (plain dicts) and returns a ``Chart``.
"""

from __future__ import annotations

import math
import re
import resource
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import altair as alt
import vl_convert as vlc

WIDTH = 640
# The JavaScript engine inside vl-convert (V8) reserves 64-80 GB of address space for its heap cage
# when it starts, and under a lower address-space limit (``ulimit -v``, RLIMIT_AS) it aborts the
# whole process: no exception to catch. Below this limit the charts are left out, and said so.
ENGINE_ADDRESS_SPACE = 96 * 2**30
CHART_FONT = "Helvetica, Arial, 'Liberation Sans', 'Nimbus Sans', sans-serif"
OUTCOME_COLOURS = {
    "success": "#15803D",
    "declined": "#B45309",
    "dropout": "#B91C1C",
    "open": "#6B7280",
    "other": "#7C3AED",
}
EFFECT_COLOURS = {"vicious": "#B91C1C", "damping": "#15803D", "none": "#6B7280"}
KIND_COLOURS = {"poor_score": "#B91C1C", "long_wait": "#B45309", "repeated": "#7C3AED", "attribute": "#0E7490"}
COMPONENTS = (
    ("c_no_decision", "no decision"),
    ("c_optional", "optional"),
    ("c_no_outcome_effect", "no outcome effect"),
    ("c_rework", "rework"),
    ("c_redundancy", "redundancy"),
    ("c_delay", "delay"),
    ("c_handoff", "hand-off"),
    ("c_customer_effort", "customer effort"),
)


@dataclass(frozen=True)
class Chart:
    """A rendered chart: its SVG, its Vega-Lite specification (JSON-able) and a text alternative."""

    svg: str
    spec: dict
    description: str


@cache
def _vl_version() -> str:
    """The Vega-Lite version of Altair's schema, as vl-convert names it ('6.4')."""
    wanted = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    known = vlc.get_vegalite_versions()
    return wanted if wanted in known else known[-1]


def render(chart: alt.TopLevelMixin, key: str, description: str) -> Chart:
    """Render ``chart`` to SVG; element ids get the prefix ``key`` so charts can share a page."""
    # vl-convert compiles the spec and fails on an invalid one, so Altair's slow jsonschema check is skipped.
    spec = chart.to_dict(validate=False)
    if not engine_can_start():
        return Chart(svg="", spec=spec, description=f"{description} {NOT_DRAWN}")
    svg = vlc.vegalite_to_svg(spec, vl_version=_vl_version())
    # Vega numbers gradients and clip paths with a counter that lives as long as the JavaScript
    # engine (gradient_0, then gradient_1 on the next call): renumber them by order of appearance.
    ids: dict[str, str] = {}
    for found in re.findall(r'(?<![\w-])id="([^"]+)"', svg):
        ids.setdefault(found, f"{key}-{len(ids) + 1}")
    svg = re.sub(r'(?<![\w-])id="([^"]+)"', lambda m: f'id="{ids[m.group(1)]}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{ids.get(m.group(1), m.group(1))})", svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{ids.get(m.group(1), m.group(1))}"', svg)
    svg = svg.replace('class="marks"', f'class="marks chart" role="img" aria-label="{_attr(description)}"', 1)
    return Chart(svg=svg, spec=spec, description=description)


NOT_DRAWN = (
    "(Chart not drawn: the process runs under an address-space limit (ulimit -v) below "
    f"{ENGINE_ADDRESS_SPACE // 2**30} GB, which the chart engine needs to start; the figures are in the tables.)"
)


def engine_can_start() -> bool:
    """Whether vl-convert's engine can start under this process's address-space limit (see ENGINE_ADDRESS_SPACE)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    return soft == resource.RLIM_INFINITY or soft >= ENGINE_ADDRESS_SPACE


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _clean(rows: Sequence[dict], keys: Sequence[str]) -> list[dict]:
    """Only the keys a chart uses, with non-finite numbers as None (JSON has no NaN)."""
    out = []
    for r in rows:
        item = {}
        for k in keys:
            v = r.get(k)
            if isinstance(v, float) and not math.isfinite(v):
                v = None
            item[k] = v
        out.append(item)
    return out


def _config(chart):
    return (
        # Arial-metric fonts only: vl-convert measures labels with Helvetica/Arial metrics, and a
        # wider font (DejaVu Sans, Linux's default sans-serif) would run labels off the chart.
        chart.configure(font=CHART_FONT)
        .configure_axis(labelFontSize=11, titleFontSize=12, labelLimit=260)
        .configure_legend(labelFontSize=11, titleFontSize=12, orient="bottom", symbolOpacity=1, symbolStrokeWidth=3)
        .configure_view(stroke=None)
    )


def _scale(colours: dict[str, str], present: Sequence[str]) -> alt.Scale:
    domain = [k for k in colours if k in present] + sorted(set(present) - set(colours))
    return alt.Scale(domain=domain, range=[colours.get(k, "#374151") for k in domain])


def running_score_chart(curve: Sequence[dict]) -> Chart:
    """Running score after the n-th moment of truth: 10th-90th percentile band, median and mean."""
    data = alt.Data(
        values=_clean(
            curve,
            [
                "mot_seq",
                "n_cases",
                "mean_running_score",
                "p10_running_score",
                "median_running_score",
                "p90_running_score",
            ],
        )
    )
    base = alt.Chart(data).encode(
        x=alt.X("mot_seq:Q", title="n-th moment of truth of the case", axis=alt.Axis(tickMinStep=1))
    )
    band = base.mark_area(opacity=0.25, color="#2563EB").encode(
        y=alt.Y("p10_running_score:Q", title="running score"), y2="p90_running_score:Q"
    )
    median = base.mark_line(color="#1E3A8A", strokeDash=[5, 3]).encode(y="median_running_score:Q")
    mean = base.mark_line(color="#1D4ED8", point=len(curve) <= 40).encode(
        y="mean_running_score:Q",
        tooltip=["mot_seq:Q", "n_cases:Q", alt.Tooltip("mean_running_score:Q", format=".2f")],
    )
    chart = _config((band + median + mean).properties(width=WIDTH, height=260))
    first, last = curve[0], curve[-1]
    text = (
        f"Mean running score from {first['mean_running_score']:.2f} after the first moment of truth to "
        f"{last['mean_running_score']:.2f} after moment {last['mot_seq']} ({last['n_cases']:,} "
        f"{'case gets' if last['n_cases'] == 1 else 'cases get'} that far); "
        "band: 10th to 90th percentile, dashed: median."
    )
    return render(chart, "running-score", text)


def trajectories_chart(samples: Sequence[dict], by_outcome: Sequence[dict]) -> Chart:
    """Sampled case trajectories (thin) and the mean trajectory per outcome (thick), coloured by outcome."""
    outcomes = sorted({r["outcome"] for r in [*samples, *by_outcome]})
    colour = alt.Color("outcome:N", title="case outcome", scale=_scale(OUTCOME_COLOURS, outcomes))
    x = alt.X("mot_seq:Q", title="n-th moment of truth of the case", axis=alt.Axis(tickMinStep=1))
    thin = (
        alt.Chart(alt.Data(values=_clean(samples, ["case_id", "outcome", "mot_seq", "running_score"])))
        .mark_line(opacity=0.22, strokeWidth=1)
        .encode(x=x, y=alt.Y("running_score:Q", title="running score"), color=colour, detail="case_id:N")
    )
    enough = [r for r in by_outcome if r["n_cases"] >= 10]
    thick = (
        alt.Chart(alt.Data(values=_clean(enough, ["outcome", "mot_seq", "n_cases", "mean_running_score"])))
        .mark_line(strokeWidth=3.5)
        .encode(x=x, y="mean_running_score:Q", color=colour)
    )
    chart = _config((thin + thick).properties(width=WIDTH, height=280))
    text = "Running-score trajectories of sampled cases (thin) and the mean per outcome (thick, points with at least 10 cases)."
    return render(chart, "trajectories", text)


def knock_on_chart(rows: Sequence[dict], limit: int = 15) -> Chart | None:
    """P(next poor | this poor) with its interval against the base rate, per pair of consecutive moments."""
    pairs = [
        dict(r, pair=f"{r['from_activity']} → {r['to_activity']}")
        for r in rows
        if r["from_activity"] != "*" and r["p_poor_given_poor"] is not None
    ]
    pairs = sorted(pairs, key=lambda r: (r["effect"] != "vicious", -(r["lift"] or 0), r["pair"]))[:limit]
    if not pairs:
        return None
    order = [r["pair"] for r in pairs]
    data = alt.Data(
        values=_clean(
            pairs, ["pair", "n", "n_from_poor", "p_poor_given_poor", "ci_low", "ci_high", "base_rate", "lift", "effect"]
        )
    )
    y = alt.Y("pair:N", sort=order, title=None)
    colour = alt.Color("effect:N", title="effect", scale=_scale(EFFECT_COLOURS, sorted({r["effect"] for r in pairs})))
    ci = (
        alt.Chart(data)
        .mark_rule(strokeWidth=2)
        .encode(
            y=y,
            x=alt.X("ci_low:Q", title="probability the next moment is poor", axis=alt.Axis(format="%")),
            x2="ci_high:Q",
            color=colour,
        )
    )
    point = (
        alt.Chart(data)
        .mark_point(filled=True, size=70)
        .encode(
            y=y,
            x="p_poor_given_poor:Q",
            color=colour,
            tooltip=[
                "pair:N",
                "n:Q",
                "n_from_poor:Q",
                alt.Tooltip("p_poor_given_poor:Q", format=".1%"),
                alt.Tooltip("base_rate:Q", format=".1%"),
            ],
        )
    )
    base = alt.Chart(data).mark_tick(color="#111827", thickness=2, size=16).encode(y=y, x="base_rate:Q")
    chart = _config((ci + point + base).properties(width=WIDTH - 220, height=max(120, 22 * len(pairs))))
    text = "Per pair of consecutive moments: P(next poor | this poor) with its interval (dot and line) against the base rate (black tick)."
    return render(chart, "knock-on", text)


# Few, short ticks ("2k", not "2,000") that skip one rather than run together (issue 19).
CASES_AXIS = alt.Axis(format="~s", tickCount=5, labelOverlap="greedy")


def funnel_chart(rows: Sequence[dict]) -> Chart:
    """Cases reaching each moment of truth (bar) and drop-outs whose last moment it was (red bar)."""
    order = [r["activity"] for r in rows]
    data = alt.Data(values=_clean(rows, ["step", "activity", "n_cases_reached", "n_left_after", "leave_rate"]))
    y = alt.Y("activity:N", sort=order, title=None)
    reached = (
        alt.Chart(data)
        .mark_bar(color="#BFDBFE")
        .encode(
            y=y,
            x=alt.X("n_cases_reached:Q", title="cases", axis=CASES_AXIS),
            tooltip=["step:Q", "activity:N", "n_cases_reached:Q", "n_left_after:Q"],
        )
    )
    left = (
        alt.Chart(data)
        .mark_bar(color="#B91C1C", height=8)
        .encode(y=y, x=alt.X("n_left_after:Q", title="cases", axis=CASES_AXIS))
    )
    labels = (
        alt.Chart(data)
        .mark_text(align="left", dx=4, fontSize=10, color="#B91C1C")
        .encode(y=y, x="n_cases_reached:Q", text=alt.Text("n_left_after:Q", format=","))
        .transform_filter("datum.n_left_after > 0")
    )
    chart = _config((reached + left + labels).properties(width=WIDTH - 220, height=max(120, 24 * len(rows))))
    text = "Cases reaching each moment of truth in journey order (light bars) and drop-out cases whose last moment before leaving it was (red bars, counts at the right)."
    return render(chart, "funnel", text)


def causes_chart(rows: Sequence[dict], limit: int = 15) -> Chart:
    """Lift of each upstream factor on drop-out, with its interval and the no-effect line at 1."""
    top = list(rows)[:limit]
    order = [r["factor"] for r in top]
    data = alt.Data(
        values=_clean(
            top, ["rank", "factor", "factor_kind", "n_cases", "n_dropout", "lift", "ci_low", "ci_high", "confidence"]
        )
    )
    y = alt.Y("factor:N", sort=order, title=None)
    colour = alt.Color(
        "factor_kind:N", title="factor", scale=_scale(KIND_COLOURS, sorted({r["factor_kind"] for r in top}))
    )
    ci = (
        alt.Chart(data)
        .mark_rule(strokeWidth=2)
        .encode(
            y=y,
            x=alt.X("ci_low:Q", title="lift (drop-out rate with the factor / overall rate)"),
            x2="ci_high:Q",
            color=colour,
        )
    )
    point = (
        alt.Chart(data)
        .mark_point(filled=True, size=70)
        .encode(
            y=y,
            x="lift:Q",
            color=colour,
            tooltip=["rank:Q", "factor:N", "n_cases:Q", "n_dropout:Q", alt.Tooltip("lift:Q", format=".2f")],
        )
    )
    one = alt.Chart(alt.Data(values=[{"x": 1}])).mark_rule(color="#111827", strokeDash=[4, 3]).encode(x="x:Q")
    chart = _config((one + ci + point).properties(width=WIDTH - 260, height=max(120, 22 * len(top))))
    text = "Upstream factors over-represented in drop-out cases: lift with its interval; the dashed line at 1 is no effect."
    return render(chart, "causes", text)


def waste_chart(rows: Sequence[dict], limit: int = 15) -> Chart:
    """The waste components of the highest-ranked activities as a heat map (1 = wasteful)."""
    top = list(rows)[:limit]
    order = [r["activity"] for r in top]
    cells = []
    for r in top:
        for key, label in COMPONENTS:
            value = r.get(key)
            cells.append(
                {
                    "activity": r["activity"],
                    "component": label,
                    "value": value,
                    "measured": "yes" if value is not None else "no",
                }
            )
    data = alt.Data(values=_clean(cells, ["activity", "component", "value", "measured"]))
    base = alt.Chart(data).encode(
        y=alt.Y("activity:N", sort=order, title=None),
        x=alt.X(
            "component:N", sort=[c for _, c in COMPONENTS], title=None, axis=alt.Axis(labelAngle=-30, orient="top")
        ),
    )
    rect = base.mark_rect(stroke="#FFFFFF").encode(
        color=alt.Color(
            "value:Q", title="component (1 = wasteful)", scale=alt.Scale(scheme="orangered", domain=[0, 1])
        ),
        tooltip=["activity:N", "component:N", alt.Tooltip("value:Q", format=".2f")],
    )
    unmeasured = (
        base.mark_text(fontSize=10, color="#6B7280")
        .encode(text=alt.value("n/a"))
        .transform_filter("datum.value == null")
    )
    chart = _config((rect + unmeasured).properties(width=8 * 56, height=max(120, 22 * len(top))))
    text = "Waste components of the highest-ranked activities (darker = more wasteful; n/a = not measurable for that step)."
    return render(chart, "waste", text)


def savings_chart(rows: Sequence[dict]) -> Chart | None:
    """Case-hours of throughput time saved per month if each removal candidate were removed."""
    picked = [
        r
        for r in rows
        if r.get("recommendation") not in (None, "keep") and r.get("whatif_hours_saved_per_month") is not None
    ]
    if not picked:
        return None
    picked = sorted(picked, key=lambda r: (-r["whatif_hours_saved_per_month"], r["activity"]))
    order = [r["activity"] for r in picked]
    data = alt.Data(
        values=_clean(picked, ["activity", "recommendation", "whatif_hours_saved_per_month", "whatif_cases_affected"])
    )
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("activity:N", sort=order, title=None),
            x=alt.X("whatif_hours_saved_per_month:Q", title="case-hours of throughput time saved per month"),
            color=alt.Color("recommendation:N", title="recommendation", scale=alt.Scale(scheme="set2")),
            tooltip=[
                "activity:N",
                "recommendation:N",
                alt.Tooltip("whatif_hours_saved_per_month:Q", format=",.0f"),
                "whatif_cases_affected:Q",
            ],
        )
        .properties(width=WIDTH - 240, height=max(80, 22 * len(picked)))
    )
    text = "What-if removal of each candidate: case-hours of throughput time saved per month."
    return render(_config(chart), "savings", text)
