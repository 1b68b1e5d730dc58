"""Discover, evaluate and store the configured models of a process; read a stored tree back.

One row per process and algorithm in ``model_runs``: the model id, parameters, size, quality
figures, the process tree as text and as data (``tree``), and the Petri net as PNML.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial

import duckdb

from mining.config import Discovery
from mining.config.budgets import Budgets
from mining.discovery.bounded import BudgetExceeded, prefix_events, run_bounded
from mining.discovery.conformance import evaluate, precision
from mining.discovery.heuristics import discover_heuristics
from mining.discovery.imf import discover_imf, imf_model
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


def discover(
    con: duckdb.DuckDBPyConnection, process: str, settings: Discovery, budgets: Budgets | None = None
) -> list[Model]:
    """Discover, evaluate and store every configured model of ``process`` within ``budgets``.

    Each discovery, its replay fitness and its precision runs under the memory and time budget
    (``bounded.run_bounded``); precision is skipped up front when its size estimate is over budget.
    What was skipped, and why, is written to ``budget_skips`` (step ``discover``); the models that
    were mined are stored as before. A model whose discovery was cut short is not stored.
    """
    budgets = budgets or Budgets()
    log_variants = variants(con, process)
    if not log_variants:
        raise ValueError(f"process {process!r} has no events to mine")
    con.execute("DELETE FROM budget_skips WHERE process = ? AND step = 'discover'", [process]).fetchall()
    skips: list[tuple[str, BudgetExceeded]] = []

    def bounded(what: str, work, *args):
        try:
            return run_bounded(partial(work, *args), budgets.memory_mb, budgets.seconds)
        except BudgetExceeded as exc:
            skips.append((what, exc))
            return None

    models = []
    for algorithm in settings.algorithms:
        if algorithm == "imf":
            noise = settings.imf_noise_threshold
            tree = bounded("imf discovery", _imf_tree, log_variants, noise)
            model = None if tree is None else imf_model(tree, noise)
        else:
            # Heuristics works on counts (the DFG and its window-2 statistics): its size is set by
            # the number of activities, not by the length of the log, so it runs here.
            occurrences, starts, ends = activity_counts(con, process)
            pairs, triples = window_two(con, process)
            follows = dfg(con, process)
            model = discover_heuristics(follows, occurrences, starts, ends, pairs, triples, settings)
        if model is None:
            # No stale model of an earlier run stands in for the one that was not mined.
            con.execute("DELETE FROM model_runs WHERE process = ? AND algorithm = ?", [process, algorithm]).fetchall()
            continue
        quality = bounded(f"{algorithm} fitness", evaluate, model, log_variants, False)
        model.quality = quality or {"fitness": None, "avg_trace_fitness": None, "fit_cases_share": None}
        model.quality["precision"] = _bounded_precision(model, log_variants, settings, budgets, bounded, skips)
        store_model(con, process, model, log_variants)
        models.append(model)
    for what, exc in skips:
        con.execute(
            "INSERT INTO budget_skips VALUES (?, 'discover', ?, ?, ?, ?)",
            [process, what, exc.reason, exc.estimate, exc.budget],
        ).fetchall()
    return models


def _imf_tree(log_variants: Variants, noise_threshold: float):
    return discover_imf(log_variants, noise_threshold).process_tree


def _bounded_precision(model: Model, log_variants: Variants, settings: Discovery, budgets: Budgets, bounded, skips):
    """The model's precision, or None when its estimate is over a budget or it ran out of one."""
    what = f"{model.algorithm} precision"
    if len(log_variants) > settings.precision_max_variants:
        budget = f"{settings.precision_max_variants:,} variants (discovery.precision_max_variants)"
        skips.append((what, BudgetExceeded("too many variants", budget, f"{len(log_variants):,} variants")))
        return None
    estimate = prefix_events(log_variants)
    if budgets.precision_max_prefix_events and estimate > budgets.precision_max_prefix_events:
        budget = f"{budgets.precision_max_prefix_events:,} prefix events (budgets.precision_max_prefix_events)"
        skips.append((what, BudgetExceeded("estimate over budget", budget, f"{estimate:,} prefix events")))
        return None
    return bounded(what, precision, model, log_variants)
