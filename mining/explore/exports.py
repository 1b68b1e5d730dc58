"""Downloads of the filtered view: the event log as CSV, Parquet or XES, BPMN, and the SQL of a figure.

Every function takes the request's cursor, the process's catalog and the filters and returns bytes
(or text); the app sends them with a file name. The CSV goes through the project's writer
(``mining.exports.copy_to_csv``), which neutralises cells a spreadsheet would run as formulas.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
from collections import Counter
from pathlib import Path

import duckdb

from mining import __version__
from mining.bpmn.export import process_id
from mining.bpmn.layout import layout
from mining.bpmn.serialize import Annotations, serialize
from mining.bpmn.tree import from_pm4py
from mining.discovery import discover_imf
from mining.explore.catalog import Catalog
from mining.explore.filters import Filters, case_set_sql, materialise_sql
from mining.explore.queries import cases_sql, select_cases, sql
from mining.exports import copy_to_csv
from mining.warehouse import sql_literal
from mining.warehouse.sqlfiles import statements

DEFAULT_NOISE = 0.2  # the discovery default, when the run stored no IMf model
XES_COLUMNS = {
    "case_id": "case:concept:name",
    "activity": "concept:name",
    "ts": "time:timestamp",
    "resource": "org:resource",
    "lifecycle": "lifecycle:transition",
}
# The figures whose SQL /api/sql gives: file and section of mining/explore/sql/.
FIGURES = {
    "overview": ("overview", "filtered"),
    "map_activities": ("graph", "activities"),
    "map_edges": ("graph", "edges"),
    "variants": ("variants", None),
    "whatif": ("whatif", "filtered"),
    "events": ("export", "events"),
    "cases": None,  # built like the drill-down (mining.explore.queries.cases_sql)
}


def event_log_csv(con: duckdb.DuckDBPyConnection, catalog: Catalog, filters: Filters) -> bytes:
    """The filtered event log as CSV with a header (formula-looking text cells quoted)."""
    select_cases(con, catalog, filters)
    with tempfile.TemporaryDirectory(prefix="mot-explore-") as folder:
        path = Path(folder) / "events.csv"
        copy_to_csv(con, _statement("export", "events"), {"process": catalog.process}, path)
        return path.read_bytes()


def event_log_parquet(con: duckdb.DuckDBPyConnection, catalog: Catalog, filters: Filters) -> bytes:
    """The filtered event log as Parquet."""
    select_cases(con, catalog, filters)
    query = _statement("export", "events")
    with tempfile.TemporaryDirectory(prefix="mot-explore-") as folder:
        path = Path(folder) / "events.parquet"
        con.execute(f"COPY ({query}) TO {sql_literal(path)} (FORMAT parquet)", {"process": catalog.process}).fetchall()
        return path.read_bytes()


def event_log_xes(con: duckdb.DuckDBPyConnection, catalog: Catalog, filters: Filters) -> bytes:
    """The filtered event log as XES (pm4py's writer; the project has no XES writer of its own): the
    standard keys (case, activity, timestamp, resource, lifecycle) and every attribute the events
    carry, those stored as ``case:<name>`` written as trace attributes (pm4py's convention)."""
    import pandas as pd
    import pm4py  # seconds to import: only when someone downloads XES

    select_cases(con, catalog, filters)
    frame = con.execute(sql("export", "events"), {"process": catalog.process}).df()
    extra = pd.DataFrame([json.loads(a) if a else {} for a in frame["attrs"]], index=frame.index)
    extra = extra.drop(columns=[c for c in extra.columns if c in XES_COLUMNS.values()])
    frame = pd.concat([frame[list(XES_COLUMNS)].rename(columns=XES_COLUMNS), extra], axis=1)
    # DuckDB hands microseconds; pm4py's writer reads the column as nanoseconds.
    frame["time:timestamp"] = frame["time:timestamp"].astype("datetime64[ns, UTC]")
    with tempfile.TemporaryDirectory(prefix="mot-explore-") as folder:
        path = Path(folder) / "events.xes"
        pm4py.write_xes(frame, str(path), case_id_key="case:concept:name")
        return path.read_bytes()


def bpmn(con: duckdb.DuckDBPyConnection, catalog: Catalog, filters: Filters) -> bytes:
    """BPMN 2.0 of the filtered cases: IMf on their variants (the run's noise threshold), laid out and
    written by the project's BPMN writer; no annotations beyond the counts (the run's as-is.bpmn has them)."""
    select_cases(con, catalog, filters)
    p = {"process": catalog.process}
    variants = Counter({tuple(a): n for a, n in con.execute(sql("export", "variants"), p).fetchall()})
    if not variants:
        raise ValueError("no case passes the filters: there is no process to draw")
    stored = con.execute(sql("export", "noise"), p).fetchall()
    noise = stored[0][0] if stored and stored[0][0] is not None else DEFAULT_NOISE
    tree = from_pm4py(discover_imf(variants, noise).process_tree)
    weights = Counter()
    for trace, n in variants.items():
        for activity in trace:
            weights[activity] += n
    doc = (
        f"Model of {catalog.process} discovered with the Inductive Miner infrequent (noise threshold {noise:g}) "
        f"from the {sum(variants.values()):,} cases passing the filters {filters.to_query() or '(none)'}."
    )
    notes = Annotations(f"{catalog.process} (filtered)", doc, {"filters": filters.to_query()})
    return serialize(layout(tree, dict(weights)), process_id(catalog.process, "filtered"), notes, __version__)


def sql_of(figure: str, catalog: Catalog, filters: Filters, **extra) -> str:
    """The SQL of ``figure`` with every value written in as a literal, to run in ``mot sql``: first the
    filtered case set as the temp table explore_cases, then the figure's query.

    ``extra``: the figure's own parameters (``remove`` for whatif; ``within``, ``limit``, ``offset``
    for cases; ``limit``/``offset`` for variants).
    """
    if figure not in FIGURES:
        raise KeyError(figure)
    cases_query, params = case_set_sql(filters, catalog)
    if figure == "cases":
        query, own = cases_sql(catalog, extra.get("within"), extra.get("limit", 100), extra.get("offset", 0))
    else:
        query = _statement(*FIGURES[figure])
        own = {"process": catalog.process, "remove": list(extra.get("remove", [])), "keep": extra.get("keep")}
        own |= {"limit": extra.get("limit", 100), "offset": extra.get("offset", 0)}
    head = f"-- explore_cases: the cases passing {filters.to_query() or 'no filter'}\n"
    return head + inline(materialise_sql() + "\n" + cases_query, params) + ";\n\n" + inline(query, own) + ";\n"


def _statement(name: str, section: str | None = None) -> str:
    """One whole statement of the explorer's SQL, without its ``;`` and the comments after it."""
    return statements(sql(name, section))[0]


def inline(query: str, params: dict) -> str:
    """``query`` with each ``$name`` it uses replaced by ``params[name]`` as a SQL literal."""
    return re.sub(r"\$(\w+)\b", lambda m: literal(params[m.group(1)]) if m.group(1) in params else m.group(0), query)


def literal(value) -> str:
    """A Python value as a DuckDB literal: text quoted (quotes doubled), lists as list literals."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return f"TIMESTAMPTZ {sql_literal(value.isoformat())}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    return sql_literal(str(value))


def download_name(catalog: Catalog, suffix: str) -> str:
    """A safe file name for a download: the process name reduced to letters, digits, ``_.-``."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", catalog.process) + f"-filtered.{suffix}"
