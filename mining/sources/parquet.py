"""Read a Parquet event log with pyarrow; column types are kept as written.

Parquet packs well, and dictionary encoding packs better still: a small file may decode to an
Arrow table many times its size. The file is read one batch at a time, and refused once its pages
or its decoded data pass the limits (``MOT_MAX_DECOMPRESSED_BYTES``, ``MOT_MAX_COMPRESSION_RATIO``,
``MOT_MAX_FIELD_BYTES``), before the whole table is in memory. pyarrow does not check that string
columns hold UTF-8; rows whose strings do not are handed to the quarantine with their reason.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mining.config import ColumnMap
from mining.settings import settings
from mining.sources.files import (
    REASON,
    SourceError,
    check_readable,
    check_unpacked,
    plain_strings,
    standardize_columns,
)

BATCH_ROWS = 64 * 1024


def read_parquet(path: str | Path, columns: ColumnMap | None = None) -> pa.Table:
    """Read a Parquet file; column types are kept as written."""
    path = Path(path)
    check_readable(path)
    try:
        table = _read_limited(path)
    except (pa.ArrowException, OSError) as exc:
        raise SourceError(f"{path}: not a readable Parquet file: {exc}") from None
    table = standardize_columns(plain_strings(table), columns or ColumnMap(), str(path), show_names=False)
    # After standardize_columns, which renames a source column called __reason out of the way.
    return _quarantine_bad_utf8(table)


def _read_limited(path: Path) -> pa.Table:
    """The file as one table, read batch by batch so that the limits stop a bomb early."""
    machine = settings()
    handle = pq.ParquetFile(path)
    meta = handle.metadata
    # The pages' own unpacked size, from the footer: a bomb of compressed pages stops here unread.
    pages = sum(
        meta.row_group(g).column(c).total_uncompressed_size
        for g in range(meta.num_row_groups)
        for c in range(meta.num_columns)
    )
    size = path.stat().st_size
    check_unpacked(path, pages, size, machine.max_decompressed_bytes, machine.max_compression_ratio)
    batches, decoded = [], 0
    for batch in handle.iter_batches(batch_size=BATCH_ROWS):
        # Dictionary and run-length encoding decode to more than the pages hold; no ratio is
        # judged on it (a column of one repeated label legitimately decodes 1000-fold), only size.
        decoded += batch.nbytes
        check_unpacked(path, decoded, size, machine.max_decompressed_bytes, float("inf"))
        _check_fields(path, batch, machine.max_field_bytes)
        batches.append(batch)
    return pa.Table.from_batches(batches, schema=handle.schema_arrow)


def _check_fields(path: Path, batch: pa.RecordBatch, limit: int) -> None:
    """Refuse a string or binary value longer than ``limit`` bytes, naming its column."""
    for field, column in zip(batch.schema, batch.columns, strict=True):
        kind = field.type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_binary(kind)):
            continue
        if pa.types.is_large_binary(kind) or pa.types.is_string_view(kind):
            continue  # not produced by the Parquet reader in its default settings
        longest = pc.max(pc.binary_length(column)).as_py()
        if longest is not None and longest > limit:
            raise SourceError(
                f"{path}: column {field.name!r} holds a value of {longest:,} bytes, more than "
                f"{limit:,} (MOT_MAX_FIELD_BYTES)"
            )


def _quarantine_bad_utf8(table: pa.Table) -> pa.Table:
    """Rows whose strings are not UTF-8 get a reason (so the loader quarantines them), and those
    strings their bytes as ``\\xNN`` escapes: DuckDB fails on invalid UTF-8 with an internal error."""
    bad_rows: dict[int, list[str]] = {}
    for index, field in enumerate(table.schema):
        if not pa.types.is_string(field.type):
            continue
        column = table.column(index)
        try:
            column.validate(full=True)
            continue
        except pa.ArrowInvalid:
            pass
        values = column.cast(pa.binary()).to_pylist()
        fixed = []
        for row, value in enumerate(values):
            if value is None:
                fixed.append(None)
                continue
            try:
                fixed.append(value.decode("utf-8"))
            except UnicodeDecodeError:
                fixed.append(value.decode("utf-8", "backslashreplace"))
                bad_rows.setdefault(row, []).append(field.name)
        table = table.set_column(index, field, pa.array(fixed, pa.string()))
    if not bad_rows:
        return table
    reasons = [
        f"not UTF-8 text in column(s) {', '.join(repr(n) for n in bad_rows[row])} (kept with \\x escapes)"
        if row in bad_rows
        else None
        for row in range(table.num_rows)
    ]
    return table.append_column(REASON, pa.array(reasons, pa.string()))
