"""The PostgreSQL fast path (``mining/sources/pg_copy.py``) gives the very table connectorx gives:
every column type we map, NULLs in each, infinity dates and times, odd text; what it does not map
goes to connectorx; failures while the rows come are the same SourceError / SourceUnavailable."""

from __future__ import annotations

import time
from decimal import Decimal
from types import SimpleNamespace
from unittest import mock

import connectorx as cx
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from mining.config import Mapping, Source
from mining.sources import pg_copy
from mining.sources.database import SourceUnavailable
from mining.sources.files import SourceError
from mining.sources.sql import run_mapping

COLUMNS = (
    "n int, i integer, s smallint, b bigint, num numeric, num2 numeric(12,2), f double precision, r real, "
    "t text, v varchar(40), c char(4), ok boolean, d date, ts timestamp, tz timestamptz"
)
ROWS = [
    # n, i, s, b, num, num2, f, r, t, v, c, ok, d, ts, tz
    (
        1,
        1,
        2,
        3,
        "1.5",
        "2.25",
        1.25,
        2.5,
        "plain",
        "ü€ 漢字 🙂",
        "ab",
        True,
        "2024-01-02",
        "2024-01-02 03:04:05.123456",
        "2024-01-02 03:04:05.5+02",
    ),
    (2, None, None, None, None, None, None, None, None, None, None, None, None, None, None),
    (
        3,
        -2147483648,
        -32768,
        -9223372036854775808,
        "-123456789012345678.0123456789",
        "-0.01",
        float("nan"),
        float("inf"),
        "",
        "",
        "",
        False,
        "infinity",
        "infinity",
        "-infinity",
    ),
    (
        4,
        2147483647,
        32767,
        9223372036854775807,
        "0.0000000001",
        "9999999999.99",
        -0.0,
        float("-inf"),
        "tab\there, newline\nthere, \"quotes\", 'single', back\\slash, comma, semicolon;\r\nCRLF",
        "\\N",
        "NULL",
        True,
        "-infinity",
        "-infinity",
        "infinity",
    ),
    (
        5,
        0,
        0,
        0,
        "0",
        "0",
        1e-300,
        3.4e38,
        "\\.",
        ",",
        '"',
        False,
        "0001-01-01",
        "0001-01-01 00:00:00",
        "9999-12-30 23:59:59.999999+00",
    ),
    (
        6,
        7,
        7,
        7,
        "42",
        "42",
        0.1,
        0.1,
        "  padded \x08\x0c\x0b\x01\x7f C:\\new\\table\\",
        " x ",
        "x",
        True,
        "9999-12-31",
        "9999-12-31 23:59:59.999999",
        "1900-06-01 12:00:00+00",
    ),
]
MAPPED = "SELECT n, i, s, b, num, num2, f, r, t, v, c, ok, d, ts, tz FROM typed ORDER BY n"
# What both ways raise when the server cancels the query for its statement_timeout.
TIMEOUT_ERROR = (
    SourceUnavailable,
    "source 's', mapping 'm': the query failed: db error: ERROR: canceling statement due to statement timeout",
)


def same(a: pa.Table, b: pa.Table) -> bool:
    """Equal tables, schema and metadata too, a NaN equal to a NaN."""
    if not a.schema.equals(b.schema, check_metadata=True) or a.num_rows != b.num_rows:
        return False
    for x, y in zip(a.columns, b.columns, strict=True):
        if pa.types.is_floating(x.type):
            if not pc.is_nan(x).equals(pc.is_nan(y)):
                return False
            x, y = (pc.if_else(pc.is_nan(v), pa.scalar(0, v.type), v) for v in (x, y))
        if not x.equals(y):
            return False
    return True


def connectorx(uri: str, sql: str) -> pa.Table:
    return cx.read_sql(uri, sql, return_type="arrow")


@pytest.fixture(scope="module")
def typed(postgres):
    with postgres.database("mot_pg_copy") as uri:
        postgres.execute(uri, f"CREATE TABLE typed ({COLUMNS})")
        con = postgres._connect(uri)
        try:
            with con.cursor() as cur:
                cur.executemany(f"INSERT INTO typed VALUES ({', '.join(['%s'] * 15)})", ROWS)
        finally:
            con.close()
        yield uri


def test_every_mapped_type_as_connectorx_gives_it(typed):
    fast = pg_copy.read(typed, MAPPED)
    assert fast is not None, "the fast path declined a result of mapped types"
    assert same(fast, connectorx(typed, MAPPED))
    assert fast.column("t")[3].as_py() == ROWS[3][8]
    assert fast.column("v")[0].as_py() == "ü€ 漢字 🙂"
    assert fast.column("t")[1].as_py() is None and fast.column("t")[2].as_py() == ""
    assert fast.schema.field("tz").type == pa.timestamp("us", tz="+00:00")
    assert fast.schema.field("num").type == pa.decimal128(38, 10)


@pytest.mark.parametrize("column", ["n", "i", "s", "b", "num", "num2", "f", "r", "t", "v", "c", "ok", "d", "ts", "tz"])
def test_a_single_column_with_nulls(typed, column):
    # A row of one NULL is an empty line in the CSV: it must stay a row.
    sql = f"SELECT {column} FROM typed ORDER BY n"
    fast = pg_copy.read(typed, sql)
    assert fast is not None and fast.num_rows == len(ROWS)
    assert same(fast, connectorx(typed, sql))


def test_no_rows_keep_the_types(typed):
    sql = MAPPED.replace("ORDER BY", "WHERE false ORDER BY")
    fast = pg_copy.read(typed, sql)
    assert fast is not None and fast.num_rows == 0
    assert same(fast, connectorx(typed, sql))


def test_many_blocks_keep_the_order_and_the_values(typed):
    sql = (
        "SELECT g AS id, 'case_' || (g / 7) AS case_id, CASE WHEN g % 11 = 0 THEN NULL ELSE 'act\"' || g % 5 END AS a, "
        "timestamp '2024-01-01' + g * interval '1.5 seconds' AS ts, "
        "timestamptz '2024-03-31 00:00:00+00' + g * interval '3 seconds' AS tz, (g % 1000) * 1.25 AS amount, "
        "CASE WHEN g % 13 = 0 THEN E'two\\nlines' ELSE 'x' END AS note "
        f"FROM generate_series(1, {3 * pg_copy.BLOCK_ROWS + 123}) AS g ORDER BY g DESC"
    )
    fast = pg_copy.read(typed, sql)
    assert fast is not None and fast.num_rows == 3 * pg_copy.BLOCK_ROWS + 123
    assert same(fast, connectorx(typed, sql))


def test_the_session_time_zone_and_date_order_change_nothing(typed):
    # The server shows timestamptz in the session's zone; the fast path reads it in UTC. Queries
    # whose result depends on the zone (timestamptz -> timestamp) still give connectorx's values.
    uri = typed + "?options=-c%20TimeZone%3DAsia/Kolkata%20-c%20DateStyle%3DISO,DMY"
    sql = "SELECT tz, tz::timestamp AS local, tz::date AS day, d, '01/02/2024'::date AS dmy FROM typed ORDER BY n"
    fast = pg_copy.read(uri, sql)
    assert fast is not None
    assert same(fast, connectorx(uri, sql))


def mapping_source(sql: str) -> Source:
    return Source(name="s", kind="postgres", conn_id="c", mappings=[Mapping(name="m", sql=sql)])


def both_ways(uri: str, sql: str) -> tuple:
    """run_mapping's answer (table or error message) with the fast path, and with connectorx alone."""
    source = mapping_source(sql)
    answers = []
    for patch in (
        mock.patch.object(pg_copy, "read", wraps=pg_copy.read),
        mock.patch.object(pg_copy, "read", return_value=None),
    ):
        with patch:
            try:
                answers.append(run_mapping(uri, source, source.mappings[0])[0])
            except SourceError as exc:
                answers.append((type(exc), exc.args[0]))
    return tuple(answers)


ODD = [
    "'NaN'::numeric",  # connectorx fails on it: so must the read
    "1.12345678901234::numeric",  # connectorx rounds to 10 fraction digits
    "1234567890123456789.5::numeric",  # beyond 18 integer digits
    "'0044-03-15 12:00:00 BC'::timestamp",
    "'0044-03-15 BC'::date",
    "'12345-01-01'::date",
    "'01:02:03'::time",
    "'{\"a\": 1}'::jsonb",
    "'x'::\"char\"",
    "pg_sleep(0)",  # void: connectorx's own 'not implemented' error
]


@pytest.mark.parametrize("value", ODD)
def test_what_it_does_not_map_goes_to_connectorx(typed, value):
    sql = f"SELECT 'c' AS case_id, 'a' AS activity, timestamp '2024-01-01' AS ts, {value} AS x"
    assert pg_copy.read(typed, sql) is None
    fast, slow = both_ways(typed, sql)
    if isinstance(slow, pa.Table):
        assert same(fast, slow)
    else:
        assert fast == slow


def test_run_mapping_gives_the_same_table_either_way(typed):
    sql = "SELECT n::text AS case_id, t AS activity, ts, i, num, f, d, tz, c, ok FROM typed ORDER BY n"
    fast, slow = both_ways(typed, sql)
    assert isinstance(fast, pa.Table) and same(fast, slow)


def test_a_bad_query_fails_with_connectorxs_message(typed):
    fast, slow = both_ways(typed, "SELECT * FROM no_such_table")
    assert (
        fast
        == slow
        == (
            SourceError,
            "source 's', mapping 'm': the query failed: db error: ERROR: relation \"no_such_table\" does not exist",
        )
    )


def test_a_refused_login_is_left_to_connectorx(typed):
    # connectorx waits for its pool before it reports a refused login; the fast path only declines.
    assert pg_copy.read(typed.replace("postgres@", "mot_no_such_role@", 1), "SELECT 1") is None


def test_a_failure_while_the_rows_come_is_the_same_error(typed):
    uri = typed + "?options=-c%20statement_timeout%3D200"
    sql = "SELECT g, pg_sleep(CASE WHEN g = 40000 THEN 1 ELSE 0 END)::text AS s FROM generate_series(1, 50000) AS g"
    fast, slow = both_ways(uri, sql)
    assert fast == slow == TIMEOUT_ERROR


def test_an_odd_value_in_a_late_block(typed):
    rows = 3 * pg_copy.BLOCK_ROWS
    late_nan = (
        f"SELECT g, CASE WHEN g = {rows - 5} THEN 'NaN'::numeric ELSE g END AS x FROM generate_series(1, {rows}) AS g"
    )
    assert pg_copy.read(typed, late_nan) is None  # connectorx fails on it, so the read must too
    late_infinity = (
        f"SELECT g, CASE WHEN g = {rows - 5} THEN 'infinity'::timestamptz ELSE timestamptz '2024-01-01 00:00:00+00' "
        f"+ g * interval '1 second' END AS x, CASE WHEN g % 1000 = 0 THEN E'a\\\\b\\tc' END AS t "
        f"FROM generate_series(1, {rows}) AS g"
    )
    fast = pg_copy.read(typed, late_infinity)
    assert fast is not None
    assert same(fast, connectorx(typed, late_infinity))


def test_a_timeout_before_the_rows_is_the_same_error(typed):
    import psycopg2

    blocker = psycopg2.connect(typed)
    try:
        blocker.cursor().execute("LOCK TABLE typed IN ACCESS EXCLUSIVE MODE")  # every read waits
        fast, slow = both_ways(
            typed + "?options=-c%20statement_timeout%3D300",
            MAPPED.replace("n, i", "n::text AS case_id, t AS activity, ts, i", 1),
        )
    finally:
        blocker.rollback()
        blocker.close()
    assert fast == slow == TIMEOUT_ERROR


def copied_messages(uri: str, sql: str) -> list[bytes]:
    """The messages of a binary COPY of ``sql`` as they come: the header, a row each, the trailer."""
    import psycopg2

    messages: list[bytes] = []
    con = psycopg2.connect(uri)
    try:
        con.cursor().copy_expert(f"COPY ({sql}) TO STDOUT (FORMAT binary)", SimpleNamespace(write=messages.append))
    finally:
        con.close()
    return messages


def copied_rows(uri: str, sql: str) -> list[bytes]:
    """The rows of a binary COPY of ``sql``, the header and the trailer taken off."""
    messages = copied_messages(uri, sql)
    assert messages[-1] == pg_copy.TRAILER
    return [pg_copy._without_header(messages[0]), *messages[1:-1]]


def test_the_trailer_in_a_block_taken_while_rows_come(typed):
    # The parser takes a full block before it hears that the COPY is over: the trailer is in it.
    messages = copied_messages(typed, "SELECT g FROM generate_series(1, 999) AS g")
    parser = pg_copy._Parser(messages, [23])
    with mock.patch.object(pg_copy, "BLOCK_ROWS", len(messages)):
        parser.start()
        while messages:
            time.sleep(0.001)
        parser.finish()
    assert pa.concat_tables(parser.result()).column(0).to_pylist() == list(range(1, 1000))


# Text of every length around the 12 bytes a string view holds inline (multi-byte characters too),
# numerics of every sign, weight and scale connectorx keeps exactly, NULLs between them.
VARIED = (
    "SELECT g, CASE WHEN g % 11 = 0 THEN NULL ELSE repeat(CASE WHEN g % 5 = 0 THEN 'é' ELSE 'x' END, g % 29) "
    "|| g END AS t, CASE WHEN g % 13 = 0 THEN NULL ELSE round(((g * 7919) % 1000003 - 500000) "
    "* power(10::numeric, g % 19 - 8), g % 11) END AS num, "
    "CASE WHEN g % 17 = 0 THEN NULL ELSE date '2024-01-01' + (g % 4000 - 2000) END AS d, g % 2 = 0 AS ok "
    "FROM generate_series(1, 100000) AS g ORDER BY g"
)


def test_varied_values_as_connectorx_gives_them(typed):
    fast = pg_copy.read(typed, VARIED)
    assert fast is not None and fast.num_rows == 100_000
    assert fast.column("t").null_count == 100_000 // 11
    assert same(fast, connectorx(typed, VARIED))


def test_the_rows_parse_the_same_in_any_blocks(typed):
    rows = copied_rows(typed, VARIED)
    oids = [23, 25, 1700, 1082, 16]
    whole = pg_copy.parse_rows(rows, oids)
    parts = pa.concat_tables(pg_copy.parse_rows(rows[i : i + 997], oids) for i in range(0, len(rows), 997))
    assert whole.num_rows == len(rows) == 100_000
    assert same(whole, parts)
    with mock.patch.object(pg_copy, "MAX_BLOCK_BYTES", 50_000):  # blocks of long values are split
        assert same(pg_copy.parse_rows(rows, oids), whole)


def test_numerics_at_the_edges_of_what_connectorx_keeps(typed):
    for value in ("999999999999999999.9999999999", "-0.0000000001", "123.45678901234"):
        rows = copied_rows(typed, f"SELECT {value}::numeric")
        if value.startswith("123"):  # 11 fraction digits: connectorx rounds them
            with pytest.raises(pg_copy._Unmapped):
                pg_copy.parse_rows(rows, [1700])
        else:
            assert pg_copy.parse_rows(rows, [1700]).column(0)[0].as_py() == Decimal(value)
