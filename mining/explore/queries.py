"""The explorer's figures: pure functions from a DuckDB cursor, a process's catalog and filters to data.

Each function first stores the filtered case set as the cursor's temp table ``explore_cases``
(``select_cases``), then runs its SQL from ``mining/explore/sql/`` over it. The cursor must be the
request's own (temp tables belong to a connection), so requests never see each other's cases.
Figures the warehouse cannot give are None with a "not measurable: <reason>" beside them.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import asdict

import duckdb

from mining.explore.catalog import COLUMNS, Catalog, json_path
from mining.explore.filters import Filters, case_set_sql, code_sections, materialise_sql
from mining.report.processmap import MapActivity, MapEdge
from mining.warehouse.sqlfiles import sections, sql_file

MAX_PAGE = 500
NO_MOMENTS = "not measurable: the moments analysis has not run for this process"
WHATIF_ASSUMPTION = (
    "Removing an activity removes its events and its measured service time (end - start of its instances); "
    "the waiting time before it is kept. Activities without START events have no measured service time, "
    "so removing them shortens no case. A case all of whose events are removed leaves the figures after."
)


def sql(name: str, section: str | None = None) -> str:
    """The text of ``mining/explore/sql/<name>.sql``, or of one ``-- @section`` of it."""
    text = sql_file("mining.explore", name)
    return sections(text)[section] if section else text


def rows(con: duckdb.DuckDBPyConnection, query: str, params: dict) -> list[dict]:
    """The rows of ``query`` as dicts (DuckDB values; the app turns them into JSON). Only the
    parameters the query uses are bound: DuckDB refuses extra ones."""
    cursor = con.execute(query, {k: v for k, v in params.items() if re.search(rf"\${k}\b", query)})
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def select_cases(con: duckdb.DuckDBPyConnection, catalog: Catalog, filters: Filters) -> None:
    """Store the filtered case ids of the process as the cursor's temp table ``explore_cases``."""
    query, params = case_set_sql(filters, catalog)
    con.execute(materialise_sql() + "\n" + query, params).fetchall()


def overview(con: duckdb.DuckDBPyConnection, catalog: Catalog, filters: Filters) -> dict:
    """Cases, events, variants, median throughput and time span: filtered and over every case."""
    select_cases(con, catalog, filters)
    p = {"process": catalog.process}
    return {
        "filtered": rows(con, sql("overview", "filtered"), p)[0],
        "total": rows(con, sql("overview", "total"), p)[0],
    }


def process_graph(
    con: duckdb.DuckDBPyConnection, catalog: Catalog, filters: Filters, keep: list[str] | None = None
) -> dict:
    """The map of the filtered cases: ``activities`` (MapActivity), ``edges`` (MapEdge), ``starts``
    and ``ends`` (activity -> cases), with what was not measurable. With ``keep`` (the activity
    slider's choice), the other activities are taken out of the cases first, as Disco does: the
    arrows then link each kept activity to the next kept one."""
    select_cases(con, catalog, filters)
    p = {"process": catalog.process, "keep": sorted(keep) if keep is not None else None}
    marks = {r["activity"]: r for r in rows(con, sql("graph", "marks"), {"process": catalog.process})}
    activities = []
    for r in rows(con, sql("graph", "activities"), p):
        m = marks.get(r["activity"], {})
        activities.append(
            MapActivity(
                activity=r["activity"],
                frequency=r["frequency"],
                is_moment_of_truth=m.get("is_moment_of_truth"),
                channel=m.get("channel"),
                waste_score=m.get("waste_score"),
                waste_rank=m.get("waste_rank"),
                recommendation=m.get("recommendation"),
                cases=r["cases"],
                service_mean_s=r["service_mean_s"],
                service_median_s=r["service_median_s"],
                service_max_s=r["service_max_s"],
            )
        )
    edges, starts, ends = [], Counter(), {}
    for r in rows(con, sql("graph", "edges"), p):
        starts[r["source"]] += r.pop("n_first")
        if r["target"] is None:  # the arrow to the end: every case has one last instance
            ends[r["source"]] = r["frequency"]
        else:
            edges.append(MapEdge(**r))
    notes = {}
    if activities and all(a.service_mean_s is None for a in activities):
        notes["service_time"] = "not measurable: the log has no start and complete lifecycle pairs"
    if not catalog.has_moments:
        notes["moments"] = NO_MOMENTS
    if not catalog.has_waste:
        notes["waste"] = "not measurable: the waste analysis has not run for this process"
    starts = {a: n for a, n in sorted(starts.items()) if n}
    return {"activities": activities, "edges": edges, "starts": starts, "ends": ends, "notes": notes}


def graph_json(graph: dict) -> dict:
    """``process_graph``'s result with its rows as plain dicts."""
    return graph | {
        "activities": [asdict(a) for a in graph["activities"]],
        "edges": [asdict(e) for e in graph["edges"]],
    }


def cases(
    con: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    filters: Filters,
    within: dict | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict:
    """A page of the filtered cases, only those with ``within``'s ``activity``, arc (``source`` directly
    followed by ``target``) or ``variant`` when given; ``total`` counts all of them."""
    select_cases(con, catalog, filters)
    query, params = cases_sql(catalog, within, limit, offset)
    found = rows(con, query, params)
    total = found[0]["total"] if found else _count(con, query, params)
    for r in found:
        del r["total"]
    return {"total": total, "limit": params["limit"], "offset": offset, "cases": found}


def cases_sql(catalog: Catalog, within: dict | None, limit: int, offset: int) -> tuple[str, dict]:
    """The drill-down query over explore_cases and its parameters (``within``: see ``cases``)."""
    within = within or {}
    parts = code_sections("cases")
    query = [parts["head"]]
    params = {"process": catalog.process, "limit": min(limit, MAX_PAGE), "offset": offset}
    for part, keys in (("activity", ("activity",)), ("arc", ("source", "target")), ("variant", ("variant",))):
        if all(within.get(k) is not None for k in keys):
            query.append(parts[part])
            params |= {k: within[k] for k in keys}
    query.append(parts["tail"])
    return "\n".join(query), params


def _count(con: duckdb.DuckDBPyConnection, query: str, params: dict) -> int:
    """The total of a page past the end (its own rows are empty): the same query from offset 0."""
    if params["offset"] == 0:
        return 0
    again = rows(con, query, params | {"offset": 0, "limit": 1})
    return again[0]["total"] if again else 0


def journey(con: duckdb.DuckDBPyConnection, catalog: Catalog, case_id: str) -> dict | None:
    """One case: its events in order, its moments of truth with the running score after each and the
    wait against its expectation, and its outcome; None when the process has no such case."""
    p = {"process": catalog.process, "case_id": case_id}
    head = rows(con, sql("journey", "case"), p)
    if not head:
        return None
    events = rows(con, sql("journey", "events"), p)
    for e in events:
        e["attrs"] = json.loads(e["attrs"]) if isinstance(e["attrs"], str) else e["attrs"]
        e["is_moment_of_truth"] = bool(e["is_moment_of_truth"]) if catalog.has_moments else None
        if e["is_moment_of_truth"] and e["wait_status"] is None:
            e["wait_status"] = "not measurable: the warehouse holds no expectation for this moment"
    return {
        "case": head[0],
        "events": events,
        "moments": None if not catalog.has_moments else sum(bool(e["is_moment_of_truth"]) for e in events),
        "notes": {} if catalog.has_moments else {"moments": NO_MOMENTS, "outcome": NO_MOMENTS},
    }


def variants(con: duckdb.DuckDBPyConnection, catalog: Catalog, filters: Filters, limit: int = 100, offset: int = 0):
    """A page of the filtered cases' variants, most frequent first, with the total of variants."""
    select_cases(con, catalog, filters)
    params = {"process": catalog.process, "limit": min(limit, MAX_PAGE), "offset": offset}
    found = rows(con, sql("variants"), params)
    total = found[0]["total"] if found else _count(con, sql("variants"), params)
    for r in found:
        del r["total"]
    return {"total": total, "limit": params["limit"], "offset": offset, "variants": found}


def findings(con: duckdb.DuckDBPyConnection, catalog: Catalog) -> dict:
    """The run's findings for the whole process, with their evidence and "not measurable" reasons."""
    p = {"process": catalog.process}
    found = {name: rows(con, sql("findings", name), p) for name in _FINDINGS}
    for w in found["waste"]:
        w["not_measurable"] = json.loads(w["not_measurable"]) if w["not_measurable"] else {}
    status = rows(con, sql("findings", "status"), p)
    notes = {}
    if not catalog.has_moments:
        notes = dict.fromkeys(("dropout_places", "dropout_causes", "knock_on", "funnel"), NO_MOMENTS)
    elif status and not status[0]["outcomes_defined"]:
        notes = dict.fromkeys(("dropout_places", "dropout_causes", "dropout_removal"), status[0]["reason"])
    if not catalog.has_waste:
        notes["waste"] = "not measurable: the waste analysis has not run for this process"
    return found | {
        "scope": "whole process: the run computed these on every case; filters do not change them",
        "notes": notes,
    }


_FINDINGS = ("waste", "dropout_places", "dropout_causes", "dropout_removal", "knock_on", "funnel")


def what_if(con: duckdb.DuckDBPyConnection, catalog: Catalog, filters: Filters, remove: list[str]) -> dict:
    """Before and after removing ``remove`` from the filtered cases: median throughput, moments per
    case, variants, events; the assumption it rests on; the waste analysis's own what-if of a single
    removed activity (whole process) where it has one."""
    select_cases(con, catalog, filters)
    params = {"process": catalog.process, "remove": list(remove)}
    figures = rows(con, sql("whatif", "filtered"), params)[0]
    keys = ("cases", "events", "median_throughput_s", "moments_per_case", "variants")
    table = {k: {"before": figures.pop(f"{k}_before"), "after": figures.pop(f"{k}_after")} for k in keys}
    notes = {}
    if not catalog.has_moments:
        table["moments_per_case"] = {"before": None, "after": None}
        notes["moments_per_case"] = NO_MOMENTS
    if figures["instances_removed"] and not figures["instances_with_service_time"]:
        notes["median_throughput_s"] = "no service time is measured for the removed activities: no case gets shorter"
    waste = rows(con, sql("whatif", "waste"), params)
    return {
        "remove": list(remove),
        "figures": table,
        **figures,
        "assumption": WHATIF_ASSUMPTION,
        "notes": notes,
        "waste_whatif": waste,  # the waste analysis's scenarios: one activity at a time, every case
    }


def attributes(con: duckdb.DuckDBPyConnection, catalog: Catalog, top: int = 20) -> dict:
    """The filter UI's choices: case and event attributes with their most frequent values (``top``
    of each), outcomes, activities, the time and throughput range, the number of variants."""

    p = {"process": catalog.process, "limit": top}

    def values(key: str, column: bool) -> list[dict]:
        if column:
            return rows(con, sql("attributes", f"{key}_values"), p)
        return rows(con, sql("attributes", "json_values"), p | {"key": json_path(key)})

    return {
        "case": {n: values(k, False) for n, k in sorted(catalog.case_attributes.items())},
        "event": {n: values(k, k in COLUMNS) for n, k in sorted(catalog.event_attributes.items())},
        "outcomes": rows(con, sql("attributes", "outcomes"), p),
        "activities": rows(con, sql("attributes", "activities"), p),
        "range": rows(con, sql("attributes", "range"), p)[0],
        "variants": catalog.n_variants,
        "top": top,
    }
