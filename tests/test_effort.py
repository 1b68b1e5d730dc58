"""Customer effort (mining/effort, the example analysis of docs/contributing.md) on the small
hand-built log of test_moments_small, every figure worked out by hand."""

from __future__ import annotations

from test_moments_small import ROWS, SETTINGS, log_table

from mining.config import parse_config
from mining.effort.step import effort_step
from mining.exports import write_csvs
from mining.moments.analysis import analyse
from mining.registry import PROCESS_STEPS
from mining.warehouse import connect
from mining.warehouse.load import load_batch
from mining.warehouse.prepare import prepare


def test_effort_runs_after_moments_in_the_registry():
    names = [name for name, _ in PROCESS_STEPS]
    assert names.index("moments") < names.index("effort") < names.index("queries")


def test_case_effort_counts_moments_actions_channels_and_switches(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with connect(warehouse) as con:
        load_batch(con, log_table(ROWS), process="p", source="s", location="test")
        prepare(con, "p")
        analyse(con, "p", SETTINGS)
    config = parse_config({"effort": {"high_effort_actions": 2}})
    figures = effort_step(warehouse, config, "p", tmp_path)
    with connect(warehouse) as con:
        rows = con.execute(
            "SELECT case_id, n_moments, n_customer_actions, n_channels, n_channel_switches, high_effort "
            "FROM case_effort WHERE process = 'p' ORDER BY case_id"
        ).fetchall()
        waits = con.execute(
            "SELECT e.case_id, e.customer_wait_s, (SELECT sum(wait_s) FROM mot_events m "
            "WHERE m.case_id = e.case_id AND m.is_moment_of_truth) FROM case_effort e ORDER BY 1"
        ).fetchall()
        write_csvs(con, ["p"], tmp_path)
    # a: Submit (portal, inbound), Call (phone), Offer (email), Paid (bank_transfer); Check is back office.
    # b: Submit (portal, inbound), Call, Call (phone), Offer (letter), Withdraw (phone, inbound).
    # c: Submit (email, inbound), Offer (email).
    assert rows == [("a", 4, 1, 4, 3, False), ("b", 5, 2, 3, 3, True), ("c", 2, 1, 1, 0, False)]
    assert all(total == expected for _, total, expected in waits)
    assert figures == {"effort": {"high_effort_share": round(1 / 3, 6)}}
    lines = (tmp_path / "effort.csv").read_text("utf-8").splitlines()
    assert (
        lines[0]
        == "case_id,n_moments,n_customer_actions,n_channels,n_channel_switches,customer_wait_s,high_effort,process"
    )
    assert [line.split(",")[0] for line in lines[1:]] == ["a", "b", "c"]


def test_a_process_without_moments_has_no_effort_rows(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    with connect(warehouse) as con:
        load_batch(con, log_table(ROWS), process="p", source="s", location="test")
    assert effort_step(warehouse, parse_config({}), "p", tmp_path) == {"effort": {"high_effort_share": None}}
