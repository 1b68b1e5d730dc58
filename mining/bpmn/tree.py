"""The process tree that the BPMN step draws, and its conversions from pm4py and from the warehouse.

The as-is tree is the one discover stored in ``model_runs.tree`` (``from_stored``); the to-be tree
is mined from the projected variants (``from_pm4py``).
"""

from __future__ import annotations

from dataclasses import dataclass

OPERATORS = {"seq", "xor", "and", "or", "loop"}
# The operators of a stored tree (pm4py's operator names, lower case) as ours; interleaving, which
# IMf does not produce, has no BPMN block translation.
STORED_OPERATORS = {"sequence": "seq", "xor": "xor", "parallel": "and", "or": "or", "loop": "loop"}


@dataclass(frozen=True)
class Tree:
    """A process tree: ``operator`` in seq / xor / and / or / loop, or a leaf (``label``; None = tau)."""

    operator: str | None = None
    label: str | None = None
    children: tuple[Tree, ...] = ()

    def __post_init__(self) -> None:
        if self.operator is not None and self.operator not in OPERATORS:
            raise ValueError(f"unknown process-tree operator {self.operator!r} (known: {', '.join(sorted(OPERATORS))})")
        if self.operator is None and self.children:
            raise ValueError(f"a leaf ({self.label!r}) cannot have children")
        if self.operator == "loop" and len(self.children) < 2:
            raise ValueError("a loop needs a body and at least one redo part")

    def __str__(self) -> str:
        if self.operator is None:
            return "tau" if self.label is None else repr(self.label)
        symbol = {"seq": "->", "xor": "X", "and": "+", "or": "O", "loop": "*"}[self.operator]
        return f"{symbol}( {', '.join(str(c) for c in self.children)} )"

    def canonical(self) -> str:
        """Like ``str`` but with the children of choices and parallel blocks sorted (order-free)."""
        if self.operator is None:
            return str(self)
        parts = [c.canonical() for c in self.children]
        if self.operator in ("xor", "and", "or"):
            parts.sort()
        return f"{self.operator}({', '.join(parts)})"

    def activities(self) -> list[str]:
        """The visible labels in the tree, left to right (with repeats)."""
        if self.operator is None:
            return [] if self.label is None else [self.label]
        return [a for c in self.children for a in c.activities()]


def from_pm4py(tree) -> Tree:
    """Our ``Tree`` from a pm4py ``ProcessTree``; interleaving (not produced by IMf) is refused."""
    # Imported here: pm4py takes seconds to import, and drawing a stored tree does not need it.
    from pm4py.objects.process_tree.obj import Operator

    names = {
        Operator.SEQUENCE: "seq",
        Operator.XOR: "xor",
        Operator.PARALLEL: "and",
        Operator.OR: "or",
        Operator.LOOP: "loop",
    }
    if tree.operator is None:
        return Tree(label=tree.label)
    if tree.operator not in names:
        raise ValueError(f"process-tree operator {tree.operator} has no BPMN block translation")
    return Tree(operator=names[tree.operator], children=tuple(from_pm4py(c) for c in tree.children))


def from_stored(data: dict) -> Tree:
    """Our ``Tree`` from a process tree stored as data by discover (``mining.discovery.tree_data``):
    ``{"op": ..., "children": [...]}`` or a leaf ``{"label": ...}`` (``None``: silent)."""
    if "op" not in data:
        return Tree(label=data["label"])
    if data["op"] not in STORED_OPERATORS:
        raise ValueError(f"process-tree operator {data['op']!r} has no BPMN block translation")
    return Tree(operator=STORED_OPERATORS[data["op"]], children=tuple(from_stored(c) for c in data["children"]))
