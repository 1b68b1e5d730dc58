"""From a process tree to a laid-out BPMN diagram (``mining.bpmn.diagram``): nodes, flows, geometry.

The tree is translated block by block (sequence, exclusive / parallel / inclusive choice, loop),
and each block is laid out as a rectangle that holds its children, left to right. A child's
rectangle never overlaps another's, so no two shapes overlap and no flow crosses a shape; the
most frequent branch of a choice stays on the straight main line; the redo part of a loop runs
right to left underneath its body, as people draw a loop back. Everything is a pure function of
the tree, the activity weights and the annotation texts, so the same input gives the same
diagram (ids included).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from mining.bpmn.diagram import Bounds, Diagram, Flow, Node, Note, Point, digest, slug
from mining.bpmn.tree import Tree

# Sizes in diagram units (bpmn-js's defaults for tasks, gateways and events).
TASK_W, TASK_H = 120, 80
GATEWAY = 50
EVENT = 36
HGAP = 50  # between consecutive elements on a line
VGAP = 40  # between the branches of a choice, and between a loop's body and its way back
SKIP_GAP = 20  # between a choice's way round (its silent branch) and the block under it
NOTE_W = 200
NOTE_GAP = 30  # between a text annotation and its task
NOTE_CHARS = 30  # characters per annotation line that fit NOTE_W at bpmn-js's 12 px font
NOTE_LINE_H = 16
MARGIN = 40

GATEWAY_KIND = {"xor": "exclusiveGateway", "and": "parallelGateway", "or": "inclusiveGateway"}


# --- blocks -------------------------------------------------------------------------------------


@dataclass
class _Edge:
    source: str
    target: str
    points: list[Point]


@dataclass
class _NoteBox:
    task: str
    text: str
    bounds: Bounds
    points: list[Point]


@dataclass
class _Box:
    """A laid-out block in its own coordinates; flows enter and leave it on the line ``axis``."""

    width: int
    height: int
    axis: int
    entry: str
    exit: str
    entry_x: int  # where a flow into the block ends (the entry node's near side)
    exit_x: int  # where a flow out of the block starts
    shapes: dict[str, Bounds] = field(default_factory=dict)
    edges: list[_Edge] = field(default_factory=list)
    notes: list[_NoteBox] = field(default_factory=list)


def _moved(box: _Box, dx: int, dy: int) -> tuple[dict[str, Bounds], list[_Edge], list[_NoteBox]]:
    shapes = {k: replace(b, x=b.x + dx, y=b.y + dy) for k, b in box.shapes.items()}
    edges = [_Edge(e.source, e.target, [(x + dx, y + dy) for x, y in e.points]) for e in box.edges]
    notes = [
        _NoteBox(
            n.task,
            n.text,
            replace(n.bounds, x=n.bounds.x + dx, y=n.bounds.y + dy),
            [(x + dx, y + dy) for x, y in n.points],
        )
        for n in box.notes
    ]
    return shapes, edges, notes


def _absorb(parent: _Box, child: _Box, dx: int, dy: int) -> None:
    shapes, edges, notes = _moved(child, dx, dy)
    parent.shapes.update(shapes)
    parent.edges.extend(edges)
    parent.notes.extend(notes)


def _mirrored(box: _Box) -> _Box:
    """The block flipped left to right: it is then entered from the right and left on the left."""
    w = box.width
    return _Box(
        width=w,
        height=box.height,
        axis=box.axis,
        entry=box.entry,
        exit=box.exit,
        entry_x=w - box.entry_x,
        exit_x=w - box.exit_x,
        shapes={k: replace(b, x=w - b.x - b.width) for k, b in box.shapes.items()},
        edges=[_Edge(e.source, e.target, [(w - x, y) for x, y in e.points]) for e in box.edges],
        notes=[
            _NoteBox(
                n.task, n.text, replace(n.bounds, x=w - n.bounds.x - n.bounds.width), [(w - x, y) for x, y in n.points]
            )
            for n in box.notes
        ],
    )


def note_height(text: str) -> int:
    """Height that fits ``text`` in a NOTE_W wide annotation (estimated line wrap)."""
    lines = sum(max(1, len(textwrap.wrap(part, NOTE_CHARS))) for part in text.split("\n"))
    return max(40, lines * NOTE_LINE_H + 14)


class _Builder:
    def __init__(self, weights: Mapping[str, float], notes: Mapping[str, str]):
        self.weights = weights
        self.note_texts = notes
        self.nodes: dict[str, Node] = {}

    def add(self, base: str, kind: str, name: str = "", direction: str = "") -> str:
        """Register a node; ids are content-derived, repeats of a base get a counter."""
        node_id, i = base, 1
        while node_id in self.nodes:
            i += 1
            node_id = f"{base}_{i}"
        self.nodes[node_id] = Node(node_id, kind, name, direction)
        return node_id

    def weight(self, tree: Tree) -> float:
        return max((self.weights.get(a, 0) for a in tree.activities()), default=0)

    def box(self, tree: Tree) -> _Box | None:
        """The block of ``tree``; None when it does nothing visible (tau, or only taus)."""
        if tree.operator is None:
            return None if tree.label is None else self.task(tree.label)
        if tree.operator == "seq":
            return self.sequence([self.box(c) for c in tree.children])
        if tree.operator == "loop":
            return self.loop(tree)
        return self.choice(tree)

    def task(self, activity: str) -> _Box:
        task_id = self.add(f"Activity_{slug(activity)}_{digest(activity)}".replace("__", "_"), "task", activity)
        text = self.note_texts.get(activity)
        top = 0
        width = TASK_W
        notes = []
        if text:
            h = note_height(text)
            width = max(TASK_W, NOTE_W)
            top = h + NOTE_GAP
            cx = width // 2
            notes.append(_NoteBox(task_id, text, Bounds((width - NOTE_W) // 2, 0, NOTE_W, h), [(cx, top), (cx, h)]))
        x = (width - TASK_W) // 2
        return _Box(
            width=width,
            height=top + TASK_H,
            axis=top + TASK_H // 2,
            entry=task_id,
            exit=task_id,
            entry_x=x,
            exit_x=x + TASK_W,
            shapes={task_id: Bounds(x, top, TASK_W, TASK_H)},
            notes=notes,
        )

    def sequence(self, parts: list[_Box | None]) -> _Box | None:
        boxes = [b for b in parts if b is not None]
        if not boxes:
            return None
        if len(boxes) == 1:
            return boxes[0]
        axis = max(b.axis for b in boxes)
        below = max(b.height - b.axis for b in boxes)
        out = _Box(0, axis + below, axis, boxes[0].entry, boxes[-1].exit, boxes[0].entry_x, 0)
        x = 0
        previous: tuple[_Box, int] | None = None
        for b in boxes:
            _absorb(out, b, x, axis - b.axis)
            if previous:
                pb, px = previous
                out.edges.append(_Edge(pb.exit, b.entry, [(px + pb.exit_x, axis), (x + b.entry_x, axis)]))
            previous = (b, x)
            x += b.width + HGAP
        out.width = x - HGAP
        out.exit_x = previous[1] + previous[0].exit_x
        return out

    def choice(self, tree: Tree) -> _Box | None:
        boxes = []
        skips = 0
        for child in sorted(tree.children, key=lambda c: (-self.weight(c), c.canonical())):
            b = self.box(child)
            if b is None:
                skips += 1
            else:
                boxes.append(b)
        # A silent branch of a parallel block does nothing; in a choice it is one way round.
        has_skip = skips > 0 and tree.operator != "and"
        if not boxes:
            return None
        if len(boxes) == 1 and not has_skip:
            return boxes[0]
        key = digest(tree.canonical())
        kind = GATEWAY_KIND[tree.operator]
        split = self.add(f"Gateway_{key}_split", kind, direction="Diverging")
        x0 = GATEWAY + HGAP
        inner = max(b.width for b in boxes)
        join_x = x0 + inner + HGAP
        half = GATEWAY // 2
        # The way round (a silent branch) runs just above the block, close to the main line.
        top = SKIP_GAP if has_skip else 0
        axis = top + boxes[0].axis
        out = _Box(join_x + GATEWAY, 0, axis, split, "", 0, join_x + GATEWAY)
        if has_skip:
            out.edges.append(
                _Edge(split, "JOIN", [(half, axis - half), (half, 0), (join_x + half, 0), (join_x + half, axis - half)])
            )
        for i, b in enumerate(boxes):
            _absorb(out, b, x0, top)
            y = top + b.axis
            if i == 0:
                out.edges.append(_Edge(split, b.entry, [(GATEWAY, axis), (x0 + b.entry_x, axis)]))
                out.edges.append(_Edge(b.exit, "JOIN", [(x0 + b.exit_x, axis), (join_x, axis)]))
            else:
                out.edges.append(_Edge(split, b.entry, [(half, axis + half), (half, y), (x0 + b.entry_x, y)]))
                out.edges.append(
                    _Edge(b.exit, "JOIN", [(x0 + b.exit_x, y), (join_x + half, y), (join_x + half, axis + half)])
                )
            top += b.height + VGAP
        out.height = top - VGAP
        join = self.add(f"Gateway_{key}_join", kind, direction="Converging")
        out.exit = join
        for e in out.edges:
            if e.target == "JOIN":
                e.target = join
        out.shapes[split] = Bounds(0, axis - half, GATEWAY, GATEWAY)
        out.shapes[join] = Bounds(join_x, axis - half, GATEWAY, GATEWAY)
        return out

    def loop(self, tree: Tree) -> _Box | None:
        body = self.box(tree.children[0])
        redo_tree = tree.children[1] if len(tree.children) == 2 else Tree("xor", children=tree.children[1:])
        redo = self.box(redo_tree)
        if body is None and redo is None:
            return None
        key = digest(tree.canonical())
        half = GATEWAY // 2
        entry = self.add(f"Gateway_{key}_loop", "exclusiveGateway", direction="Converging")
        x0 = GATEWAY + HGAP
        inner = max(body.width if body else 0, redo.width if redo else 0)
        axis = body.axis if body else half
        below = (body.height - body.axis) if body else half
        exit_x = x0 + inner + HGAP
        out = _Box(exit_x + GATEWAY, 0, axis, entry, "", 0, exit_x + GATEWAY)
        if body:
            bx = x0 + (inner - body.width) // 2
            _absorb(out, body, bx, 0)
            out.edges.append(_Edge(entry, body.entry, [(GATEWAY, axis), (bx + body.entry_x, axis)]))
            out.edges.append(_Edge(body.exit, "EXIT", [(bx + body.exit_x, axis), (exit_x, axis)]))
        else:
            out.edges.append(_Edge(entry, "EXIT", [(GATEWAY, axis), (exit_x, axis)]))
        top = axis + below + VGAP
        if redo:
            back = _mirrored(redo)
            rx = x0 + (inner - back.width) // 2
            y = top + back.axis
            _absorb(out, back, rx, top)
            out.edges.append(
                _Edge("EXIT", back.entry, [(exit_x + half, axis + half), (exit_x + half, y), (rx + back.entry_x, y)])
            )
            out.edges.append(_Edge(back.exit, entry, [(rx + back.exit_x, y), (half, y), (half, axis + half)]))
            out.height = top + back.height
        else:
            out.edges.append(
                _Edge(
                    "EXIT",
                    entry,
                    [(exit_x + half, axis + half), (exit_x + half, top), (half, top), (half, axis + half)],
                )
            )
            out.height = top
        split = self.add(f"Gateway_{key}_redo", "exclusiveGateway", direction="Diverging")
        out.exit = split
        for e in out.edges:
            e.source = split if e.source == "EXIT" else e.source
            e.target = split if e.target == "EXIT" else e.target
        out.shapes[entry] = Bounds(0, axis - half, GATEWAY, GATEWAY)
        out.shapes[split] = Bounds(exit_x, axis - half, GATEWAY, GATEWAY)
        return out


def layout(tree: Tree, weights: Mapping[str, float] | None = None, notes: Mapping[str, str] | None = None) -> Diagram:
    """Translate ``tree`` into a laid-out BPMN diagram between one start and one end event.

    ``weights`` (activity -> frequency) put the most frequent branch of a choice on the main
    line; ``notes`` (activity -> text) attach a text annotation above those tasks.
    """
    builder = _Builder(weights or {}, notes or {})
    start = builder.add("StartEvent_1", "startEvent")
    root = builder.box(tree)
    end = builder.add("EndEvent_1", "endEvent")
    half = EVENT // 2
    axis = max(root.axis if root else half, half)
    shapes = {start: Bounds(0, axis - half, EVENT, EVENT)}
    edges: list[_Edge] = []
    x = EVENT + HGAP
    if root:
        moved_shapes, moved_edges, moved_notes = _moved(root, x, axis - root.axis)
        shapes.update(moved_shapes)
        edges.append(_Edge(start, root.entry, [(EVENT, axis), (x + root.entry_x, axis)]))
        edges.extend(moved_edges)
        edges.append(_Edge(root.exit, end, [(x + root.exit_x, axis), (x + root.width + HGAP, axis)]))
        x += root.width + HGAP
    else:
        moved_notes = []
        edges.append(_Edge(start, end, [(EVENT, axis), (x, axis)]))
    shapes[end] = Bounds(x, axis - half, EVENT, EVENT)
    return _finish(builder, shapes, edges, moved_notes)


def _finish(builder: _Builder, shapes: dict[str, Bounds], edges: list[_Edge], notes: list[_NoteBox]) -> Diagram:
    """Shift everything by the margin and give flows and annotations their content-derived ids."""

    def shift(b: Bounds) -> Bounds:
        return replace(b, x=b.x + MARGIN, y=b.y + MARGIN)

    def shift_points(points: list[Point]) -> tuple[Point, ...]:
        return tuple(_clean([(x + MARGIN, y + MARGIN) for x, y in points]))

    nodes = tuple(replace(n, bounds=shift(shapes[n.id])) for n in builder.nodes.values())
    flows = []
    used: set[str] = set()
    for e in edges:
        base = f"Flow_{digest(e.source + '>' + e.target)}"
        flow_id, i = base, 1
        while flow_id in used:
            i += 1
            flow_id = f"{base}_{i}"
        used.add(flow_id)
        flows.append(Flow(flow_id, e.source, e.target, shift_points(e.points)))
    placed = tuple(
        Note(
            f"TextAnnotation_{n.task}", n.task, n.text, shift(n.bounds), f"Association_{n.task}", shift_points(n.points)
        )
        for n in notes
    )
    return Diagram(nodes, tuple(flows), placed)


def _clean(points: list[Point]) -> list[Point]:
    """Drop repeated waypoints and middle points of straight runs (bpmn-js draws them as kinks)."""
    out: list[Point] = []
    for p in points:
        if out and p == out[-1]:
            continue
        if len(out) >= 2:
            (ax, ay), (bx, by) = out[-2], out[-1]
            if (ax == bx == p[0]) or (ay == by == p[1]):
                out[-1] = p
                continue
        out.append(p)
    return out
