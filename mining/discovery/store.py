"""Discover, evaluate and store the configured models of a process; read a stored tree back.

One row per process and algorithm in ``model_runs``: the model id, parameters, size, quality
figures, the process tree as text and as data (``tree``), and the Petri net as PNML.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb

from mining.config import Discovery
from mining.discovery.conformance import evaluate
from mining.discovery.heuristics import discover_heuristics
from mining.discovery.imf import discover_imf
from mining.discovery.inputs import Variants, activity_counts, dfg, variants, window_two
from mining.discovery.models import Model, model_id, tree_json
from mining.discovery.nets import pnml

COLUMNS = (
    "process",
    "model_id",
    "algorithm",
    "parameters",
    "n_places",
    "n_transitions",
    "n_arcs",
    "fitness",
    "avg_trace_fitness",
    "fit_cases_share",
    "precision",
    "process_tree",
    "pnml",
    "tree",
)


@dataclass(frozen=True)
class StoredTree:
    """The process tree of a stored model as data (``mining.discovery.models``), with its id and fitness."""

    model_id: str
    tree: dict
    fitness: float | None


def store_model(con: duckdb.DuckDBPyConnection, process: str, model: Model, log_variants: Variants) -> None:
    """Write the model and its quality figures to ``model_runs`` (one row per process and algorithm)."""
    q = model.quality
    tree = model.process_tree
    con.execute("DELETE FROM model_runs WHERE process = ? AND algorithm = ?", [process, model.algorithm]).fetchall()
    con.execute(
        f"INSERT INTO model_runs ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
        [
            process,
            model_id(model.algorithm, model.parameters, log_variants),
            model.algorithm,
            json.dumps(model.parameters, sort_keys=True),
            len(model.net.places),
            len(model.net.transitions),
            len(model.net.arcs),
            q.get("fitness"),
            q.get("avg_trace_fitness"),
            q.get("fit_cases_share"),
            q.get("precision"),
            str(tree) if tree is not None else None,
            pnml(model),
            tree_json(tree) if tree is not None else None,
        ],
    ).fetchall()


def stored_tree(con: duckdb.DuckDBPyConnection, process: str, algorithm: str) -> StoredTree | None:
    """The process tree that discover stored for ``process`` and ``algorithm``, as data.

    None when there is no such row, or it holds no tree (a Heuristics net; a row written before
    migration 005).
    """
    rows = con.execute(
        "SELECT model_id, tree, fitness FROM model_runs WHERE process = $p AND algorithm = $a",
        {"p": process, "a": algorithm},
    ).fetchall()
    if not rows or rows[0][1] is None:
        return None
    stored_id, tree, fitness = rows[0]
    return StoredTree(stored_id, json.loads(tree), fitness)


def discover(con: duckdb.DuckDBPyConnection, process: str, settings: Discovery) -> list[Model]:
    """Discover, evaluate and store every configured model of ``process``."""
    log_variants = variants(con, process)
    if not log_variants:
        raise ValueError(f"process {process!r} has no events to mine")
    models = []
    for algorithm in settings.algorithms:
        if algorithm == "imf":
            model = discover_imf(log_variants, settings.imf_noise_threshold)
        else:
            occurrences, starts, ends = activity_counts(con, process)
            pairs, triples = window_two(con, process)
            model = discover_heuristics(dfg(con, process), occurrences, starts, ends, pairs, triples, settings)
        evaluate(model, log_variants, len(log_variants) <= settings.precision_max_variants)
        store_model(con, process, model, log_variants)
        models.append(model)
    return models
