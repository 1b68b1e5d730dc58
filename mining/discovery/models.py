"""A discovered model, its stable id, and its process tree as plain data.

The process tree is stored as data in ``model_runs.tree`` (migration 005) so that later steps read
it back instead of re-deriving it: nested ``{"op": ..., "children": [...]}`` for an operator (the
lower-case name of pm4py's operator: sequence, xor, parallel, or, loop, interleaving) and
``{"label": ...}`` for a leaf (``null`` for a silent one).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from mining.discovery.inputs import Variants


@dataclass
class Model:
    """A discovered Petri net with its markings and (for IMf) process tree."""

    algorithm: str
    parameters: dict
    net: object
    initial_marking: object
    final_marking: object
    process_tree: object | None = None


@dataclass(frozen=True)
class MinedModel:
    """A discovered model as plain data: what the child process that mined it hands back.

    Receiving pm4py's objects would import pm4py (seconds of CPU) in the run itself, beside the steps
    that run while ``discover`` waits for its children; the net travels as PNML text instead, and the
    children that replay it build it again from that text (``nets.model_from_pnml``).
    """

    algorithm: str
    parameters: dict
    pnml: str
    n_places: int
    n_transitions: int
    n_arcs: int
    process_tree: str | None = None  # pm4py's text of the tree (IMf only)
    tree: str | None = None  # ``tree_json`` of the tree (IMf only)


def model_id(algorithm: str, parameters: dict, log_variants: Variants) -> str:
    """A stable id: hash of the algorithm, its parameters and the variants it was mined from."""
    digest = hashlib.sha256()
    digest.update(algorithm.encode())
    digest.update(json.dumps(parameters, sort_keys=True).encode())
    for sequence, count in sorted(log_variants.items()):
        digest.update(json.dumps([sequence, count]).encode())
    return digest.hexdigest()[:16]


def tree_data(process_tree) -> dict:
    """A pm4py process tree as nested dicts (see the module docstring); pm4py is not imported."""
    if process_tree.operator is None:
        return {"label": process_tree.label}
    return {
        "op": process_tree.operator.name.lower(),
        "children": [tree_data(child) for child in process_tree.children],
    }


def tree_json(process_tree) -> str:
    """``tree_data`` as JSON text with sorted keys: the same tree always gives the same bytes."""
    return json.dumps(tree_data(process_tree), sort_keys=True)
