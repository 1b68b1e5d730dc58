"""OCEL 2.0 object-centric logs (SQLite, JSON or XML form), flattened on one object type.

Flattening makes every object of the chosen type a case: its events are the events related to
it, so an event related to two invoices appears in both cases. pm4py reads and flattens the log;
the object's attributes come out as ``case:<name>`` columns and the event's as plain columns.
Times are UTC: pm4py converts them to UTC, and returns them with the zone (SQLite form) or
without it (JSON form, which carries explicit offsets); both come out here as UTC timestamps.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from mining.config import ColumnMap
from mining.sources.files import SourceError, check_readable, check_text, plain_strings, standardize_columns

READERS = {
    ".sqlite": "read_ocel2_sqlite",
    ".db": "read_ocel2_sqlite",
    ".json": "read_ocel2_json",
    ".jsonocel": "read_ocel2_json",
    ".xml": "read_ocel2_xml",
    ".xmlocel": "read_ocel2_xml",
}


def object_types(ocel) -> list[str]:
    """The object types of a pm4py OCEL, sorted."""
    return sorted(str(t) for t in ocel.objects["ocel:type"].unique())


def read_ocel(path: str | Path, object_type: str, columns: ColumnMap | None = None) -> pa.Table:
    """Read an OCEL 2.0 file and flatten it on ``object_type``: one case per object of that type.

    Rows are sorted by case, time and event id, so the same file always gives the same table.
    """
    path = Path(path)
    check_readable(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise SourceError(f"{path}: not an OCEL 2.0 file; expected one of {', '.join(sorted(READERS))}")
    # The JSON and XML forms: UTF-8, within the limits, no value longer than MOT_MAX_FIELD_BYTES
    # (a JSON string ends at a quote, an XML value or text at the next '<').
    if reader == "read_ocel2_json":
        check_text(path, field_break=b'"')
    elif reader == "read_ocel2_xml":
        check_text(path, xml=True, field_break=b"<")
    import pm4py

    try:
        ocel = getattr(pm4py, reader)(str(path))
    except BaseException as exc:  # whatever its parsers raise, pyo3 panics (not Exceptions) too
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        # Only the first line, cut short: parsers quote pieces of what they read.
        raise SourceError(f"{path}: not a readable OCEL 2.0 file: {type(exc).__name__}: {_short(exc)}") from None
    known = object_types(ocel)
    if object_type not in known:
        shown = ", ".join(_short(t, 60) for t in known[:20]) + (
            f" and {len(known) - 20} more" if len(known) > 20 else ""
        )
        raise SourceError(
            f"{path}: no objects of type {object_type!r} (config key ocel_object_type); the log has: {shown}"
        )
    frame = pm4py.ocel_flattening(ocel, object_type)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    i = table.column_names.index("time:timestamp")
    # DuckDB keeps microseconds; pm4py's values are UTC whether or not they say so.
    table = table.set_column(i, "time:timestamp", table.column(i).cast(pa.timestamp("us", tz="UTC"), safe=False))
    table = table.sort_by(
        [("case:concept:name", "ascending"), ("time:timestamp", "ascending"), ("ocel:eid", "ascending")]
    )
    return standardize_columns(plain_strings(table), columns or ColumnMap(), str(path), show_names=False)


def _short(value: object, limit: int = 200) -> str:
    """The first line of ``value``'s text, at most ``limit`` characters."""
    lines = str(value).strip().splitlines() or [""]
    return lines[0] if len(lines[0]) <= limit else lines[0][: limit - 3] + "..."
