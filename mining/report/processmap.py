"""The process map: the directly-follows graph as an SVG, moments of truth outlined, waste as heat.

``process_map(activities, edges, starts, ends)`` takes plain rows (from the warehouse, see
mining/report/data.py) and returns the SVG text. Which arrows are drawn: every activity keeps its
most frequent incoming and outgoing arrow (so nothing floats), then the most frequent remaining
arrows up to ``max_edges``; the caption says how many of the arrows and transitions are shown.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

from mining.report.layout import GraphEdge, GraphNode, Layout, PlacedEdge, layout

NODE_W = 176
NODE_H = 54
TERMINAL = 30
LABEL_CHARS = 24
START = "\x01start"
MOT_STROKE = "#0D47A1"
PLAIN_STROKE = "#7A7A7A"
NEUTRAL_FILL = "#F3F4F6"
EDGE_COLOUR = "#6B7280"
BACK_EDGE_COLOUR = "#B45309"
# Heat scale for waste (light yellow -> dark red), interpolated in RGB between these stops.
HEAT = ("#FFF7D6", "#FDD49E", "#FC8D59", "#D7301F", "#7F0000")
PAD = 24


@dataclass(frozen=True)
class MapActivity:
    """One activity of the map with what the report knows about it."""

    activity: str
    frequency: int
    is_moment_of_truth: bool | None = None  # None: not classified (no moments analysis)
    channel: str | None = None
    waste_score: float | None = None  # None: no waste analysis
    waste_rank: int | None = None
    recommendation: str | None = None
    cases: int | None = None
    service_mean_s: float | None = None
    service_median_s: float | None = None
    service_max_s: float | None = None


@dataclass(frozen=True)
class MapEdge:
    """One directly-follows arrow."""

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
    n_edges: int
    n_edges_shown: int
    transitions: int
    transitions_shown: int
    max_waste: float | None
    crossings: int


def select_edges(edges: Sequence[MapEdge], max_edges: int) -> list[MapEdge]:
    """The arrows to draw: each activity's strongest in and out arrow, then the most frequent others."""

    def key(e: MapEdge) -> tuple:
        return (-e.frequency, e.source, e.target)

    ordered = sorted(edges, key=key)
    keep: set[tuple[str, str]] = set()
    best_out: dict[str, MapEdge] = {}
    best_in: dict[str, MapEdge] = {}
    for e in ordered:
        if e.source == e.target:
            continue
        best_out.setdefault(e.source, e)
        best_in.setdefault(e.target, e)
    keep.update((e.source, e.target) for e in [*best_out.values(), *best_in.values()])
    for e in ordered:
        if len(keep) >= max_edges:
            break
        keep.add((e.source, e.target))
    return [e for e in ordered if (e.source, e.target) in keep]


def heat(value: float | None, top: float = 1.0) -> str:
    """The heat colour of a waste score on a scale from 0 to ``top`` (neutral grey when unknown).

    Waste scores lie in [0, 1], so the map uses that absolute scale: a process with little waste
    looks pale, instead of its least bad step looking alarming.
    """
    if value is None:
        return NEUTRAL_FILL
    t = 0.0 if top <= 0 else min(max(value / top, 0.0), 1.0)
    span = t * (len(HEAT) - 1)
    i = min(int(span), len(HEAT) - 2)
    f = span - i
    a, b = _rgb(HEAT[i]), _rgb(HEAT[i + 1])
    return "#" + "".join(f"{round(x + (y - x) * f):02X}" for x, y in zip(a, b, strict=True))


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def text_colour(fill: str) -> str:
    """Black or white, whichever reads better on ``fill`` (relative luminance)."""
    r, g, b = (c / 255 for c in _rgb(fill))
    return "#FFFFFF" if 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.45 else "#111827"


def process_map(
    activities: Sequence[MapActivity],
    edges: Sequence[MapEdge],
    starts: Mapping[str, int],
    ends: Mapping[str, int],
    max_edges: int | None = None,
) -> ProcessMap:
    """The process map of ``activities`` and ``edges`` as SVG; ``starts``/``ends`` are case counts."""
    names = {a.activity for a in activities}
    edges = [e for e in edges if e.source in names and e.target in names]
    limit = max_edges if max_edges is not None else max(20, 2 * len(activities))
    shown = select_edges(edges, limit)
    top = max((a.waste_score for a in activities if a.waste_score is not None), default=None)
    nodes = [GraphNode(a.activity, NODE_W, NODE_H, a.frequency) for a in activities]
    # Ends are badges on their activities, not arrows to one end node: arrows from every
    # activity that can end a case down to the bottom of the map would tangle the picture.
    nodes.append(GraphNode(START, TERMINAL, TERMINAL, math.inf))
    graph_edges = [GraphEdge(e.source, e.target, e.frequency) for e in shown]
    graph_edges += [GraphEdge(START, a, n) for a, n in sorted(starts.items()) if a in names]
    placed = layout(nodes, graph_edges, first=[START])
    svg = _svg(placed, {a.activity: a for a in activities}, {(e.source, e.target): e for e in shown}, top, ends)
    return ProcessMap(
        svg=svg,
        n_edges=len(edges),
        n_edges_shown=len(shown),
        transitions=sum(e.frequency for e in edges),
        transitions_shown=sum(e.frequency for e in shown),
        max_waste=top,
        crossings=placed.crossings,
    )


def _fmt(n: float) -> str:
    return f"{n:,.0f}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _path(points: Sequence[tuple[float, float]], self_loop: bool) -> str:
    """Smooth vertical S-curves through the route points (straight lines would hide the flow)."""
    if self_loop:
        (x0, y0), (x1, _), _, (x3, y3) = points
        return f"M{x0},{y0} C{x1},{y0 - 22} {x1},{y3 + 22} {x3},{y3}"
    d = [f"M{points[0][0]},{points[0][1]}"]
    for (ax, ay), (bx, by) in zip(points, points[1:], strict=False):
        my = (ay + by) / 2
        if abs(by - ay) < 1:  # a return edge entering a node beside it
            d.append(f"L{bx},{by}")
        else:
            d.append(f"C{ax},{round(my, 1)} {bx},{round(my, 1)} {bx},{by}")
    return " ".join(d)


def _svg(
    placed: Layout,
    info: Mapping[str, MapActivity],
    shown: Mapping[tuple[str, str], MapEdge],
    top: float | None,
    ends: Mapping[str, int],
) -> str:
    width = round(placed.width + 2 * PAD + 40)
    height = round(placed.height + 2 * PAD)
    heaviest = max((e.weight for e in placed.edges if math.isfinite(e.weight)), default=1) or 1
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="process-map" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="Process map">',
        "<defs>",
        f'<marker id="pm-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{EDGE_COLOUR}"/></marker>',
        f'<marker id="pm-arrow-back" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{BACK_EDGE_COLOUR}"/></marker>',
        "</defs>",
        f'<g transform="translate({PAD},{PAD})">',
    ]
    labels = []
    for e in placed.edges:
        out.append(_edge_svg(e, heaviest, shown, labels))
    out.extend(labels)
    for name, (cx, cy) in sorted(placed.centres.items()):
        if name == START:
            out.append(_start_svg(cx, cy))
        else:
            out.append(_node_svg(info[name], cx, cy, top, ends.get(name, 0)))
    out.append("</g></svg>")
    return "\n".join(out)


def _edge_svg(e: PlacedEdge, heaviest: float, shown: Mapping[tuple[str, str], MapEdge], labels: list[str]) -> str:
    width = 1 + 5 * math.sqrt(min(e.weight, heaviest) / heaviest)
    colour = BACK_EDGE_COLOUR if e.reversed or e.self_loop else EDGE_COLOUR
    marker = "pm-arrow-back" if e.reversed or e.self_loop else "pm-arrow"
    edge = shown.get((e.source, e.target))
    src = "start" if e.source == START else e.source
    tgt = e.target
    title = f"{src} → {tgt}: {_fmt(e.weight)} " + ("times" if edge else "cases")
    if edge is not None:
        title += f", median {_duration(edge.median_s)}"
    dashed = ' stroke-dasharray="4 3"' if e.source == START else ""
    attrs = f'data-source="{escape(src)}" data-target="{escape(tgt)}" data-frequency="{e.weight:.0f}"'
    path = (
        f'<g class="pm-edge" {attrs}><title>{escape(title)}</title>'
        f'<path d="{_path(e.points, e.self_loop)}" fill="none" stroke="{colour}" stroke-width="{width:.2f}"'
        f'{dashed} marker-end="url(#{marker})" opacity="0.85"/></g>'
    )
    if edge is not None:
        lx, ly = _label_point(e)
        labels.append(
            f'<text class="pm-edge-label" x="{lx}" y="{ly}" text-anchor="middle" font-size="11" '
            f'fill="{colour}" stroke="#FFFFFF" stroke-width="3" paint-order="stroke">{_fmt(e.weight)}</text>'
        )
    return path


def _label_point(e: PlacedEdge) -> tuple[float, float]:
    pts = e.points
    if e.self_loop:
        return (pts[1][0] + 4, round((pts[1][1] + pts[2][1]) / 2 + 4, 1))
    if len(pts) > 2:
        x, y = pts[len(pts) // 2]
        return (round(x + 4, 1), round(y + 4, 1))
    (ax, ay), (bx, by) = pts[0], pts[-1]
    return (round((ax + bx) / 2 + 4, 1), round((ay + by) / 2 + 4, 1))


def _start_svg(cx: float, cy: float) -> str:
    r = TERMINAL / 2
    return (
        f'<g class="pm-start"><title>Start of a case</title><circle cx="{cx}" cy="{cy}" r="{r}" fill="#DCFCE7" '
        f'stroke="#15803D" stroke-width="2"/><path d="M{cx - 4},{cy - 7} L{cx + 7},{cy} L{cx - 4},{cy + 7} z" fill="#15803D"/></g>'
    )


def _node_svg(a: MapActivity, cx: float, cy: float, top: float | None, n_end: int) -> str:
    fill = heat(a.waste_score)
    ink = text_colour(fill)
    mot = bool(a.is_moment_of_truth)
    stroke, sw = (MOT_STROKE, 3.5) if mot else (PLAIN_STROKE, 1.2)
    x, y = cx - NODE_W / 2, cy - NODE_H / 2
    lines = textwrap.wrap(a.activity, LABEL_CHARS, break_long_words=True)[:2] or [""]
    if len(textwrap.wrap(a.activity, LABEL_CHARS, break_long_words=True)) > 2:
        lines[-1] = lines[-1][: LABEL_CHARS - 1] + "…"
    title = [a.activity, f"{_fmt(a.frequency)} events"]
    if a.is_moment_of_truth is not None:
        title.append("moment of truth" + (f" ({a.channel})" if a.channel else "") if mot else "not a moment of truth")
    if a.waste_score is not None:
        rank = f", rank {a.waste_rank}" if a.waste_rank is not None else ""
        title.append(f"waste score {a.waste_score:.2f}{rank}" + (f": {a.recommendation}" if a.recommendation else ""))
    attrs = f'data-activity="{escape(a.activity)}" data-mot="{str(mot).lower()}" data-frequency="{a.frequency}"' + (
        f' data-waste="{a.waste_score:.6g}"' if a.waste_score is not None else ""
    )
    parts = [
        f'<g class="pm-node{" pm-mot" if mot else ""}" {attrs}><title>{escape(" · ".join(title))}</title>',
        f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="8" fill="{fill}" stroke="{stroke}" stroke-width="{sw}"/>',
    ]
    first_y = cy - (len(lines) - 1) * 7 - 4
    for i, line in enumerate(lines):
        parts.append(
            f'<text x="{cx}" y="{first_y + i * 14}" text-anchor="middle" font-size="12" font-weight="600" fill="{ink}">{escape(line)}</text>'
        )
    parts.append(
        f'<text x="{cx}" y="{cy + NODE_H / 2 - 7}" text-anchor="middle" font-size="10.5" fill="{ink}">{_fmt(a.frequency)}×</text>'
    )
    if mot:
        parts.append(
            f'<rect x="{x - 4}" y="{y - 9}" width="34" height="16" rx="4" fill="{MOT_STROKE}"/>'
            f'<text x="{x + 13}" y="{y + 3}" text-anchor="middle" font-size="10" font-weight="700" fill="#FFFFFF">MOT</text>'
        )
    if n_end:
        label = f"■ {_fmt(n_end)}"
        w = 12 + 6.2 * len(label)
        parts.append(
            f'<g class="pm-end" data-end="{n_end}"><title>{_fmt(n_end)} cases end here</title>'
            f'<rect x="{x + NODE_W - w + 4}" y="{y - 9}" width="{w:.1f}" height="16" rx="4" fill="#FEE2E2" stroke="#B91C1C" stroke-width="1"/>'
            f'<text x="{x + NODE_W - w / 2 + 4:.1f}" y="{y + 3}" text-anchor="middle" font-size="10" font-weight="700" fill="#B91C1C">{label}</text></g>'
        )
    parts.append("</g>")
    return "".join(parts)
