"""Read an XES or XES.GZ event log with rustxes into an Arrow table with the standard columns.

Documents that declare entities, and bytes that are not UTF-8, are refused before rustxes sees the
file (see ``mining.sources.files``). rustxes writes attributes whose XES type changes from event
to event as quoted text; those columns are unquoted here.
"""

from __future__ import annotations

import ctypes
import json
import re
import tempfile
import zlib
from datetime import datetime
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
from mining.sources.panics import quiet_rust
from mining.warehouse.load import NOTES_KEY


def read_xes(path: str | Path) -> pa.Table:
    """Read an XES or XES.GZ file with rustxes; trace attributes keep their ``case:`` prefix.

    rustxes (quick-xml underneath) neither expands entities nor fetches external ones; documents that
    declare them, and non-UTF-8 bytes, are refused before rustxes sees the file.
    Timestamps without an offset are read as UTC by rustxes. <date> values rustxes cannot read
    (out of its range, or unparseable) are read as text in a second pass, so that the loader can
    quarantine their events with the value, or keep another attribute's value as text; the table's
    schema metadata then carries notes for the load audit (so do duplicate trace ids).
    """
    path = Path(path)
    check_readable(path)
    check_text(path, xml=True)
    notes: list[str] = []
    # Fast path: the file as it is. A <date> rustxes cannot hold (before 1677 or after 2262 in
    # polars' nanoseconds, anywhere in the file) panics and rejects the whole log; one it cannot
    # parse comes back empty. Only then is the file read a second time, from a copy whose odd
    # <date> elements are <string>, so those events reach the loader with their value to quote.
    try:
        table, unparsed = _rustxes_table(path)
        failure = None
        retry = unparsed or _has_empty_timestamps(table)
    except BaseException as exc:  # rustxes and polars raise pyo3 panics, which are not Exceptions
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        table, failure, retry = None, exc, True
    if retry:
        with tempfile.TemporaryDirectory(prefix="mot-xes-") as folder:
            copy = Path(folder) / "dates-as-text.xes"
            try:
                rewritten = dates_as_text(path, copy)
            except (EOFError, OSError, zlib.error) as exc:
                rewritten, failure = {}, failure or exc
            if rewritten:
                try:
                    table, _ = _rustxes_table(copy)
                    notes.append(rewritten_note(rewritten))
                except BaseException as exc:
                    if isinstance(exc, KeyboardInterrupt | SystemExit):
                        raise
                    failure = failure or exc
    if table is None:
        raise SourceError(f"{path}: not a readable XES file: {_xml_problem(path, failure)}") from None
    if table.num_rows == 0:
        raise SourceError(f"{path}: the XES file holds no events")
    for key in ("case:concept:name", "concept:name", "time:timestamp"):
        if key not in table.column_names:
            raise SourceError(f"{path}: no event carries {key!r}; a case id, activity and timestamp are required")
    table = _timestamps_in_utc(plain_strings(table))
    table = _unquote_mixed(table)
    duplicates = duplicate_trace_note(table.column("case:concept:name"))
    if duplicates:
        notes.append(duplicates)
    # rustxes gives the columns in a different order on every read; a fixed order keeps staged
    # files and everything derived from the column order the same from run to run.
    table = table.select(sorted(table.column_names))
    table = standardize_columns(table, ColumnMap(), str(path))
    if notes:
        # The loader writes these into load_audit.notes (schema metadata survives the handover).
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), NOTES_KEY: json.dumps(notes)})
    return table


def _rustxes_table(path: Path) -> tuple[pa.Table, bool]:
    """rustxes' reading of ``path`` as Arrow, with Rust panic reports kept off the terminal, and
    whether rustxes said it could not parse some value (it leaves such a value empty)."""
    # rustxes loads polars (about 0.15 s): imported on first read, not when mining.sources is imported.
    import rustxes

    with quiet_rust() as held:
        frame, _meta = rustxes.import_xes(str(path))
        table = frame.to_arrow()
    del frame
    release_freed_memory()
    return table, any(n.startswith("Failed to parse") for n in held.notices)


def release_freed_memory() -> None:
    """Give the memory rustxes freed back to the system (glibc's ``malloc_trim``; a no-op elsewhere).

    rustxes parses through the C allocator and frees its buffers (about 260 MB for BPIC2012's
    262,200 events) when it returns, but glibc keeps the freed pages. DuckDB, which loads the
    table next, has an allocator of its own and cannot reuse them, so without this the load's
    memory came on top of them: ingest peaked at about 990 MB instead of about 700 MB.
    """
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the C library the interpreter runs on
    except (OSError, AttributeError):
        return  # not glibc (macOS, musl): nothing to do
    trim.argtypes = [ctypes.c_size_t]
    trim(0)


def _has_empty_timestamps(table: pa.Table) -> bool:
    """Whether some event has no readable time:timestamp (absent, or a date rustxes could not parse)."""
    if "time:timestamp" not in table.column_names:
        return False
    return table.column("time:timestamp").null_count > 0


def _timestamps_in_utc(table: pa.Table) -> pa.Table:
    """time:timestamp with its zone said: rustxes returns dates converted to UTC without a zone.

    When some events' timestamps were rewritten as text, the column holds text: rustxes' own dates
    (UTC, unquoted) get a ``Z``; the rewritten values (quoted) are unquoted and keep their offset.
    """
    index = table.column_names.index("time:timestamp")
    ts = table.column(index)
    if pa.types.is_timestamp(ts.type) and ts.type.tz is None:
        return table.set_column(index, "time:timestamp", ts.cast(pa.timestamp(ts.type.unit, tz="UTC")))
    if pa.types.is_string(ts.type):
        quoted = pc.match_substring_regex(ts, _QUOTED)
        if pc.any(quoted).as_py():
            utc = pc.binary_join_element_wise(ts, pa.scalar("Z"), "")
            fixed = pc.if_else(quoted, pc.utf8_slice_codeunits(ts, 1, -1), utc)
            return table.set_column(index, "time:timestamp", fixed)
    return table


def _xml_problem(path: Path, exc: BaseException) -> str:
    """Why rustxes failed, with the line and column where the XML breaks when expat finds one."""
    message = str(exc).replace("called `Result::unwrap()` on an `Err` value: ", "")
    # The reader's own words may quote the document (tag names, text): one short line of them at most.
    message = (message.strip().splitlines() or [""])[0][:200]
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


# --- the second pass: <date> elements rustxes cannot read, as <string> ------------------------------

# rustxes holds dates as polars nanoseconds (1677-09-21 to 2262-04-11) and panics beyond; years
# inside this window are safe whatever the offset. Offsets are those XML Schema allows (±14:00).
SAFE_YEARS = (1678, 2261)
MAX_OFFSET_MINUTES = 14 * 60
DATE_TAG = re.compile(rb"<date\b[^<>]*?(/?)>|</date\s*>")
VALUE = re.compile(rb"""\svalue\s*=\s*(?:"([^"]*)"|'([^']*)')""")
KEY = re.compile(rb"""\skey\s*=\s*(?:"([^"]*)"|'([^']*)')""")
ISO_DATE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?)?(Z|([+-])(\d{2}):?(\d{2}))?"
)


def readable_date(value: str) -> bool:
    """Whether rustxes reads ``value`` as a date without losing it or panicking (conservative)."""
    match = ISO_DATE.fullmatch(value.strip())
    if not match:
        return False
    year, month, day, hour, minute, second = (int(g or 0) for g in match.group(1, 2, 3, 4, 5, 6))
    if not SAFE_YEARS[0] <= year <= SAFE_YEARS[1]:
        return False
    try:
        datetime(year, month, day, hour, minute, second)
    except ValueError:
        return False
    if match.group(8):
        offset_hours, offset_minutes = int(match.group(9)), int(match.group(10))
        if offset_minutes >= 60 or offset_hours * 60 + offset_minutes > MAX_OFFSET_MINUTES:
            return False
    return True


def dates_as_text(source: Path, target: Path) -> dict[str, int]:
    """Copy ``source`` (plain or gzip) to ``target`` with every <date> rustxes cannot read made a
    <string> of the same key and value; return how many were rewritten, per key.

    Streamed in chunks cut before the last ``<`` (no tag spans a cut), so memory stays small. A
    stack of the open <date> elements finds the end tag of one that has nested attributes.
    """
    counts: dict[str, int] = {}
    open_dates: list[bool] = []

    def rewrite(match: re.Match) -> bytes:
        tag = match.group(0)
        if tag.startswith(b"</"):
            return b"</string>" if open_dates and open_dates.pop() else tag
        value = VALUE.search(tag)
        text = (value.group(1) if value and value.group(1) is not None else value.group(2) if value else b"").decode()
        odd = bool(value) and not readable_date(text)
        if not match.group(1):  # an element with children: its end tag follows later
            open_dates.append(odd)
        if not odd:
            return tag
        key = KEY.search(tag)
        name = (key.group(1) if key and key.group(1) is not None else key.group(2) if key else b"?").decode()
        counts[name] = counts.get(name, 0) + 1
        return b"<string" + tag[len(b"<date") :]

    with open_bytes(source) as stream, open(target, "wb") as out:
        pending = b""
        while True:
            chunk = stream.read(1 << 22)
            data = pending + chunk
            cut = data.rfind(b"<") if chunk else -1
            cut = len(data) if cut < 0 else cut
            out.write(DATE_TAG.sub(rewrite, data[:cut]))
            pending = data[cut:]
            if not chunk:
                break
    return counts


def rewritten_note(counts: dict[str, int]) -> str:
    """The audit note for the <date> values read as text."""
    keys = ", ".join(f"{key!r} ×{n}" for key, n in sorted(counts.items()))
    return (
        f"{sum(counts.values())} <date> value(s) rustxes cannot read (out of 1678-2261, an offset "
        f"beyond ±14:00, or not a date) read as text: {keys}; a time:timestamp so read is checked as "
        "text (quarantined with its value when out of range or unparseable), other attributes keep the text"
    )


def duplicate_trace_note(case_ids: pa.ChunkedArray) -> str | None:
    """The audit note when traces share a case id (their events merge into one case), or None.

    Seen from the events in file order: a case id that starts a run of events more than once
    belongs to more than one trace. Two such traces next to each other look like one.
    """
    if len(case_ids) == 0:
        return None
    # As text: a damaged file can leave the column all null (Arrow's null type) or numeric.
    ids = pc.fill_null(case_ids.combine_chunks().cast(pa.string()), "\x00")
    starts = 1 + pc.sum(pc.not_equal(ids[1:], ids[:-1])).as_py() if len(ids) > 1 else 1
    extra = starts - pc.count_distinct(ids).as_py()
    if extra <= 0:
        return None
    return f"{extra} trace(s) repeat the case id of an earlier trace; their events are merged into one case per id"
