"""Extraction mappings over business databases: each mapping's SQL runs in the source database
and comes back as an Arrow table (connectorx: Arrow-native, no row-by-row Python; for PostgreSQL
first ``pg_copy``, which gives the same table in less time, see there).

A mapping may use three parameters, written ``:interval_start``, ``:interval_end`` and
``:watermark``. connectorx cannot bind parameters, so their values are substituted as literals,
and only values that cannot carry SQL get through: datetimes are formatted by us, numbers must
match a number pattern, anything else becomes a quoted string with its quotes doubled. Identifiers
(the incremental column) are always quoted in the source's dialect.

- ``:interval_start`` / ``:interval_end``: the run's data interval as wall-clock time in the
  project time zone (``'2025-03-01 00:00:00'``); without an interval, the widest range.
- ``:watermark``: the largest ``incremental_column`` value loaded so far, or NULL before the first
  load (write ``(:watermark IS NULL OR h.history_id > :watermark)``).
- A mapping with an ``incremental_column`` that does not place ``:watermark`` itself is wrapped:
  ``SELECT * FROM (<mapping>) AS mot_mapping WHERE mot_mapping.<column> > <watermark>``.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from mining.config import Mapping, Source
from mining.config.sources import LOOKBACK
from mining.sources import pg_copy
from mining.sources.database import SourceUnavailable, scrub
from mining.sources.files import SourceError, plain_strings, standardize_columns
from mining.sources.panics import quiet_rust

# Driver messages of failures that another attempt may not meet: the server is gone, restarting,
# or too slow (a statement timeout set in the connection URI, a lock wait).
TRANSIENT = re.compile(
    r"timed out|statement timeout|lock timeout|connection refused|connection reset|broken pipe|closed the connection|"
    r"connection closed|terminating connection|server has gone away|lost connection|can't connect|"
    r"the database system is (starting up|shutting down|in recovery mode)|too many connections|"
    r"lock wait timeout|deadlock",
    re.IGNORECASE,
)
# ... unless the reason is one that waiting does not change (connectorx wraps a refused login in
# "timed out waiting for connection").
PERMANENT = re.compile(
    r"password authentication failed|access denied|does not exist|unknown database|"
    r"no pg_hba\.conf entry|unrecognized configuration parameter",
    re.IGNORECASE,
)
PARAMETER = re.compile(r"(?<![:\w]):(interval_start|interval_end|watermark)\b")
INTEGER = re.compile(r"-?[0-9]{1,38}")
DECIMAL = re.compile(r"-?[0-9]{1,38}\.[0-9]{1,38}")
# The range a run without a data interval reads (valid in PostgreSQL, MariaDB and SQLite text).
UNBOUNDED = (datetime(1000, 1, 1), datetime(9999, 12, 31, 23, 59, 59))
WRAPPER_ALIAS = "mot_mapping"


@dataclass(frozen=True)
class Bounds:
    """What one extraction reads: rows after the watermark, inside the data interval."""

    watermark: str | None = None
    interval_start: datetime | None = None
    interval_end: datetime | None = None


def sqlite_uri(path: str | Path) -> str:
    """A connectorx URI for a SQLite file, which must exist."""
    path = Path(path).resolve()
    if not path.is_file():
        raise SourceError(f"{path}: SQLite database not found")
    return f"sqlite://{path}"


def quote_identifier(kind: str, name: str) -> str:
    """``name`` quoted as an identifier of the source's dialect, whatever characters it holds."""
    if not name or "\x00" in name:
        raise SourceError(f"{name!r} is not a column name")
    if kind == "mysql":
        return "`" + name.replace("`", "``") + "`"
    return '"' + name.replace('"', '""') + '"'


def literal(kind: str, value: str | datetime | date | None) -> str:
    """A SQL literal for ``value`` that cannot end the string it stands in."""
    if value is None:
        return "NULL"
    if isinstance(value, datetime):
        return "'" + value.strftime("%Y-%m-%d %H:%M:%S" + (".%f" if value.microsecond else "")) + "'"
    if isinstance(value, date):
        return "'" + value.isoformat() + "'"
    if INTEGER.fullmatch(value) or DECIMAL.fullmatch(value):
        return value
    text = value.replace("'", "''")
    if kind == "mysql":  # MariaDB/MySQL also treat a backslash as an escape character
        text = text.replace("\\", "\\\\")
    return "'" + text + "'"


def wall_clock(moment: datetime | None, timezone: str, default: datetime) -> datetime:
    """``moment`` as naive wall-clock time in ``timezone`` (naive input is taken as already so)."""
    if moment is None:
        return default
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)


def render(source: Source, mapping: Mapping, bounds: Bounds, timezone: str = "UTC") -> str:
    """The SQL that runs for ``mapping``: parameters substituted, watermark filter added."""
    kind = source.kind
    values = {
        "interval_start": literal(kind, wall_clock(bounds.interval_start, timezone, UNBOUNDED[0])),
        "interval_end": literal(kind, wall_clock(bounds.interval_end, timezone, UNBOUNDED[1])),
        "watermark": literal(kind, bounds.watermark),
    }
    sql = mapping.sql.strip().rstrip(";").rstrip()
    places_watermark = any(m.group(1) == "watermark" for m in PARAMETER.finditer(sql))
    if places_watermark and not mapping.incremental_column:
        raise SourceError(
            f"source {source.name!r}, mapping {mapping.name!r}: the SQL uses :watermark but the "
            "mapping has no incremental_column to take it from"
        )
    sql = PARAMETER.sub(lambda m: values[m.group(1)], sql)
    if mapping.incremental_column and bounds.watermark is not None and not places_watermark:
        column = f"{WRAPPER_ALIAS}.{quote_identifier(kind, mapping.incremental_column)}"
        # The mapping goes on lines of its own, so a trailing comment cannot swallow the wrapper.
        sql = f"SELECT * FROM (\n{sql}\n) AS {WRAPPER_ALIAS}\nWHERE {column} > {values['watermark']}"
    return sql


def looked_back(watermark: str | None, lookback: str | int | float | None) -> str | None:
    """The watermark an incremental read starts from: ``lookback`` before the stored one.

    Rows that arrive late or are corrected behind the watermark are read again; the merge on the
    event key makes the re-read rows update in place instead of adding events. A duration goes with
    a date-time watermark, a number with a numeric one; any other pairing is a config error.
    """
    if watermark is None or lookback is None:
        return watermark
    if isinstance(lookback, int | float):
        if not (INTEGER.fullmatch(watermark) or DECIMAL.fullmatch(watermark)):
            raise SourceError(f"lookback {lookback} is a number but the watermark {watermark!r} is not")
        return str(Decimal(watermark) - Decimal(str(lookback)))
    amount, unit = LOOKBACK.fullmatch(lookback).groups()
    try:
        moment = datetime.fromisoformat(watermark)
    except ValueError:
        raise SourceError(
            f"lookback {lookback!r} is a duration but the watermark {watermark!r} is no date-time"
        ) from None
    earlier = moment - timedelta(**{unit.lower() + "s": float(amount)})
    return earlier.isoformat(sep=" ")


def complete_read(mapping: Mapping, bounds: Bounds) -> bool:
    """Whether a read of ``mapping`` returns all its rows: no watermark filter, and no data interval
    placed in its SQL (only such a read may remove the mapping's events it lacks)."""
    if mapping.incremental_column and bounds.watermark is not None:
        return False
    places_interval = any(m.group(1) != "watermark" for m in PARAMETER.finditer(mapping.sql))
    return not (places_interval and (bounds.interval_start or bounds.interval_end))


def watermark_of(table: pa.Table, column: str, origin: str, text_dates: Collection[str] = ()) -> str | None:
    """The largest value of ``column`` as text, or None for an empty result.

    A date or time the warehouse cannot hold (PostgreSQL's ``infinity``, a year after 9999, a
    MariaDB zero date such as ``2024-02-00``) is left out: the loader quarantines its row, and as the
    watermark it would end the mapping's reads for good or break its look-back (and Python cannot
    even write it). Such a row stays ahead of the watermark, so it is read and quarantined again on
    every run until it is fixed in the source, and then it loads. ``text_dates`` names the columns
    that are dates read as text (``dates_as_text``): their values that are no date are left out too.
    """
    names = {name.lower(): name for name in table.column_names}
    if column not in table.column_names and column.lower() not in names:
        raise SourceError(
            f"{origin}: incremental_column {column!r} is not a column of the query's result; "
            f"columns are: {', '.join(table.column_names)}"
        )
    name = column if column in table.column_names else names[column.lower()]
    values = in_calendar(table.column(name))
    if name in text_dates:
        values = readable_dates(values)
    if values.null_count == len(values):
        return None
    top = pc.max(values).as_py()
    if isinstance(top, datetime):
        if top.tzinfo is not None:
            return top.astimezone(ZoneInfo("UTC")).isoformat(sep=" ")
        return top.isoformat(sep=" ")
    return str(top)


# The instants of years 1 to 9999 (what Python's datetime and the warehouse's events hold), in Unix
# seconds and in days; an aware value's last day is left out (it may be year 10000 in its zone).
CALENDAR_S = (-62135596800, 253402300799)
CALENDAR_DAYS = (-719162, 2932896)
PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def in_calendar(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """``values`` with the dates and times outside years 1 to 9999 made null (other types as they are)."""
    kind = values.type
    if pa.types.is_timestamp(kind):
        if kind.unit == "ns":  # nanoseconds reach only the years 1677 to 2262
            return values
        low, high = CALENDAR_S[0], CALENDAR_S[1] - (86400 if kind.tz else 0)
        low, high = low * PER_SECOND[kind.unit], (high + 1) * PER_SECOND[kind.unit] - 1
        numbers = values.cast(pa.int64())
    elif pa.types.is_date32(kind):
        (low, high), numbers = CALENDAR_DAYS, values.cast(pa.int32())
    elif pa.types.is_date64(kind):
        low, high = CALENDAR_S[0] * 1000, (CALENDAR_S[1] + 1) * 1000 - 1
        numbers = values.cast(pa.int64())
    else:
        return values
    inside = pc.and_(pc.greater_equal(numbers, low), pc.less_equal(numbers, high))
    return pc.if_else(inside, values, pa.scalar(None, kind))


def readable_dates(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Dates and date-times read as text with the values no calendar holds made null (MariaDB's
    ``0000-00-00``, ``2024-01-00``, ``2024-02-31`` under ALLOW_INVALID_DATES)."""

    def readable(text: str) -> bool:
        try:
            datetime.fromisoformat(text)
        except ValueError:
            return False
        return True

    good = [v for v in pc.unique(values).drop_null().to_pylist() if readable(v)]
    return pc.if_else(pc.is_in(values, value_set=pa.array(good, values.type)), values, pa.scalar(None, values.type))


def later(a: str | None, b: str | None) -> str | None:
    """The later of two watermarks: numbers compare as numbers, other values as text."""
    if a is None or b is None:
        return b if a is None else a
    if all(INTEGER.fullmatch(v) or DECIMAL.fullmatch(v) for v in (a, b)):
        return a if Decimal(a) >= Decimal(b) else b
    return max(a, b)


def run_mapping(
    uri: str,
    source: Source,
    mapping: Mapping,
    bounds: Bounds | None = None,
    timezone: str = "UTC",
) -> tuple[pa.Table, str | None]:
    """Run one mapping against the database at ``uri``.

    Returns the table with the standard columns by name, and the new watermark (the largest
    ``incremental_column`` value read; None without an incremental column or rows).
    """
    import connectorx as cx

    origin = f"source {source.name!r}, mapping {mapping.name!r}"
    bounds = bounds or Bounds()
    read = Bounds(looked_back(bounds.watermark, mapping.lookback), bounds.interval_start, bounds.interval_end)
    sql = render(source, mapping, read, timezone)
    text_dates: list[str] = []
    try:
        table = _read(cx, uri, sql, origin, fast=source.kind == "postgres")
    except _ZeroDate:
        # MariaDB/MySQL zero dates ('0000-00-00', '2024-00-01') panic connectorx and would fail the
        # whole mapping: read its date columns as text instead, so the loader quarantines the rows
        # whose timestamp is one (with the value) and keeps other such values as text.
        sql, text_dates = dates_as_text(cx, uri, sql, origin)
        table = _read(cx, uri, sql, origin)
    if not table.column_names:
        raise SourceError(f"{origin}: the query returned no columns")
    watermark = None
    if mapping.incremental_column:
        watermark = watermark_of(table, mapping.incremental_column, origin, text_dates)
    return standardize_columns(plain_strings(table), source.columns, origin), watermark


class _ZeroDate(Exception):
    """connectorx met a date its date library cannot hold (a MariaDB/MySQL zero date)."""


ZERO_DATE = re.compile(r"Couldn't convert the value `Date\(")
TEMPORAL = (pa.types.is_timestamp, pa.types.is_date, pa.types.is_time)


def _read(cx, uri: str, sql: str, origin: str, fast: bool = False) -> pa.Table:
    """connectorx's Arrow result of ``sql``; its failures as SourceError / SourceUnavailable.

    ``fast`` (PostgreSQL): the same table through ``pg_copy`` (a binary COPY decoded with numpy while
    it arrives, in little more than the time the server needs to send it), with connectorx for what it does not map.
    """
    if fast:
        try:
            table = pg_copy.read(uri, sql)
        except pg_copy.CopyFailed as exc:
            raise _failure(scrub(str(exc), uri), origin) from None
        if table is not None:
            return table
    try:
        with quiet_rust():
            return cx.read_sql(uri, sql, return_type="arrow")
    except BaseException as exc:  # connectorx raises RuntimeErrors, and pyo3 panics (not Exceptions)
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        message = scrub(str(exc) or type(exc).__name__, uri)
        if ZERO_DATE.search(message):
            raise _ZeroDate(message) from None
        raise _failure(message, origin) from None


def _failure(message: str, origin: str) -> SourceError:
    """A failed query's error: SourceUnavailable when another attempt may succeed."""
    if TRANSIENT.search(message) and not PERMANENT.search(message):  # gone or slow: try again
        return SourceUnavailable(f"{origin}: the query failed: {message}")
    return SourceError(f"{origin}: the query failed: {message}")


def dates_as_text(cx, uri: str, sql: str, origin: str) -> tuple[str, list[str]]:
    """``sql`` (MariaDB/MySQL) wrapped so that its date and time columns come back as text, and the
    names of its date and date-time columns (the ones a watermark must read as dates).

    The result's column types come from the query with no rows (nothing to convert, so no panic).
    """
    wrapped = f"SELECT * FROM (\n{sql}\n) AS {WRAPPER_ALIAS}"
    try:
        schema = _read(cx, uri, wrapped + "\nLIMIT 0", origin).schema
    except _ZeroDate as exc:
        raise SourceError(f"{origin}: the query failed: {exc}") from None
    columns, dates = [], []
    for field in schema:
        column = f"{WRAPPER_ALIAS}.{quote_identifier('mysql', field.name)}"
        if any(test(field.type) for test in TEMPORAL):
            column = f"CAST({column} AS CHAR) AS {quote_identifier('mysql', field.name)}"
            if not pa.types.is_time(field.type):
                dates.append(field.name)
        columns.append(column)
    return f"SELECT {', '.join(columns)} FROM (\n{sql}\n) AS {WRAPPER_ALIAS}", dates
