"""The pipeline step: read the model and figures from the warehouse, write as-is.bpmn and to-be.bpmn."""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from mining import discovery, outputs
from mining.bpmn.export import Exported, export
from mining.bpmn.figures import load_figures
from mining.bpmn.tobe import keep_a_path, plan_removals, project
from mining.bpmn.tree import Tree, from_pm4py, from_stored
from mining.warehouse import connect

KNOWN_LISTED = 40  # activities listed in the message about an unknown name (a log can have hundreds)


def stored_imf(con, process: str, log_variants: Counter, noise_threshold: float) -> tuple[Tree, float | None] | None:
    """The IMf tree and fitness that the discover step stored, if they belong to these variants.

    The stored row is used only when its model id (a hash of the algorithm, its parameters and the
    variants) is the one these variants and ``noise_threshold`` give; otherwise None.
    """
    stored = discovery.stored_tree(con, process, "imf")
    if stale_reason(stored, process, log_variants, noise_threshold):
        return None
    return from_stored(stored.tree), stored.fitness


def stale_reason(
    stored: discovery.StoredTree | None, process: str, log_variants: Counter, noise_threshold: float
) -> str | None:
    """Why ``stored`` (a ``discovery.StoredTree`` or None) is not the as-is model of these variants,
    or None when it is."""
    if stored is None:
        return (
            f"process {process!r} has no IMf process tree in model_runs: run the discover step "
            "with imf among discovery.algorithms before the bpmn step"
        )
    expected = discovery.model_id("imf", discovery.imf_parameters(noise_threshold), log_variants)
    if stored.model_id != expected:
        return (
            f"the IMf model stored for process {process!r} (model id {stored.model_id}) was mined from other "
            f"variants or another discovery.imf_noise_threshold than {noise_threshold} (model id {expected}): "
            "run the discover step again before the bpmn step"
        )
    return None


def as_is_model(con, process: str, log_variants: Counter, noise_threshold: float) -> tuple[Tree, float | None]:
    """The as-is tree and its fitness, as the discover step stored them (never mined again here)."""
    stored = discovery.stored_tree(con, process, "imf")
    reason = stale_reason(stored, process, log_variants, noise_threshold)
    if reason:
        raise ValueError(reason)
    return from_stored(stored.tree), stored.fitness


def mine(log_variants: Counter, noise_threshold: float, fitness_max_variants: int) -> tuple[Tree, float | None]:
    """Discover the IMf tree of ``log_variants`` and its token-based replay fitness on them.

    The fitness is None when the log has more than ``fitness_max_variants`` variants.
    """
    model = discovery.discover_imf(log_variants, noise_threshold)
    if len(log_variants) > fitness_max_variants:
        return from_pm4py(model.process_tree), None
    quality = discovery.evaluate(model, log_variants, with_precision=False)
    return from_pm4py(model.process_tree), quality["fitness"]


def build(warehouse: str | Path, config, process: str) -> Exported:
    """The annotated as-is and to-be BPMN of ``process`` (no files written)."""
    settings = config.bpmn
    noise = config.discovery.imf_noise_threshold
    con = connect(warehouse)
    try:
        log_variants = discovery.variants(con, process)
        if not log_variants:
            raise ValueError(f"process {process!r} has no events: nothing to draw as BPMN")
        figures = load_figures(con, process)
        as_is_tree, as_is_fitness = as_is_model(con, process, log_variants, noise)
    finally:
        con.close()
    plan = plan_removals(figures, settings.remove)
    if plan.unknown and len(config.processes) == 1:
        raise ValueError(unknown_removals_message(process, plan.unknown, figures.activities))
    to_be_noise = settings.to_be_noise_threshold if settings.to_be_noise_threshold is not None else noise
    # Removing every activity leaves no process: keep the most frequent path and say why (plan.notice).
    plan = keep_a_path(plan, log_variants, process)
    if plan.removed:
        projected = project(log_variants, plan.removed)
        to_be_tree, to_be_fitness = mine(projected, to_be_noise, settings.fitness_max_variants)
    elif to_be_noise == noise:
        to_be_tree, to_be_fitness = as_is_tree, as_is_fitness
    else:
        to_be_tree, to_be_fitness = mine(log_variants, to_be_noise, settings.fitness_max_variants)
    return export(
        process,
        as_is_tree,
        log_variants,
        to_be_tree,
        figures,
        plan,
        settings,
        as_is_fitness,
        to_be_fitness,
        noise,
        to_be_noise,
    )


def unknown_removals_message(process: str, unknown: Iterable[str], activities: Iterable[str]) -> str:
    """The error for names in bpmn.remove that ``process`` lacks: each with its likely meaning, then the activities."""
    known = sorted(activities)
    said = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6) or [
            a for a in known if a.casefold() == name.casefold()
        ]
        said.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    listed = ", ".join(known[:KNOWN_LISTED]) + (
        f" and {len(known) - KNOWN_LISTED} more" if len(known) > KNOWN_LISTED else ""
    )
    return f"bpmn.remove: process {process!r} has no activity {', '.join(said)} (known: {listed})"


def check_remove(step: str, warehouse: str | Path, config, process: str) -> None:
    """Refuse, right after the ``prepare`` step, names in bpmn.remove that the process does not have.

    The activities are known only once the log is prepared (the instance classifier names them), so
    this is the earliest point: called by the pipeline after every step, it acts after ``prepare``
    only, and a misspelt name stops the run before discovery, moments and waste rather than after
    them. With several processes a name may belong to another one, so, as in ``build``, only a
    single-process config is checked.
    """
    remove = config.bpmn.remove
    if step != "prepare" or not remove or len(config.processes) != 1:
        return
    with connect(warehouse) as con:
        rows = con.execute("SELECT activity FROM activity_stats WHERE process = $p", {"p": process}).fetchall()
    activities = {row[0] for row in rows}
    unknown = sorted(a for a in remove if a not in activities)
    if unknown and activities:  # no activities at all: the steps say 'no events' better
        raise ValueError(unknown_removals_message(process, unknown, activities))


def bpmn_step(warehouse: Path, config, process: str, out_dir: Path) -> dict:
    """Pipeline step: build the as-is and to-be BPMN of ``process`` into ``bpmn_documents``; return
    their figures and the files mining.exports writes them to.

    When the discover step left the IMf model out for a budget, nothing is drawn: the step records
    that in ``budget_skips`` (the report and the CLI say it) instead of failing the run.
    """
    with connect(warehouse) as con:
        con.execute("DELETE FROM budget_skips WHERE process = $p AND step = 'bpmn'", {"p": process}).fetchall()
        cut_short = imf_cut_short(con, process)
        if cut_short:
            con.execute("DELETE FROM bpmn_documents WHERE process = $p", {"p": process}).fetchall()
            con.execute(
                "INSERT INTO budget_skips VALUES ($p, 'bpmn', 'as-is and to-be BPMN', $reason, NULL, $budget)",
                {
                    "p": process,
                    "reason": f"not drawn: the IMf discovery it draws was skipped ({cut_short[0]})",
                    "budget": cut_short[1],
                },
            ).fetchall()
            return {"bpmn": {"skipped": f"no BPMN: the IMf discovery was skipped ({cut_short[0]}, {cut_short[1]})"}}
    exported = build(warehouse, config, process)
    with connect(warehouse) as con:
        con.execute("DELETE FROM bpmn_documents WHERE process = $p", {"p": process}).fetchall()
        con.execute(
            "INSERT INTO bpmn_documents VALUES ($p, $as_is, $to_be)",
            {"p": process, "as_is": exported.as_is, "to_be": exported.to_be},
        ).fetchall()
    folder = outputs.bpmn_folder(config.processes, process, out_dir)
    files = {"as_is_file": str(folder / outputs.AS_IS_FILE), "to_be_file": str(folder / outputs.TO_BE_FILE)}
    return {"bpmn": files | exported.summary}


def imf_cut_short(con, process: str) -> tuple[str, str] | None:
    """(reason, budget) when the discover step skipped the IMf discovery of ``process`` for a budget."""
    return con.execute(
        "SELECT reason, budget FROM budget_skips WHERE process = $p AND step = 'discover' AND work = 'imf discovery'",
        {"p": process},
    ).fetchone()
