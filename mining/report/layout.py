"""A layered (Sugiyama-style) layout of a directly-follows graph, top to bottom, in pure Python.

Process maps have cycles (rework, ping-pong), so the usual four phases apply: break cycles by
reversing the back edges of a depth-first search that follows the most frequent edges first (the
main flow then runs downwards and only the returns point up), assign layers by longest path, put
dummy nodes on edges that span several layers, order each layer by barycentre sweeps (keeping the
order with the fewest crossings), and place nodes horizontally by weighted isotonic regression
(each node as close as possible to its neighbours, without overlaps and in the chosen order).

The BPMN layout in mining/bpmn/layout.py lays out process *trees* block by block; a DFG is a
general graph, so it needs this one. Everything here is a pure function of the nodes and edges,
with ties broken by name, so the same graph always gives the same picture.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

NODE_GAP = 28  # horizontal gap between neighbouring nodes of a layer
DUMMY_WIDTH = 14  # a bend point of a long edge takes this much room in its layer
LAYER_GAP = 64  # vertical gap between layers
SWEEPS = 12  # barycentre sweeps (down and up) of the crossing reduction
PLACEMENT_PASSES = 8
STRAIGHTEN = 8  # weight factor between two bends of the same long edge

Point = tuple[float, float]


@dataclass(frozen=True)
class GraphNode:
    """A node to lay out: its id, size and weight (frequency; heavier nodes are visited first)."""

    id: str
    width: float
    height: float
    weight: float = 0.0


@dataclass(frozen=True)
class GraphEdge:
    """A directed edge with a weight (its frequency)."""

    source: str
    target: str
    weight: float = 1.0


@dataclass(frozen=True)
class PlacedEdge:
    """An edge with its route: the points from the source's border to the target's border.

    ``reversed`` edges point upwards (they were turned round to break a cycle); ``self_loop``
    edges leave and re-enter the same node.
    """

    source: str
    target: str
    weight: float
    points: tuple[Point, ...]
    reversed: bool = False
    self_loop: bool = False


@dataclass(frozen=True)
class Layout:
    """Node centres, edge routes and the size of the drawing."""

    centres: dict[str, Point]
    sizes: dict[str, tuple[float, float]]
    layers: tuple[tuple[str, ...], ...]  # real nodes only, top to bottom, left to right
    edges: tuple[PlacedEdge, ...]
    width: float
    height: float
    crossings: int


def _order_key(weight: float, name: str) -> tuple[float, str]:
    return (-weight, name)


def break_cycles(nodes: list[GraphNode], edges: list[GraphEdge], roots: list[str]) -> set[tuple[str, str]]:
    """The back edges of a depth-first search from ``roots`` (then from any node not yet seen).

    Children are visited most frequent edge first, so the heaviest paths become the downward main
    flow. Iterative, so long chains do not hit Python's recursion limit.
    """
    out: dict[str, list[GraphEdge]] = defaultdict(list)
    for e in edges:
        if e.source != e.target:
            out[e.source].append(e)
    for key in out:
        out[key].sort(key=lambda e: _order_key(e.weight, e.target))
    weight = {n.id: n.weight for n in nodes}
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    back: set[tuple[str, str]] = set()
    others = sorted((n.id for n in nodes if n.id not in roots), key=lambda n: _order_key(weight[n], n))
    for root in [*roots, *others]:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(out[root]))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                continue
            seen = state.get(child.target)
            if seen == 1:
                back.add((child.source, child.target))
            elif seen is None:
                state[child.target] = 1
                stack.append((child.target, iter(out[child.target])))
    return back


def assign_layers(node_ids: list[str], dag: list[tuple[str, str]], first: set[str], last: set[str]) -> dict[str, int]:
    """Longest-path layers of an acyclic graph; ``first`` nodes go on top, ``last`` ones at the bottom."""
    preds: dict[str, list[str]] = defaultdict(list)
    succs: dict[str, list[str]] = defaultdict(list)
    for s, t in dag:
        preds[t].append(s)
        succs[s].append(t)
    indegree = {n: len(preds[n]) for n in node_ids}
    ready = sorted(n for n in node_ids if indegree[n] == 0)
    layer: dict[str, int] = {}
    while ready:
        n = ready.pop(0)
        layer[n] = max((layer[p] + 1 for p in preds[n]), default=0)
        for t in sorted(succs[n]):
            indegree[t] -= 1
            if indegree[t] == 0:
                ready.append(t)
        ready.sort()
    if len(layer) != len(node_ids):
        raise ValueError("assign_layers needs an acyclic graph")
    # Sinks such as the end node go below everything else, sources such as the start above.
    if first and any(layer[n] == 0 for n in node_ids if n not in first):
        layer = {n: v if n in first else v + 1 for n, v in layer.items()}
    if last:
        bottom = max((v for n, v in layer.items() if n not in last), default=-1) + 1
        for n in last:
            layer[n] = bottom
    return layer


def count_crossings(order: list[list[str]], links: list[tuple[str, str]]) -> int:
    """Edge crossings between consecutive layers (``links`` join neighbouring layers only)."""
    pos = {n: i for layer in order for i, n in enumerate(layer)}
    level = {n: k for k, layer in enumerate(order) for n in layer}
    by_gap: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for s, t in links:
        by_gap[level[s]].append((pos[s], pos[t]))
    total = 0
    for pairs in by_gap.values():
        pairs.sort()
        for i in range(len(pairs)):
            for j in range(i + 1, len(pairs)):
                if pairs[i][0] < pairs[j][0] and pairs[i][1] > pairs[j][1]:
                    total += 1
    return total


def _sweep(order: list[list[str]], neighbours: dict[str, list[str]], downwards: bool) -> list[list[str]]:
    layers = range(1, len(order)) if downwards else range(len(order) - 2, -1, -1)
    new = [list(layer) for layer in order]
    for k in layers:
        ref = new[k - 1] if downwards else new[k + 1]
        pos = {n: i for i, n in enumerate(ref)}
        current = {n: i for i, n in enumerate(new[k])}

        def key(n: str, pos=pos, current=current) -> tuple[float, int]:
            ps = [pos[m] for m in neighbours[n] if m in pos]
            return (sum(ps) / len(ps) if ps else current[n], current[n])

        new[k] = sorted(new[k], key=key)
    return new


def reduce_crossings(order: list[list[str]], links: list[tuple[str, str]]) -> tuple[list[list[str]], int]:
    """Barycentre sweeps; returns the order with the fewest crossings seen (first one on ties)."""
    up: dict[str, list[str]] = defaultdict(list)
    down: dict[str, list[str]] = defaultdict(list)
    for s, t in links:
        down[s].append(t)
        up[t].append(s)
    best, best_count = order, count_crossings(order, links)
    current = order
    for i in range(SWEEPS):
        current = _sweep(current, up, downwards=True) if i % 2 == 0 else _sweep(current, down, downwards=False)
        crossings = count_crossings(current, links)
        if crossings < best_count:
            best, best_count = current, crossings
    return best, best_count


def isotonic(targets: list[float], weights: list[float], gaps: list[float]) -> list[float]:
    """Positions x_i minimising sum w_i (x_i - t_i)^2 with x_{i+1} - x_i >= gaps[i] (pool adjacent violators)."""
    offsets = [0.0]
    for g in gaps:
        offsets.append(offsets[-1] + g)
    values = [t - o for t, o in zip(targets, offsets, strict=True)]
    blocks: list[list[float]] = []  # [mean, weight, count]
    for v, w in zip(values, weights, strict=True):
        blocks.append([v, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            v2, w2, c2 = blocks.pop()
            v1, w1, c1 = blocks.pop()
            blocks.append([(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
    fitted: list[float] = []
    for mean, _, count in blocks:
        fitted.extend([mean] * count)
    return [f + o for f, o in zip(fitted, offsets, strict=True)]


def place(order: list[list[str]], widths: dict[str, float], links: list[tuple[str, str, float]]) -> dict[str, float]:
    """Horizontal centres: each node pulled towards its neighbours (by edge weight), order kept."""
    x: dict[str, float] = {}
    for layer in order:
        cursor = 0.0
        for n in layer:
            x[n] = cursor + widths[n] / 2
            cursor += widths[n] + NODE_GAP
    nbrs: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for s, t, w in links:
        nbrs[s].append((t, w))
        nbrs[t].append((s, w))
    for p in range(PLACEMENT_PASSES):
        sequence = order if p % 2 == 0 else order[::-1]
        for layer in sequence:
            targets, weights = [], []
            for n in layer:
                ws = nbrs[n]
                total = sum(w for _, w in ws)
                targets.append(sum(x[m] * w for m, w in ws) / total if total else x[n])
                # Light nodes (bends of long edges) give way to real ones; a floor keeps them placed.
                weights.append(max(total, 1e-3))
            gaps = [(widths[a] + widths[b]) / 2 + NODE_GAP for a, b in zip(layer, layer[1:], strict=False)]
            for n, v in zip(layer, isotonic(targets, weights, gaps), strict=True):
                x[n] = v
    left = min(x[n] - widths[n] / 2 for n in x) if x else 0.0
    return {n: v - left for n, v in x.items()}


def layout(nodes: list[GraphNode], edges: list[GraphEdge], first: list[str] = (), last: list[str] = ()) -> Layout:
    """Lay out ``nodes`` and ``edges`` top to bottom; ``first`` / ``last`` nodes take the top / bottom layer."""
    ids = sorted(n.id for n in nodes)
    if len(set(ids)) != len(ids):
        raise ValueError("node ids must be unique")
    known = set(ids)
    for e in edges:
        if e.source not in known or e.target not in known:
            raise ValueError(f"edge {e.source!r} -> {e.target!r} refers to an unknown node")
    node = {n.id: n for n in nodes}
    edges = sorted(edges, key=lambda e: (e.source, e.target))
    back = break_cycles(nodes, edges, list(first))
    dag_edges: list[tuple[GraphEdge, str, str, bool]] = []
    for e in edges:
        if e.source == e.target:
            continue
        flipped = (e.source, e.target) in back
        s, t = (e.target, e.source) if flipped else (e.source, e.target)
        dag_edges.append((e, s, t, flipped))
    level = assign_layers(ids, [(s, t) for _, s, t, _ in dag_edges], set(first), set(last))
    widths = {n: node[n].width for n in ids}
    heights = {n: node[n].height for n in ids}
    # Long edges get one dummy node per layer they cross, so they can bend round other nodes.
    chains: list[tuple[GraphEdge, list[str], bool]] = []
    links: list[tuple[str, str, float]] = []
    for e, s, t, flipped in dag_edges:
        chain = [s]
        for k in range(level[s] + 1, level[t]):
            dummy = f"\x00{e.source}\x00{e.target}\x00{k}"
            level[dummy] = k
            widths[dummy] = DUMMY_WIDTH
            heights[dummy] = 0.0
            chain.append(dummy)
        chain.append(t)
        for a, b in zip(chain, chain[1:], strict=False):
            # Bends of one long edge pull hard on each other, so the edge runs straight.
            both_bends = a.startswith("\x00") and b.startswith("\x00")
            links.append((a, b, e.weight * (STRAIGHTEN if both_bends else 1)))
        chains.append((e, chain, flipped))
    order = _initial_order(level, nodes, chains, list(first))
    order, crossings = reduce_crossings(order, [(a, b) for a, b, _ in links])
    xs = place(order, widths, links)
    layer_h = [max((heights[n] for n in layer), default=0.0) for layer in order]
    ys: list[float] = []
    cursor = 0.0
    for h in layer_h:
        ys.append(cursor + h / 2)
        cursor += h + LAYER_GAP
    centre = {n: (xs[n], ys[level[n]]) for n in level}
    placed = [_route(e, chain, flipped, centre, heights, widths) for e, chain, flipped in chains]
    for e in edges:
        if e.source == e.target:
            placed.append(_self_loop(e, centre[e.source], widths[e.source]))
    real = tuple(tuple(n for n in layer if n in known) for layer in order)
    width = max((xs[n] + widths[n] / 2 for n in xs), default=0.0)
    width = max(width, max((x + 40 for p in placed if p.self_loop for x, _ in p.points), default=0.0))
    height = cursor - LAYER_GAP if order else 0.0
    return Layout(
        centres={n: centre[n] for n in ids},
        sizes={n: (widths[n], heights[n]) for n in ids},
        layers=real,
        edges=tuple(sorted(placed, key=lambda p: (p.source, p.target))),
        width=width,
        height=max(height, 0.0),
        crossings=crossings,
    )


def _initial_order(level: dict[str, int], nodes: list[GraphNode], chains, first: list[str]) -> list[list[str]]:
    """Layers in depth-first discovery order along the heaviest edges (a good start for the sweeps)."""
    weight = {n.id: n.weight for n in nodes}
    out: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for e, chain, _ in chains:
        for a, b in zip(chain, chain[1:], strict=False):
            out[a].append((e.weight, b))
    seen: dict[str, int] = {}
    roots = [
        *first,
        *sorted((n for n in level if not n.startswith("\x00")), key=lambda n: _order_key(weight.get(n, 0), n)),
    ]
    for root in roots:
        stack = [root]
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen[n] = len(seen)
            for _, child in sorted(out[n], key=lambda c: (c[0], c[1])):
                if child not in seen:
                    stack.append(child)
    for n in sorted(level):
        seen.setdefault(n, len(seen))
    depth = max(level.values(), default=-1) + 1
    order: list[list[str]] = [[] for _ in range(depth)]
    for n in sorted(level, key=lambda n: seen[n]):
        order[level[n]].append(n)
    return order


def _route(e: GraphEdge, chain: list[str], flipped: bool, centre, heights, widths) -> PlacedEdge:
    """The points of an edge: bottom of the upper node, the bends, top of the lower node.

    A reversed (upward) edge leaves and enters on the right-hand side, so that it does not run
    over the downward edges between the same two nodes.
    """
    pts = [centre[n] for n in chain]
    (x0, y0), (x1, y1) = pts[0], pts[-1]
    if flipped:
        start = (x0 + widths[chain[0]] / 2, y0)
        end = (x1 + widths[chain[-1]] / 2, y1)
        inner = [(x + widths[n] / 2, y) for n, (x, y) in zip(chain[1:-1], pts[1:-1], strict=True)]
        route = [start, *inner, end][::-1]
    else:
        start = (x0, y0 + heights[chain[0]] / 2)
        end = (x1, y1 - heights[chain[-1]] / 2)
        route = [start, *pts[1:-1], end]
    return PlacedEdge(
        e.source, e.target, e.weight, tuple((round(x, 1), round(y, 1)) for x, y in route), reversed=flipped
    )


def _self_loop(e: GraphEdge, centre: Point, width: float) -> PlacedEdge:
    x, y = centre
    right = x + width / 2
    points = ((right, y - 8), (right + 30, y - 8), (right + 30, y + 8), (right, y + 8))
    return PlacedEdge(
        e.source, e.target, e.weight, tuple((round(a, 1), round(b, 1)) for a, b in points), self_loop=True
    )
