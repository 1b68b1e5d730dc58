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
    figures = [figure]
    skips = budget_figure(ctx)
    if skips is not None:
        figures.append(skips)
    return Section(
        "models",
        "Model quality",
        "Fitness: how much of the behaviour in the log the model can replay (1 = all). Precision: how little behaviour the "
        "model allows that the log never shows (1 = none). Both by token-based replay (pm4py). imf is the Inductive Miner "
        "infrequent (the as-is BPMN is drawn from it), heuristics the Heuristics Miner.",
        figures,
    )


def budget_figure(ctx: Context) -> Figure | None:
    """What the steps skipped or cut short for a memory or time budget, and why; None when nothing was."""
    skips = ctx.get("budget_skips")
    if not skips.rows:  # nothing skipped (or a warehouse from before migration 014): no notice
        return None
    figure = Figure("budget-skips", "Skipped for a memory or time budget")
    use_result(figure, skips)
    figure.tables.append(
        table(
            "budget_skips",
            skips.rows,
            [
                Column("step", "step"),
                Column("work", "skipped"),
                Column("reason", "reason"),
                Column("estimate", "size estimate"),
                Column("budget", "budget"),
            ],
            note="The rest of the run completed. A skipped figure is left empty, never guessed; "
            "raise the budget in the config section `budgets` to compute it (docs/reliability.md).",
        )
    )
    return figure
