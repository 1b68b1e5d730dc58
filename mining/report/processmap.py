"""The process map: the directly-follows graph as an SVG laid out by Graphviz dot.

``process_map(activities, edges, starts, ends, ...)`` takes plain rows (the report reads them from
the warehouse, see mining/report/data.py; the explorer from its filtered counts) and returns the
SVG with the counts its caption needs. Two views as in Disco: ``frequency`` (boxes and arcs carry
how often, arc width grows with it) and ``performance`` (boxes carry service time, arcs waiting
time by ``measure``; width and colour grow with the time). The sliders ``activity_share`` and
``path_share`` choose what is drawn (mining/report/mapfilter.py). The activity slider drops the
arcs of the activities it hides; a caller that wants Disco's exact semantics (arcs re-derived from
the log without those activities) passes that log's counts and keeps ``activity_share=1``. Moments
of truth get a thick blue outline, waste a heat fill.

The SVG's conventions, for pages that attach clicks (tests/test_report_map.py checks them):
every box is a ``<g class="node">`` (plus ``mot`` for a moment of truth) with ``data-activity``
(and ``data-mot``, ``data-frequency``, ``data-waste`` when scored);
the start and end circles are ``<g class="node start">`` / ``<g class="node end">``; every arc is
a ``<g class="arc">`` with ``data-source`` and ``data-target`` (the empty string for the start
and end circles; those arcs also carry ``from-start`` / ``to-end``) and ``data-frequency``. Ids are ``pm-a<i>``,
``pm-e<i>``, ``pm-start`` and ``pm-end``; each element's ``<title>`` is its tooltip. The ``<svg>`` carries
``class="process-map"``, ``data-view`` and ``data-measure``; its width and height are CSS px.
"""

from __future__ import annotations

import math
import re
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

from mining.report.dot import quote, run_dot
from mining.report.mapfilter import keep_activities, keep_paths

VIEWS = ("frequency", "performance")
MEASURES = ("mean", "median", "max")
START, END = "\x01start", "\x01end"  # cannot clash with an activity name
WRAP = 20  # characters per line of an activity name: names wrap, never get cut
NAME_PT, STAT_PT, ARC_PT = 13, 11, 11  # font sizes; 1 SVG unit = 1 CSS px at natural size
MOT_STROKE = "#0D47A1"
PLAIN_STROKE = "#7A7A7A"
NEUTRAL_FILL = "#F3F4F6"
EDGE_COLOUR = "#6B7280"
TERMINAL_COLOUR = "#9CA3AF"
# Heat scale for waste (light yellow -> dark red), interpolated in RGB between these stops.
HEAT = ("#FFF7D6", "#FDD49E", "#FC8D59", "#D7301F", "#7F0000")
# Arc colours in the performance view, from quick (grey) to slow (dark red).
SLOW = ("#9CA3AF", "#F59E0B", "#B91C1C")
SVG_NS = "http://www.w3.org/2000/svg"
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")


@dataclass(frozen=True)
class MapActivity:
    """One activity of the map with what is known about it (None: not known or not measurable)."""

    activity: str
    frequency: int
    is_moment_of_truth: bool | None = None  # None: not classified (no moments analysis)
    channel: str | None = None
    waste_score: float | None = None  # None: no waste analysis
    waste_rank: int | None = None
    recommendation: str | None = None
    cases: int | None = None
    service_mean_s: float | None = None  # None: no start/complete lifecycle to measure service
    service_median_s: float | None = None
    service_max_s: float | None = None


@dataclass(frozen=True)
class MapEdge:
    """One directly-follows arc with its waiting times in seconds."""

    source: str
    target: str
    frequency: int
    median_s: float | None = None
    cases: int | None = None
    mean_s: float | None = None
    max_s: float | None = None


@dataclass(frozen=True)
class ProcessMap:
    """The SVG and what it shows (for the caption)."""

    svg: str
    n_activities: int
    n_activities_shown: int
    n_edges: int
    n_edges_shown: int
    transitions: int
    transitions_shown: int
    max_waste: float | None


def heat(value: float | None, top: float = 1.0) -> str:
    """The heat colour of a waste score on a scale from 0 to ``top`` (neutral grey when unknown).

    Waste scores lie in [0, 1], so the map uses that absolute scale: a process with little waste
    looks pale, instead of its least bad step looking alarming.
    """
    if value is None:
        return NEUTRAL_FILL
    return _scale(HEAT, 0.0 if top <= 0 else value / top)


def _scale(stops: Sequence[str], t: float) -> str:
    t = min(max(t, 0.0), 1.0)
    span = t * (len(stops) - 1)
    i = min(int(span), len(stops) - 2)
    f = span - i
    a, b = _rgb(stops[i]), _rgb(stops[i + 1])
    return "#" + "".join(f"{round(x + (y - x) * f):02X}" for x, y in zip(a, b, strict=True))


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def text_colour(fill: str) -> str:
    """Black or white, whichever reads better on ``fill`` (relative luminance)."""
    r, g, b = (c / 255 for c in _rgb(fill))
    return "#FFFFFF" if 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.45 else "#111827"


def duration(seconds: float | None) -> str:
    """A wait or service time for a label: seconds to days, "n/a" when not measurable."""
    if seconds is None:
        return "n/a"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _fmt(n: float) -> str:
    return f"{n:,.0f}"


def process_map(
    activities: Sequence[MapActivity],
    edges: Sequence[MapEdge],
    starts: Mapping[str, int],
    ends: Mapping[str, int],
    max_edges: int | None = None,
    *,
    view: str = "frequency",
    measure: str = "mean",
    activity_share: float = 1.0,
    path_share: float = 1.0,
) -> ProcessMap:
    """The process map as SVG; ``starts``/``ends`` are case counts per first/last activity.

    ``max_edges`` caps the arcs between activities beyond the connected backbone (None: no cap).
    """
    if view not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(VIEWS)}, not {view!r}")
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {', '.join(MEASURES)}, not {measure!r}")
    names = {a.activity for a in activities}
    edges = [e for e in edges if e.source in names and e.target in names]
    kept = keep_activities({a.activity: a.frequency for a in activities}, activity_share)
    acts = sorted((a for a in activities if a.activity in kept), key=lambda a: (-a.frequency, a.activity))
    weights = {(e.source, e.target): e.frequency for e in edges if e.source in kept and e.target in kept}
    weights.update({(START, a): n for a, n in starts.items() if a in kept and n})
    weights.update({(a, END): n for a, n in ends.items() if a in kept and n})
    arcs = keep_paths(weights, START, END, path_share, limit=max_edges)
    shown = sorted((e for e in edges if (e.source, e.target) in arcs), key=lambda e: (-e.frequency, e.source, e.target))
    terminals = sorted((a for a in arcs if START in a or END in a), key=lambda a: (a[0] != START, -weights[a], a))
    acts = _flow_order(acts, arcs, weights)
    top = max((a.waste_score for a in activities if a.waste_score is not None), default=None)
    source = _dot(acts, shown, [(s, t, weights[s, t]) for s, t in terminals], view, measure)
    svg = _finish(run_dot(source), acts, shown, terminals, weights, view, measure)
    return ProcessMap(
        svg=svg,
        n_activities=len(activities),
        n_activities_shown=len(acts),
        n_edges=len(edges),
        n_edges_shown=len(shown),
        transitions=sum(e.frequency for e in edges),
        transitions_shown=sum(e.frequency for e in shown),
        max_waste=top,
    )


def _flow_order(
    acts: Sequence[MapActivity], arcs: set[tuple[str, str]], weights: Mapping[tuple[str, str], int]
) -> list[MapActivity]:
    """The activities in the order a depth-first walk from the start meets them, heaviest arc first.

    dot breaks cycles by a depth-first search in the order nodes are declared: declared in flow
    order, the arcs it turns upwards are the returns (rework), not the main flow into a busy step.
    """
    out: dict[str, list[str]] = {}
    for s, t in sorted(arcs, key=lambda a: (-weights[a], a)):
        out.setdefault(s, []).append(t)
    seen: list[str] = []
    stack = [START]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.append(node)
        stack.extend(reversed([t for t in out.get(node, []) if t not in seen]))
    rank = {name: i for i, name in enumerate(seen)}
    return sorted(acts, key=lambda a: (rank.get(a.activity, len(rank)), -a.frequency, a.activity))


def _node_label(a: MapActivity, view: str, measure: str) -> str:
    lines = textwrap.wrap(a.activity, WRAP, break_long_words=True, break_on_hyphens=False) or [""]
    if view == "frequency":
        stat = _fmt(a.frequency) + (f" · {_fmt(a.cases)} cases" if a.cases is not None else "")
    else:
        stat = f"{measure} service {duration(getattr(a, f'service_{measure}_s'))}"
    if a.is_moment_of_truth:
        stat = "MOT · " + stat
    name = "<BR/>".join(escape(line) for line in lines)
    return f'<<B>{name}</B><BR/><FONT POINT-SIZE="{STAT_PT}">{escape(stat)}</FONT>>'


def _dot(
    acts: Sequence[MapActivity],
    shown: Sequence[MapEdge],
    terminals: Sequence[tuple[str, str, int]],
    view: str,
    measure: str,
) -> str:
    """The DOT source: ids and classes on every element so the SVG can be found and clicked."""
    ids = {a.activity: f"a{i}" for i, a in enumerate(acts)} | {START: "start", END: "end"}
    heaviest = max([e.frequency for e in shown] + [n for *_, n in terminals] + [1])
    times = [getattr(e, f"{measure}_s") for e in shown]
    slowest = max([t for t in times if t is not None] + [0.0])
    out = [
        "digraph map {",
        'graph [rankdir=TB, nodesep=0.2, ranksep=0.4, pad=0.15, bgcolor="transparent", fontname="Helvetica"];',
        f'node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize={NAME_PT}, margin="0.14,0.06"];',
        f'edge [fontname="Helvetica", fontsize={ARC_PT}, arrowsize=0.7, fontcolor="#374151"];',
        f'start [id="pm-start", class="start", shape=circle, style=filled, fillcolor="#DCFCE7", color="#15803D", '
        f'penwidth=2, label="start", fontsize={STAT_PT}, width=0.55, fixedsize=true];',
        f'end [id="pm-end", class="end", shape=doublecircle, style=filled, fillcolor="#FEE2E2", color="#B91C1C", '
        f'penwidth=1.5, label="end", fontsize={STAT_PT}, width=0.5, fixedsize=true];',
        "{rank=source; start;} {rank=sink; end;}",
    ]
    for a in acts:
        fill = heat(a.waste_score)
        mot = bool(a.is_moment_of_truth)
        out.append(
            f'{ids[a.activity]} [id="pm-{ids[a.activity]}", class="{"mot" if mot else "activity"}", '
            f'label={_node_label(a, view, measure)}, fillcolor="{fill}", fontcolor="{text_colour(fill)}", '
            f'color="{MOT_STROKE if mot else PLAIN_STROKE}", penwidth={3.5 if mot else 1.2}];'
        )
    for i, e in enumerate(shown):
        weight = 1 + round(9 * e.frequency / heaviest)  # heavy arcs are kept short and straight
        if view == "frequency":
            # The cases only where they differ: "1,079 / 1,079 cases" on every plain step is noise.
            repeated = e.cases is not None and e.cases != e.frequency
            label = _fmt(e.frequency) + (f"\n{_fmt(e.cases)} cases" if repeated else "")
            width, colour, style = 1 + 5 * math.sqrt(e.frequency / heaviest), EDGE_COLOUR, "solid"
        else:
            t = getattr(e, f"{measure}_s")
            label = duration(t)
            share = t / slowest if t is not None and slowest > 0 else 0.0
            width, colour = 1 + 5 * math.sqrt(share), _scale(SLOW, share)
            style = "dashed" if t is None else "solid"
        out.append(
            f'{ids[e.source]} -> {ids[e.target]} [id="pm-e{i}", class="arc", label={quote(label)}, '
            f'penwidth={width:.2f}, color="{colour}", style={style}, weight={weight}];'
        )
    for j, (s, t, n) in enumerate(terminals, start=len(shown)):
        out.append(
            f'{ids[s]} -> {ids[t]} [id="pm-e{j}", class="arc", label={quote(_fmt(n))}, style=dashed, '
            f'penwidth={1 + 3 * math.sqrt(n / heaviest):.2f}, color="{TERMINAL_COLOUR}"];'
        )
    out.append("}")
    return "\n".join(out) + "\n"


def _node_title(a: MapActivity) -> str:
    parts = [a.activity, f"{_fmt(a.frequency)} events"]
    if a.cases is not None:
        parts.append(f"{_fmt(a.cases)} cases")
    if a.is_moment_of_truth is not None:
        mot = a.is_moment_of_truth
        parts.append("moment of truth" + (f" ({a.channel})" if a.channel else "") if mot else "not a moment of truth")
    if a.waste_score is not None:
        rank = f", rank {a.waste_rank}" if a.waste_rank is not None else ""
        parts.append(f"waste score {a.waste_score:.2f}{rank}" + (f": {a.recommendation}" if a.recommendation else ""))
    service = [a.service_mean_s, a.service_median_s, a.service_max_s]
    parts.append("service " + " / ".join(duration(s) for s in service) + " (mean / median / max)")
    return " · ".join(parts)


def _edge_title(e: MapEdge) -> str:
    cases = f", {_fmt(e.cases)} cases" if e.cases is not None else ""
    waits = " / ".join(duration(s) for s in (e.mean_s, e.median_s, e.max_s))
    return f"{e.source} → {e.target}: {_fmt(e.frequency)} times{cases} · wait {waits} (mean / median / max)"


def _finish(
    svg: str,
    acts: Sequence[MapActivity],
    shown: Sequence[MapEdge],
    terminals: Sequence[tuple[str, str]],
    weights: Mapping[tuple[str, str], int],
    view: str,
    measure: str,
) -> str:
    """dot's SVG with data attributes and tooltips added, in CSS px, without dot's version comment.

    Parsing and writing it again with ElementTree drops the comments (dot names its version in
    one) and the DOCTYPE, so the bytes depend on the input only.
    """
    root = ET.fromstring(svg.encode("utf-8"))
    ns = {"s": SVG_NS}
    # dot measures in points; the same numbers as CSS px make font sizes read as written.
    _, _, w, h = root.get("viewBox").split()
    root.set("width", str(round(float(w))))
    root.set("height", str(round(float(h))))
    root.set("class", "process-map")
    root.set("role", "img")
    root.set("aria-label", "Process map")
    root.set("data-view", view)
    root.set("data-measure", measure)
    nodes: dict[str, tuple[dict[str, str], str]] = {
        "pm-start": ({"class": "node start"}, "start: where cases begin"),
        "pm-end": ({"class": "node end"}, "end: where cases finish"),
    }
    for i, a in enumerate(acts):
        attrs = {
            "class": "node mot" if a.is_moment_of_truth else "node",
            "data-activity": a.activity,
            "data-mot": str(bool(a.is_moment_of_truth)).lower(),
            "data-frequency": str(a.frequency),
        }
        if a.waste_score is not None:
            attrs["data-waste"] = f"{a.waste_score:.6g}"
        nodes[f"pm-a{i}"] = (attrs, _node_title(a))
    for i, e in enumerate(shown):
        attrs = {"class": "arc", "data-source": e.source, "data-target": e.target, "data-frequency": str(e.frequency)}
        nodes[f"pm-e{i}"] = (attrs, _edge_title(e))
    for j, (s, t) in enumerate(terminals, start=len(shown)):
        n = weights[s, t]
        if s == START:
            attrs, title = (
                {"class": "arc from-start", "data-source": "", "data-target": t},
                f"{_fmt(n)} cases start with {t}",
            )
        else:
            attrs, title = {"class": "arc to-end", "data-source": s, "data-target": ""}, f"{_fmt(n)} cases end with {s}"
        nodes[f"pm-e{j}"] = ({**attrs, "data-frequency": str(n)}, title)
    for g in root.iter(f"{{{SVG_NS}}}g"):
        found = nodes.get(g.get("id", ""))
        if found is None:
            continue
        attrs, title = found
        if "arc" in attrs["class"]:
            for label in g.iter(f"{{{SVG_NS}}}text"):  # a white halo keeps a label legible where arcs cross it
                label.attrib.update({"stroke": "#FFFFFF", "stroke-width": "3", "paint-order": "stroke"})
        for key, value in attrs.items():
            g.set(key, value)
        element = g.find("s:title", ns)
        if element is not None:
            element.text = title
    text = ET.tostring(root, encoding="unicode")
    return re.sub(r">\s+<", ">\n<", text)
