"""Load a batch of events into the warehouse: staging, quarantine, merge and audit in one transaction.

A batch is all or nothing: if anything fails (a bad value the SQL cannot take, a full disk, the
process being killed), the transaction is rolled back and the warehouse is as it was, apart from
the ``failed`` row in ``load_audit`` that says why (when the database can still take that row).
Every row read is either loaded or quarantined with its reason: ``rows_loaded + rows_quarantined ==
rows_read``.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mining.warehouse import execute, quote_ident, scalar, sql_literal
from mining.warehouse.sqlfiles import sections, sql_file

STANDARD = ("case_id", "activity", "ts", "resource", "lifecycle")
ROW = "__row"
REASON = "__reason"  # set by a reader for a row it could not read (mining.sources.files)
RAW_LINE = "__raw_line"  # the text of such a row, kept in the quarantine
INTERNAL = "__"  # prefix of the internal columns above: never stored as attributes
# Numbers are Unix epoch seconds; beyond this (the year 9999) DuckDB cannot make a timestamp.
MAX_EPOCH_S = 253402300799
# Schema metadata key under which a reader hands notes for load_audit.notes (a JSON list of text).
NOTES_KEY = b"mot:notes"
# Schema metadata key under which an extractor hands the batch's change semantics (``Identity``).
IDENTITY_KEY = b"mot:identity"
# A quarantined value longer than this is cut in `raw` (saying so): the quarantine is for reading
# what went wrong, and a 10 MB field would be copied whole into it for every bad row.
RAW_VALUE_CHARS = 2000


@dataclass(frozen=True)
class LoadResult:
    """What one load did. ``rows_loaded + rows_quarantined == rows_read`` always holds."""

    load_id: int
    source: str
    location: str
    rows_read: int
    rows_loaded: int
    rows_new: int
    rows_quarantined: int
    watermark_before: str | None = None
    watermark_after: str | None = None
    rows_updated: int = 0  # events changed in place
    rows_deleted: int = 0  # events removed: soft-deleted rows and, in a reconciling read, vanished ones


@dataclass(frozen=True)
class Identity:
    """How a batch's events are identified and what its rows' absence means (docs/airflow.md).

    ``key``: columns that identify an event (default: case, activity, timestamp); ``deleted``: the
    soft-delete column; ``complete``: the batch is the whole truth of its mapping (reconcile).
    """

    key: tuple[str, ...] | None = None
    deleted: str | None = None
    complete: bool = False


def with_identity(table: pa.Table, identity: Identity) -> pa.Table:
    """``table`` carrying ``identity`` in its schema metadata (kept through a staged Parquet file)."""
    value = {"key": list(identity.key or ()), "deleted": identity.deleted, "complete": identity.complete}
    return table.replace_schema_metadata({**(table.schema.metadata or {}), IDENTITY_KEY: json.dumps(value)})


def identity_of(table: pa.Table) -> Identity:
    """The identity an extractor put on ``table``; the default one for a table without."""
    raw = (table.schema.metadata or {}).get(IDENTITY_KEY)
    if not raw:
        return Identity()
    value = json.loads(raw)
    return Identity(tuple(value["key"]) or None, value.get("deleted"), bool(value.get("complete")))


def column_named(table: pa.Table, name: str, what: str) -> str:
    """The column of ``table`` called ``name`` (case-insensitive as a fallback), or a config error."""
    if name in table.column_names:
        return name
    lower = {c.lower(): c for c in table.column_names}
    if name.lower() in lower:
        return lower[name.lower()]
    raise ValueError(f"{what} {name!r} is not a column of the result; columns are: {', '.join(table.column_names)}")


def key_expression(columns: tuple[str, ...] | None) -> str:
    """SQL for the declared key: its values joined (NULL when one is missing), or NULL without a key."""
    if not columns:
        return "CAST(NULL AS VARCHAR)"
    values = ", ".join(f"CAST({quote_ident(c)} AS VARCHAR)" for c in columns)
    missing = " OR ".join(f"{quote_ident(c)} IS NULL" for c in columns)
    # 'key' first, so a declared key can never equal a default identity (case, activity, time).
    return f"CASE WHEN {missing} THEN NULL ELSE concat_ws(chr(31), 'key', {values}) END"


def with_row_numbers(table: pa.Table) -> pa.Table:
    """Add the 1-based source position ``__row`` (kept as the tie-breaker for equal timestamps)."""
    if ROW in table.column_names:
        return table
    return table.append_column(ROW, pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64)))


def complete_columns(table: pa.Table) -> pa.Table:
    """Add NULL ``resource``/``lifecycle`` (and reader ``__reason``) columns when the source has none."""
    for name in ("resource", "lifecycle", REASON):
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(table.num_rows, pa.string()))
    return table


def timestamp_expression(ts_type: pa.DataType, timestamp_format: str | None) -> str:
    """SQL that turns the incoming ``ts`` column into TIMESTAMPTZ, or NULL when it cannot.

    Naive values are read as wall-clock time in the configured zone ``$tz``; values with an
    offset keep it. Nothing is shifted silently.
    """
    if pa.types.is_timestamp(ts_type):
        if ts_type.tz is not None:
            return "CAST(ts AS TIMESTAMPTZ)"
        return "timezone($tz, CAST(ts AS TIMESTAMP))"
    if pa.types.is_date(ts_type):
        return "timezone($tz, CAST(ts AS TIMESTAMP))"
    if pa.types.is_integer(ts_type) or pa.types.is_floating(ts_type):
        # Numbers are Unix epoch seconds; out of range (or NaN) they are unparseable, not an error.
        return f"CASE WHEN abs(CAST(ts AS DOUBLE)) <= {MAX_EPOCH_S} THEN to_timestamp(CAST(ts AS DOUBLE)) END"
    if timestamp_format:
        if "%z" in timestamp_format or "%Z" in timestamp_format:
            return "CAST(try_strptime(trim(CAST(ts AS VARCHAR)), $fmt) AS TIMESTAMPTZ)"
        return "timezone($tz, try_strptime(trim(CAST(ts AS VARCHAR)), $fmt))"
    # DuckDB's cast to TIMESTAMP ignores words after the time ('10:00 BC', '10:00 CET', '10:00 PM'):
    # a value ending in one that is not a zone the pattern above knows is unparseable, not shifted.
    return (
        f"CASE WHEN regexp_matches(trim(CAST(ts AS VARCHAR)), '{WITH_ZONE}') "
        "THEN TRY_CAST(trim(CAST(ts AS VARCHAR)) AS TIMESTAMPTZ) "
        f"WHEN regexp_matches(trim(CAST(ts AS VARCHAR)), '{TRAILING_WORD}') THEN NULL "
        "ELSE timezone($tz, TRY_CAST(trim(CAST(ts AS VARCHAR)) AS TIMESTAMP)) END"
    )


# A text timestamp carries its own zone when it ends in Z, an offset, or a zone name ('UTC',
# 'Europe/Amsterdam'); otherwise it is wall-clock time in the configured zone.
# The offset at the end of a text timestamp, after its time of day: groups 3 and 4 are its hours
# and minutes.
OFFSET_PATTERN = r"[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?\s*[+-]([0-9]{2}):?([0-9]{2})?$"
WITH_ZONE = r"(Z|[+-][0-9]{2}(:?[0-9]{2})?|\s(UTC|GMT|[A-Za-z_]+/[A-Za-z_/+-]+))$"
TRAILING_WORD = r"[0-9].*[A-Za-z.)]$"


def local_expression(ts_type: pa.DataType, timestamp_format: str | None) -> str:
    """SQL for the wall-clock time a value was read as (NULL when the value carried its zone).

    The stage compares it with the parsed time converted back to the zone: they differ only for
    local times that do not exist there (the hour skipped when clocks go forward).
    """
    if pa.types.is_timestamp(ts_type):
        return "NULL" if ts_type.tz is not None else "CAST(ts AS TIMESTAMP)"
    if pa.types.is_date(ts_type):
        return "CAST(ts AS TIMESTAMP)"
    if pa.types.is_integer(ts_type) or pa.types.is_floating(ts_type):
        return "NULL"
    if timestamp_format:
        if "%z" in timestamp_format or "%Z" in timestamp_format:
            return "NULL"
        return "try_strptime(trim(CAST(ts AS VARCHAR)), $fmt)"
    return (
        f"CASE WHEN regexp_matches(trim(CAST(ts AS VARCHAR)), '{WITH_ZONE}') THEN NULL "
        "ELSE TRY_CAST(trim(CAST(ts AS VARCHAR)) AS TIMESTAMP) END"
    )


def offset_expression(ts_type: pa.DataType) -> str:
    """SQL for the offset, in minutes, that a text value ends in (checked against ±14:00), or NULL.

    Only text can carry an offset beyond ±14:00: a typed time (timestamp, date, epoch number) cast
    to text shows none, or UTC's ``+00``. Skipping the two regular expressions and casts per row for
    typed times saves about a third of the staging statement of an XES file.
    """
    if (
        pa.types.is_timestamp(ts_type)
        or pa.types.is_date(ts_type)
        or pa.types.is_integer(ts_type)
        or pa.types.is_floating(ts_type)
    ):
        return "CAST(NULL AS INTEGER)"
    return (
        "TRY_CAST(regexp_extract(trim(CAST(ts AS VARCHAR)), $offset_pattern, 3) AS INTEGER) * 60 "
        "+ coalesce(TRY_CAST(regexp_extract(trim(CAST(ts AS VARCHAR)), $offset_pattern, 4) AS INTEGER), 0)"
    )


def missing_timestamp_reason(ts_type: pa.DataType) -> str:
    """The quarantine reason for an empty timestamp: a typed one may be a value the reader could
    not parse (rustxes gives no value for a date it cannot read)."""
    if pa.types.is_timestamp(ts_type) or pa.types.is_date(ts_type):
        return "missing timestamp (none in the source, or one the file reader could not parse)"
    return "missing timestamp"


def attributes_expression(columns: list[str], leave_out: str | None = None) -> str:
    """SQL that packs the non-standard columns into one JSON object (NULL when there are none);
    ``leave_out`` is the soft-delete column, a flag about the row rather than about the event."""
    # Sorted by name: a reload compares the JSON text to see whether the event changed, and a reader
    # may hand over the same columns in a different order each time (rustxes does).
    extras = sorted(c for c in columns if c not in STANDARD and not c.startswith(INTERNAL) and c != leave_out)
    if not extras:
        return "CAST(NULL AS JSON)"
    fields = ", ".join(f"{sql_literal(c)}, {quote_ident(c)}" for c in extras)
    # json_object keeps the source names exactly, whatever characters they hold.
    return f"json_object({fields})"


def capped(value: str, limit: int = RAW_VALUE_CHARS) -> str:
    """SQL for a JSON value of ``value``, cut to ``limit`` characters of its text when longer,
    followed by ``… [cut: N characters in all]`` so that nobody takes it for the whole."""
    text = f"CAST({value} AS VARCHAR)"
    return (
        f"CASE WHEN length({text}) > {limit} THEN to_json(left({text}, {limit}) || '… [cut: ' || "
        f"length({text}) || ' characters in all]') ELSE to_json({value}) END"
    )


def raw_expression(columns: list[str]) -> str:
    """SQL for a quarantined row as read: its source columns as JSON, or the unreadable line's text;
    each value capped at RAW_VALUE_CHARS (the unreadable line at ten times that)."""
    visible = [c for c in sorted(columns) if not c.startswith(INTERNAL)]
    fields = ", ".join(f"{sql_literal(c)}, {capped('i.' + quote_ident(c))}" for c in visible)
    row = f"json_object({fields})"
    if RAW_LINE in columns:
        line = capped(f"i.{RAW_LINE}", 10 * RAW_VALUE_CHARS)
        return f"CASE WHEN i.{RAW_LINE} IS NOT NULL THEN json_object('line', {line}) ELSE {row} END"
    return row


def microsecond_times(table: pa.Table) -> pa.Table:
    """Nanosecond timestamps floored to microseconds (the warehouse's unit) before DuckDB sees them.

    DuckDB rounds when it casts nanoseconds to microseconds, so of three events within one
    microsecond the last could move to the next one and out of source order; floored, they tie and
    keep their source order (seq).
    """
    for index, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type) and field.type.unit == "ns":
            column = table.column(index)
            floored = pc.floor_temporal(column, 1, "microsecond").cast(pa.timestamp("us", field.type.tz))
            table = table.set_column(index, pa.field(field.name, floored.type, field.nullable), floored)
    return table


def reader_notes(table: pa.Table) -> str | None:
    """The notes a reader left in the table's schema metadata, one per line, or None."""
    raw = (table.schema.metadata or {}).get(NOTES_KEY)
    return "\n".join(json.loads(raw)) if raw else None


def stage_sql(table: pa.Table, timestamp_format: str | None, identity: Identity = Identity()) -> str:
    """The staging statement for this batch (the twin of ``load_batch`` that only builds SQL)."""
    ts_type = table.schema.field("ts").type
    deleted = "false"
    if identity.deleted:
        deleted = f"coalesce(TRY_CAST({quote_ident(identity.deleted)} AS BOOLEAN), false)"
    return (
        sql_file(__package__, "stage_events")
        .replace("/*TS*/", timestamp_expression(ts_type, timestamp_format))
        .replace("/*LOCAL*/", local_expression(ts_type, timestamp_format))
        .replace("/*OFFSET*/", offset_expression(ts_type))
        .replace("/*ATTRS*/", attributes_expression(table.column_names, identity.deleted))
        .replace("/*KEY*/", key_expression(identity.key))
        .replace("/*DELETED*/", deleted)
    )


def quarantine_sql(table: pa.Table) -> str:
    """The quarantine statement for this batch."""
    return sql_file(__package__, "quarantine_rows").replace("/*RAW*/", raw_expression(table.column_names))


def run_statement(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> None:
    """Run one generated statement as a whole, binding the ``$name`` parameters it uses.

    Not through ``run_sql``: that splits a file at ';' before a line end, and a source column
    name (quoted inside the generated SQL) may contain exactly that. The statement count is
    checked, so that no column name, however quoted, can ever add a statement of its own.
    """
    count = len(con.extract_statements(sql))
    if count != 1:
        raise ValueError(f"generated SQL holds {count} statements instead of 1; refusing to run it")
    # Parameters are looked for outside quotes and comments: a column called '$tz' is a name.
    code = QUOTED_OR_COMMENT.sub("", sql)
    used = {k: v for k, v in params.items() if re.search(rf"\${k}\b", code)}
    execute(con, sql, used or None)


# Left to right, the first of these to start wins, so quotes inside comments and comment marks
# inside quotes are both taken for what they are.
QUOTED_OR_COMMENT = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*")


def next_load_id(con: duckdb.DuckDBPyConnection) -> int:
    """The next load id: one more than the largest so far, so fresh warehouses are deterministic."""
    return scalar(con, "SELECT coalesce(max(load_id), 0) + 1 FROM load_audit")


def load_batch(
    con: duckdb.DuckDBPyConnection,
    table: pa.Table,
    *,
    process: str,
    source: str,
    location: str,
    timezone: str = "UTC",
    timestamp_format: str | None = None,
    watermark: tuple[str, str | None, str | None] | None = None,
) -> LoadResult:
    """Stage ``table``, quarantine bad rows, merge the rest into ``events``; all or nothing.

    ``table`` has the standard columns (``case_id``, ``activity``, ``ts``; optionally ``resource``
    and ``lifecycle``) plus attribute columns. ``watermark`` is ``(mapping, before, after)``: the
    stored watermark advances in the same transaction as the rows, so it never runs ahead of them.
    """
    missing = [c for c in ("case_id", "activity", "ts") if c not in table.column_names]
    if missing:
        raise ValueError(f"{location}: missing column(s) {', '.join(missing)}")
    notes = reader_notes(table)
    identity = identity_of(table)
    identity = Identity(
        tuple(column_named(table, c, "key column") for c in identity.key) if identity.key else None,
        column_named(table, identity.deleted, "deleted_column") if identity.deleted else None,
        identity.complete,
    )
    table = complete_columns(with_row_numbers(microsecond_times(table)))
    started = time.monotonic()
    params = {
        "tz": timezone,
        "fmt": timestamp_format,
        "missing_ts": missing_timestamp_reason(table.schema.field("ts").type),
        "offset_pattern": OFFSET_PATTERN,
        "keyed": identity.key is not None,
        "key_names": ", ".join(identity.key or ()),
    }
    con.register("incoming", table)
    con.execute("BEGIN TRANSACTION")
    load_id = None
    try:
        load_id = next_load_id(con)
        run_statement(con, stage_sql(table, timestamp_format, identity), params)
        run_statement(con, quarantine_sql(table), {"load_id": load_id, "source": source, "location": location})
        counts = merge(con, {"load_id": load_id, "source": source, "process": process, "origin": location}, identity)
        quarantined = scalar(con, "SELECT count(*) FROM staged WHERE reason IS NOT NULL")
        result = LoadResult(
            load_id=load_id,
            source=source,
            location=location,
            rows_read=table.num_rows,
            rows_loaded=table.num_rows - quarantined,
            rows_new=counts["inserted"],
            rows_quarantined=quarantined,
            watermark_before=watermark[1] if watermark else None,
            watermark_after=watermark[2] if watermark else None,
            rows_updated=counts["updated"],
            rows_deleted=counts["deleted"] + counts["reconcile"],
        )
        if watermark and watermark[2] is not None:
            con.execute(
                "INSERT OR REPLACE INTO watermarks VALUES (?, ?, ?, ?)",
                [source, watermark[0], watermark[2], load_id],
            )
        _audit(con, result, process, time.monotonic() - started, "committed", None, notes)
        con.execute("COMMIT")
    except BaseException as exc:  # also KeyboardInterrupt: never leave the transaction open
        # After a fatal error (a full disk) DuckDB refuses every further statement; the first
        # error is the one to report, so clean-up failures are not raised over it.
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        if isinstance(exc, Exception) and load_id is not None:
            _record_failure(con, load_id, process, source, location, table.num_rows, started, exc)
        raise
    finally:
        with contextlib.suppress(duckdb.Error):
            con.unregister("incoming")
        for temp in ("staged", "accepted"):
            with contextlib.suppress(duckdb.Error):
                con.execute(f"DROP TABLE IF EXISTS {temp}").fetchall()
    return result


def stored_watermarks(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, str]:
    """The watermarks of ``source`` by mapping name or file path (a file's is its content hash)."""
    rows = con.execute("SELECT mapping, value FROM watermarks WHERE source = ? ORDER BY mapping", [source]).fetchall()
    return dict(rows)


def merge(con: duckdb.DuckDBPyConnection, params: dict, identity: Identity) -> dict[str, int]:
    """Run the sections of merge_events.sql; return how many events each one changed."""
    counts = {"inserted": 0, "updated": 0, "deleted": 0, "reconcile": 0}
    for name, sql in sections(sql_file(__package__, "merge_events")).items():
        if name == "reconcile" and not identity.complete:
            continue
        used = {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)}
        rows = con.execute(sql, used or None).fetchall()
        if name in counts:
            counts[name] = rows[0][0] if rows else 0
    return counts


def _audit(con, result: LoadResult, process: str, duration: float, status: str, error: str | None, notes=None) -> None:
    con.execute(
        "INSERT INTO load_audit (load_id, process, source, location, started_at, finished_at, rows_read, "
        "rows_loaded, rows_new, rows_quarantined, watermark_before, watermark_after, duration_s, status, error, "
        "notes, rows_updated, rows_deleted) VALUES (?, ?, ?, ?, now() - to_seconds(?), now(), ?, ?, ?, ?, ?, ?, ?, ?, "
        "?, ?, ?, ?)",
        [
            result.load_id,
            process,
            result.source,
            result.location,
            duration,
            result.rows_read,
            result.rows_loaded,
            result.rows_new,
            result.rows_quarantined,
            result.watermark_before,
            result.watermark_after,
            duration,
            status,
            error,
            notes,
            result.rows_updated,
            result.rows_deleted,
        ],
    )


def _record_failure(con, load_id, process, source, location, rows_read, started, exc) -> None:
    """Write the ``failed`` audit row, unless the database cannot take it (then the error stands alone)."""
    failed = LoadResult(load_id, source, location, rows_read, 0, 0, 0)
    with contextlib.suppress(duckdb.Error):
        _audit(con, failed, process, time.monotonic() - started, "failed", f"{type(exc).__name__}: {exc}"[:2000])
