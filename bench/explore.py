"""The explorer's redraw after a filter (issue 19), on a run's read snapshot.

What ``mot serve`` does when the page applies a filter, server side: parse the filter, the overview
counters (``/api/overview``), the process graph of the filtered cases and the map's picture
(``/api/map``), each request on its own cursor of the snapshot the app keeps open. The map is drawn
by ``mining.explore.render.render_map``, whichever renderer is behind it.

- **first draw (cold)**: the first redraw (no filter) in a fresh process, right after the snapshot
  is opened and the process's catalog read (both timed apart, as the app does them once);
- then each filter: one warm-up, then ``repeats`` redraws; the best counts.

Each redraw is split into its parts (cursor, filter, overview, graph, render) and its SQL
statements, so a slow redraw names the query that bounds it. The filters are picked from the
snapshot (untimed): no filter, an outcome, the middle fifth of the time span, cases with the
activity closest to half of the cases, the most common value of a case attribute, and the
combination ``bench_redraw`` uses by default when the process has that outcome.

    python -m bench.explore out/run                    # a folder `mot run` wrote
    python -m bench.explore out/run --repeats 5 --out out/explore.json

In ``make bench`` it is the ours side's ``explore`` stage, after ``step:queries`` published the
snapshot (bench.stages).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from bench import machine

DEFAULT_QUERY = "outcome=success&min_duration=1d"  # mining.explore.render.bench_redraw's default
PARTS = ("cursor", "filter", "overview", "graph", "render")


class _TimedCursor:
    """A DuckDB cursor that adds the time of each statement (execute and fetch) to ``log[label]``."""

    def __init__(self, cursor, log: dict[str, float], labels: dict[str, str]) -> None:
        self._cursor, self._log, self._labels, self._last = cursor, log, labels, "other"

    def execute(self, query: str, params=None):
        self._last = _label(query, self._labels)
        started = time.perf_counter()
        if params is None:
            self._cursor.execute(query)
        else:
            self._cursor.execute(query, params)
        self._log[self._last] += time.perf_counter() - started
        return self

    def _timed(self, name: str):
        started = time.perf_counter()
        result = getattr(self._cursor, name)()
        self._log[self._last] += time.perf_counter() - started
        return result

    def fetchall(self):
        return self._timed("fetchall")

    def fetchone(self):
        return self._timed("fetchone")

    def __getattr__(self, name: str):
        return getattr(self._cursor, name)


def _labels() -> dict[str, str]:
    """The explorer's SQL texts of a redraw, by their section name (``overview.filtered``, ...)."""
    from mining.explore import queries
    from mining.warehouse.sqlfiles import sections

    found = {}
    for name in ("overview", "graph"):
        for section, text in sections(queries.sql(name)).items():
            found[_normal(text)] = f"{name}.{section}"
    return found


def _normal(text: str) -> str:
    return " ".join(text.split()).rstrip(";")


def _label(query: str, labels: dict[str, str]) -> str:
    from mining.explore.filters import materialise_sql

    if query.lstrip().startswith(materialise_sql().strip()):
        return "case set (filters -> explore_cases)"
    text = _normal(query)
    return labels.get(text) or "other: " + text[:60]


def redraw(snapshot, catalog, query: str, labels: dict[str, str]) -> dict:
    """One redraw of the map after the filter ``query``: seconds, its parts and statements, cases kept.

    As the page does it: ``/api/overview`` then ``/api/map``, each on a cursor of its own.
    """
    from mining.explore import queries
    from mining.explore.filters import parse_filters
    from mining.explore.render import MapOptions, render_map

    parts: dict[str, float] = dict.fromkeys(PARTS, 0.0)
    statements: dict[str, float] = defaultdict(float)
    opened = []

    def clock(part: str, work):
        started = time.perf_counter()
        try:
            return work()
        finally:
            parts[part] += time.perf_counter() - started

    started = time.perf_counter()
    try:
        # /api/overview
        cursor = clock("cursor", snapshot.cursor)
        opened.append(cursor)
        filters = clock("filter", lambda: parse_filters(parse_qsl(query), catalog))
        timed = _TimedCursor(cursor, statements, labels)
        head = clock("overview", lambda: queries.overview(timed, catalog, filters))
        # /api/map
        cursor = clock("cursor", snapshot.cursor)
        opened.append(cursor)
        filters = clock("filter", lambda: parse_filters(parse_qsl(query), catalog))
        timed = _TimedCursor(cursor, statements, labels)
        graph = clock("graph", lambda: queries.process_graph(timed, catalog, filters))
        drawn = clock("render", lambda: render_map(graph, MapOptions()))
        seconds = time.perf_counter() - started
    finally:
        for cursor in opened:
            cursor.close()
    return {
        "seconds": round(seconds, 4),
        "cases": int(head["filtered"]["cases"]),
        "activities": len(graph["activities"]),
        "arcs": len(graph["edges"]),
        "svg_bytes": len(drawn.get("svg") or ""),
        "parts": {k: round(v, 4) for k, v in parts.items()},
        "statements": {k: round(v, 4) for k, v in sorted(statements.items(), key=lambda kv: -kv[1])},
    }


def choose_filters(cursor, catalog) -> list[tuple[str, str]]:
    """The filters to measure, as (name, query string), picked from the snapshot's own values."""
    from mining.explore import queries
    from mining.explore.catalog import json_path

    p = {"process": catalog.process}
    chosen = [("no filter", "")]
    if catalog.outcomes:
        outcome = "success" if "success" in catalog.outcomes else catalog.outcomes[0]
        chosen.append((f"outcome {outcome}", urlencode([("outcome", outcome)])))
    first, last = cursor.execute("SELECT min(start_ts), max(end_ts) FROM cases WHERE process = $process", p).fetchone()
    if first is not None and last is not None and last > first:
        span = last - first
        since, until = (first + span * 0.4).date(), (first + span * 0.6).date()
        if until > since:
            chosen.append(
                ("time frame: middle fifth", urlencode([("since", since.isoformat()), ("until", until.isoformat())]))
            )
    activities = queries.rows(cursor, queries.sql("attributes", "activities"), p)
    total = cursor.execute("SELECT count(*) FROM cases WHERE process = $process", p).fetchone()[0]
    if activities and total:
        half = min(activities, key=lambda r: (abs(r["cases"] - total / 2), r["value"]))
        chosen.append(("with activity", urlencode([("with", half["value"])])))
    best = None
    for name, key in sorted(catalog.case_attributes.items()):
        top = queries.rows(cursor, queries.sql("attributes", "json_values"), p | {"key": json_path(key), "limit": 1})
        if top and top[0]["cases"] < total and (best is None or top[0]["cases"] > best[2]):
            best = (name, top[0]["value"], top[0]["cases"])
    if best:
        chosen.append((f"case attribute {best[0]}", urlencode([(f"case.{best[0]}", best[1])])))
    if "success" in catalog.outcomes:
        chosen.append(("outcome + throughput (bench_redraw's)", DEFAULT_QUERY))
    return chosen


def measure(out_dir: str | Path, repeats: int = 3, warmups: int = 1, filters: list[tuple[str, str]] | None = None):
    """The redraw figures of the run in ``out_dir`` (its ``warehouse.snapshot.duckdb``), first process.

    ``filters``: (name, query string) pairs; default ``choose_filters``. Raises FileNotFoundError
    when the folder has no read snapshot.
    """
    from mining.explore.app import Snapshot
    from mining.explore.catalog import load_catalog, processes
    from mining.outputs import snapshot_path, warehouse_path

    path = snapshot_path(warehouse_path(out_dir))
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no read snapshot (`mot run` and the queries step publish it)")
    labels = _labels()
    load_start = machine.load_average()
    started = time.perf_counter()
    snapshot = Snapshot(path)
    cursor = snapshot.cursor()
    open_s = time.perf_counter() - started
    try:
        found = processes(cursor)
        started = time.perf_counter()
        catalog = load_catalog(cursor, found[0]["process"])
        catalog_s = time.perf_counter() - started
        cold = redraw(snapshot, catalog, "", labels)
        chosen = filters if filters is not None else choose_filters(cursor, catalog)
    finally:
        cursor.close()
    measured = []
    for name, query in chosen:
        for _ in range(warmups):
            redraw(snapshot, catalog, query, labels)
        runs = [redraw(snapshot, catalog, query, labels) for _ in range(repeats)]
        best = min(runs, key=lambda r: r["seconds"])
        measured.append(
            {"name": name, "query": query, "best_s": best["seconds"], "runs_s": [r["seconds"] for r in runs], **best}
        )
    return {
        "snapshot": str(path),
        "process": catalog.process,
        "cases": found[0]["cases"],
        "events": found[0]["events"],
        "renderer": renderer(),
        "repeats": repeats,
        "warmups": warmups,
        "open_s": round(open_s, 4),
        "catalog_s": round(catalog_s, 4),
        "cold": {"name": "no filter", "query": "", **cold},
        "filters": measured,
        "load_start": load_start,
        "load_end": machine.load_average(),
        "measured_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
    }


def renderer() -> str:
    """The function behind ``render_map`` (informational: the measurement does not depend on it)."""
    from mining.explore import render

    for name in ("process_map", "render_dot", "render_svg"):
        fn = getattr(render, name, None)
        if callable(fn):
            return f"{fn.__module__}.{fn.__name__}"
    return "mining.explore.render.render_map"


def main(argv: list[str] | None = None) -> int:
    """Measure a run folder and print the table (and the JSON to ``--out``)."""
    parser = argparse.ArgumentParser(prog="python -m bench.explore", description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="output folder of a run (holding warehouse.snapshot.duckdb)")
    parser.add_argument("--repeats", type=int, default=3, help="timed redraws per filter (default %(default)s)")
    parser.add_argument("--warmups", type=int, default=1, help="untimed redraws first (default %(default)s)")
    parser.add_argument("--query", action="append", default=[], help="a filter query string (repeatable)")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    filters = [(q or "no filter", q) for q in args.query] or None
    figures = measure(args.run, repeats=args.repeats, warmups=args.warmups, filters=filters)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    from bench import report

    print(report.explore_markdown({args.run.name: figures}), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
