"""``mot serve``'s web app: a JSON API over a run's read snapshot, and the page in ``static/``.

Starlette, not FastAPI: every parameter goes through our own validation (``mining.explore.filters``)
so that a bad value gets one error shape, ``{"error": message, "key": key}`` with status 400;
FastAPI's declared parameters would answer 422 in its own shape first. Starlette is what FastAPI
is built on, so nothing is lost but the generated OpenAPI page.

The app opens the snapshot read-only (never the live warehouse, so a run writing it is never
blocked), reopens it when a run publishes a new one (its inode, size or mtime changed), and gives
each request its own cursor: the filtered case set is a temp table of that cursor. All endpoints
are GET; none accepts SQL; page sizes are capped.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
from collections.abc import Callable
from pathlib import Path

import duckdb
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from mining.explore import exports, queries
from mining.explore.catalog import Catalog, load_catalog, processes
from mining.explore.filters import FilterError, Filters, parse_filters
from mining.explore.render import MEASURES, VIEWS, MapOptions, map_graph, render_map
from mining.shell import json_value
from mining.warehouse import apply_engine_settings, sql_literal

STATIC = Path(__file__).with_name("static")
MAX_OFFSET = 10**9
SNAPSHOT_ALIAS = "snapshot"
log = logging.getLogger(__name__)


class NotFound(LookupError):
    """A process or case the snapshot does not hold (HTTP 404); ``key`` names the parameter."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key, self.message = key, message


class Snapshot:
    """The read snapshot of one run, reopened when the file is replaced; catalogs cached per file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._stamp: tuple | None = None
        self._catalogs: dict[str, Catalog | None] = {}

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor on the current snapshot (reopened first when a new one was published)."""
        stat = os.stat(self.path)
        stamp = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        with self._lock:
            if stamp != self._stamp:
                # The old connection is dropped, not closed: requests still running keep their cursors.
                self._con, self._stamp, self._catalogs = open_snapshot(self.path), stamp, {}
            cursor = self._con.cursor()
        cursor.execute(f"USE {SNAPSHOT_ALIAS}; SET TimeZone = 'UTC'")
        return cursor

    def catalog(self, cursor: duckdb.DuckDBPyConnection, process: str) -> Catalog:
        """The catalog of ``process`` (``NotFound`` when the snapshot has no such process)."""
        with self._lock:
            cached = self._catalogs.get(process, False)
        if cached is False:
            cached = load_catalog(cursor, process)
            with self._lock:
                self._catalogs[process] = cached
        if cached is None:
            raise NotFound("process", f"no process {process!r} in this warehouse")
        return cached


def open_snapshot(path: Path) -> duckdb.DuckDBPyConnection:
    """A new in-memory database with the snapshot attached read-only.

    Not ``duckdb.connect(path)``: DuckDB hands out the database it already has open for a path, so
    a snapshot replaced under the same name would never be read while an old cursor lives.
    """
    con = duckdb.connect(":memory:")
    apply_engine_settings(con)
    con.execute(f"ATTACH {sql_literal(path)} AS {SNAPSHOT_ALIAS} (READ_ONLY)").fetchall()
    return con


def json_response(data, status: int = 200) -> Response:
    """JSON of DuckDB values: times as ISO 8601 text, NaN and infinities as null."""
    body = json.dumps(_finite(json_value(data)), ensure_ascii=False, allow_nan=False)
    return Response(body, status_code=status, media_type="application/json")


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def error(message: str, key: str | None, status: int) -> Response:
    """The one error shape of the API."""
    return json_response({"error": message, "key": key}, status)


class Ask:
    """One request's parameters, checked one by one (each failure a ``FilterError`` naming its key)."""

    def __init__(self, request: Request, snapshot: Snapshot, cursor: duckdb.DuckDBPyConnection) -> None:
        self.items = list(request.query_params.multi_items())
        self.snapshot, self.cursor = snapshot, cursor

    def one(self, key: str, default: str | None = None) -> str | None:
        values = [v for k, v in self.items if k == key]
        if len(values) > 1:
            raise FilterError(key, "may be given once")
        return values[0] if values else default

    def all(self, key: str) -> list[str]:
        return [v for k, v in self.items if k == key]

    def number(self, key: str, default: int | None, low: int, high: int) -> int | None:
        text = self.one(key)
        if text is None:
            return default
        if not text.isdigit() or not low <= int(text) <= high:
            raise FilterError(key, f"expected a whole number from {low} to {high}")
        return int(text)

    def choice(self, key: str, default: str, allowed: tuple[str, ...]) -> str:
        value = self.one(key, default)
        if value not in allowed:
            raise FilterError(key, f"expected one of {', '.join(allowed)}")
        return value

    def catalog(self) -> Catalog:
        process = self.one("process")
        if not process:
            raise FilterError("process", "required: the process to explore (see /api/processes)")
        return self.snapshot.catalog(self.cursor, process)

    def filters(self, catalog: Catalog, own: tuple[str, ...] = ()) -> Filters:
        return parse_filters(self.items, catalog, ("process", *own))

    def activities(self, key: str, catalog: Catalog) -> list[str]:
        found = self.all(key)
        for activity in found:
            if activity not in catalog.activities:
                raise FilterError(key, f"{activity!r} is not an activity of this process")
        return found


def endpoint(snapshot: Snapshot, handler: Callable[[Ask], Response | dict]) -> Callable:
    """A GET route around ``handler``: one cursor per request; errors in the API's one shape."""

    def route(request: Request) -> Response:
        try:
            cursor = snapshot.cursor()
        except (OSError, duckdb.Error) as exc:  # gone, or not a warehouse DuckDB can read
            log.warning("explore API: cannot open %s: %s", snapshot.path, exc)
            return error(f"cannot read the snapshot {snapshot.path.name}: run the pipeline again", None, 503)
        try:
            result = handler(Ask(request, snapshot, cursor))
            return result if isinstance(result, Response) else json_response(result)
        except FilterError as exc:
            return error(exc.message, exc.key, 400)
        except NotFound as exc:
            return error(exc.message, exc.key, 404)
        except Exception:  # a bug: logged with its traceback, never shown (it could hold SQL)
            log.exception("explore API: %s failed", request.url.path)
            return error("internal error: see the server's log", None, 500)
        finally:
            cursor.close()

    return route


FILTER_HELP = "filters: since, until, timeframe, case.<attribute>, event.<attribute>, variant, outcome, with, without, min_duration, max_duration"
WITHIN = ("activity", "source", "target", "of_variant")
PAGE = ("limit", "offset")


def _filtered(ask: Ask, own: tuple[str, ...] = ()) -> tuple[Catalog, Filters, dict]:
    catalog = ask.catalog()
    filters = ask.filters(catalog, own)
    return catalog, filters, {"process": catalog.process, "query": filters.to_query(), "chips": filters.chips()}


def api_processes(ask: Ask) -> dict:
    return {"processes": processes(ask.cursor), "snapshot": ask.snapshot.path.name, "filters": FILTER_HELP}


def api_overview(ask: Ask) -> dict:
    catalog, filters, head = _filtered(ask)
    return head | queries.overview(ask.cursor, catalog, filters)


def map_options(ask: Ask) -> MapOptions:
    """The map's view options from the query string (400 on a bad value)."""
    return MapOptions(
        view=ask.choice("view", "frequency", VIEWS),
        measure=ask.choice("measure", "median", MEASURES),
        activities=ask.number("activities", 100, 0, 100),
        paths=ask.number("paths", 100, 0, 100),
    )


def api_map(ask: Ask) -> dict:
    catalog, filters, head = _filtered(ask, ("view", "measure", "activities", "paths"))
    options = map_options(ask)
    graph = map_graph(ask.cursor, catalog, filters, options)
    return head | queries.graph_json(graph) | render_map(graph, options)


def _within(ask: Ask, catalog: Catalog) -> dict:
    within = {k: ask.one(k) for k in ("activity", "source", "target")}
    for key, value in within.items():
        if value is not None and value not in catalog.activities:
            raise FilterError(key, f"{value!r} is not an activity of this process")
    if (within["source"] is None) != (within["target"] is None):
        raise FilterError("target" if within["target"] is None else "source", "an arc needs both source and target")
    if catalog.n_variants:
        within["variant"] = ask.number("of_variant", None, 1, catalog.n_variants)
    return within


def api_cases(ask: Ask) -> dict:
    catalog, filters, head = _filtered(ask, WITHIN + PAGE)
    within = _within(ask, catalog)
    page = ask.number("limit", 100, 1, queries.MAX_PAGE), ask.number("offset", 0, 0, MAX_OFFSET)
    return head | {"within": within} | queries.cases(ask.cursor, catalog, filters, within, *page)


def api_case(ask: Ask) -> dict:
    catalog = ask.catalog()
    ask.filters(catalog, ("case_id",))  # no filters apply, but unknown keys are still refused
    case_id = ask.one("case_id")
    if not case_id:
        raise FilterError("case_id", "required: the case to show")
    found = queries.journey(ask.cursor, catalog, case_id)
    if found is None:
        raise NotFound("case_id", f"no case {case_id!r} in process {catalog.process!r}")
    return {"process": catalog.process} | found


def api_variants(ask: Ask) -> dict:
    catalog, filters, head = _filtered(ask, PAGE)
    page = ask.number("limit", 100, 1, queries.MAX_PAGE), ask.number("offset", 0, 0, MAX_OFFSET)
    return head | queries.variants(ask.cursor, catalog, filters, *page)


def api_findings(ask: Ask) -> dict:
    catalog = ask.catalog()
    ask.filters(catalog)
    return {"process": catalog.process} | queries.findings(ask.cursor, catalog)


def api_whatif(ask: Ask) -> dict:
    catalog, filters, head = _filtered(ask, ("remove",))
    remove = ask.activities("remove", catalog)
    if not remove:
        raise FilterError("remove", "required: one or more activities to remove")
    return head | queries.what_if(ask.cursor, catalog, filters, sorted(set(remove)))


def api_attributes(ask: Ask) -> dict:
    catalog = ask.catalog()
    ask.filters(catalog, ("top",))
    return {"process": catalog.process} | queries.attributes(ask.cursor, catalog, ask.number("top", 20, 1, 100))


def api_sql(ask: Ask) -> Response:
    catalog, filters, _ = _filtered(ask, ("figure", "remove", *WITHIN, *PAGE))
    figure = ask.choice("figure", "", tuple(exports.FIGURES))
    extra = {
        "remove": ask.activities("remove", catalog),
        "within": _within(ask, catalog),
        "limit": ask.number("limit", 100, 1, queries.MAX_PAGE),
        "offset": ask.number("offset", 0, 0, MAX_OFFSET),
    }
    text = exports.sql_of(figure, catalog, filters, **extra)
    return Response(text, media_type="text/plain; charset=utf-8")


def download(kind: str, write: Callable, media: str) -> Callable[[Ask], Response]:
    """An export endpoint: the filtered view as a file download."""

    def handler(ask: Ask) -> Response:
        catalog, filters, _ = _filtered(ask)
        try:
            data = write(ask.cursor, catalog, filters)
        except ValueError as exc:  # nothing to export (no case passes the filters)
            raise FilterError("filters", str(exc)) from None
        name = exports.download_name(catalog, kind)
        return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    return handler


DOWNLOADS = {
    "csv": (exports.event_log_csv, "text/csv; charset=utf-8"),
    "parquet": (exports.event_log_parquet, "application/vnd.apache.parquet"),
    "xes": (exports.event_log_xes, "application/xml"),
    "bpmn": (exports.bpmn, "application/xml"),
}
API = {
    "processes": api_processes,
    "overview": api_overview,
    "map": api_map,
    "cases": api_cases,
    "case": api_case,
    "variants": api_variants,
    "findings": api_findings,
    "whatif": api_whatif,
    "attributes": api_attributes,
    "sql": api_sql,
}


def create_app(snapshot_file: str | Path) -> Starlette:
    """The app over one run's read snapshot (``DIR/warehouse.snapshot.duckdb``)."""
    snapshot = Snapshot(snapshot_file)
    routes = [Route(f"/api/{name}", endpoint(snapshot, handler)) for name, handler in API.items()]
    routes += [
        Route(f"/api/export.{kind}", endpoint(snapshot, download(kind, write, media)))
        for kind, (write, media) in DOWNLOADS.items()
    ]
    routes += [
        Route("/api/{rest:path}", lambda request: error(f"no endpoint {request.url.path}", None, 404)),
        Route("/", lambda request: FileResponse(STATIC / "index.html")),
        Mount("/static", StaticFiles(directory=STATIC)),
    ]
    app = Starlette(routes=routes)
    app.state.snapshot = snapshot
    return app
