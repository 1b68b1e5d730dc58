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
from mining.discovery.imf import discover_imf
from mining.discovery.inputs import Variants, activity_counts, dfg, variants, window_two
from mining.discovery.models import MinedModel, model_id
from mining.discovery.nets import mined_model, model_from_pnml

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


def store_model(
    con: duckdb.DuckDBPyConnection, process: str, model: MinedModel, quality: dict, log_variants: Variants
) -> None:
    """Write the model and its ``quality`` figures to ``model_runs`` (one row per process and algorithm)."""
    con.execute("DELETE FROM model_runs WHERE process = ? AND algorithm = ?", [process, model.algorithm]).fetchall()
    con.execute(
        f"INSERT INTO model_runs ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
        [
            process,
            model_id(model.algorithm, model.parameters, log_variants),
            model.algorithm,
            json.dumps(model.parameters, sort_keys=True),
            model.n_places,
            model.n_transitions,
            model.n_arcs,
            quality.get("fitness"),
            quality.get("avg_trace_fitness"),
            quality.get("fit_cases_share"),
            quality.get("precision"),
            model.process_tree,
            model.pnml,
            model.tree,
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
) -> list[tuple[MinedModel, dict]]:
    """Discover, evaluate and store every configured model of ``process`` within ``budgets``.

    Each discovery, its replay fitness and its precision runs under the memory and time budget
    (``bounded.run_bounded``: in a child process, which hands back plain data, so that pm4py is
    not imported here); precision is skipped up front when its size estimate is over budget.
    What was skipped, and why, is written to ``budget_skips`` (step ``discover``); the models that
    were mined are stored as before. A model whose discovery was cut short is not stored. Returns
    each stored model with its quality figures.
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
            model = bounded("imf discovery", _mine_imf, log_variants, settings.imf_noise_threshold)
        else:
            # Heuristics works on counts (the DFG and its window-2 statistics): its size is set by
            # the number of activities, not by the length of the log.
            occurrences, starts, ends = activity_counts(con, process)
            pairs, triples = window_two(con, process)
            counts = (dfg(con, process), occurrences, starts, ends, pairs, triples)
            model = bounded("heuristics discovery", _mine_heuristics, counts, settings)
        if model is None:
            # No stale model of an earlier run stands in for the one that was not mined.
            con.execute("DELETE FROM model_runs WHERE process = ? AND algorithm = ?", [process, algorithm]).fetchall()
            continue
        quality = bounded(f"{algorithm} fitness", _fitness, model, log_variants)
        quality = quality or {"fitness": None, "avg_trace_fitness": None, "fit_cases_share": None}
        quality["precision"] = _bounded_precision(model, log_variants, settings, budgets, bounded, skips)
        store_model(con, process, model, quality, log_variants)
        models.append((model, quality))
    for what, exc in skips:
        con.execute(
            "INSERT INTO budget_skips VALUES (?, 'discover', ?, ?, ?, ?)",
            [process, what, exc.reason, exc.estimate, exc.budget],
        ).fetchall()
    return models


# The work of the child processes: module-level functions, as ``run_bounded`` pickles them.


def _mine_imf(log_variants: Variants, noise_threshold: float) -> MinedModel:
    return mined_model(discover_imf(log_variants, noise_threshold))


def _mine_heuristics(counts: tuple, settings: Discovery) -> MinedModel:
    return mined_model(discover_heuristics(*counts, settings))


def _fitness(model: MinedModel, log_variants: Variants) -> dict:
    return evaluate(model_from_pnml(model), log_variants, with_precision=False)


def _precision(model: MinedModel, log_variants: Variants) -> float:
    return precision(model_from_pnml(model), log_variants)


def _bounded_precision(
    model: MinedModel, log_variants: Variants, settings: Discovery, budgets: Budgets, bounded, skips
):
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
    return bounded(what, _precision, model, log_variants)
