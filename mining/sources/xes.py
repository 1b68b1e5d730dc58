"""Read an XES or XES.GZ event log with rustxes into an Arrow table with the standard columns.

Documents that declare entities, and bytes that are not UTF-8, are refused before rustxes sees the
file (see ``mining.sources.files``). rustxes writes attributes whose XES type changes from event
to event as quoted text; those columns are unquoted here.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from xml.parsers import expat

import pyarrow as pa
import pyarrow.compute as pc

from mining.config import ColumnMap
from mining.sources.files import (
    SourceError,
    check_readable,
    check_text,
    open_bytes,
    plain_strings,
    standardize_columns,
)


def read_xes(path: str | Path) -> pa.Table:
    """Read an XES or XES.GZ file with rustxes; trace attributes keep their ``case:`` prefix.

    rustxes (quick-xml underneath) neither expands entities nor fetches external ones; documents that
    declare them, and non-UTF-8 bytes, are refused before rustxes sees the file.
    Timestamps without an offset are read as UTC by rustxes; unparseable ones come back empty.
    """
    # rustxes loads polars (about 0.15 s): imported on first read, not when mining.sources is imported.
    import rustxes

    path = Path(path)
    check_readable(path)
    check_text(path, xml=True)
    try:
        frame, _meta = rustxes.import_xes(str(path))
        table = frame.to_arrow()
    except BaseException as exc:  # rustxes and polars raise pyo3 panics, which are not Exceptions
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        raise SourceError(f"{path}: not a readable XES file: {_xml_problem(path, exc)}") from None
    if frame.height == 0:
        raise SourceError(f"{path}: the XES file holds no events")
    for key in ("case:concept:name", "concept:name", "time:timestamp"):
        if key not in frame.columns:
            raise SourceError(f"{path}: no event carries {key!r}; a case id, activity and timestamp are required")
    # rustxes returns timestamps converted to UTC without a zone; say so explicitly.
    ts_index = table.column_names.index("time:timestamp")
    ts = table.column(ts_index)
    if pa.types.is_timestamp(ts.type) and ts.type.tz is None:
        table = table.set_column(ts_index, "time:timestamp", ts.cast(pa.timestamp(ts.type.unit, tz="UTC")))
    table = _unquote_mixed(plain_strings(table))
    # rustxes gives the columns in a different order on every read; a fixed order keeps staged
    # files and everything derived from the column order the same from run to run.
    table = table.select(sorted(table.column_names))
    return standardize_columns(table, ColumnMap(), str(path))


def _xml_problem(path: Path, exc: BaseException) -> str:
    """Why rustxes failed, with the line and column where the XML breaks when expat finds one."""
    message = str(exc).replace("called `Result::unwrap()` on an `Err` value: ", "")
    parser = expat.ParserCreate()
    # Documents with entity declarations never get here (check_xml_prolog); expat does not fetch
    # external entities without a handler, so this second look is safe.
    try:
        with open_bytes(path) as stream:
            parser.ParseFile(stream)
    except expat.ExpatError as err:
        return f"line {err.lineno}, column {err.offset + 1}: {expat.errors.messages[err.code]} ({message})"
    # LookupError: the XML declaration names an encoding Python does not know (a damaged
    # encoding="UTF-8"); the document is unreadable, and that is the message to give.
    except (EOFError, OSError, zlib.error, LookupError) as err:
        return f"{err} ({message})"
    return message


# rustxes writes an attribute whose values have different XES types in different events as text,
# with the string values in double quotes ('"c2"' beside '1'). Such a column is recognised by
# quoted values next to values that look like numbers, booleans or dates, and is unquoted.
_QUOTED = r'^".*"$'
_UNQUOTED_SCALAR = (
    r"^(-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?|true|false|NaN|-?inf|[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9:.]+.*)$"
)


def _unquote_mixed(table: pa.Table) -> pa.Table:
    for index, field in enumerate(table.schema):
        if not pa.types.is_string(field.type):
            continue
        column = table.column(index)
        quoted = pc.match_substring_regex(column, _QUOTED)
        if not pc.any(quoted).as_py():
            continue
        others = pc.and_kleene(pc.invert(quoted), pc.is_valid(column))
        if not pc.any(others).as_py():
            continue  # every value quoted: that is the data itself
        scalars = pc.match_substring_regex(pc.filter(column, others), _UNQUOTED_SCALAR)
        if not pc.all(scalars).as_py():
            continue
        stripped = pc.utf8_slice_codeunits(column, 1, -1)
        table = table.set_column(index, field.name, pc.if_else(quoted, stripped, column))
    return table
