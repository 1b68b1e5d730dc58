"""The benchmark harness (``make bench``) for real, on BPIC2012, cut down to its cheap stages: both
ways run in their own processes, the results JSON holds times, peak RSS and ratios, and the cross
checks confirm that both ways computed the same DFG and variants."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench import report

REPO = Path(__file__).resolve().parents[1]
STAGES = "read,ingest,prepare,dfg_variants,dfg_variants_raw"


def test_bench_runs_both_ways_and_writes_comparable_results(tmp_path):
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--workloads", "bpic2012", "--repeats", "1", "--only", STAGES,
         "--work", str(tmp_path / "work"), "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text("utf-8"))
    entry = results["workloads"]["bpic2012"]
    rows = {row["key"]: row for row in entry["rows"]}
    assert set(rows) == {"read", "prepare", "dfg_variants", "dfg_variants_raw"}
    for key in ("read", "dfg_variants", "dfg_variants_raw"):
        row = rows[key]
        assert row["pm4py"]["status"] == row["ours"]["status"] == "ok", row
        assert row["time_ratio"] == round(row["ours"]["median_s"] / row["pm4py"]["median_s"], 4)
        # Each process's own high-water mark: a few hundred MB, not the parent's or the machine's.
        assert 50 < row["ours"]["peak_rss_mb"] < 4000 and 50 < row["pm4py"]["peak_rss_mb"] < 4000
    assert rows["read"]["ours"]["figures"]["events"] == rows["read"]["pm4py"]["figures"]["events"] == 262_200
    assert rows["dfg_variants"]["ours"]["figures"]["dfg_sha1"] == rows["dfg_variants"]["pm4py"]["figures"]["dfg_sha1"]
    assert rows["dfg_variants"]["ours"]["figures"]["variants"] == 4366
    assert any("identical to pm4py's" in note and "variants: 4366 (identical)" in note for note in entry["notes"])
    assert results["settings"]["ours_duckdb_memory_limit"] == "900MB"
    assert results["machine"]["logical_cpus"] >= 1 and results["machine"]["memory_gb"] > 0
    statuses = {t["target"]: t["status"] for t in results["targets"]}
    assert statuses["end to end on BPIC2012 <= 1/5 of pm4py"] == "not measured"  # its stages did not run
    markdown = report.markdown(results)
    assert "DFG + variants (warehouse)" in markdown and "| target |" in markdown


def test_ratios_bound_a_pm4py_run_that_was_stopped():
    ours = {"status": "ok", "median_s": 2.0, "peak_rss_mb": 500.0}
    stopped = {"status": "timeout", "lower_bound_s": 100.0, "peak_rss_mb": 9000.0}
    assert report.ratios(stopped, ours) == {"time_ratio": 0.02, "time_ratio_bound": True, "rss_ratio": 0.056}
    finished = {"status": "ok", "median_s": 8.0, "peak_rss_mb": 1000.0}
    assert report.ratios(finished, ours) == {"time_ratio": 0.25, "time_ratio_bound": False, "rss_ratio": 0.5}


def test_extraction_table_has_the_delta_merge_rows(tmp_path, postgres):
    """``--workloads extraction`` on 20,000 rows against the PostgreSQL server: the Markdown table of
    ``python -m bench.report`` carries both loads of the delta merge, with the merge's own counts."""
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--workloads", "extraction", "--extraction-rows", "20000",
         "--extraction-repeats", "1", "--work", str(tmp_path / "work"), "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text("utf-8"))
    delta = results["extraction"]["figures"]["delta_merge"]
    assert (delta["load_new"]["rows_new"], delta["load_new"]["rows_updated"]) == (20_000, 0)
    assert (delta["reload_1pct_updated"]["rows_new"], delta["reload_1pct_updated"]["rows_updated"]) == (0, 200)
    printed = subprocess.run(
        [sys.executable, "-m", "bench.report", str(out)], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert printed.returncode == 0, printed.stderr
    table = printed.stdout.split("### PostgreSQL -> DuckDB extraction", 1)[1].split("###", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ours delta merge")]
    first, reload = (delta["load_new"], delta["reload_1pct_updated"])
    assert rows == [
        f"| ours delta merge: load_batch of 20,000 rows, all rows new (extraction {first['extract_s']:.2f} s) "
        f"| {first['load_batch_s']:.2f} | {first['rows_per_s']:,} | - | 20,000 / 0 |",
        "| ours delta merge: load_batch of 20,000 rows, full re-read, 1% of the rows with a new attribute value "
        f"(extraction {reload['extract_s']:.2f} s) | {reload['load_batch_s']:.2f} | {reload['rows_per_s']:,} | - "
        "| 0 / 200 |",
    ]
    assert "| way | seconds | rows/s | throughput vs psycopg2 + pandas | inserted / updated |" in table


def test_issue_20_targets_are_judged_from_the_rows_and_a_missing_row_is_not_measured():
    def row(ours_s, pm4py_s, ours_mb=500, pm4py_mb=700):
        return {
            "time_ratio": round(ours_s / pm4py_s, 4),
            "time_ratio_bound": False,
            "rss_ratio": round(ours_mb / pm4py_mb, 3),
            "ours": {"status": "ok", "median_s": ours_s, "peak_rss_mb": ours_mb},
        }

    rows = {"bpic2012": {"end_to_end": row(7.0, 40.0), "read": row(1.5, 1.0), "rerun_unchanged": row(0.5, 40.0)}}
    found = {t["target"]: t for t in report.performance_targets(rows)}
    assert found["BPIC2012 whole mot run <= 0.2 of pm4py"]["status"] == "met"
    assert found["BPIC2012 whole mot run: peak RSS <= pm4py's"]["status"] == "met"
    assert found["BPIC2012 ingest <= pm4py's read_xes"]["status"] == "not met"
    assert found["BPIC2012 scheduled run without changes <= 1/10 of a full run"]["value"] == round(0.5 / 7.0, 3)
    assert found["10.5 M events: model + MOT + waste + BPMN <= 0.5 of pm4py"]["status"] == "not measured"
    hundred = "100 M events (BPIC2012 x400): model + MOT + waste + BPMN within 1 h and 4 GB"
    assert found[hundred]["status"] == "not measured"
    for seconds, mb, status in ((1921.0, 3358.1, "met"), (3700.0, 3000.0, "not met"), (1900.0, 4200.0, "not met")):
        rows["bpic2012_x400"] = {"end_to_end_scope": {"ours": {"status": "ok", "median_s": seconds, "peak_rss_mb": mb}}}
        assert {t["target"]: t for t in report.performance_targets(rows)}[hundred]["status"] == status
    rows["bpic2012_x400"] = {"end_to_end_scope": {"ours": {"status": "memory cap", "lower_bound_s": 900}}}
    assert {t["target"]: t for t in report.performance_targets(rows)}[hundred]["status"] == "not met"


def test_an_older_results_file_without_the_delta_merge_renders_its_ways():
    """bench/results/2026-11-24T0301-full.json predates delta_merge: its table is rebuilt from its
    figures, every way as before and no delta rows."""
    results = json.loads((REPO / "bench" / "results" / "2026-11-24T0301-full.json").read_text("utf-8"))
    markdown = report.markdown(results)
    assert (
        "| connectorx -> Arrow, then DuckDB (ours before; still for MariaDB/MySQL, SQLite) | 1.56 | 641,448 | 2.5x | - |"
        in markdown
    )
    assert "delta merge" not in markdown


def test_explorer_redraw_is_measured_on_a_demo_run(tmp_path):
    """``python -m bench.explore DIR`` (the ours side's ``explore`` stage in ``make bench``) on a small
    demo run: the first draw, every filter with its best time, parts and statements, and the Markdown
    table with no pm4py ratio. Shapes only: no timing is asserted."""
    from bench import explore
    from mining import pipeline

    out = tmp_path / "demo"
    pipeline.run(pipeline.demo_config(out, n_cases=200, seed=1), out)
    figures = explore.measure(out, repeats=2, warmups=1)
    assert figures["process"] == "loan_origination" and figures["cases"] == 200
    assert figures["repeats"] == 2 and figures["warmups"] == 1
    assert figures["open_s"] >= 0 and figures["catalog_s"] >= 0 and len(figures["load_start"]) == 3
    names = [f["name"] for f in figures["filters"]]
    assert names[0] == "no filter" and figures["filters"][0]["query"] == ""
    assert any(n.startswith("outcome") for n in names) and "time frame: middle fifth" in names
    assert "with activity" in names and any(n.startswith("case attribute") for n in names)
    for entry in [figures["cold"], *figures["filters"]]:
        assert entry["seconds"] > 0 and set(entry["parts"]) == set(explore.PARTS)
        assert 0 <= entry["cases"] <= figures["cases"] and entry["activities"] > 0 and entry["svg_bytes"] > 0
        assert "case set (filters -> explore_cases)" in entry["statements"] and "graph.edges" in entry["statements"]
        assert not any(name.startswith("other") for name in entry["statements"]), entry["statements"]
    for entry in figures["filters"]:
        assert len(entry["runs_s"]) == 2 and entry["best_s"] == min(entry["runs_s"])
    assert figures["filters"][0]["cases"] == 200 and figures["filters"][1]["cases"] < 200

    # As the bench stage reports it: summarised over repetitions, a table of its own, not a ratio row.
    runs = {"ours": {"explore": [{"rep": 1, "status": "ok", "figures": figures, "peak_rss_mb": 300.0}]}}
    summary = report.explore_summary(runs)
    assert summary["status"] == "ok" and summary["repetitions"] == 1
    assert summary["cold"]["per_repetition_s"] == [figures["cold"]["seconds"]]
    assert report.rows_for(runs) == []
    results = {"workloads": {"demo": {"workload": {"description": "demo"}, "rows": [], "explore": summary}}}
    markdown = report.markdown(results)
    assert "### Explorer redraw after a filter" in markdown and "No pm4py counterpart" in markdown
    assert "| demo | no filter | `-` | 200 of 200 |" in markdown

    # The quick mode on an existing run folder, in its own process.
    done = subprocess.run(
        [sys.executable, "-m", "bench.explore", str(out), "--repeats", "1", "--query", "", "--query",
         "min_duration=1h", "--out", str(tmp_path / "explore.json")],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    written = json.loads((tmp_path / "explore.json").read_text("utf-8"))
    assert [f["query"] for f in written["filters"]] == ["", "min_duration=1h"]
    assert "explorer redraw" in done.stdout.lower()


def test_a_stage_process_holds_only_its_own_side_s_libraries():
    """Peak RSS is compared per stage process: our pipeline's process must not carry pm4py, which
    `mot run` never imports (its children do)."""
    code = (
        "import sys\n"
        "from bench.child import import_for\n"
        "import_for(sys.argv[1], sys.argv[2], reads_xes=sys.argv[3] == 'xes')\n"
        "print('pm4py' in sys.modules, 'mining.pipeline' in sys.modules, 'polars' in sys.modules)\n"
    )

    def loaded(side: str, stage: str, kind: str = "warehouse") -> str:
        run = subprocess.run([sys.executable, "-c", code, side, stage, kind], capture_output=True, text=True, cwd=REPO)
        assert run.returncode == 0, run.stderr
        return run.stdout.strip()

    assert loaded("ours", "end_to_end_scope") == "False True False"
    assert loaded("ours", "imf") == "True True True"  # our IMf builds on pm4py's miner, in this process
    assert loaded("pm4py", "end_to_end").startswith("True")
    # polars (rustxes reads through it) is loaded before the clock on both sides of an XES workload.
    assert loaded("ours", "ingest", "xes") == "False True True"
    assert loaded("pm4py", "read", "xes").endswith("True")
