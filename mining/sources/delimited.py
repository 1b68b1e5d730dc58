"""Read a delimited text file (CSV, TSV; plain or gzip) with DuckDB's reader, every column as text.

Named ``delimited`` rather than ``csv`` so that it does not shadow the standard library's ``csv``
module, which it uses to split the header.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
import pyarrow as pa

from mining.config import ColumnMap
from mining.settings import settings
from mining.sources.files import (
    GZIP_MAGIC,
    RAW_LINE,
    REASON,
    SourceError,
    check_readable,
    check_text,
    open_bytes,
    plain_strings,
    safe_names,
    standardize_columns,
)

CSV_DELIMITERS = (",", ";", "\t", "|")
# DuckDB's own limit on a record (which may span lines); lines are limited before DuckDB reads the
# file, to MOT_MAX_FIELD_BYTES (check_text). DuckDB's limit is at least that.
MAX_LINE_BYTES = 256 * 1024 * 1024


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
    check_readable(path)
    _check_delimiter(path, delimiter)
    # A line longer than the field limit is refused here, before DuckDB: past its buffer DuckDB
    # drops such a line without a word (not even in reject_errors), which would break
    # loaded + quarantined = read.
    check_text(path, field_break=b"\n")
    header, sniffed = _csv_header(path, delimiter)
    others = [d for d in CSV_DELIMITERS if d != sniffed and d in header[0]]
    if len(header) == 1 and others:
        given = f" (it is {delimiter!r})" if delimiter else ""
        # The header itself is not shown: it is data from the file (which may not be a log at all).
        raise SourceError(
            f"{path}: only one column found in the header ({len(header[0]):,} characters, which hold "
            f"{' '.join(repr(d) for d in others)}): is the delimiter right? set config key 'delimiter'{given}"
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
            max_line_size=max(MAX_LINE_BYTES, settings().max_field_bytes),
            compression=compression,
        )
        table = relation.to_arrow_table()
        rejects = con.execute(sql_rejects()).fetchall()
    except duckdb.Error as exc:
        raise SourceError(f"{path}: not a readable CSV file: {_first_line(exc)}") from None
    finally:
        con.close()
    table = standardize_columns(plain_strings(table), columns or ColumnMap(), str(path), show_names=False)
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
        first = _first_record_text(text, settings().max_field_bytes)
    if first is None:
        raise SourceError(
            f"{path}: the header is longer than {settings().max_field_bytes:,} characters (MOT_MAX_FIELD_BYTES), "
            "or opens a quote it never closes; is this a CSV file?"
        )
    if not first.strip():
        raise SourceError(f"{path}: the file has no header line")
    candidates = (delimiter,) if delimiter else CSV_DELIMITERS
    best = max(candidates, key=lambda d: len(_split(first, d)))  # ties: the earlier candidate
    return [name for name in _split(first, best)], best


def _first_record_text(text: io.TextIOBase, limit: int) -> str | None:
    """The text of the first CSV record (a quoted field may span lines); None past ``limit``
    characters, so that an unclosed quote does not pull the whole file into one string."""
    parts, length, quotes = [], 0, 0
    while line := text.readline(limit + 1 - length):
        parts.append(line)
        length += len(line)
        quotes += line.count('"')
        if quotes % 2 == 0 and line[-1] in "\r\n":
            break
        if length > limit:
            return None
    return "".join(parts)


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
