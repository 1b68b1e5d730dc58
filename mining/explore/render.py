"""The map's picture: the one place that calls the renderer (``mining.report.processmap``).

The page asks for a view (frequency or performance), a measure (mean, median, max) and Disco's
activity and path sliders (0-100 %). The activity slider is applied to the data, as Disco does:
the hidden activities are taken out of the cases and the arrows counted again
(``queries.process_graph(keep=...)``), so the kept ones stay linked; the path slider is the
renderer's (``mapfilter.keep_paths``: a backbone from start and to end, then the heaviest others).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

from mining.explore import queries
from mining.report.mapfilter import keep_activities
from mining.report.processmap import process_map

VIEWS = ("frequency", "performance")
MEASURES = ("mean", "median", "max")


@dataclass(frozen=True)
class MapOptions:
    """What the page asks of the map; validated by ``map_options`` in the app."""

    view: str = "frequency"
    measure: str = "median"
    activities: int = 100  # share of activities shown, most frequent first (Disco's slider)
    paths: int = 100  # share of paths shown


def render_map(graph: dict, options: MapOptions) -> dict:
    """The SVG of ``graph`` (``map_graph``'s result, the activity slider applied) and the options."""
    drawn = process_map(
        graph["activities"],
        graph["edges"],
        graph["starts"],
        graph["ends"],
        view=options.view,
        measure=options.measure,
        path_share=options.paths / 100,
    )
    shown = {"activities": drawn.n_activities_shown, "arcs": drawn.n_edges_shown, "arcs_total": drawn.n_edges}
    return {"svg": drawn.svg, "options": asdict(options), "shown": shown}


def map_graph(con, catalog, filters, options: MapOptions) -> dict:
    """``queries.process_graph`` of the filtered cases with the activity slider applied: the most
    frequent activities covering ``options.activities`` % of the instances (at least one)."""
    graph = queries.process_graph(con, catalog, filters)
    if options.activities >= 100 or not graph["activities"]:
        return graph
    keep = keep_activities({a.activity: a.frequency for a in graph["activities"]}, options.activities / 100)
    return queries.process_graph(con, catalog, filters, keep=sorted(keep))


def bench_redraw(out_dir: str | Path, query: str = "outcome=success&min_duration=1d") -> float:
    """Seconds to redraw the map after a filter on the run in ``out_dir``: parse ``query`` (a filter
    query string) against the first process of the snapshot, then overview + process_graph + render.
    For ``make bench`` (the issue asks for the redraw time on BPIC2012 and the 10.5 M-event copy);
    the snapshot is opened before the clock starts, as the app keeps it open.
    """
    from urllib.parse import parse_qsl

    import duckdb

    from mining.explore.catalog import load_catalog, processes
    from mining.explore.filters import parse_filters
    from mining.outputs import snapshot_path, warehouse_path

    con = duckdb.connect(str(snapshot_path(warehouse_path(out_dir))), read_only=True)
    try:
        cursor = con.cursor()
        process = processes(cursor)[0]["process"]
        catalog = load_catalog(cursor, process)
        started = time.perf_counter()
        filters = parse_filters(parse_qsl(query), catalog)
        queries.overview(cursor, catalog, filters)
        render_map(map_graph(cursor, catalog, filters, MapOptions()), MapOptions())
        return time.perf_counter() - started
    finally:
        con.close()
