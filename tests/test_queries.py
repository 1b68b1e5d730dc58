"""The SQL library in queries/: headers, examples on the demo and an empty warehouse, exact figures
on a hand-built log, argument checks, the read snapshot, `mot sql`, and reading during a run."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from mining import pipeline, shell, sqllib
from mining.cli import app
from mining.warehouse import connect, storage_version
from mining.warehouse.prepare import prepare
from mining.warehouse.snapshot import open_for_reading, publish_snapshot

DEMO_CASES = 600
REPO = Path(__file__).resolve().parents[1]


# --- fixtures --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory) -> Path:
    """One full demo run (every pipeline step), shared by the tests of this module."""
    out = tmp_path_factory.mktemp("queries-demo")
    summary = pipeline.run(pipeline.demo_config(out, n_cases=DEMO_CASES, seed=7), out)
    assert summary.processes["loan_origination"]["cases"] == DEMO_CASES
    return out


@pytest.fixture(scope="module")
def demo_con(demo_out):
    con = duckdb.connect(str(demo_out / "warehouse.duckdb"), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def empty_con(tmp_path_factory):
    """A migrated warehouse without any event, with the library installed."""
    con = connect(tmp_path_factory.mktemp("queries-empty") / "warehouse.duckdb")
    sqllib.install_queries(con)
    yield con
    con.close()


TINY = {
    # case: [(activity, resource, seconds after the case's start)]
    "c1": [("A", "r1", 0), ("B", "r2", 10), ("A", "r1", 30), ("A", "r1", 40), ("C", "r3", 100)],
    "c2": [("A", "r1", 0), ("C", "r1", 50)],
    "c3": [("A", "r2", 0), ("B", "r2", 20), ("C", "r3", 200)],
}


@pytest.fixture(scope="module")
def tiny_con(tmp_path_factory):
    """A hand-built process 'tiny' (above) plus a one-case process 'other' to check isolation."""
    con = connect(tmp_path_factory.mktemp("queries-tiny") / "warehouse.duckdb")
    seq = 0
    for process, cases in (("tiny", TINY), ("other", {"x1": [("A", "r1", 0), ("B", "r9", 5)]})):
        for case_id, events in cases.items():
            for activity, resource, offset in events:
                seq += 1
                con.execute(
                    "INSERT INTO events VALUES (?, ?, 'hand', ?, ?, "
                    "TIMESTAMPTZ '2024-03-01 09:00:00+00' + to_seconds(?), ?, 'complete', ?, 1, NULL)",
                    [f"k{seq}", process, case_id, activity, offset, resource, seq],
                ).fetchall()
        prepare(con, process)
    sqllib.install_queries(con)
    yield con
    con.close()


def rows(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


# --- the files and their headers -----------------------------------------------------------------

FILES = sqllib.query_files()


def test_the_package_sees_the_files_of_the_top_level_folder():
    on_disk = sorted(p.name for p in (REPO / "queries").glob("*.sql"))
    assert [f.name for f in FILES] == on_disk
    assert len(on_disk) >= 10


@pytest.mark.parametrize("query_file", FILES, ids=[f.name for f in FILES])
def test_header_says_question_objects_and_examples(query_file):
    assert query_file.question.endswith("?")
    assert query_file.examples
    # The header's list of views and macros is the list the file really creates.
    assert query_file.gives == query_file.objects


def test_a_file_without_a_question_is_refused():
    with pytest.raises(ValueError, match=r"queries/x\.sql: the header lacks -- Question:"):
        sqllib.parse_query_file(
            "x.sql", "-- Gives: view v\n-- Example:\n--   FROM v;\nCREATE OR REPLACE VIEW v AS SELECT 1;\n"
        )


def test_every_object_name_is_unique_and_catalogued(demo_con):
    names = [name for f in FILES for _, name in f.objects]
    assert len(names) == len(set(names))
    catalogued = rows(demo_con, "SELECT object FROM mot_queries ORDER BY file, object")
    assert sorted(n for (n,) in catalogued) == sorted(names)
    tables = {t for (t,) in rows(demo_con, "SELECT table_name FROM duckdb_tables()")}
    assert not tables & set(names), "a view or macro would hide a warehouse table"


# --- every file on the demo warehouse and on an empty one ----------------------------------------

EXAMPLES = [(f.name, i, sql) for f in FILES for i, sql in enumerate(f.examples)]


@pytest.mark.parametrize(("name", "index", "sql"), EXAMPLES, ids=[f"{n}#{i}" for n, i, _ in EXAMPLES])
def test_examples_answer_on_the_demo_warehouse(demo_con, name, index, sql):
    result = demo_con.execute(sql).fetchall()
    assert result, f"queries/{name} example {index} returned no rows on the demo warehouse: {sql}"


@pytest.mark.parametrize(("name", "index", "sql"), EXAMPLES, ids=[f"{n}#{i}" for n, i, _ in EXAMPLES])
def test_examples_run_on_an_empty_warehouse(empty_con, name, index, sql):
    result = empty_con.execute(sql).fetchall()
    if name != "00_helpers.sql":  # the helpers' examples compute constants
        assert result == []


def test_examples_name_no_process_of_their_own():
    for f in FILES:
        for sql in f.examples:
            assert "loan_origination" not in sql, f"queries/{f.name}: {sql}"


def test_the_example_pickers_exactly(tiny_con, empty_con):
    # 'other' < 'tiny' by name; in tiny A occurs 5 times, C 3, B 2; A->B and A->C twice each (ties by name).
    assert rows(tiny_con, "SELECT mot_process(), mot_activity('tiny', 1), mot_activity('tiny', 2)") == [
        ("other", "A", "C")
    ]
    arcs = "SELECT mot_arc('tiny', 1).source, mot_arc('tiny', 1).target, mot_arc('tiny', 2).target"
    assert rows(tiny_con, arcs) == [("A", "B", "C")]
    assert rows(empty_con, "SELECT mot_process(), mot_check_process(mot_process())") == [(None, True)]


def test_every_view_runs_on_both_warehouses(demo_con, empty_con):
    views = [name for f in FILES for kind, name in f.objects if kind == "view"]
    for view in views:
        assert rows(demo_con, f"SELECT count(*) FROM {view}")[0][0] > 0, view
        assert rows(empty_con, f"SELECT count(*) FROM {view}")[0][0] == 0, view


def test_a_plain_duckdb_connection_uses_the_library(demo_out):
    """What `duckdb DIR/warehouse.duckdb` gets: no mining code, only the database file."""
    con = duckdb.connect(str(demo_out / "warehouse.duckdb"), read_only=True)
    try:
        (n,) = con.execute(
            "SELECT count(*) FROM edge_cases('loan_origination', 'Application submitted', 'Confirmation e-mail sent')"
        ).fetchall()[0]
        assert n == DEMO_CASES
    finally:
        con.close()


def test_install_is_repeatable_and_drops_what_the_library_lost(tmp_path):
    con = connect(tmp_path / "warehouse.duckdb")
    try:
        first = sqllib.install_queries(con)
        con.execute("CREATE VIEW retired_view AS SELECT 1 AS x").fetchall()
        con.execute("CREATE MACRO retired_macro(a) AS TABLE SELECT a").fetchall()
        con.execute(
            "INSERT INTO mot_queries VALUES ('99_old.sql', 'retired_view', 'view', 'q?', ''), ('99_old.sql', 'retired_macro', 'macro', 'q?', '')"
        ).fetchall()
        assert sqllib.install_queries(con) == first
        assert rows(con, "SELECT count(*) FROM duckdb_views() WHERE view_name = 'retired_view'") == [(0,)]
        assert rows(con, "SELECT count(*) FROM duckdb_functions() WHERE function_name = 'retired_macro'") == [(0,)]
    finally:
        con.close()


# --- exact figures on a hand-built log -----------------------------------------------------------


def test_dfg_counts_and_waits_exactly(tiny_con):
    got = rows(
        tiny_con,
        "SELECT source_activity, target_activity, frequency, n_cases, mean_s, median_s FROM dfg WHERE process = 'tiny' ORDER BY 1, 2",
    )
    assert got == [
        ("A", "A", 1, 1, 10.0, 10.0),
        ("A", "B", 2, 2, 15.0, 15.0),
        ("A", "C", 2, 2, 55.0, 55.0),
        ("B", "A", 1, 1, 20.0, 20.0),
        ("B", "C", 1, 1, 180.0, 180.0),
    ]
    assert rows(tiny_con, "SELECT endpoint, activity, n_cases FROM dfg_endpoints WHERE process = 'tiny'") == [
        ("start", "A", 3),
        ("end", "C", 3),
    ]
    # Both cases have A > B once; c3 waited longer (20 s against 10 s), so it comes first.
    assert [r[1] for r in rows(tiny_con, "FROM edge_cases('tiny', 'A', 'B')")] == ["c3", "c1"]
    assert rows(tiny_con, "SELECT case_id, source_pos, target_pos, wait_s FROM edge_events('tiny', 'B', 'C')") == [
        ("c3", 2, 3, 180.0)
    ]


def test_variants_coverage_exactly(tiny_con):
    got = rows(tiny_con, "SELECT rank, n_cases, cumulative_share, path FROM variant_coverage WHERE process = 'tiny'")
    assert [r[0] for r in got] == [1, 2, 3]
    assert {r[3] for r in got} == {"A > B > A > A > C", "A > C", "A > B > C"}
    assert got[-1][2] == pytest.approx(1.0)
    assert len(rows(tiny_con, "FROM top_variants('tiny', coverage := 0.5)")) == 2
    assert len(rows(tiny_con, "FROM top_variants('tiny', coverage := 1)")) == 3
    path_of_rank_1 = got[0][3]
    expected_case = {"A > B > A > A > C": "c1", "A > C": "c2", "A > B > C": "c3"}[path_of_rank_1]
    assert [r[1] for r in rows(tiny_con, "FROM variant_cases('tiny', 1)")] == [expected_case]


def test_throughput_exactly(tiny_con):
    got = rows(tiny_con, "SELECT n_cases, mean_s, p50_s, p90_s, max_s FROM throughput WHERE process = 'tiny'")
    assert got == [(3, pytest.approx(350 / 3), 100.0, 180.0, 200.0)]
    assert rows(
        tiny_con,
        "SELECT percentile, duration_s, n_cases_at_or_below FROM throughput_percentiles('tiny', percentiles := [0.5, 1])",
    ) == [
        (0.5, 100.0, 2),
        (1.0, 200.0, 3),
    ]
    assert [r[1] for r in rows(tiny_con, "FROM slow_cases('tiny', percentile := 0.5)")] == ["c3"]


def test_rework_exactly(tiny_con):
    got = rows(
        tiny_con,
        "SELECT activity, n_cases, n_rework_cases, executions, extra_executions, max_executions, self_loops, ping_pongs FROM rework WHERE process = 'tiny'",
    )
    assert got == [("A", 3, 1, 5, 2, 3, 1, 1), ("B", 2, 0, 2, 0, 1, 0, 0), ("C", 3, 0, 3, 0, 1, 0, 0)]
    assert rows(tiny_con, "SELECT case_id, executions, positions FROM rework_cases('tiny', 'A')") == [
        ("c1", 3, [1, 3, 4])
    ]
    assert rows(tiny_con, "SELECT case_id FROM rework_cases('tiny', 'A', min_executions := 4)") == []


def test_handoffs_exactly(tiny_con):
    got = rows(
        tiny_con,
        "SELECT from_resource, to_resource, n_handoffs, median_wait_s FROM handoffs WHERE process = 'tiny' ORDER BY 1, 2",
    )
    assert got == [("r1", "r2", 1, 10.0), ("r1", "r3", 1, 60.0), ("r2", "r1", 1, 20.0), ("r2", "r3", 1, 180.0)]
    got = rows(
        tiny_con,
        "SELECT source_activity, target_activity, frequency, n_handoffs, handoff_share FROM activity_handoffs WHERE process = 'tiny' ORDER BY 1, 2",
    )
    assert got == [
        ("A", "A", 1, 0, 0.0),
        ("A", "B", 2, 1, 0.5),
        ("A", "C", 2, 1, 0.5),
        ("B", "A", 1, 1, 1.0),
        ("B", "C", 1, 1, 1.0),
    ]
    assert rows(
        tiny_con, "SELECT case_id, from_activity, to_activity, wait_s FROM handoff_events('tiny', 'r2', 'r3')"
    ) == [("c3", "B", "C", 180.0)]


def test_processes_stay_apart(tiny_con):
    assert rows(tiny_con, "SELECT process, n_cases, n_events FROM processes") == [("other", 1, 2), ("tiny", 3, 10)]
    assert rows(tiny_con, "SELECT source_activity, target_activity, frequency FROM dfg WHERE process = 'other'") == [
        ("A", "B", 1)
    ]


# --- drill-downs give exactly the cases behind the figures of mining/moments and mining/waste ----


def test_dropout_cases_are_the_funnel_figures(demo_con):
    funnel = rows(demo_con, "SELECT activity, n_left_after FROM funnel WHERE process = 'loan_origination'")
    assert sum(n for _, n in funnel) > 0
    for activity, n_left_after in funnel:
        got = rows(demo_con, f"SELECT count(*) FROM dropout_cases('loan_origination', '{activity}')")
        assert got == [(n_left_after,)], activity


def test_dropout_factor_cases_are_the_attribution_figures(demo_con):
    causes = rows(demo_con, "SELECT factor, n_cases, n_dropout FROM dropout_causes WHERE process = 'loan_origination'")
    assert {f.split(" ")[0] for f, _, _ in causes}  # there are causes to check
    for factor, n_cases, n_dropout in causes:
        got = rows(
            demo_con,
            f"SELECT count(*), count(*) FILTER (WHERE outcome = 'dropout') FROM dropout_factor_cases('loan_origination', '{factor}')",
        )
        assert got == [(n_cases, n_dropout)], factor


def test_knock_on_pairs_are_the_knock_on_figures(demo_con):
    figures = rows(
        demo_con,
        "SELECT from_activity, to_activity, n, n_from_poor, n_poor_poor FROM knock_on_effects WHERE process = 'loan_origination'",
    )
    assert ("*", "*") in {(a, b) for a, b, *_ in figures}
    for from_activity, to_activity, n, n_from_poor, n_poor_poor in figures:
        got = rows(
            demo_con,
            f"SELECT count(*), count(*) FILTER (WHERE from_poor), count(*) FILTER (WHERE from_poor AND to_poor) "
            f"FROM knock_on_pairs('loan_origination', '{from_activity}', '{to_activity}')",
        )
        assert got == [(n, n_from_poor, n_poor_poor)], (from_activity, to_activity)


def test_waste_cases_are_the_waste_figures(demo_con):
    ranking = rows(
        demo_con, "SELECT activity, cases, frequency, repeat_rate FROM waste_ranking WHERE process = 'loan_origination'"
    )
    assert len(ranking) == rows(demo_con, "SELECT count(*) FROM activities WHERE process = 'loan_origination'")[0][0]
    for activity, cases, frequency, repeat_rate in ranking:
        n, steps, repeated = rows(
            demo_con,
            f"SELECT count(*), sum(steps), count(*) FILTER (WHERE repeated) FROM waste_cases('loan_origination', '{activity}')",
        )[0]
        assert (n, steps) == (cases, frequency), activity
        assert repeated / n == pytest.approx(repeat_rate), activity


def test_a_journey_adds_up_to_its_final_score(demo_con):
    final_score, n_moments = rows(
        demo_con, "SELECT final_score, n_moments FROM mot_journeys WHERE process = 'loan_origination' AND case_id = '1'"
    )[0]
    scores = rows(
        demo_con, "SELECT score, running_score FROM mot_journey('loan_origination', '1') WHERE is_moment_of_truth"
    )
    assert len(scores) == n_moments
    assert sum(s for s, _ in scores) == pytest.approx(final_score)
    assert scores[-1][1] == pytest.approx(final_score)


# --- arguments -------------------------------------------------------------------------------------

BAD_ARGUMENTS = [
    ("FROM case_events('loan_orig', '1')", "unknown process 'loan_orig'; this warehouse holds: loan_origination"),
    ("FROM case_events(NULL, '1')", "unknown process NULL"),
    (
        "FROM case_events('loan_origination', 'no-such-case')",
        "case 'no-such-case' is not a case of process 'loan_origination'",
    ),
    (
        "FROM edge_cases('loan_origination', 'Credit check', 'Coffee')",
        "activity 'Coffee' does not occur in process 'loan_origination'",
    ),
    ("FROM edge_events('loan_origination', NULL, 'Credit check')", "activity NULL does not occur"),
    (
        "FROM top_variants('loan_origination', coverage := 0)",
        "coverage must be a share of cases above 0 and at most 1, got 0",
    ),
    (
        "FROM top_variants('loan_origination', coverage := 1.5)",
        "coverage must be a share of cases above 0 and at most 1, got 1.5",
    ),
    (
        "FROM top_variants('loan_origination', coverage := 'most')",
        "coverage must be a share of cases above 0 and at most 1, got most",
    ),
    ("FROM variant_cases('loan_origination', 0)", "variant_rank must be a whole number from 1 to"),
    ("FROM variant_cases('loan_origination', 2.5)", "variant_rank must be a whole number from 1 to"),
    ("FROM variant_cases('loan_origination', 1000000)", "variant_rank must be a whole number from 1 to"),
    (
        "FROM throughput_percentiles('loan_origination', percentiles := [0.5, 1.2])",
        "percentiles must be a non-empty list of shares from 0 to 1",
    ),
    (
        "FROM throughput_percentiles('loan_origination', percentiles := [])",
        "percentiles must be a non-empty list of shares from 0 to 1",
    ),
    (
        "FROM slow_cases('loan_origination', percentile := 1)",
        "percentile must be a share from 0 to below 1, like 0.9, got 1",
    ),
    ("FROM slow_cases('loan_origination', percentile := -0.1)", "percentile must be a share from 0 to below 1"),
    (
        "FROM slow_cases('loan_origination', percentile := NULL)",
        "percentile must be a share from 0 to below 1, like 0.9, got NULL",
    ),
    ("FROM variant_cases('loan_origination', NULL)", "variant_rank must be a whole number from 1 to"),
    (
        "FROM top_variants('loan_origination', coverage := NULL)",
        "coverage must be a share of cases above 0 and at most 1, got NULL",
    ),
    (
        "FROM throughput_percentiles('loan_origination', percentiles := [0.5, NULL])",
        "percentiles must be a non-empty list of shares from 0 to 1",
    ),
    ("FROM rework_cases('loan_origination', NULL)", "activity NULL does not occur"),
    (
        "FROM rework_cases('loan_origination', 'Documents requested', min_executions := 0)",
        "min_executions must be a whole number of at least 1, got 0",
    ),
    (
        "FROM rework_cases('loan_origination', 'Documents requested', min_executions := 1.5)",
        "min_executions must be a whole number of at least 1",
    ),
    (
        "FROM handoff_events('loan_origination', 'customer', 'Nobody')",
        "resource 'Nobody' does not occur in process 'loan_origination'",
    ),
    (
        "FROM mot_journey('loan_origination', 'no-such-case')",
        "case 'no-such-case' is not a case of process 'loan_origination'",
    ),
    ("FROM low_score_cases('loan_origination', max_final_score := 'low')", "max_final_score must be a number, got low"),
    ("FROM dropout_cases('loan_origination', 'Coffee')", "activity 'Coffee' does not occur"),
    (
        "FROM dropout_factor_cases('loan_origination', 'no such factor')",
        "'no such factor' is not a factor of process 'loan_origination'",
    ),
    ("FROM knock_on_pairs('loan_origination', 'Coffee', '*')", "activity 'Coffee' does not occur"),
    ("FROM waste_cases('loan_origination', 'Coffee')", "activity 'Coffee' does not occur"),
]


@pytest.mark.parametrize(("sql", "message"), BAD_ARGUMENTS, ids=[s for s, _ in BAD_ARGUMENTS])
def test_bad_arguments_are_refused_with_a_clear_message(demo_con, sql, message):
    with pytest.raises(duckdb.InvalidInputException) as error:
        demo_con.execute(sql).fetchall()
    assert message in str(error.value)


def test_every_parameterised_macro_has_a_bad_argument_test():
    tested = {sql.split("(")[0].removeprefix("FROM ").strip() for sql, _ in BAD_ARGUMENTS}
    table_macros = {name for f in FILES for kind, name in f.objects if kind == "macro" and not name.startswith("mot_")}
    assert table_macros <= tested


def test_an_unknown_process_fails_even_where_the_result_would_be_empty(tiny_con):
    # 'other' has no rework at all, so a filter alone would quietly return nothing.
    assert rows(tiny_con, "FROM rework_cases('other', 'A')") == []
    with pytest.raises(
        duckdb.InvalidInputException, match="unknown process 'tiny2'; this warehouse holds: other, tiny"
    ):
        tiny_con.execute("FROM rework_cases('tiny2', 'A')").fetchall()


# --- the snapshot and the stock duckdb CLI ---------------------------------------------------------


def test_a_run_publishes_a_snapshot_with_the_library(demo_out, demo_con):
    snapshot = demo_out / "warehouse.snapshot.duckdb"
    assert snapshot.is_file()
    assert not (demo_out / "warehouse.snapshot.duckdb.partial").exists()
    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        sql = "SELECT source_activity, target_activity, frequency FROM dfg ORDER BY 1, 2"
        assert con.execute(sql).fetchall() == demo_con.execute(sql).fetchall()
    finally:
        con.close()


def test_the_duckdb_cli_from_pypi_opens_the_snapshot(demo_out, demo_con):
    """duckdb-cli (pinned in requirements.lock) is DuckDB 1.5; the snapshot is written for it."""
    cli = Path(sys.executable).with_name("duckdb")
    assert cli.exists(), "the duckdb CLI is missing: pip install -r requirements.lock (duckdb-cli)"
    sql = "SELECT rank, n_cases FROM top_variants('loan_origination', coverage := 0.5)"
    done = subprocess.run(
        [str(cli), "-readonly", "-csv", str(demo_out / "warehouse.snapshot.duckdb"), "-c", sql],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "rank,n_cases"
    assert [tuple(map(int, line.split(","))) for line in lines[1:]] == demo_con.execute(sql).fetchall()
    refused = subprocess.run(
        [
            str(cli),
            "-readonly",
            str(demo_out / "warehouse.snapshot.duckdb"),
            "-c",
            "FROM top_variants('loan_origination', coverage := 2)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "coverage must be a share of cases above 0 and at most 1, got 2" in refused.stdout + refused.stderr


def _cli_rows(path: Path, sql: str) -> list[tuple[str, ...]]:
    """``sql`` run by the duckdb CLI from PyPI (DuckDB 1.5) on ``path``, as CSV rows after the header."""
    cli = Path(sys.executable).with_name("duckdb")
    done = subprocess.run(
        [str(cli), "-readonly", "-csv", str(path), "-c", sql], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return [tuple(line.split(",")) for line in done.stdout.strip().splitlines()[1:]]


def test_a_new_warehouse_is_in_the_cli_s_format_and_its_snapshot_is_a_byte_copy(demo_out, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(demo_out, out)
    warehouse = out / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse), read_only=True)
    assert storage_version(con) == "v1.5.0+"
    con.close()
    # The live file itself opens in DuckDB 1.5 (the CLI), not only its snapshot.
    assert _cli_rows(warehouse, "SELECT count(*) FROM cases") == [(str(DEMO_CASES),)]
    snapshot, storage = publish_snapshot(warehouse)
    assert storage == "v1.5.0"
    assert snapshot.read_bytes() == warehouse.read_bytes()


def test_a_warehouse_in_duckdb_2_s_format_gets_a_snapshot_the_cli_opens(tmp_path):
    """Warehouses made before the format was chosen (DuckDB 2's own) are copied table by table."""
    warehouse = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))  # DuckDB's default format, as `connect` made them before
    con.execute("CREATE TABLE marker AS SELECT range AS x FROM range(5)").fetchall()
    assert storage_version(con) == "v2.0.0+"
    con.close()
    con = connect(warehouse)  # the migrations, in the file's own format
    assert storage_version(con) == "v2.0.0+"
    con.close()
    snapshot, storage = publish_snapshot(warehouse)
    assert storage == "v1.5.0"
    assert snapshot.read_bytes() != warehouse.read_bytes()
    assert _cli_rows(snapshot, "SELECT sum(x) FROM marker") == [("10",)]


def test_a_snapshot_holds_what_is_still_in_the_write_ahead_log(tmp_path):
    """A byte copy would miss changes not yet checkpointed into the file: those are copied by table."""
    warehouse = tmp_path / "warehouse.duckdb"
    con = connect(warehouse)
    con.execute("PRAGMA disable_checkpoint_on_shutdown").fetchall()
    con.execute("SET wal_autocheckpoint = '1GB'").fetchall()
    con.execute("CREATE TABLE late AS SELECT 42 AS answer").fetchall()
    con.close()
    wal = warehouse.with_name(warehouse.name + ".wal")
    assert wal.is_file() and wal.stat().st_size > 0
    snapshot, storage = publish_snapshot(warehouse)
    assert storage == "v1.5.0"
    assert _cli_rows(snapshot, "SELECT answer FROM late") == [("42",)]


# --- mot sql ---------------------------------------------------------------------------------------

runner = CliRunner()


def test_mot_sql_prints_a_table(demo_out):
    result = runner.invoke(app, ["sql", str(demo_out), "-c", "SELECT process, n_cases FROM processes"])
    assert result.exit_code == 0, result.output
    assert "loan_origination" in result.stdout and f"{DEMO_CASES}" in result.stdout
    assert "1 row" in result.stdout


def test_mot_sql_csv_and_json(demo_out, demo_con):
    sql = "SELECT rank, n_cases, median_duration FROM variant_coverage LIMIT 3"
    expected = demo_con.execute(sql).fetchall()
    result = runner.invoke(app, ["sql", str(demo_out / "warehouse.duckdb"), "-c", sql, "--format", "csv"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "rank,n_cases,median_duration"
    assert [line.split(",")[:2] for line in lines[1:]] == [[str(r), str(n)] for r, n, _ in expected]
    assert lines[1].split(",")[2] == shell.interval_text(expected[0][2])
    result = runner.invoke(app, ["sql", str(demo_out), "-c", sql, "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [(d["rank"], d["n_cases"]) for d in data] == [(r, n) for r, n, _ in expected]


def test_mot_sql_runs_a_file(demo_out, tmp_path):
    query = tmp_path / "q.sql"
    query.write_text(
        "-- two statements; the csv shows the last\nCREATE TEMP VIEW t AS SELECT 41 AS x;\nSELECT x + 1 AS answer FROM t;\n"
    )
    result = runner.invoke(app, ["sql", str(demo_out), str(query), "-f", "csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "answer\n42\n"


def test_mot_sql_errors_are_clear(demo_out, tmp_path):
    result = runner.invoke(app, ["sql", str(demo_out), "-c", "FROM slow_cases('loan_origination', percentile := 3)"])
    assert result.exit_code == 2
    assert "percentile must be a share from 0 to below 1" in result.output
    result = runner.invoke(app, ["sql", str(tmp_path), "-c", "SELECT 1"])
    assert result.exit_code == 2 and "no warehouse at" in result.output
    result = runner.invoke(app, ["sql", str(demo_out), str(tmp_path / "q.sql"), "-c", "SELECT 1"])
    assert result.exit_code == 2 and "not both" in result.output
    result = runner.invoke(app, ["sql", str(demo_out), "-c", "SELECT 1", "-f", "xml"])
    assert result.exit_code == 2 and "unknown format 'xml'" in result.output


def test_mot_sql_prompt(demo_out):
    typed = ".queries\n.bogus\nSELECT count(*) AS n\nFROM cases;\nSELECT nope;\n.format csv\nSELECT 'a;b' AS s;\nSELECT 1 AS one; SELECT 2 AS two;\n.quit\nSELECT 3 AS three;\n"
    result = runner.invoke(app, ["sql", str(demo_out)], input=typed)
    assert result.exit_code == 0, result.output
    assert "10_dfg.sql" in result.stdout and "edge_cases" in result.stdout  # .queries
    assert "unknown command .bogus" in result.output
    assert f"│ {DEMO_CASES} │" in result.stdout
    assert 'Binder Error: Referenced column "nope" was not found' in result.output
    assert "s\na;b\n" in result.stdout
    assert "one\n1\n" not in result.stdout and "two\n2\n" in result.stdout  # csv: the last result
    assert "three" not in result.stdout  # nothing runs after .quit


def test_statements_split_outside_quotes_and_comments():
    text = "SELECT 'a;b' AS s; -- c;d\nSELECT \"x;y\" FROM t; /* e;f */ SELECT 3"
    assert shell.split_statements(text) == ["SELECT 'a;b' AS s", '-- c;d\nSELECT "x;y" FROM t', "/* e;f */ SELECT 3"]


# --- reading while a pipeline writes ---------------------------------------------------------------


def _locked(path: Path) -> bool:
    """Whether some process holds a POSIX lock on ``path`` (read from /proc/locks, taking none)."""
    inode = str(os.stat(path).st_ino)
    with open("/proc/locks", encoding="ascii") as locks:
        for line in locks:
            # "1: POSIX  ADVISORY  WRITE 4242 08:01:1234567 0 EOF": the field after the pid is dev:inode
            fields = [f for f in line.split() if re.fullmatch(r"[0-9a-f]+:[0-9a-f]+:\d+", f)]
            if fields and fields[0].rsplit(":", 1)[1] == inode:
                return True
    return False


def test_reads_succeed_during_a_real_pipeline_run(demo_out, tmp_path):
    out = tmp_path / "busy"
    shutil.copytree(demo_out, out)
    writer = subprocess.Popen(
        [sys.executable, "-m", "mining.cli", "demo", "--out", str(out), "--cases", str(DEMO_CASES), "--seed", "7"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    reads = reads_while_locked = 0
    try:
        while writer.poll() is None:
            busy = _locked(out / "warehouse.duckdb")
            buffer = io.StringIO()
            shell.sql_command(
                out, command="SELECT count(*) AS n FROM cases", fmt="csv", out=buffer, say=lambda _m: None
            )
            assert buffer.getvalue() == f"n\n{DEMO_CASES}\n"
            reads += 1
            reads_while_locked += busy and _locked(out / "warehouse.duckdb")
    finally:
        writer.wait(timeout=300)
    assert writer.returncode == 0, writer.stderr.read()
    assert reads_while_locked > 0, f"the run never held the warehouse while we read ({reads} reads)"


WRITER = """
import sys, time
from mining.warehouse import connect
con = connect(sys.argv[1])
con.execute("CREATE OR REPLACE TABLE busy_marker AS SELECT 1 AS x").fetchall()
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def test_live_reads_wait_for_the_writer_and_then_succeed(demo_out, tmp_path):
    out = tmp_path / "live"
    shutil.copytree(demo_out, out)
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(out / "warehouse.duckdb"), "3"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout.readline().strip() == "holding"
        # The snapshot needs no wait at all.
        started = time.monotonic()
        buffer = io.StringIO()
        shell.sql_command(out, command="SELECT count(*) FROM processes", fmt="csv", out=buffer, say=lambda _m: None)
        assert buffer.getvalue().splitlines()[1] == "1"
        assert time.monotonic() - started < 2.5
        # The live file: a short wait gives up with a message naming the writer ...
        with pytest.raises(shell.SqlError, match=rf"is being written by process {writer.pid} .*stayed busy for 0.2 s"):
            shell.sql_command(out, command="SELECT 1", live=True, wait_s=0.2, say=lambda _m: None)
        # ... a longer one retries until the writer lets go, and sees what it wrote.
        said = []
        buffer = io.StringIO()
        shell.sql_command(
            out, command="SELECT x FROM busy_marker", fmt="csv", live=True, wait_s=60, out=buffer, say=said.append
        )
        assert buffer.getvalue() == "x\n1\n"
        assert len(said) == 1 and f"being written by process {writer.pid}" in said[0]
    finally:
        writer.wait(timeout=30)
    # The snapshot is older than the live file now, and a reader is told so.
    said = []
    shell.sql_command(out, command="SELECT 1", fmt="csv", out=io.StringIO(), say=said.append)
    assert any("the live warehouse has changed since" in s for s in said)


def test_a_new_snapshot_does_not_disturb_an_open_reader(demo_out, tmp_path):
    out = tmp_path / "swap"
    shutil.copytree(demo_out, out)
    old_reader, _ = open_for_reading(out)
    try:
        con = connect(out / "warehouse.duckdb")
        con.execute("CREATE TABLE swap_marker AS SELECT 7 AS x").fetchall()
        con.close()
        publish_snapshot(out / "warehouse.duckdb")
        assert old_reader.execute("SELECT count(*) FROM cases").fetchall() == [(DEMO_CASES,)]
        assert old_reader.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'swap_marker'"
        ).fetchall() == [(0,)]
        fresh = subprocess.run(
            [sys.executable, "-m", "mining.cli", "sql", str(out), "-c", "SELECT x FROM swap_marker", "-f", "csv"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert fresh.stdout == "x\n7\n", fresh.stderr
    finally:
        old_reader.close()
