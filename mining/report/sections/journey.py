"""The journey section: which activities are moments of truth, the running score and each moment's score."""

from __future__ import annotations

import math
from collections.abc import Sequence

from mining.report import charts
from mining.report.context import Context
from mining.report.formats import fmt_int
from mining.report.page import Column, Figure, Section, stat, table, use_result


def min_curve_cases(curve: Sequence[dict]) -> int:
    """How many cases a point of the running-score curve needs: 1% of the cases, at least 10."""
    return max(10, math.ceil(0.01 * max(r["n_cases"] for r in curve)))


def curve_cutoff(curve: Sequence[dict]) -> int:
    """The last n-th moment that enough cases reach (the tail of a few long cases is noise)."""
    need = min_curve_cases(curve)
    reached = [r["mot_seq"] for r in curve if r["n_cases"] >= need]
    return max(reached) if reached else curve[-1]["mot_seq"]


def journey_section(ctx: Context) -> Section:
    """Moments of truth, running score and the per-moment scores."""
    marks = Figure("moments", "Which activities are moments of truth")
    mot = ctx.get("mot_activities")
    if use_result(marks, mot):
        moments = [r for r in mot.rows if r["is_moment_of_truth"]]
        marks.stats = [
            stat("mot_activities", "moments of truth", len(moments), hint=f"of {len(mot.rows)} activities"),
            stat("mot_events", "moments (activity instances)", sum(r["n_moments"] for r in mot.rows)),
            stat(
                "mot_event_share",
                "of all activity instances",
                sum(r["n_moments"] for r in mot.rows)
                / max(1, sum(r.get("n_instances") or r["n_events"] for r in mot.rows)),
                "pct",
            ),
        ]
        marks.tables.append(
            table(
                "mot-activities",
                sorted(mot.rows, key=lambda r: (not r["is_moment_of_truth"], -r["n_events"], r["activity"])),
                [
                    Column("activity", "activity"),
                    Column("is_moment_of_truth", "moment of truth", "bool"),
                    Column("share", "share of its instances", "pct"),
                    Column("channel", "channel"),
                    Column("n_events", "events", "int"),
                    Column("rule", "decided by"),
                ],
            )
        )
    curve_fig = Figure("running-score", "The running score along the journey")
    curve = ctx.get("running_score")
    if use_result(curve_fig, curve):
        cutoff = curve_cutoff(curve.rows)
        chart = charts.running_score_chart([r for r in curve.rows if r["mot_seq"] <= cutoff])
        curve_fig.svg, curve_fig.caption = chart.svg, chart.description
        if cutoff < curve.rows[-1]["mot_seq"]:
            curve_fig.caption += (
                f" Drawn up to moment {cutoff}: beyond it fewer than {fmt_int(min_curve_cases(curve.rows))} cases "
                f"remain (the longest case has {curve.rows[-1]['mot_seq']} moments)."
            )
        outcome = ctx.get("score_by_outcome")
        if use_result(curve_fig, outcome, "scores by outcome"):
            curve_fig.tables.append(
                table(
                    "score-by-outcome",
                    outcome.rows,
                    [
                        Column("outcome", "outcome"),
                        Column("n_cases", "cases", "int"),
                        Column("share", "share", "pct"),
                        Column("mean_final_score", "mean final score", "score"),
                        Column("mean_moment_score", "mean score per moment", "score"),
                        Column("mean_min_score", "mean lowest score", "score"),
                        Column("mean_moments", "moments per case", "num"),
                        Column("mean_poor_moments", "poor moments per case", "num"),
                    ],
                )
            )
    traj = Figure("trajectories", "Running-score trajectories by outcome")
    samples, by_outcome = ctx.get("trajectories"), ctx.get("running_score_by_outcome")
    if use_result(traj, samples, "sampled cases") & use_result(traj, by_outcome, "mean per outcome"):
        cutoff = curve_cutoff(curve.rows) if curve.ok else max(r["mot_seq"] for r in samples.rows)
        chart = charts.trajectories_chart(
            [r for r in samples.rows if r["mot_seq"] <= cutoff], [r for r in by_outcome.rows if r["mot_seq"] <= cutoff]
        )
        traj.svg, traj.caption = (
            chart.svg,
            chart.description
            + " The sample is the 25 cases per outcome with the smallest md5(case_id): the same on every run.",
        )
    scores = Figure("mot-scores", "How each moment of truth scores")
    per_mot = ctx.get("mot_scores")
    if use_result(scores, per_mot):
        scores.tables.append(
            table(
                "mot-scores",
                per_mot.rows,
                [
                    Column("activity", "moment of truth"),
                    Column("main_channel", "main channel"),
                    Column("n_moments", "moments", "int"),
                    Column("mean_score", "mean score", "score"),
                    Column("n_poor", "poor", "int"),
                    Column("poor_share", "poor share", "pct"),
                    Column("median_wait", "median wait", "text"),
                    Column("wait_budget", "wait budget", "text"),
                    Column("expectation_source", "budget from", "text"),
                    Column("n_wait_missed", "wait missed", "int"),
                    Column("n_effort_over", "effort over", "int"),
                    Column("n_timer_driven", "timer-driven", "int"),
                ],
                note=(
                    "Poor = the moment missed its expectation: its wait over budget, more customer effort than "
                    "expected, or a negative signal. Budgets come from the activity's config, else its channel's "
                    "documented default, else 'learned' from the data (a fallback, not a standard). Waits set by "
                    "a timer or the calendar are not judged."
                ),
            )
        )
    return Section(
        "journey",
        "Moments of truth and the running score",
        "Every interaction with the customer is a moment of truth. Each one is scored against what the customer could "
        "expect (a wait budget and an effort budget): a moment that meets it adds to the running score, one that "
        "misses it subtracts (waiting, repeats, channel switches, hand-offs, effort, outcome). The mean score per "
        "moment sets journeys of different length side by side.",
        [marks, curve_fig, traj, scores],
    )
