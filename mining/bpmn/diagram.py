"""A laid-out BPMN diagram: flow nodes, sequence flows and text annotations with their geometry,
and the content-derived parts of their ids (``mining.bpmn.layout`` builds it from a process tree).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

Point = tuple[int, int]


@dataclass(frozen=True)
class Bounds:
    """A shape's rectangle (top-left corner, width, height)."""

    x: int
    y: int
    width: int
    height: int

    def overlaps(self, other: Bounds) -> bool:
        """True when the interiors intersect (touching edges do not count)."""
        return (
            self.x < other.x + other.width
            and other.x < self.x + self.width
            and self.y < other.y + other.height
            and other.y < self.y + self.height
        )


@dataclass(frozen=True)
class Node:
    """A flow node: ``kind`` is the BPMN element name (task, exclusiveGateway, startEvent, ...)."""

    id: str
    kind: str
    name: str = ""
    direction: str = ""  # gatewayDirection of gateways: Diverging / Converging
    bounds: Bounds = Bounds(0, 0, 0, 0)


@dataclass(frozen=True)
class Flow:
    """A sequence flow with its waypoints, from ``source`` to ``target`` (node ids)."""

    id: str
    source: str
    target: str
    waypoints: tuple[Point, ...]


@dataclass(frozen=True)
class Note:
    """A text annotation attached to a task by an association."""

    id: str
    task: str
    text: str
    bounds: Bounds
    association_id: str
    waypoints: tuple[Point, ...]


@dataclass(frozen=True)
class Diagram:
    """A laid-out BPMN process: nodes in drawing order, flows, annotations."""

    nodes: tuple[Node, ...]
    flows: tuple[Flow, ...]
    notes: tuple[Note, ...] = ()

    def node(self, node_id: str) -> Node:
        """The node with id ``node_id``."""
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    def tasks(self) -> dict[str, Node]:
        """Task nodes by activity name."""
        return {n.name: n for n in self.nodes if n.kind == "task"}

    def incoming(self, node_id: str) -> list[str]:
        """Ids of the flows that end at ``node_id``, in flow order."""
        return [f.id for f in self.flows if f.target == node_id]

    def outgoing(self, node_id: str) -> list[str]:
        """Ids of the flows that start at ``node_id``, in flow order."""
        return [f.id for f in self.flows if f.source == node_id]


def digest(text: str, n: int = 8) -> str:
    """The first ``n`` hex digits of the SHA-1 of ``text``: the content-derived part of an id."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:n]


def slug(text: str, n: int = 32) -> str:
    """``text`` reduced to letters, digits and underscores (the readable part of an id)."""
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")[:n]
