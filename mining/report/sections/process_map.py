"""The process map section: the directly-follows graph with moments of truth and waste heat."""

from __future__ import annotations

from mining.report import processmap as pm
from mining.report.context import Context
from mining.report.formats import fmt_int, fmt_num, fmt_pct
from mining.report.page import Figure, Section, stat, use_result


def map_section(ctx: Context) -> Section:
    """The process map with moments of truth and waste heat."""
    figure = Figure("process-map", "Process map: moments of truth and waste")
    acts, edges = ctx.get("map_activities"), ctx.get("map_edges")
    ok = use_result(figure, acts, "activities") & use_result(figure, edges, "arrows")
    mot = ctx.get("mot_activities")
    waste = ctx.get("waste")
    has_mot = use_result(figure, mot, "moments of truth (no outline)")
    has_waste = use_result(figure, waste, "waste scores (no heat colour)")
    if not ok:
        return Section("process-map", "Process map", "", [figure])
    marks = {r["activity"]: r for r in mot.rows} if has_mot else {}
    scores = {r["activity"]: r for r in waste.rows} if has_waste else {}
    activities = [
        pm.MapActivity(
            activity=r["activity"],
            frequency=r["frequency"],
            is_moment_of_truth=marks[r["activity"]]["is_moment_of_truth"] if r["activity"] in marks else None,
            channel=marks.get(r["activity"], {}).get("channel"),
            waste_score=scores.get(r["activity"], {}).get("waste_score"),
            waste_rank=scores.get(r["activity"], {}).get("rank"),
            recommendation=scores.get(r["activity"], {}).get("recommendation"),
        )
        for r in acts.rows
    ]
    arrows = [pm.MapEdge(r["source_activity"], r["target_activity"], r["frequency"], r["median_s"]) for r in edges.rows]
    starts = {r["activity"]: r["n_start"] for r in acts.rows if r["n_start"]}
    ends = {r["activity"]: r["n_end"] for r in acts.rows if r["n_end"]}
    drawn = pm.process_map(activities, arrows, starts, ends)
    figure.svg = drawn.svg
    figure.stats = [
        stat("map_activities", "activities", len(activities)),
        stat("map_moments", "moments of truth", sum(1 for a in activities if a.is_moment_of_truth)),
        stat("map_edges_shown", "arrows drawn", drawn.n_edges_shown, hint=f"of {fmt_int(drawn.n_edges)}"),
        stat(
            "map_transitions_shown",
            "transitions covered",
            drawn.transitions_shown / drawn.transitions if drawn.transitions else None,
            "pct",
        ),
    ]
    figure.caption = (
        f"Each box is an activity with its number of events; arrows are directly-follows transitions with their counts "
        f"(line width grows with frequency). {fmt_int(drawn.n_edges_shown)} of {fmt_int(drawn.n_edges)} arrows are drawn: every "
        f"activity's most frequent incoming and outgoing arrow, then the most frequent others; they carry "
        f"{fmt_pct(drawn.transitions_shown / drawn.transitions if drawn.transitions else None)} of all transitions. "
        "Orange arrows run back up (rework and loops). Red tags count the cases that end at an activity. Hover for details."
    )
    figure.legend = [("lg-mot", "moment of truth (blue outline, MOT tag)"), ("lg-plain", "internal step")]
    if has_waste:
        figure.legend.append(
            ("lg-heat", f"waste score from 0 (pale) to 1 (dark red); highest here {fmt_num(drawn.max_waste)}")
        )
    figure.legend.append(("lg-back", "arrow back up: rework or loop"))
    return Section(
        "process-map",
        "Process map",
        "The process as it really runs, discovered from the events: where the customer is touched and where the waste sits.",
        [figure],
    )
