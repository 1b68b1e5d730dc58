"""Readers for event-log files: XES (rustxes), CSV (DuckDB's reader), Parquet (pyarrow).

Each reader returns an Arrow table in file order with the standard columns ``case_id``,
``activity``, ``ts`` and, where present, ``resource`` and ``lifecycle``; all other columns are kept
under their source names and become event attributes. Timestamps are not parsed here: the
warehouse loader parses them in SQL so that bad values are quarantined with a reason.

Bad input is refused early with a message naming the file and the line, or passed on row by row
to the quarantine: text files must be UTF-8 (checked before parsing, so nothing is replaced
silently); XML that declares entities is refused (no expansion, no external entities); CSV lines
that cannot be split into the header's fields come back as rows that carry their reason in
``__reason`` and their text in ``__raw_line``, so that loaded + quarantined = read still holds.
Column names starting with ``__`` are reserved for such internal columns: a source column named so
is renamed ``src__...``.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mining.config import ColumnMap


class SourceError(ValueError):
    """A source cannot be read at all; the message names the file (and row or column)."""


# Common names for the standard fields, compared case-insensitively, in order of preference.
COMMON_NAMES: dict[str, tuple[str, ...]] = {
    "case_id": ("case_id", "case:concept:name", "case", "caseid", "case id", "case_key", "trace_id"),
    "activity": ("activity", "concept:name", "activity_name", "event", "event_name", "task", "action"),
    "ts": (
        "ts",
        "timestamp",
        "time:timestamp",
        "time",
        "datetime",
        "event_time",
        "complete_timestamp",
        "end_time",
        "date",
    ),
    "resource": ("resource", "org:resource", "user", "performer", "agent", "employee"),
    "lifecycle": ("lifecycle", "lifecycle:transition", "transition", "event_type"),
}
REQUIRED = ("case_id", "activity", "ts")

# Internal columns a reader may add; the loader treats them specially and never stores them as
# attributes. Every name starting with INTERNAL is reserved.
INTERNAL = "__"
REASON = "__reason"  # why the reader could not read this row (the loader quarantines it)
RAW_LINE = "__raw_line"  # the text of a CSV line that could not be read

CSV_DELIMITERS = (",", ";", "\t", "|")
# DuckDB refuses lines longer than this; generous, so that a 10 MB attribute value still loads.
MAX_LINE_BYTES = 256 * 1024 * 1024
CHUNK = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"
# How far into an XML file the prolog (and any DOCTYPE with entity declarations) is looked for.
PROLOG_BYTES = 1 << 16
XML_SUFFIXES = (".xes", ".xes.gz", ".xml", ".xmlocel", ".xml.gz")


def standardize_columns(table: pa.Table, columns: ColumnMap, origin: str) -> pa.Table:
    """Rename the source columns that hold the standard fields to their standard names.

    Configured names win; otherwise the first common name present is taken. A missing required
    field raises SourceError naming the file, the config key and the columns that are there.
    Source names are made safe first: empty names get ``columnN``, names differing only in case
    get a suffix (DuckDB compares names case-insensitively), reserved ``__`` names get ``src``.
    """
    table = table.rename_columns(safe_names(table.column_names))
    present = table.column_names
    lower = {name.lower(): name for name in reversed(present)}
    renames: dict[str, str] = {}
    for field, candidates in COMMON_NAMES.items():
        configured = getattr(columns, field)
        if configured is not None:
            if configured not in present:
                raise SourceError(
                    f"{origin}: column {configured!r} (config key columns.{field}) is not in the file; "
                    f"columns are: {', '.join(_visible(present))}"
                )
            renames[configured] = field
            continue
        for candidate in candidates:
            if candidate in lower and lower[candidate] not in renames:
                renames[lower[candidate]] = field
                break
    found = set(renames.values())
    missing = [f for f in REQUIRED if f not in found]
    if missing:
        raise SourceError(
            f"{origin}: no column for {', '.join(missing)}; set config key(s) "
            f"{', '.join('columns.' + m for m in missing)}; columns are: {', '.join(_visible(present)) or '(none)'}"
        )
    # A source column that happens to carry a standard name but is not the mapped one keeps its
    # data as an attribute under a prefixed name.
    names = []
    for name in present:
        if name in renames:
            names.append(renames[name])
        elif name in COMMON_NAMES:
            names.append(f"src_{name}")
        else:
            names.append(name)
    return table.rename_columns(names)


def safe_names(names: list[str]) -> list[str]:
    """Column names the warehouse can take: non-empty, unique ignoring case, none reserved."""
    result: list[str] = []
    taken: set[str] = set()
    for index, name in enumerate(names):
        if name == "":
            name = f"column{index}"
        elif name.startswith(INTERNAL):
            name = "src" + name
        candidate, n = name, 0
        while candidate.lower() in taken:
            n += 1
            candidate = f"{name}_{n}"
        taken.add(candidate.lower())
        result.append(candidate)
    return result


def _visible(names: list[str]) -> list[str]:
    return [n for n in names if not n.startswith(INTERNAL)]


# --- text checks shared by the XES and CSV readers ---------------------------------------------


@contextmanager
def open_bytes(path: Path) -> Iterator[io.BufferedIOBase]:
    """The file's bytes, decompressed when it is gzip (recognised by its magic bytes, not its name)."""
    with open(path, "rb") as raw:
        magic = raw.read(2)
        raw.seek(0)
        if magic == GZIP_MAGIC:
            with gzip.GzipFile(fileobj=raw) as unzipped:
                yield unzipped
        else:
            yield raw


def check_text(path: Path, xml: bool = False) -> None:
    """Refuse a file that is not UTF-8 text (naming line and byte) or whose gzip stream is broken;
    with ``xml``, also a NUL byte, which no XML document may hold.

    The readers downstream would otherwise replace bad bytes with U+FFFD silently (rustxes), or stop
    with a message that names no line (or, for a NUL in a name, with a panic).
    """
    try:
        with open_bytes(path) as stream:
            problem = _first_invalid_utf8(stream, path, xml)
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise SourceError(f"{path}: the gzip stream is broken or truncated ({exc})") from None
    if problem:
        raise SourceError(problem)


def _first_invalid_utf8(stream, path: Path, no_nul: bool = False) -> str | None:
    """The message for the first byte that is not UTF-8 (or a NUL, with ``no_nul``), or None."""
    offset, line, pending = 0, 1, b""
    while True:
        chunk = stream.read(CHUNK)
        data = pending + chunk
        if not data:
            return None
        nul = data.find(b"\x00") if no_nul else -1
        if nul >= 0:
            where = line + data.count(b"\n", 0, nul)
            return f"{path}: line {where} (byte {offset + nul + 1}) holds a NUL byte, which XML does not allow"
        try:
            data.decode("utf-8")
            cut = len(data)
        except UnicodeDecodeError as exc:
            split_sequence = chunk and exc.end == len(data) and exc.reason == "unexpected end of data"
            if not split_sequence:
                where = line + data.count(b"\n", 0, exc.start)
                bad = data[exc.start : exc.end].hex(" ")
                return (
                    f"{path}: not UTF-8 text: line {where} (byte {offset + exc.start + 1}) "
                    f"has the bytes {bad}; save the file as UTF-8"
                )
            cut = exc.start
        line += data.count(b"\n", 0, cut)
        offset += cut
        pending = data[cut:]


def check_xml_prolog(path: Path) -> None:
    """Refuse an XML file whose document type has declarations (an internal subset ``[...]``).

    They serve entity expansion ("billion laughs") and external entities (XXE: reading local files
    or URLs into the data); XES and OCEL do not use them. Any internal subset is refused, however
    long, so padding cannot push an entity declaration past what is looked at. Only the start of
    the file is read, so this is cheap.
    """
    try:
        with open_bytes(path) as stream:
            prolog = stream.read(PROLOG_BYTES)
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise SourceError(f"{path}: the gzip stream is broken or truncated ({exc})") from None
    doctype = DOCTYPE_WITH_SUBSET.search(prolog)
    if doctype:
        line = prolog.count(b"\n", 0, doctype.start()) + 1
        raise SourceError(
            f"{path}: line {line}: the document type declares entities or other markup; it is refused "
            "(no entity expansion, no external entities): remove the <!DOCTYPE ...> block"
        )


DOCTYPE_WITH_SUBSET = re.compile(rb"<!DOCTYPE[^>\[]*\[", re.IGNORECASE)


# --- XES ---------------------------------------------------------------------------------------


def read_xes(path: str | Path) -> pa.Table:
    """Read an XES or XES.GZ file with rustxes; trace attributes keep their ``case:`` prefix.

    rustxes (quick-xml underneath) neither expands entities nor fetches external ones; documents that
    declare them, and non-UTF-8 bytes, are refused before rustxes sees the file.
    Timestamps without an offset are read as UTC by rustxes; unparseable ones come back empty.
    """
    import rustxes

    path = Path(path)
    _check_readable(path)
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
    table = _unquote_mixed(_plain_strings(table))
    # rustxes gives the columns in a different order on every read; a fixed order keeps staged
    # files and everything derived from the column order the same from run to run.
    table = table.select(sorted(table.column_names))
    return standardize_columns(table, ColumnMap(), str(path))


def _xml_problem(path: Path, exc: BaseException) -> str:
    """Why rustxes failed, with the line and column where the XML breaks when expat finds one."""
    from xml.parsers import expat

    message = str(exc).replace("called `Result::unwrap()` on an `Err` value: ", "")
    parser = expat.ParserCreate()
    # Documents with entity declarations never get here (check_xml_prolog); expat does not fetch
    # external entities without a handler, so this second look is safe.
    try:
        with open_bytes(path) as stream:
            parser.ParseFile(stream)
    except expat.ExpatError as err:
        return f"line {err.lineno}, column {err.offset + 1}: {expat.errors.messages[err.code]} ({message})"
    except (EOFError, OSError, zlib.error) as err:
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


# --- CSV ---------------------------------------------------------------------------------------


def read_csv(
    path: str | Path,
    columns: ColumnMap | None = None,
    delimiter: str | None = None,
) -> pa.Table:
    """Read a CSV (or CSV.GZ) file with every column as text (the loader parses timestamps).

    The delimiter is the configured one, or the one of ``,`` ``;`` tab ``|`` that splits the header
    into the most fields. Lines that do not split into the header's fields (too many, too few, an
    unterminated quote) come back at the end of the table as rows with a reason, to be quarantined.
    """
    path = Path(path)
    _check_readable(path)
    _check_delimiter(path, delimiter)
    check_text(path)
    header, sniffed = _csv_header(path, delimiter)
    if len(header) == 1 and any(d in header[0] for d in CSV_DELIMITERS if d != sniffed):
        given = f" (it is {delimiter!r})" if delimiter else ""
        raise SourceError(
            f"{path}: only one column found ({header[0]!r}); is the delimiter right? set config key 'delimiter'{given}"
        )
    names = safe_names(header)
    with open(path, "rb") as raw:
        compression = "gzip" if raw.read(2) == GZIP_MAGIC else "none"
    con = duckdb.connect()
    try:
        relation = con.read_csv(
            str(path),
            header=True,
            delimiter=sniffed,
            quotechar='"',
            escapechar='"',
            columns={name: "VARCHAR" for name in names},
            auto_detect=False,
            store_rejects=True,
            max_line_size=MAX_LINE_BYTES,
            compression=compression,
        )
        table = relation.to_arrow_table()
        rejects = con.execute(sql_rejects()).fetchall()
    except duckdb.Error as exc:
        raise SourceError(f"{path}: not a readable CSV file: {_first_line(exc)}") from None
    finally:
        con.close()
    table = standardize_columns(_plain_strings(table), columns or ColumnMap(), str(path))
    return _with_rejects(table, rejects, len(names), sniffed)


def sql_rejects() -> str:
    """One row per rejected CSV record: line, error type, DuckDB's message, the line's text."""
    return (
        "SELECT line, arg_min(error_type, byte_position), arg_min(error_message, byte_position), "
        "any_value(csv_line) FROM reject_errors GROUP BY line ORDER BY line"
    )


def _check_delimiter(path: Path, delimiter: str | None) -> None:
    if delimiter is not None and (len(delimiter) != 1 or delimiter in '"\r\n'):
        raise SourceError(
            f"{path}: config key 'delimiter' must be one character other than a quote or a line "
            f"break, got {delimiter!r}"
        )


def _csv_header(path: Path, delimiter: str | None) -> tuple[list[str], str]:
    """The header's field names and the delimiter (configured, or the one giving the most fields)."""
    with open_bytes(path) as stream:
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        first = _first_record_text(text)
    if not first.strip():
        raise SourceError(f"{path}: the file has no header line")
    candidates = (delimiter,) if delimiter else CSV_DELIMITERS
    best = max(candidates, key=lambda d: len(_split(first, d)))  # ties: the earlier candidate
    return [name for name in _split(first, best)], best


def _first_record_text(text: io.TextIOBase) -> str:
    """The text of the first CSV record (a quoted field may span lines)."""
    record = ""
    for line in text:
        record += line
        if record.count('"') % 2 == 0:
            break
    return record


def _split(record: str, delimiter: str) -> list[str]:
    """The fields of one CSV record (for the header and for messages about rejected lines)."""
    try:
        rows = list(csv.reader(io.StringIO(record, newline=""), delimiter=delimiter, quotechar='"', strict=False))
    except csv.Error:  # e.g. a lone carriage return outside quotes: count plainly
        return record.split(delimiter)
    return rows[0] if rows else []


def _with_rejects(table: pa.Table, rejects: list[tuple], n_fields: int, delimiter: str) -> pa.Table:
    """``table`` plus one row per rejected record, with its reason and text in the internal columns."""
    if not rejects:
        return table
    reasons, lines = [], []
    for line, error_type, message, text in rejects:
        reasons.append(f"unreadable CSV line {line}: {_reject_reason(error_type, message, text, n_fields, delimiter)}")
        lines.append(text)
    extra = {
        name: pa.nulls(len(rejects), field.type) for name, field in zip(table.column_names, table.schema, strict=True)
    }
    extra[REASON] = pa.array(reasons, pa.string())
    extra[RAW_LINE] = pa.array(lines, pa.string())
    table = table.append_column(REASON, pa.nulls(table.num_rows, pa.string()))
    table = table.append_column(RAW_LINE, pa.nulls(table.num_rows, pa.string()))
    return pa.concat_tables([table, pa.table(extra, schema=table.schema)])


def _reject_reason(error_type: str, message: str, text: str | None, n_fields: int, delimiter: str) -> str:
    if error_type in ("TOO MANY COLUMNS", "MISSING COLUMNS") and text is not None:
        found = len(_split(text.rstrip("\r\n"), delimiter)) if text.strip() else 0
        return f"{found} field(s) where the header has {n_fields}"
    return _first_line(message)


def _first_line(message: object) -> str:
    return str(message).strip().splitlines()[0] if str(message).strip() else type(message).__name__


# --- Parquet -----------------------------------------------------------------------------------


def read_parquet(path: str | Path, columns: ColumnMap | None = None) -> pa.Table:
    """Read a Parquet file; column types are kept as written."""
    path = Path(path)
    _check_readable(path)
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise SourceError(f"{path}: not a readable Parquet file: {exc}") from None
    return standardize_columns(_plain_strings(table), columns or ColumnMap(), str(path))


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise SourceError(f"{path}: file not found")
    if path.is_dir():
        raise SourceError(f"{path}: is a folder, not a file")
    if path.stat().st_size == 0:
        raise SourceError(f"{path}: the file is empty")
    if path.name.lower().endswith(XML_SUFFIXES):
        check_xml_prolog(path)


def _plain_strings(table: pa.Table) -> pa.Table:
    """Cast large/view string columns to plain strings so DuckDB and pyarrow agree on types."""
    fields = []
    for field in table.schema:
        if pa.types.is_large_string(field.type) or pa.types.is_string_view(field.type):
            fields.append(pa.field(field.name, pa.string()))
        else:
            fields.append(field)
    schema = pa.schema(fields)
    return table if schema == table.schema else table.cast(schema)


def kind_from_path(path: str | Path) -> str:
    """The source kind for a file name: xes, csv, parquet or ocel."""
    name = str(path).lower()
    for suffix, kind in (
        (".xes.gz", "xes"),
        (".xes", "xes"),
        (".csv.gz", "csv"),
        (".csv", "csv"),
        (".tsv", "csv"),
        (".parquet", "parquet"),
        (".jsonocel", "ocel"),
        (".xmlocel", "ocel"),
        (".sqlite", "sqlite"),
        (".db", "sqlite"),
    ):
        if name.endswith(suffix):
            return kind
    raise SourceError(f"{path}: unknown file type; expected .xes, .xes.gz, .csv, .parquet")
