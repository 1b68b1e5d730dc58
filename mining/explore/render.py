"""The map's picture: the one place that calls the renderer (``mining.report.processmap``).

The page asks for a view (frequency or performance), a measure (mean, median, max) and Disco's
activity and path sliders (0-100 %). The renderer takes them as keyword options once its owner
adds them; until then ``render_map`` passes what the renderer accepts and keeps the rest in the
options it returns, so the merge is this one function.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import asdict, dataclass
from pathlib import Path

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
    """The SVG of ``graph`` (``queries.process_graph``'s result) and the options the renderer took."""
    accepted = inspect.signature(process_map).parameters
    wanted = {
        "view": options.view,
        "measure": options.measure,
        "activity_share": options.activities,
        "path_share": options.paths,
    }
    passed = {k: v for k, v in wanted.items() if k in accepted}
    drawn = process_map(graph["activities"], graph["edges"], graph["starts"], graph["ends"], **passed)
    return {"svg": drawn.svg, "options": asdict(options), "applied": sorted(passed)}


def bench_redraw(out_dir: str | Path, query: str = "outcome=success&min_duration=1d") -> float:
    """Seconds to redraw the map after a filter on the run in ``out_dir``: parse ``query`` (a filter
    query string) against the first process of the snapshot, then overview + process_graph + render.
    For ``make bench`` (the issue asks for the redraw time on BPIC2012 and the 10.5 M-event copy);
    the snapshot is opened before the clock starts, as the app keeps it open.
    """
    from urllib.parse import parse_qsl

    import duckdb

    from mining.explore import queries
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
        render_map(queries.process_graph(cursor, catalog, filters), MapOptions())
        return time.perf_counter() - started
    finally:
        con.close()
