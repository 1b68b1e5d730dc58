"""The model-quality section: fitness and precision of the discovered models."""

from __future__ import annotations

from mining.report.context import Context
from mining.report.page import Column, Figure, Section, stat, table, use_result


def models_section(ctx: Context) -> Section:
    """Fitness and precision of the discovered models."""
    figure = Figure("model-quality", "Model quality")
    models = ctx.get("models")
    if use_result(figure, models):
        for r in models.rows:
            figure.stats.append(stat(f"fitness_{r['algorithm']}", f"{r['algorithm']} fitness", r["fitness"], "num3"))
            figure.stats.append(
                stat(f"precision_{r['algorithm']}", f"{r['algorithm']} precision", r["precision"], "num3")
            )
        figure.tables.append(
            table(
                "models",
                models.rows,
                [
                    Column("algorithm", "algorithm"),
                    Column("fitness", "fitness (log)", "num3"),
                    Column("avg_trace_fitness", "mean trace fitness", "num3"),
                    Column("fit_cases_share", "cases that fit", "pct"),
                    Column("precision", "precision", "num3"),
                    Column("n_transitions", "transitions", "int"),
                    Column("n_places", "places", "int"),
                ],
            )
        )
    return Section(
        "models",
        "Model quality",
        "Fitness: how much of the behaviour in the log the model can replay (1 = all). Precision: how little behaviour the "
        "model allows that the log never shows (1 = none). Both by token-based replay (pm4py). imf is the Inductive Miner "
        "infrequent (the as-is BPMN is drawn from it), heuristics the Heuristics Miner.",
        [figure],
    )
