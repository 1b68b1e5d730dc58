"""The process map section: the directly-follows graph with moments of truth and waste heat."""

from __future__ import annotations

from mining.report import processmap as pm
from mining.report.context import Context
from mining.report.formats import fmt_int, fmt_num, fmt_pct
from mining.report.page import Figure, Section, stat, use_result

MAX_ARROWS = 60


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
            cases=r["n_cases"],
        )
        for r in acts.rows
    ]
    arrows = [
        pm.MapEdge(
            r["source_activity"],
            r["target_activity"],
            r["frequency"],
            r["median_s"],
            cases=r["n_cases"],
            mean_s=r["mean_s"],
            max_s=r["max_s"],
        )
        for r in edges.rows
    ]
    starts = {r["activity"]: r["n_start"] for r in acts.rows if r["n_start"]}
    ends = {r["activity"]: r["n_end"] for r in acts.rows if r["n_end"]}
    # A static page has no slider: past 60 arrows a map stops being read, so the report keeps the
    # connected backbone plus the most frequent arrows up to that many (mot serve has the sliders).
    drawn = pm.process_map(activities, arrows, starts, ends, max_edges=MAX_ARROWS)
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
        "Each box is an activity with its number of events and cases; arrows are directly-follows transitions with "
        "their counts and cases (line width grows with frequency). Dashed arrows leave the start circle and reach the "
        f"end circle with the number of cases that begin or finish there. {fmt_int(drawn.n_edges_shown)} of "
        f"{fmt_int(drawn.n_edges)} arrows are drawn: those that keep every activity reachable from the start and "
        "able to reach the end along its strongest paths, then the most frequent others; they carry "
        f"{fmt_pct(drawn.transitions_shown / drawn.transitions if drawn.transitions else None)} of all transitions. "
        "Laid out by Graphviz dot. Zoom with the buttons or Ctrl + wheel, drag to pan; hover for waits and details."
    )
    figure.legend = [("lg-mot", "moment of truth (blue outline, marked MOT)"), ("lg-plain", "internal step")]
    if has_waste:
        figure.legend.append(
            ("lg-heat", f"waste score from 0 (pale) to 1 (dark red); highest here {fmt_num(drawn.max_waste)}")
        )
    return Section(
        "process-map",
        "Process map",
        "The process as it really runs, discovered from the events: where the customer is touched and where the waste sits.",
        [figure],
    )
