"""Disco's two sliders on a directly-follows graph: which activities and which arcs a map shows.

``keep_activities`` is the activity slider: the most frequent activities that together cover a
share of the events. ``keep_paths`` is the paths slider: the arcs that keep every activity
reachable from the start and able to reach the end (a backbone of widest paths), plus the most
frequent of the others up to a share. Pure functions over names and weights, so the report and
the explorer (mining/explore) filter the same way.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Mapping

Arc = tuple[str, str]


def keep_activities(frequency: Mapping[str, int], share: float) -> set[str]:
    """The most frequent activities covering ``share`` of all events; at least the most frequent one.

    Ties are broken by name, so the same counts always keep the same activities.
    """
    share = min(max(share, 0.0), 1.0)
    total = sum(frequency.values())
    kept: set[str] = set()
    covered = 0
    for name in sorted(frequency, key=lambda a: (-frequency[a], a)):
        if kept and covered >= share * total:
            break
        kept.add(name)
        covered += frequency[name]
    return kept


def widest_tree(weights: Mapping[Arc, float], root: str, reverse: bool = False) -> set[Arc]:
    """The arcs of the widest paths from ``root`` (to ``root`` when ``reverse``) to every node.

    A widest path maximises its weakest arc, so the tree follows the strongest flow: the arcs a
    process analyst would keep last. Dijkstra with ``min`` instead of ``+``; ties go to the
    lexicographically first node, so the tree does not depend on the input order.
    """
    out: dict[str, list[tuple[float, str, Arc]]] = defaultdict(list)
    for (s, t), w in weights.items():
        a, b = (t, s) if reverse else (s, t)
        out[a].append((w, b, (s, t)))
    best: dict[str, float] = {root: math.inf}
    via: dict[str, Arc] = {}
    done: set[str] = set()
    heap: list[tuple[float, str]] = [(-math.inf, root)]
    while heap:
        negative, node = heapq.heappop(heap)
        if node in done:
            continue
        done.add(node)
        for w, nxt, arc in sorted(out[node], key=lambda x: (-x[0], x[1])):
            width = min(-negative, w)
            if nxt not in done and width > best.get(nxt, -math.inf):
                best[nxt] = width
                via[nxt] = arc
                heapq.heappush(heap, (-width, nxt))
    return set(via.values())


def keep_paths(weights: Mapping[Arc, float], start: str, end: str, share: float, limit: int | None = None) -> set[Arc]:
    """The arcs the paths slider keeps at ``share`` (0: the connected backbone only, 1: every arc).

    ``weights`` holds every arc including those from ``start`` and to ``end``. The backbone is the
    widest-path tree from ``start`` joined with the one into ``end``: every node the full graph
    lets reach (be reached) keeps a path from the start and to the end. Then the most frequent of
    the other arcs are added, ``share`` of them (rounded), at most ``limit`` arcs in all when given.
    """
    share = min(max(share, 0.0), 1.0)
    backbone = widest_tree(weights, start) | widest_tree(weights, end, reverse=True)
    rest = sorted((a for a in weights if a not in backbone), key=lambda a: (-weights[a], a))
    extra = rest[: round(share * len(rest))]
    if limit is not None:
        extra = extra[: max(0, limit - len(backbone))]
    return backbone | set(extra)


def reaches(arcs: set[Arc], root: str, reverse: bool = False) -> set[str]:
    """The nodes reachable from ``root`` over ``arcs`` (reaching ``root`` when ``reverse``)."""
    out: dict[str, list[str]] = defaultdict(list)
    for s, t in arcs:
        a, b = (t, s) if reverse else (s, t)
        out[a].append(b)
    seen, todo = {root}, [root]
    while todo:
        for nxt in out[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen
