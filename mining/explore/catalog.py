"""What a process of the warehouse holds, for validating filters: activities, attributes, outcomes.

The filters accept only names found here, so an attribute name or activity from a query string is
never put into SQL text: attribute filters bind the JSON key this catalog found.

Case attributes are the attribute keys under the XES ``case:`` prefix (``case:AMOUNT_REQ`` is the
case attribute ``AMOUNT_REQ``) and the keys every case holds with exactly one value (the demo's
``product``, which its source gives on some events only). Every other key, plus the ``resource``
and ``lifecycle`` columns, is an event attribute.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from mining.warehouse.sqlfiles import sections, sql_file

CASE_PREFIX = "case:"
COLUMNS = ("resource", "lifecycle")  # event attributes that are warehouse columns, not JSON keys


@dataclass(frozen=True)
class Catalog:
    """The names a filter on ``process`` may use."""

    process: str
    activities: tuple[str, ...]
    case_attributes: dict[str, str]  # name shown -> JSON key in attrs
    event_attributes: dict[str, str]  # name shown -> JSON key, or the column name for COLUMNS
    outcomes: tuple[str, ...]  # empty: the moments analysis recorded none
    n_variants: int
    has_moments: bool
    has_waste: bool


def _sql(name: str) -> str:
    return sections(sql_file("mining.explore", "catalog"))[name]


def processes(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Every process of the warehouse with its cases and events."""
    rows = con.execute(_sql("processes")).fetchall()
    return [{"process": p, "cases": n, "events": e} for p, n, e in rows]


def load_catalog(con: duckdb.DuckDBPyConnection, process: str) -> Catalog | None:
    """The catalog of ``process``, or None when the warehouse has no such process."""
    params = {"process": process}
    activities = tuple(a for (a,) in con.execute(_sql("activities"), params).fetchall())
    if not activities:
        return None
    keys = [k for (k,) in con.execute(_sql("attribute_keys"), params).fetchall()]
    constant = {k for (k,) in con.execute(_sql("constant_keys"), params).fetchall()}
    case = {k: k for k in sorted(constant) if not k.startswith(CASE_PREFIX)}
    case |= {k.removeprefix(CASE_PREFIX): k for k in keys if k.startswith(CASE_PREFIX)}  # the prefix wins a clash
    event = {c: c for c in COLUMNS}
    event |= {k: k for k in keys if k not in case.values() and not k.startswith(CASE_PREFIX) and k not in COLUMNS}
    outcomes = tuple(o for (o,) in con.execute(_sql("outcomes"), params).fetchall())
    n_variants, has_moments, has_waste = con.execute(_sql("status"), params).fetchone()
    return Catalog(process, activities, case, event, outcomes, n_variants, has_moments, has_waste)


def json_path(key: str) -> str:
    """The JSON path of one top-level key, whatever characters it holds (bound as a parameter)."""
    return '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
