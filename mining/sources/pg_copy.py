"""PostgreSQL results into Arrow over a binary ``COPY``, parsed while it arrives.

connectorx decodes PostgreSQL's binary ``COPY`` value by value on the client after the server has
sent it, which made an extraction cost about 1.8 times what the server itself needs to run the
query and send it (``bench/extraction.py``, ``server_copy_floor``). Here psycopg2 receives the same
binary ``COPY (query) TO STDOUT (FORMAT binary)``, each row into a list (the list's own ``append``
is the sink: no Python frame per row), and a second thread takes every few thousand rows and
decodes them column by column with numpy: every row starts with its field count, every field with
its length (-1 for NULL), so once the rows' starts are known the fields' positions follow one
column at a time for all rows at once. Text becomes an Arrow string view over the received bytes,
then a string array; fixed-size values are read big-endian where they lie; ``numeric`` (base-10000
digits) is summed into the 128-bit integers of a decimal. The server sends the binary format for
less than the text one (no text output of times and numbers), and its values do not depend on the
session's time zone, date style or float digits.

The result is the table connectorx gives for the same query, value for value and type for type,
for the column types we map: ``bool``, ``smallint``, ``integer``, ``bigint``, ``real``, ``double
precision``, ``numeric`` (``decimal128(38, 10)``), ``text``, ``varchar``, ``char(n)``, ``date``,
``timestamp`` and ``timestamptz`` (``timestamp[us, tz=+00:00]``), NULLs in each, and the
``infinity`` / ``-infinity`` dates and times (connectorx gives them as its date library's first
and last instants). ``read`` answers None, and the caller reads the query with connectorx, when
the result holds anything else: another column type, a ``numeric`` of 19 or more integer digits or
more than 10 fraction digits (connectorx rounds or fails on those), ``NaN`` or an infinite
``numeric``, a year before 1 or after 9999, and any failure before the rows come (a refused login,
a bad query): connectorx then fails as it always did, with its own message. A failure while the
rows come (a statement timeout, a server going away) is raised as ``CopyFailed`` with the server's
message in connectorx's words.
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pyarrow as pa

# PostgreSQL type OIDs -> the Arrow type connectorx gives for them.
TYPES = {
    16: pa.bool_(),
    21: pa.int16(),
    23: pa.int32(),
    20: pa.int64(),
    700: pa.float32(),
    701: pa.float64(),
    1700: pa.decimal128(38, 10),
    25: pa.string(),
    1043: pa.string(),
    1042: pa.string(),
    1082: pa.date32(),
    1114: pa.timestamp("us"),
    1184: pa.timestamp("us", tz="+00:00"),
}
# The big-endian layout of the fixed-size values in PostgreSQL's binary format.
FIXED = {16: ">u1", 21: ">i2", 23: ">i4", 20: ">i8", 700: ">f4", 701: ">f8"}
TEMPORAL = {1082: ">i4", 1114: ">i8", 1184: ">i8"}
NUMERIC = 1700
# Dates count days and times microseconds from 2000-01-01; Arrow counts from 1970-01-01.
EPOCH_DAYS = 10957
EPOCH_US = EPOCH_DAYS * 86_400_000_000
# connectorx's values for infinity and -infinity (chrono's last and first date and instant), and
# the range of years 1 to 9999 that both ways give as they are (in Arrow's units).
INFINITY = {1082: (95026236, -96465292), 1114: (8210266876799999999, -8334601228800000000)}
INFINITY[1184] = INFINITY[1114]
YEARS_1_TO_9999 = {1082: (-719162, 2932897), 1114: (-62135596800000000, 253402300800000000)}
YEARS_1_TO_9999[1184] = YEARS_1_TO_9999[1114]
# numeric's sign word: positive and negative are mapped; NaN and the infinities go to connectorx.
NUMERIC_POSITIVE, NUMERIC_NEGATIVE = 0x0000, 0x4000
# connectorx converts numeric through a 96-bit decimal: up to 18 integer digits beside the 10
# fraction digits of decimal128(38, 10) it keeps exactly. In base-10000 digits: weights 4 (below
# 100) to -3 (a multiple of 100).
# What a digit of weight -3 to 4 counts in the integer part, and in the fraction (in units of 1e-12).
WHOLE_UNITS = np.array([0, 0, 0, 1, 10**4, 10**8, 10**12, 10**16], np.int64)
FRACTION_UNITS = np.array([1, 10**4, 10**8, 0, 0, 0, 0, 0], np.int64)
# A field's widest window read at once: its length, numeric's 8-byte head and its 8 digits at most.
PADDING = 32
SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
TRAILER = b"\xff\xff"
BLOCK_ROWS = 32768
# At most this many bytes are decoded at once (a block of long values is split): string views hold
# 32-bit offsets into the block, and a string array's values must stay below 2 GB.
MAX_BLOCK_BYTES = 1 << 30
# Parsed blocks are joined into chunks of at least this many rows (DuckDB's row group): DuckDB reads
# a table of 32,768-row chunks with 1.7 times the CPU it needs for one of 131,072-row chunks.
CHUNK_ROWS = 122880
ALIAS = "mot_copy"
CONNECT_TIMEOUT_S = 30
# SQLSTATE classes of failures that are no fault of the query: connection exceptions, transaction
# rollbacks (deadlocks), insufficient resources, operator intervention (statement timeouts, a
# shutting-down server), object not in prerequisite state (lock waits).
TRANSIENT_CLASSES = ("08", "40", "53", "57", "55")


class CopyFailed(Exception):
    """The query failed while its rows were coming (the message in connectorx's words)."""


class _Unmapped(Exception):
    """A value the fast path does not give exactly as connectorx does: connectorx reads it."""


def read(uri: str, sql: str) -> pa.Table | None:
    """The result of ``sql`` at ``uri`` as connectorx would give it, or None (read it with connectorx)."""
    try:
        import psycopg2
    except ImportError:  # an install without it (pyproject's celery and dev extras bring it)
        return None

    # A server that takes the connection and then says nothing: give up as connectorx's pool does.
    timeout = {} if "connect_timeout" in parse_qs(urlsplit(uri).query) else {"connect_timeout": CONNECT_TIMEOUT_S}
    try:
        con = psycopg2.connect(uri, client_encoding="UTF8", **timeout)
    except psycopg2.Error:
        return None  # connectorx fails the same way, in the words the callers know
    try:
        con.autocommit = True
        try:
            plan = _describe(con, sql)
            if plan is None:
                return None
            return _copy(con, sql, *plan)
        except _Unmapped:
            return None
        except psycopg2.Error as exc:
            raise CopyFailed(_message(exc)) from None
    finally:
        con.close()


def _describe(con, sql: str) -> tuple[list[str], list[int]] | None:
    """The result's column names and type OIDs, or None when connectorx must read the query."""
    import psycopg2

    try:
        with con.cursor() as cur:
            cur.execute(f"SELECT * FROM (\n{sql}\n) AS {ALIAS} LIMIT 0")
            columns = [(column.name, column.type_code) for column in cur.description]
    except psycopg2.Error as exc:
        if (exc.pgcode or "")[:2] in TRANSIENT_CLASSES:
            raise  # a timeout, a lock wait, a server going away: the same for connectorx, but later
        return None  # a bad query (or not one a subquery can hold): connectorx says what is wrong
    oids = [oid for _, oid in columns]
    if not columns or any(oid not in TYPES for oid in oids):
        return None
    return [name for name, _ in columns], oids


def _copy(con, sql: str, names: list[str], oids: list[int]) -> pa.Table:
    """Run the COPY, parse its rows in blocks as they arrive; the table with connectorx's types."""
    rows: list[bytes] = []
    parser = _Parser(rows, oids)
    parser.start()
    try:
        with con.cursor() as cur:
            cur.copy_expert(f"COPY (\n{sql}\n) TO STDOUT (FORMAT binary)", SimpleNamespace(write=rows.append))
    finally:
        parser.finish()
    tables = parser.result()
    if not tables:
        arrays = [pa.array([], TYPES[oid]) for oid in oids]
    else:
        table = pa.concat_tables(tables)
        arrays = [table.column(i) for i in range(len(oids))]
    return pa.Table.from_arrays(arrays, names=names)


class _Parser(threading.Thread):
    """Takes the rows the COPY has appended so far, a block at a time, and parses them."""

    def __init__(self, rows: list[bytes], oids: list[int]):
        super().__init__(name="pg-copy-parser", daemon=True)
        self.rows = rows
        self.oids = oids
        self.done = threading.Event()
        self.tables: list[pa.Table] = []
        self.pending: list[pa.Table] = []
        self.error: BaseException | None = None
        self.started = False  # the first row, which carries the format's header, seen

    def run(self) -> None:
        try:
            while True:
                finished = self.done.is_set()  # read before the rows: none can follow it
                count = len(self.rows)
                if count >= BLOCK_ROWS or (finished and count):
                    count = min(count, 4 * BLOCK_ROWS)
                    block = self.rows[:count]
                    del self.rows[:count]  # the COPY only appends: the rows taken are the first ones
                    self._parse(block)
                elif finished:
                    self._chunk()
                    return
                else:
                    time.sleep(0.002)
        except BaseException as exc:  # handed to the reading thread, once the COPY is over
            self.error = exc
            while not self.done.wait(0.01):
                self.rows.clear()  # the rows still coming are not wanted (connectorx reads again)
            self.rows.clear()

    def _parse(self, block: list[bytes]) -> None:
        if not self.started:
            self.started = True
            block[0] = _without_header(block[0])  # the server sends it with the first row, or the trailer
        if block[-1] == TRAILER:  # the last message (a row is longer: its field count, then fields)
            block.pop()
        if block:
            self.pending.append(parse_rows(block, self.oids))
        if sum(table.num_rows for table in self.pending) >= CHUNK_ROWS:
            self._chunk()

    def _chunk(self) -> None:
        if self.pending:
            self.tables.append(pa.concat_tables(self.pending).combine_chunks())
            self.pending = []

    def finish(self) -> None:
        self.done.set()
        self.join()

    def result(self) -> list[pa.Table]:
        if self.error is not None:
            raise self.error
        return self.tables


def _without_header(first: bytes) -> bytes:
    """The first row of a binary COPY without the format's header (signature, flags, extension)."""
    if not first.startswith(SIGNATURE):
        raise _Unmapped  # not the format this reader knows
    extension = int.from_bytes(first[15:19], "big")
    return first[19 + extension :]


def parse_rows(rows: list[bytes], oids: list[int]) -> pa.Table:
    """Rows of PostgreSQL's binary ``COPY`` output (one message each) as a table of connectorx's types."""
    count = len(rows)
    sizes = np.fromiter(map(len, rows), np.int64, count)
    if sizes.sum() > MAX_BLOCK_BYTES and count > 1:  # string views and arrays address it with int32
        return pa.concat_tables([parse_rows(rows[: count // 2], oids), parse_rows(rows[count // 2 :], oids)])
    # Padded, so that a window of up to PADDING bytes at any field's start stays inside the buffer.
    data = np.frombuffer(b"".join(rows) + bytes(PADDING), np.uint8)
    starts = np.zeros(count, np.int64)
    np.cumsum(sizes[:-1], out=starts[1:])
    if (_integers(_windows(data, starts, 2), 0, ">i2") != len(oids)).any():
        raise _Unmapped  # a row of another width: not the COPY this reader asked for
    at = starts + 2  # each field: its length (4 bytes, -1 for NULL), then its value
    arrays = []
    for oid in oids:
        array, length = _column(oid, data, at)
        arrays.append(array)
        at = at + 4 + np.maximum(length, 0)
    if not np.array_equal(at, starts + sizes):
        raise _Unmapped  # the fields do not fill the rows: not the COPY this reader asked for
    return pa.Table.from_arrays(arrays, names=[f"c{i}" for i in range(len(oids))])


def _windows(data: np.ndarray, at: np.ndarray, size: int) -> np.ndarray:
    """The ``size`` bytes from each offset ``at`` of ``data``: one row of a (len(at), size) array each."""
    # One gather of fixed-size items through an unaligned view: much cheaper than a 2-D fancy index.
    items = np.ndarray((len(data) - size + 1,), dtype=f"V{size}", buffer=data, strides=(1,))
    return items[at].view(np.uint8).reshape(len(at), size)


def _integers(windows: np.ndarray, offset: int, layout: str) -> np.ndarray:
    """The big-endian integers of ``layout`` at byte ``offset`` of every window, in native order."""
    kind = np.dtype(layout)
    column = np.ndarray((len(windows),), dtype=kind, buffer=windows, offset=offset, strides=(windows.shape[1],))
    return column.astype(kind.newbyteorder("="))


def _column(oid: int, data: np.ndarray, at: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """One column of fields starting at ``at``: connectorx's Arrow array, and each field's length."""
    if oid in FIXED or oid in TEMPORAL:
        layout = np.dtype(FIXED.get(oid) or TEMPORAL[oid])
        windows = _windows(data, at, 4 + layout.itemsize)
        length = _integers(windows, 0, ">i4")
        values = _integers(windows, 4, layout.str)
        nulls = length < 0
        if oid in TEMPORAL:
            return _temporal(oid, values, nulls), length
        return pa.array(values != 0 if oid == 16 else values, TYPES[oid], mask=nulls), length
    if oid == NUMERIC:
        return _numeric(data, at)
    return _text(data, at)


def _temporal(oid: int, raw: np.ndarray, nulls: np.ndarray) -> pa.Array:
    """Days or microseconds from 2000 as Arrow's dates or times, infinity as connectorx gives it."""
    kind = np.int32 if oid == 1082 else np.int64
    high, low = np.iinfo(kind).max, np.iinfo(kind).min  # PostgreSQL's infinity and -infinity
    values = raw.astype(np.int64) + (EPOCH_DAYS if oid == 1082 else EPOCH_US)
    first, last = YEARS_1_TO_9999[oid]
    finite = ~nulls & (raw != high) & (raw != low)
    if ((values < first) & finite).any() or ((values >= last) & finite).any():
        raise _Unmapped  # BC, or a year after 9999
    values = np.where(raw == high, INFINITY[oid][0], np.where(raw == low, INFINITY[oid][1], values))
    storage = pa.array(values.astype(kind), mask=nulls)
    return storage.view(TYPES[oid])


def _text(data: np.ndarray, at: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """Text fields as a string array: string views into the received bytes, then copied out."""
    # A field's 4-byte length and its first 12 bytes are the 16 bytes of an Arrow string view once
    # the length is little-endian; a longer value's view holds its first 4 bytes, then the buffer's
    # number (0) and its offset. Bytes past a short value are left as they are: the views are only
    # read by the cast to a string array, which copies each value's own bytes.
    views = _windows(data, at, 16)
    length = _integers(views, 0, ">i4")
    nulls = length < 0
    words = views.view("<i4")
    words[:, 0] = np.where(nulls, 0, length)
    long = length > 12
    words[long, 2] = 0
    words[long, 3] = at[long] + 4
    validity, null_count = _validity(nulls)
    buffers = [validity, pa.py_buffer(views), pa.py_buffer(data)]
    return pa.Array.from_buffers(pa.string_view(), len(at), buffers, null_count).cast(pa.string()), length


def _numeric(data: np.ndarray, at: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """numeric fields (base-10000 digits) as decimal128(38, 10), or _Unmapped past connectorx's range."""
    head = _windows(data, at, 14)  # length, digit count, weight, sign, display scale, first digit
    length = _integers(head, 0, ">i4")
    nulls = length < 0
    digits = np.where(nulls, 0, _integers(head, 4, ">i2"))
    weight = _integers(head, 6, ">i2").astype(np.int64)
    sign = np.where(nulls, NUMERIC_POSITIVE, _integers(head, 8, ">u2"))
    if ((sign != NUMERIC_POSITIVE) & (sign != NUMERIC_NEGATIVE)).any():
        raise _Unmapped  # NaN or an infinity
    # Leading and trailing zero digits are never sent: the first and the last digit are not 0.
    weight = np.where(digits > 0, weight, 0)
    first = _integers(head, 12, ">i2")  # (of a field with no digit: whatever follows it)
    if ((weight > 4) | ((weight == 4) & (first >= 100)) | ((weight - digits + 1 < -3) & (digits > 0))).any():
        raise _Unmapped  # 19 or more integer digits, or more than 12 fraction digits
    most = int(digits.max(initial=0))
    body = _windows(data, at + 12, 2 * max(most, 1))
    whole = np.zeros(len(at), np.int64)  # the integer part
    fraction = np.zeros(len(at), np.int64)  # the fraction in units of 1e-12
    for k in range(most):
        digit = np.where(k < digits, _integers(body, 2 * k, ">i2"), 0).astype(np.int64)
        place = np.clip(weight - k + 3, 0, 7)  # digit k counts 10000 ** (weight - k), weight - k >= -3
        whole += digit * WHOLE_UNITS[place]
        fraction += digit * FRACTION_UNITS[place]
    if (fraction % 100 != 0).any():
        raise _Unmapped  # 11 or 12 fraction digits: connectorx rounds them
    return _decimal(whole, fraction // 100, sign == NUMERIC_NEGATIVE, nulls), length


def _decimal(whole: np.ndarray, fraction: np.ndarray, negative: np.ndarray, nulls: np.ndarray) -> pa.Array:
    """decimal128(38, 10) of whole + fraction * 1e-10 (both below 1e18 and 1e10), with the sign."""
    # The unscaled value whole * 1e10 + fraction reaches 2^94: two 64-bit halves. whole is split
    # at 2^30, so that each product with 1e10 stays below 2^64.
    top, bottom = (whole >> 30).astype(np.uint64), (whole & ((1 << 30) - 1)).astype(np.uint64)
    scale = np.uint64(10**10)
    shifted = top * scale  # times 2^30 still to come
    low = shifted << np.uint64(30)
    high = shifted >> np.uint64(34)
    rest = bottom * scale + fraction.astype(np.uint64)
    total = low + rest
    high = high + (total < low)  # the carry
    low = total
    # Two's complement of the 128 bits for the negative values.
    negated_low = ~low + np.uint64(1)
    negated_high = ~high + (low == 0)
    low = np.where(negative, negated_low, low)
    high = np.where(negative, negated_high, high)
    values = np.empty((len(whole), 2), np.uint64)
    values[:, 0], values[:, 1] = low, high
    validity, null_count = _validity(nulls)
    return pa.Array.from_buffers(TYPES[NUMERIC], len(whole), [validity, pa.py_buffer(values)], null_count)


def _validity(nulls: np.ndarray) -> tuple[pa.Buffer | None, int]:
    """Arrow's validity bitmap for ``nulls`` (None when there is no NULL) and the count of NULLs."""
    null_count = int(nulls.sum())
    if not null_count:
        return None, 0
    return pa.py_buffer(np.packbits(~nulls, bitorder="little")), null_count


def _message(exc) -> str:
    """A psycopg2 error in connectorx's words (``db error: ERROR: <message>``)."""
    diag = getattr(exc, "diag", None)
    if diag is not None and diag.message_primary:
        return f"db error: {diag.severity_nonlocalized or diag.severity or 'ERROR'}: {diag.message_primary}"
    return " ".join(str(exc).split()) or type(exc).__name__
