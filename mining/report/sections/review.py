"""The review section: activities that no moment-of-truth rule decided."""

from __future__ import annotations

from mining.report.context import Context
from mining.report.page import Column, Figure, Section, stat, table, use_result


def review_section(ctx: Context) -> Section:
    """Activities no moment-of-truth rule decided."""
    figure = Figure("undecided", "Activities no rule decided")
    result = ctx.get("undecided")
    if use_result(figure, result):
        figure.tables.append(
            table(
                "undecided",
                result.rows,
                [
                    Column("activity", "activity"),
                    Column("n_events", "events", "int"),
                    Column("undecided_share", "undecided share", "pct"),
                    Column("is_moment_of_truth", "counted as moment of truth", "bool"),
                    Column("rules", "rules that decided the rest"),
                ],
                note="Add a rule under moments.marking.rules in the config to decide them; moments_review.csv lists them too.",
            )
        )
    elif not result.missing:
        figure.empty = "Every event of every activity was decided by a rule: nothing to review."
    figure.stats = [stat("undecided", "activities to review", len(result.rows))] if not result.missing else []
    return Section(
        "review",
        "For review: undecided activities",
        "Activities with events that no moment-of-truth rule marked as customer-facing or internal. Undecided events are "
        "not counted as moments of truth until a rule decides them.",
        [figure],
    )
