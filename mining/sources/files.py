"""What the event-log file readers share: errors, standard column names, checks of the input.

The readers themselves: ``xes.read_xes`` (rustxes), ``delimited.read_csv`` (DuckDB's reader),
``parquet.read_parquet`` (pyarrow), ``ocel.read_ocel``.

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

import gzip
import io
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa

from mining.config import ColumnMap
from mining.settings import settings


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

CHUNK = 1 << 20  # bytes read at a time by the UTF-8 check
# The compression ratio is judged only past this many unpacked bytes: small files may pack well.
RATIO_FLOOR = 64 << 20
GZIP_MAGIC = b"\x1f\x8b"
# How far into an XML file the prolog (and any DOCTYPE with entity declarations) is looked for.
PROLOG_BYTES = 1 << 16
XML_SUFFIXES = (".xes", ".xes.gz", ".xml", ".xmlocel", ".xml.gz")


def standardize_columns(table: pa.Table, columns: ColumnMap, origin: str, show_names: bool = True) -> pa.Table:
    """Rename the source columns that hold the standard fields to their standard names.

    Configured names win; otherwise the first common name present is taken. A missing required
    field raises SourceError naming the file and the config key. With ``show_names`` the message
    lists the columns that are there (a query's result columns, named by the config's SQL); file
    readers pass False: a file's header is data from the file, and a config pointed at the wrong
    file (``/etc/passwd`` read with delimiter ``:``) must not get its first line printed.
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
                    + _columns_hint(present, show_names, configured)
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
        if show_names:
            hint = _columns_hint(present, True)
        else:
            looked = "; ".join(f"{m} as {', '.join(COMMON_NAMES[m][:4])}, ..." for m in missing)
            hint = f"{_columns_hint(present, False)}; none is named {looked}"
        raise SourceError(
            f"{origin}: no column for {', '.join(missing)}; set config key(s) "
            f"{', '.join('columns.' + m for m in missing)}; {hint}"
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


def _columns_hint(present: list[str], show_names: bool, configured: str | None = None) -> str:
    """What an error says about the columns there are: their names, or only how many there are and,
    for a configured name, the one that differs from it only in case (which the config already knows)."""
    visible = _visible(present)
    if show_names:
        return f"columns are: {', '.join(visible) or '(none)'}"
    hint = f"the file has {len(visible)} column(s), not listed here (names in a file are its data)"
    near = [n for n in visible if configured is not None and n.lower() == configured.lower()]
    return hint + (f"; one differs only in case: {near[0]!r}" if near else "")


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


# --- text checks shared by the XES, CSV and OCEL readers -------------------------------------------


@contextmanager
def open_bytes(path: Path) -> Iterator[io.BufferedIOBase]:
    """The file's bytes, decompressed when it is gzip (recognised by its magic bytes, not its name).

    A gzip stream is read through ``Unpacked``, which refuses it once it unpacks to more than the
    limits allow, so every reader of it (the checks, the CSV header, expat) is safe from bombs.
    """
    with open(path, "rb") as raw:
        magic = raw.read(2)
        raw.seek(0)
        if magic == GZIP_MAGIC:
            with gzip.GzipFile(fileobj=raw) as unzipped:
                yield io.BufferedReader(Unpacked(unzipped, path), CHUNK)
        else:
            yield raw


class Unpacked(io.RawIOBase):
    """A decompressing stream that counts what it yields and refuses a decompression bomb.

    Refused (SourceError) past ``MOT_MAX_DECOMPRESSED_BYTES``, or past ``MOT_MAX_COMPRESSION_RATIO``
    times the file's size once more than RATIO_FLOOR bytes came out (a small file that unpacks
    well is harmless; a 400 KB file that unpacks to 400 MB is not).
    """

    def __init__(self, stream: io.BufferedIOBase, path: Path):
        self.stream, self.path, self.count = stream, path, 0
        self.size = max(path.stat().st_size, 1)
        machine = settings()
        self.max_bytes, self.max_ratio = machine.max_decompressed_bytes, machine.max_compression_ratio

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        self.count += len(data)
        check_unpacked(self.path, self.count, self.size, self.max_bytes, self.max_ratio)
        return len(data)


def check_unpacked(path: Path, unpacked: int, size: int, max_bytes: int, max_ratio: float) -> None:
    """Refuse ``path`` when ``unpacked`` bytes from a file of ``size`` bytes pass the limits."""
    if unpacked > max_bytes:
        raise SourceError(
            f"{path}: unpacks to more than {max_bytes:,} bytes; refused as a possible decompression bomb "
            "(raise MOT_MAX_DECOMPRESSED_BYTES if the file is real)"
        )
    if unpacked > RATIO_FLOOR and unpacked > max_ratio * size:
        raise SourceError(
            f"{path}: unpacks to more than {max_ratio:g} times its size ({size:,} bytes); refused as a "
            "possible decompression bomb (raise MOT_MAX_COMPRESSION_RATIO if the file is real)"
        )


def check_text(path: Path, xml: bool = False, field_break: bytes | None = None) -> None:
    """Refuse a file that is not UTF-8 text (naming line and byte) or whose gzip stream is broken
    or unpacks too far (``Unpacked``); with ``xml``, also a NUL byte, which no XML document may hold.

    With ``field_break`` (bytes that end every field: ``<`` in XML, the default with ``xml``, since
    neither text nor an attribute value may hold one; ``"`` in JSON; a line break in CSV), a stretch
    without any of them longer than ``MOT_MAX_FIELD_BYTES`` is refused: one value that long would
    be read into memory whole downstream.

    The readers downstream would otherwise replace bad bytes with U+FFFD silently (rustxes), or stop
    with a message that names no line (or, for a NUL in a name, with a panic).
    """
    try:
        with open_bytes(path) as stream:
            breaks = field_break if field_break is not None else (b"<" if xml else b"")
            problem = _first_invalid_utf8(stream, path, xml, breaks)
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise SourceError(f"{path}: the gzip stream is broken or truncated ({exc})") from None
    if problem:
        raise SourceError(problem)


def _first_invalid_utf8(stream, path: Path, no_nul: bool = False, field_break: bytes = b"") -> str | None:
    """The message for the first byte that is not UTF-8 (or a NUL, with ``no_nul``), or a field
    longer than the limit (see ``check_text``), or None."""
    offset, line, pending = 0, 1, b""
    run = 0  # bytes since the last field break, carried from chunk to chunk
    max_field = settings().max_field_bytes
    while True:
        chunk = stream.read(CHUNK)
        if field_break and chunk:
            run = _longest_run(chunk, field_break, run, max_field)
            if run > max_field:
                return (
                    f"{path}: a line or value before byte {offset + len(pending) + len(chunk):,} (unpacked) "
                    f"is longer than {max_field:,} bytes; refused (MOT_MAX_FIELD_BYTES)"
                )
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


def _longest_run(chunk: bytes, breaks: bytes, run: int, limit: int) -> int:
    """The run of bytes without a break at the end of ``chunk`` (``run`` before it), or, when a run
    inside it is longer than ``limit``, that run's length. numpy finds the breaks in C."""
    array = np.frombuffer(chunk, dtype=np.uint8)
    is_break = array == breaks[0]
    for byte in breaks[1:]:
        is_break |= array == byte
    hits = np.flatnonzero(is_break)
    if hits.size == 0:
        return run + len(chunk)
    first = run + int(hits[0])
    inner = int(np.diff(hits).max()) - 1 if hits.size > 1 else 0
    if max(first, inner) > limit:
        return max(first, inner)
    return len(chunk) - int(hits[-1]) - 1


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


# --- checks every reader makes, and names --------------------------------------------------------


def check_readable(path: Path) -> None:
    """Refuse a path that is missing, a folder or empty, and XML whose prolog declares entities."""
    if not path.exists():
        raise SourceError(f"{path}: file not found")
    if path.is_dir():
        raise SourceError(f"{path}: is a folder, not a file")
    if path.stat().st_size == 0:
        raise SourceError(f"{path}: the file is empty")
    if path.name.lower().endswith(XML_SUFFIXES):
        check_xml_prolog(path)


def plain_strings(table: pa.Table) -> pa.Table:
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
