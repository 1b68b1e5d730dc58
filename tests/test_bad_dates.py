"""Odd dates in every kind of source (issue 17, defects 3 and 11, and two loader items).

A date the readers or DuckDB cannot hold (year 0, BC, infinity, 9999-12-31 at -12:00, an offset of
+25:00, a MariaDB zero date) becomes a quarantined event with its value in the reason, or, in an
attribute other than the timestamp, a value kept as text and said in ``load_audit.notes``; the rest
of the source loads, and no Rust panic report reaches the terminal. Timestamps that tie once cut to
microseconds keep their source order in the prepared tables. Traces sharing a case id are said in
the audit; quarantined values are cut to a readable size, saying so.

Every input is generated here (tmp_path, or a scratch database created and dropped); every load
goes through ``mining.pipeline.ingest_source`` and keeps loaded + quarantined = read.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mining.config import Source, parse_config
from mining.pipeline import ingest_source
from mining.sources.files import kind_from_path
from mining.warehouse import connect
from mining.warehouse.prepare import prepare_process

REPO = Path(__file__).resolve().parents[1]
GOOD = "2024-01-01T10:00:00+01:00"
PANIC_TEXT = ("panicked", "RUST_BACKTRACE", "stack backtrace", "unwrap()", "rust_begin_unwind", ".rs:")


# --- helpers -------------------------------------------------------------------------------------


def xes(traces: list[tuple[str, list[tuple[str, str, dict[str, str]]]]]) -> str:
    """An XES document: traces of (case id, [(activity, timestamp, {date attribute: value})])."""
    body = []
    for case, events in traces:
        body.append(f' <trace><string key="concept:name" value="{case}"/>')
        for activity, ts, dates in events:
            extra = "".join(f'<date key="{k}" value="{v}"/>' for k, v in dates.items())
            body.append(
                f'  <event><string key="concept:name" value="{activity}"/>'
                f'<date key="time:timestamp" value="{ts}"/>{extra}</event>'
            )
        body.append(" </trace>")
    return '<?xml version="1.0" encoding="UTF-8"?>\n<log xes.version="1.0">\n' + "\n".join(body) + "\n</log>\n"


def file_source(path: Path) -> Source:
    return Source(name="s", kind=kind_from_path(path), process="p", path=str(path))


def ingest(tmp_path: Path, source: Source, timezone: str = "UTC"):
    """Load ``source`` into a fresh warehouse; check loaded + quarantined = read; return a connection."""
    warehouse = tmp_path / "warehouse.duckdb"
    for result in ingest_source(warehouse, parse_config({"timezone": timezone}), source):
        assert result.rows_loaded + result.rows_quarantined == result.rows_read
    con = connect(warehouse)
    rows = con.execute(
        "SELECT rows_read, rows_loaded, rows_quarantined, "
        "(SELECT count(*) FROM quarantine q WHERE q.load_id = a.load_id) FROM load_audit a"
    ).fetchall()
    assert rows, "nothing was audited"
    for read, loaded, quarantined, kept in rows:
        assert loaded + quarantined == read and kept == quarantined
    return con


def reasons(con) -> list[tuple[int, str]]:
    return con.execute("SELECT row_number, reason FROM quarantine ORDER BY row_number").fetchall()


def activities(con) -> list[str]:
    return [a for (a,) in con.execute("SELECT activity FROM events ORDER BY seq").fetchall()]


def notes(con) -> str:
    return "\n".join(n for (n,) in con.execute("SELECT notes FROM load_audit ORDER BY load_id").fetchall() if n)


def run_quietly(code: str, backtrace: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter with RUST_BACKTRACE set; its output must hold no panic text."""
    env = dict(os.environ, RUST_BACKTRACE=backtrace, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    for text in PANIC_TEXT:
        assert text not in done.stderr and text not in done.stdout, (text, done.stderr)
    return done


# --- defect 3: odd dates in XES --------------------------------------------------------------------

ODD_XES_TIMES = [
    ("year0", "0000-06-01T00:00:00Z", "timestamp out of range: 0000-06-01T00:00:00Z"),
    ("minus12", "9999-12-31T23:00:00-12:00", "timestamp out of range: 9999-12-31T23:00:00-12:00"),
    ("before1", "0001-01-01T00:00:00+01:00", "timestamp out of range: 0001-01-01T00:00:00+01:00"),
    ("bc", "0044-03-15T00:00:00 BC", "timestamp out of range: 0044-03-15T00:00:00 BC"),
    ("infinity", "infinity", "timestamp out of range: infinity"),
    (
        "offset25",
        "2024-01-01T00:00:00+25:00",
        "time zone offset out of range (beyond ±14:00): 2024-01-01T00:00:00+25:00",
    ),
]


def test_xes_odd_timestamps_are_quarantined_with_their_value_and_the_rest_loads(tmp_path):
    events = [("first", GOOD, {})] + [(name, value, {}) for name, value, _ in ODD_XES_TIMES]
    events += [("year1", "0001-01-01T00:00:00Z", {}), ("last", "2024-01-01T11:00:00.5+01:00", {})]
    path = tmp_path / "odd.xes"
    path.write_text(xes([("c1", events)]))
    con = ingest(tmp_path, file_source(path), "Europe/Amsterdam")
    # Year 1 in UTC is a real instant inside the warehouse's range (the same rule as for CSV).
    assert activities(con) == ["first", "year1", "last"]
    assert [r for _, r in reasons(con)] == [reason for _, _, reason in ODD_XES_TIMES]
    assert con.execute("SELECT min(ts), max(ts) FROM events WHERE activity <> 'year1'").fetchall() == [
        (datetime(2024, 1, 1, 9, tzinfo=UTC), datetime(2024, 1, 1, 10, 0, 0, 500000, tzinfo=UTC))
    ]
    raw = json.loads(con.execute("SELECT raw FROM quarantine WHERE row_number = 2").fetchall()[0][0])
    assert raw["ts"] == "0000-06-01T00:00:00Z"
    assert "'time:timestamp' ×7" in notes(con)  # the six above and year 1


def test_xes_odd_dates_in_another_attribute_keep_the_event_and_say_so(tmp_path):
    odd = ["0001-01-01T00:00:00Z", "9999-12-31T23:00:00-12:00", "0044-03-15T00:00:00 BC", "infinity", "+25:00"]
    events = [("a", GOOD, {"due": "2024-02-01T00:00:00Z"})]
    events += [(f"e{i}", GOOD, {"due": value}) for i, value in enumerate(odd)]
    path = tmp_path / "odd.xes.gz"
    path.write_bytes(gzip.compress(xes([("c1", events)]).encode()))
    con = ingest(tmp_path, file_source(path))
    assert reasons(con) == []
    due = [json.loads(a)["due"] for (a,) in con.execute("SELECT attrs FROM events ORDER BY seq").fetchall()]
    assert due == ["2024-02-01 00:00:00", *odd]  # rustxes' own dates in UTC, the rest as written
    assert "5 <date> value(s)" in notes(con) and "'due' ×5" in notes(con)


@pytest.mark.parametrize("backtrace", ["1", "full"])
def test_no_rust_panic_text_reaches_the_terminal(tmp_path, backtrace):
    path = tmp_path / "panics.xes"
    path.write_text(xes([("c1", [("a", GOOD, {"due": "0001-01-01T00:00:00Z"}), ("b", "0000-01-01T00:00:00Z", {})])]))
    code = (
        "from pathlib import Path\n"
        "from mining.config import Source, parse_config\n"
        "from mining.pipeline import ingest_source\n"
        f"src = Source(name='s', kind='xes', process='p', path={str(path)!r})\n"
        f"r = ingest_source(Path({str(tmp_path / 'w.duckdb')!r}), parse_config({{}}), src)[0]\n"
        "print(r.rows_read, r.rows_loaded, r.rows_quarantined)\n"
    )
    assert run_quietly(code, backtrace).stdout.split() == ["2", "1", "1"]


# --- defect 3: odd dates in CSV and Parquet ------------------------------------------------------


def test_csv_bc_infinity_year_zero_and_offsets_beyond_14_hours(tmp_path):
    rows = [
        ("good", "2024-01-01 10:00:00+01:00"),
        ("bc", "0044-03-15 BC"),
        ("zero", "0000-01-01 00:00:00"),
        ("minus12", "9999-12-31 23:00:00-12:00"),
        ("infinity", "infinity"),
        ("minus_infinity", "-infinity"),
        ("offset25", "2024-01-01 00:00:00+25:00"),
        ("offset14", "2024-01-01 00:00:00+14:00"),
        ("year1", "0001-01-01 00:00:00"),
    ]
    path = tmp_path / "odd.csv"
    path.write_text("case_id,activity,timestamp\n" + "".join(f"c1,{a},{t}\n" for a, t in rows))
    con = ingest(tmp_path, file_source(path))
    assert reasons(con) == [
        (2, "timestamp out of range: 0044-03-15 BC"),
        (3, "timestamp out of range: 0000-01-01 00:00:00"),
        (4, "timestamp out of range: 9999-12-31 23:00:00-12:00"),
        (5, "timestamp out of range: infinity"),
        (6, "timestamp out of range: -infinity"),
        (7, "time zone offset out of range (beyond ±14:00): 2024-01-01 00:00:00+25:00"),
    ]
    assert activities(con) == ["good", "offset14", "year1"]


def test_parquet_typed_bc_and_year_zero_dates(tmp_path):
    day_us = 86_400_000_000
    year1 = -62_135_596_800_000_000  # 0001-01-01 00:00:00 UTC
    bc44 = -63_517_824_000_000_000  # 0044-03-15 BC, whose year() is 44
    table = pa.table(
        {
            "case_id": ["c1"] * 4,
            "activity": ["good", "bc", "year0", "year1"],
            "ts": pa.array([1_704_100_000_000_000, bc44, year1 - day_us, year1], pa.timestamp("us", tz="UTC")),
            "due": pa.array([19_000, -800_000, 0, 1], pa.date32()),
        }
    )
    pq.write_table(table, tmp_path / "odd.parquet")
    con = ingest(tmp_path, file_source(tmp_path / "odd.parquet"))
    assert reasons(con) == [
        (2, "timestamp out of range: 0044-03-15 (BC) 00:00:00+00"),
        (3, "timestamp out of range: 0001-12-31 (BC) 00:00:00+00"),
    ]
    assert activities(con) == ["good", "year1"]


# --- defect 3: odd dates in PostgreSQL and MariaDB ------------------------------------------------


def test_postgres_infinity_and_bc_timestamps(tmp_path, postgres):
    with postgres.database("mot_bad_dates") as uri, pytest.MonkeyPatch.context() as env:
        env.setenv("MOT_CONN_CRM", uri)
        postgres.execute(uri, "CREATE TABLE h (n int, case_id text, activity text, ts timestamptz, due date)")
        postgres.execute(
            uri,
            "INSERT INTO h VALUES (1, 'c1', 'good', '2024-01-01 10:00:00+01', '2024-02-01'), "
            "(2, 'c1', 'inf', 'infinity', 'infinity'), (3, 'c1', 'minf', '-infinity', NULL), "
            "(4, 'c1', 'bc', '0044-03-15 00:00:00+00 BC', '0044-03-15 BC'), "
            "(5, 'c1', 'late', '2024-01-01 11:00:00+01', NULL)",
        )
        sql = "SELECT case_id, activity, ts FROM h ORDER BY n"
        source = Source(name="s", kind="postgres", process="p", conn_id="crm", mappings=[{"name": "m", "sql": sql}])
        con = ingest(tmp_path, source)
    assert reasons(con) == [
        (2, "timestamp out of range: infinity"),
        (3, "timestamp out of range: -infinity"),
        (4, "timestamp out of range: 0044-03-15 (BC) 00:00:00+00"),
    ]
    assert activities(con) == ["good", "late"]


MARIADB_ROWS = (
    "INSERT INTO h VALUES (1, 'c1', 'good', '2024-01-01 10:00:00', '2024-02-01'), "
    "(2, 'c1', 'zero', '0000-00-00 00:00:00', '2024-02-01'), "
    "(3, 'c1', 'zero_day', '2024-01-00 00:00:00', NULL), "
    "(4, 'c1', 'due_zero', '2024-01-01 11:00:00', '0000-00-00')"
)


def mariadb_history(mariadb, uri: str) -> None:
    mariadb.execute(uri, "CREATE TABLE h (n INT, case_id TEXT, activity TEXT, ts DATETIME, due DATE)")
    # Zero dates need a statement without NO_ZERO_DATE / NO_ZERO_IN_DATE (older data has them).
    mariadb.execute(uri, "SET STATEMENT sql_mode = '' FOR " + MARIADB_ROWS)


def test_mariadb_zero_dates_quarantine_their_rows_and_the_rest_loads(tmp_path, mariadb):
    with mariadb.database("mot_bad_dates") as uri, pytest.MonkeyPatch.context() as env:
        env.setenv("MOT_CONN_CRM", uri)
        mariadb_history(mariadb, uri)
        sql = "SELECT case_id, activity, ts, due FROM h ORDER BY n"
        source = Source(name="s", kind="mysql", process="p", conn_id="crm", mappings=[{"name": "m", "sql": sql}])
        con = ingest(tmp_path, source, "Europe/Amsterdam")
        code = (
            "from pathlib import Path\n"
            "from mining.config import Source, parse_config\n"
            "from mining.pipeline import ingest_source\n"
            f"src = Source(name='s', kind='mysql', process='p', conn_id='crm', mappings=[{{'name': 'm', 'sql': {sql!r}}}])\n"
            f"r = ingest_source(Path({str(tmp_path / 'quiet.duckdb')!r}), parse_config({{}}), src)[0]\n"
            "print(r.rows_read, r.rows_loaded, r.rows_quarantined)\n"
        )
        env.setenv("MOT_SOURCE_RETRIES", "0")
        assert run_quietly(code, "full").stdout.split() == ["4", "2", "2"]
    assert reasons(con) == [
        (2, "unparseable timestamp: 0000-00-00 00:00:00"),
        (3, "unparseable timestamp: 2024-01-00 00:00:00"),
    ]
    rows = con.execute("SELECT activity, ts, attrs->>'due' FROM events ORDER BY seq").fetchall()
    assert rows == [
        ("good", datetime(2024, 1, 1, 9, tzinfo=UTC), "2024-02-01"),
        ("due_zero", datetime(2024, 1, 1, 10, tzinfo=UTC), "0000-00-00"),
    ]


# --- defect 11: nanosecond ties keep source order ------------------------------------------------

BASE_NS = 1_704_103_200_000_000_000  # 2024-01-01 10:00:00 UTC
# A, B, C lie in one microsecond; rounding (DuckDB's cast) put A and C in the next one: B, A, C.
NS_EVENTS = [("A", BASE_NS + 999), ("B", BASE_NS + 1), ("C", BASE_NS + 500), ("D", BASE_NS + 2_000)]


def assert_source_order(tmp_path: Path, con) -> None:
    con.close()
    prepare_process(tmp_path / "warehouse.duckdb", "p")
    with connect(tmp_path / "warehouse.duckdb") as con:
        log = con.execute("SELECT activity, ts FROM event_log WHERE case_id = 'c1' ORDER BY pos").fetchall()
        assert [a for a, _ in log] == ["A", "B", "C", "D"]
        assert [ts.microsecond for _, ts in log] == [0, 0, 0, 2]
        assert con.execute("SELECT activities FROM variants").fetchall() == [(["A", "B", "C", "D"],)]
        edges = con.execute("SELECT source_activity, target_activity FROM dfg_edges ORDER BY ALL").fetchall()
        assert edges == [("A", "B"), ("B", "C"), ("C", "D")]


def test_parquet_nanosecond_times_with_a_zone_tie_in_source_order(tmp_path):
    table = pa.table(
        {
            "case_id": ["c1"] * 4,
            "activity": [a for a, _ in NS_EVENTS],
            "ts": pa.array([ns for _, ns in NS_EVENTS], pa.timestamp("ns", tz="Europe/Amsterdam")),
        }
    )
    pq.write_table(table, tmp_path / "ns.parquet")
    assert_source_order(tmp_path, ingest(tmp_path, file_source(tmp_path / "ns.parquet")))


def test_xes_and_csv_nanosecond_times_tie_in_source_order(tmp_path):
    def stamp(ns: int) -> str:
        whole = datetime.fromtimestamp(ns // 10**9, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{whole}.{ns % 10**9:09d}+00:00"

    xes_dir, csv_dir = tmp_path / "xes", tmp_path / "csv"
    xes_dir.mkdir()
    csv_dir.mkdir()
    (xes_dir / "ns.xes").write_text(xes([("c1", [(a, stamp(ns), {}) for a, ns in NS_EVENTS])]))
    assert_source_order(xes_dir, ingest(xes_dir, file_source(xes_dir / "ns.xes")))
    (csv_dir / "ns.csv").write_text("case_id,activity,ts\n" + "".join(f"c1,{a},{stamp(ns)}\n" for a, ns in NS_EVENTS))
    assert_source_order(csv_dir, ingest(csv_dir, file_source(csv_dir / "ns.csv")))


# --- duplicate trace ids, capped quarantine values ------------------------------------------------


def test_xes_traces_sharing_a_case_id_are_said_in_the_audit(tmp_path):
    traces = [
        ("c1", [("a", GOOD, {})]),
        ("c2", [("a", GOOD, {})]),
        ("c1", [("b", "2024-01-01T11:00:00Z", {})]),
        ("c2", [("b", "2024-01-01T11:00:00Z", {})]),
        ("c3", [("a", GOOD, {})]),
    ]
    path = tmp_path / "dup.xes"
    path.write_text(xes(traces))
    con = ingest(tmp_path, file_source(path))
    assert con.execute("SELECT count(DISTINCT case_id), count(*) FROM events").fetchall() == [(3, 5)]
    assert "2 trace(s) repeat the case id of an earlier trace" in notes(con)
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "ok.xes").write_text(xes(traces[:2] + traces[4:]))
    assert notes(ingest(clean, file_source(clean / "ok.xes"))) == ""


def test_quarantined_raw_values_are_cut_and_say_so(tmp_path):
    long_id = "x" * 3_000_000
    path = tmp_path / "long.csv"
    path.write_text(f"case_id,activity,timestamp\n{long_id},a,2024-01-01\nc1,{'y' * 5000},soon\nc1,a,2024-01-01\n")
    con = ingest(tmp_path, file_source(path))
    assert [reason for _, reason in reasons(con)] == [
        "case id longer than 1000 characters",
        "unparseable timestamp: soon",
    ]
    raws = [json.loads(r) for (r,) in con.execute("SELECT raw FROM quarantine ORDER BY row_number").fetchall()]
    assert raws[0]["case_id"] == "x" * 2000 + "… [cut: 3000000 characters in all]"
    assert raws[0]["activity"] == "a"
    assert raws[1]["activity"] == "y" * 2000 + "… [cut: 5000 characters in all]"
    size = con.execute("SELECT max(length(CAST(raw AS VARCHAR))) FROM quarantine").fetchall()[0][0]
    assert size < 3000
