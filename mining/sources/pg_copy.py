"""PostgreSQL results into Arrow over a text ``COPY``, parsed while it arrives.

connectorx decodes PostgreSQL's binary ``COPY`` row by row on the client after the server has
sent it, which made an extraction cost about 1.8 times what the server itself needs to run the
query and send it (``bench/extraction.py``, ``server_copy_floor``). Here psycopg2 receives the
result in COPY's text format (``COPY (query) TO STDOUT``: tab-separated, ``\\N`` for NULL, control
characters and backslashes escaped with a backslash; the server needs no more time for it than for
the binary format, and about 8% less than for CSV), each row into a list (the list's own
``append`` is the sink: no Python frame per row), and a second thread hands every few thousand
rows to pyarrow's CSV reader, which parses them with the GIL released while the next rows arrive.
PostgreSQL sends one ``CopyData`` message per row, and a newline in a value comes escaped, so a
block of messages always ends at the end of a row. The few text values holding a backslash are
unescaped afterwards.

The result is the table connectorx gives for the same query, value for value and type for type,
for the column types we map: ``bool``, ``smallint``, ``integer``, ``bigint``, ``real``, ``double
precision``, ``numeric`` (``decimal128(38, 10)``), ``text``, ``varchar``, ``char(n)``, ``date``,
``timestamp`` and ``timestamptz`` (``timestamp[us, tz=+00:00]``), NULLs in each, and the
``infinity`` / ``-infinity`` dates and times (connectorx gives them as its date library's first
and last instants). ``read`` answers None, and the caller reads the query with connectorx, when
the result holds anything else: another column type, a ``numeric`` of more than 18 integer or 10
fraction digits (connectorx rounds or fails on those), ``NaN``, a year before 1 or after 9999, a
server whose ``DateStyle`` is not ISO or whose ``extra_float_digits`` would round floats, and any
failure before the rows come (a refused login, a bad query): connectorx then fails as it always
did, with its own message. A failure while the rows come (a statement timeout, a server going
away) is raised as ``CopyFailed`` with the server's message in connectorx's words.
"""

from __future__ import annotations

import re
import threading
import time
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

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
TIMESTAMPTZ = 1184
PLAIN_TIME = pa.timestamp("us")
# connectorx's values for infinity and -infinity (chrono's last and first date and instant).
INFINITY = {
    pa.date32(): (95026236, -96465292),
    PLAIN_TIME: (8210266876799999999, -8334601228800000000),
}
# connectorx converts numeric through a 96-bit decimal: up to 18 integer digits beside the 10
# fraction digits of decimal128(38, 10) it keeps exactly.
NUMERIC_LIMIT = 10**18
BLOCK_ROWS = 32768
# Parsed blocks are joined into chunks of at least this many rows (DuckDB's row group): DuckDB reads
# a table of 32,768-row chunks with 1.7 times the CPU it needs for one of 131,072-row chunks.
CHUNK_ROWS = 122880
PARALLEL_BLOCK_BYTES = 1 << 20
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

    if not (con.get_parameter_status("DateStyle") or "").upper().startswith("ISO"):
        return None
    try:
        with con.cursor() as cur:
            cur.execute("SELECT current_setting('extra_float_digits')::int")
            float_digits = cur.fetchone()[0]
            cur.execute(f"SELECT * FROM (\n{sql}\n) AS {ALIAS} LIMIT 0")
            columns = [(column.name, column.type_code) for column in cur.description]
    except psycopg2.Error as exc:
        if (exc.pgcode or "")[:2] in TRANSIENT_CLASSES:
            raise  # a timeout, a lock wait, a server going away: the same for connectorx, but later
        return None  # a bad query (or not one a subquery can hold): connectorx says what is wrong
    oids = [oid for _, oid in columns]
    if not columns or any(oid not in TYPES for oid in oids):
        return None
    # From PostgreSQL 12 any value above 0 gives floats exactly; before, only 3 did.
    exact = float_digits >= 3 or (float_digits >= 1 and con.server_version >= 120000)
    if not exact and any(TYPES[oid] in (pa.float32(), pa.float64()) for oid in oids):
        return None
    return [name for name, _ in columns], oids


def _copy(con, sql: str, names: list[str], oids: list[int]) -> pa.Table:
    """Run the COPY, parse its rows in blocks as they arrive; the table with connectorx's types."""
    if TIMESTAMPTZ in oids:
        # timestamptz as UTC wall-clock time: its text then does not depend on the session's zone.
        columns = [f"c{i} AT TIME ZONE 'UTC'" if oid == TIMESTAMPTZ else f"c{i}" for i, oid in enumerate(oids)]
        aliases = ", ".join(f"c{i}" for i in range(len(oids)))
        sql = f"SELECT {', '.join(columns)} FROM (\n{sql}\n) AS {ALIAS}({aliases})"
    rows: list[bytes] = []
    parser = _Parser(rows, oids)
    parser.start()
    try:
        with con.cursor() as cur:
            cur.copy_expert(f"COPY (\n{sql}\n) TO STDOUT", SimpleNamespace(write=rows.append))
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

    def run(self) -> None:
        try:
            while True:
                finished = self.done.is_set()  # read before the rows: none can follow it
                count = len(self.rows)
                if count >= BLOCK_ROWS or (finished and count):
                    # While the COPY runs, one thread parses (the server needs the other core); the
                    # rows left when it is over (many, on a busy machine) are parsed on all cores.
                    count = count if finished else min(count, 4 * BLOCK_ROWS)
                    block = b"".join(self.rows[:count])
                    del self.rows[:count]  # the COPY only appends: the rows taken are the first ones
                    self.pending.append(parse_block(block, self.oids, threads=finished and count > BLOCK_ROWS))
                    if sum(table.num_rows for table in self.pending) >= CHUNK_ROWS:
                        self._chunk()
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


def parse_block(block: bytes, oids: list[int], threads: bool = False) -> pa.Table:
    """Rows of PostgreSQL's text ``COPY`` output as a table of connectorx's types."""
    names = [f"c{i}" for i in range(len(oids))]
    # timestamptz comes as UTC wall-clock time (see _copy): parsed as such, then given the zone.
    types = {name: TYPES[oid] if oid != TIMESTAMPTZ else PLAIN_TIME for name, oid in zip(names, oids, strict=True)}
    try:
        table = _csv(block, names, types, threads)
    except pa.ArrowInvalid:
        # A value the parsers refuse: dates and times that are infinity (or a year no calendar of
        # ours holds), a numeric NaN or one of too many digits. Dates and times as text, then.
        temporal = {name for name, kind in types.items() if kind in INFINITY}
        try:
            table = _csv(block, names, {n: pa.string() if n in temporal else t for n, t in types.items()}, threads)
        except pa.ArrowInvalid:
            raise _Unmapped from None
        for i, name in enumerate(names):
            if name in temporal:
                table = table.set_column(i, name, _temporal(table.column(i), types[name]))
    escaped = b"\\" in block  # most blocks have no escape at all
    for i, oid in enumerate(oids):
        if TYPES[oid] == pa.string() and escaped:
            table = table.set_column(i, names[i], _unescaped(table.column(i)))
        elif oid == TIMESTAMPTZ:
            table = table.set_column(i, names[i], table.column(i).cast(TYPES[oid]))
        elif pa.types.is_decimal(TYPES[oid]) and table.column(i).null_count < len(table):
            low, high = pc.min_max(table.column(i)).values()
            if abs(low.as_py()) >= NUMERIC_LIMIT or abs(high.as_py()) >= NUMERIC_LIMIT:
                raise _Unmapped
    return table


def _csv(block: bytes, names: list[str], types: dict[str, pa.DataType], threads: bool = False) -> pa.Table:
    # In parallel: blocks of 1 MB (no value spans lines: newlines come escaped). Else one block.
    size = PARALLEL_BLOCK_BYTES if threads else len(block) + 1
    return pcsv.read_csv(
        pa.py_buffer(block),
        read_options=pcsv.ReadOptions(column_names=names, use_threads=threads, block_size=size),
        # No quotes and no escapes for the parser (see _unescaped); a row of one '' is an empty line.
        parse_options=pcsv.ParseOptions(delimiter="\t", quote_char=False, ignore_empty_lines=False),
        convert_options=pcsv.ConvertOptions(
            column_types=types,
            null_values=["\\N"],  # a value \N comes as \\N
            strings_can_be_null=True,
            true_values=["t"],
            false_values=["f"],
        ),
    )


# The escapes of COPY's text format: a backslash, then a letter for a control character, or the
# character itself (a backslash; the delimiter when it is no tab).
ESCAPED = re.compile(r"\\(.)", re.DOTALL)
ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _unescaped(text: pa.ChunkedArray) -> pa.ChunkedArray:
    """Text values of COPY's text format with their escapes undone (only values with a backslash)."""
    text = text.combine_chunks()
    escaped = pc.match_substring(text, "\\")
    if not pc.any(escaped).as_py():
        return pa.chunked_array([text])
    plain = [ESCAPED.sub(lambda m: ESCAPES.get(m.group(1), m.group(1)), v) for v in text.filter(escaped).to_pylist()]
    return pa.chunked_array([pc.replace_with_mask(text, escaped, pa.array(plain, pa.string()))])


def _temporal(text: pa.ChunkedArray, kind: pa.DataType) -> pa.ChunkedArray:
    """Dates or times read as text: infinity and -infinity as connectorx gives them."""
    last, first = INFINITY[kind]
    infinite = pc.equal(text, "infinity")
    minus = pc.equal(text, "-infinity")
    rest = pc.if_else(pc.or_(infinite, minus), pa.scalar(None, pa.string()), text)
    try:
        values = rest.cast(kind)
    except pa.ArrowInvalid:
        raise _Unmapped from None  # BC, or a year after 9999
    storage = pa.int32() if kind == pa.date32() else pa.int64()
    numbers = pc.if_else(infinite, pa.scalar(last, storage), values.cast(storage))
    return pc.if_else(minus, pa.scalar(first, storage), numbers).cast(kind)


def _message(exc) -> str:
    """A psycopg2 error in connectorx's words (``db error: ERROR: <message>``)."""
    diag = getattr(exc, "diag", None)
    if diag is not None and diag.message_primary:
        return f"db error: {diag.severity_nonlocalized or diag.severity or 'ERROR'}: {diag.message_primary}"
    return " ".join(str(exc).split()) or type(exc).__name__
