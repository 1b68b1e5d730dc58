"""A run that works through the cases in many ranges gives what one pass gives (issue 20, target 4).

``prepare`` writes the event log and the activity instances one range of cases at a time;
``moments`` builds its instance tables, forms its timers' instances and look-back gaps, puts its
moments in sequence and scores them, forms its drop-out factors and echoes and writes case_scores
and mot_events so (and counts the timers' shared times in slices of times); ``waste`` forms its raw
and functional step logs, its step-level variants, its flagged step log, its per-activity case
counts, its what-if regions, comparison cases and leads so (and finds the steps done in a batch per
slice of time). That bounds the memory of their sorts and aggregates at 10 to 100 M events. The
ranges only engage above a million events, so here they are made a few hundred events long: every
table and every result file must equal those of the single pass on the same log.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from test_moments_corpus import analysed
from test_pipeline_steps import table_rows

from mining import exports, pipeline
from mining.moments import analysis
from mining.warehouse import prepare, ranges
from mining.waste import analysis as waste_analysis

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT.parent / "shared" / "data" / "logs"
RESULT_FILES = ("as-is.bpmn", "to-be.bpmn", "moments.csv", "waste.csv", "dropout.csv", "dropout_removal.csv")

# (log, project config, range scale): start/complete pairs and the receipt's single lifecycle;
# outcomes and none; the hospital log (70 k events, ranges 6x as long) for timers: its moments detect
# fixed-offset timers from look-back anchors (thousands of gaps each), formed per range of cases.
LOGS_AND_RULES = [
    ("receipt.xes.gz", None, 1),
    ("interval_event_log.xes.gz", ROOT / "data" / "interval_rules.yaml", 1),
    ("hospital_log_high.xes.gz", None, 6),
]


def mined(out: Path, log: Path, rules: Path | None) -> tuple[dict, dict]:
    """Ingest ``log``, run every step, write the files: (tables, result files)."""
    config = pipeline.config_for_log(log, rules)
    out.mkdir(parents=True)
    warehouse = pipeline.warehouse_path(out)
    for source in config.sources:
        pipeline.ingest_source(warehouse, config, source)
    for process in config.processes:
        pipeline.run_process_steps(warehouse, config, process, out)
    exports.write_outputs(warehouse, config, out)
    return table_rows(warehouse), {name: (out / name).read_bytes() for name in RESULT_FILES}


@pytest.mark.parametrize(("log", "rules", "scale"), LOGS_AND_RULES)
def test_a_run_in_many_case_ranges_equals_the_single_pass(tmp_path, monkeypatch, log, rules, scale):
    single = mined(tmp_path / "single", LOGS / log, rules)
    ranges_seen = []
    real_ranges = prepare.case_ranges
    time_slices = []
    real_bounds = waste_analysis.for_bounds

    def sliced(con, sql_text, params, bounds, appends=()):
        if "waste_batch" in appends:  # the batch flags' slices of time (the other calls: case ranges)
            time_slices.append(len(bounds))
        return real_bounds(con, sql_text, params, bounds, appends)

    def counted(con, process, chunk_events=None):
        found = real_ranges(con, process, chunk_events)
        ranges_seen.append(len(found))
        return found

    monkeypatch.setattr(prepare, "PREPARE_CHUNK_EVENTS", 700 * scale)
    monkeypatch.setattr(analysis, "MOT_EVENTS_CHUNK_EVENTS", 500 * scale)
    monkeypatch.setattr(analysis, "INSTANCE_CHUNK_EVENTS", 600 * scale)
    monkeypatch.setattr(analysis, "TIMER_CHUNK_EVENTS", 400 * scale)
    monkeypatch.setattr(analysis, "CASE_SCORES_CHUNK_EVENTS", 450 * scale)
    monkeypatch.setattr(analysis, "SEQUENCE_CHUNK_EVENTS", 480 * scale)
    monkeypatch.setattr(analysis, "DROPOUT_CHUNK_EVENTS", 550 * scale)
    monkeypatch.setattr(analysis, "TIMER_SHARED_SLICE_INSTANCES", 300 * scale)
    monkeypatch.setattr(waste_analysis, "CASES_CHUNK_EVENTS", 650 * scale)
    monkeypatch.setattr(waste_analysis, "BATCH_CHUNK_STEPS", 350 * scale)
    monkeypatch.setattr(waste_analysis, "for_bounds", sliced)
    monkeypatch.setattr(prepare, "case_ranges", counted)
    monkeypatch.setattr(ranges, "case_ranges", counted)
    chunked = mined(tmp_path / "chunked", LOGS / log, rules)

    # prepare, the moments' instance tables, its timers' instances and look-back gaps, the sequence
    # and scores of the moments, case_scores, the drop-out factors and occurrences, the echoes' shared cases,
    # mot_events, waste's step logs and step-level variants (one set of ranges), its flagged steps,
    # its case counts and its what-if tables (one set) all went through the cases in ranges; its
    # batches through slices of time
    assert len(ranges_seen) == 14 and min(ranges_seen) >= 5
    assert len(time_slices) == 1
    assert chunked[0].keys() == single[0].keys()
    for table, rows in single[0].items():
        assert chunked[0][table] == rows, table
    for name, content in single[1].items():
        assert chunked[1][name] == content, name
    if log.startswith("hospital"):
        assert single[0]["mot_timers"], "hospital detects timers: look-back gaps decide flags"
    if not log.startswith("interval"):  # (the interval log names no resource: no step is in a batch)
        assert time_slices[0] >= 5
        assert batched_activities(tmp_path / "single"), "steps done in a batch decide some figures"


def batched_activities(out: Path) -> int:
    """How many activities of the run in ``out`` have steps done in a batch."""
    con = duckdb.connect(str(pipeline.warehouse_path(out)), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM waste_activities WHERE batch_share > 0").fetchone()[0]
    finally:
        con.close()


def test_shared_times_counted_in_slices_equal_one_pass(monkeypatch):
    """The corpus timers log has a calendar batch (a monthly billing run): its shared times, counted
    in many slices of (activity, time), flag the same instances as one pass."""
    single = moments_tables(analysed("timers"))
    slices = []
    real = ranges.for_slices

    def counted(con, sql_text, params, n, appends):
        slices.append(n)
        return real(con, sql_text, params, n, appends)

    monkeypatch.setattr(analysis, "TIMER_SHARED_SLICE_INSTANCES", 97)
    monkeypatch.setattr(analysis, "for_slices", counted)
    sliced = moments_tables(analysed("timers"))

    assert slices and slices[0] >= 10
    assert [r for r in single["mot_timers"] if r[3] == "calendar_batch"], "the log has a calendar batch"
    assert sliced == single


def moments_tables(con) -> dict[str, list[tuple]]:
    """Every row of the moments tables that timers feed, sorted."""
    tables = ("mot_timers", "mot_events", "case_scores", "knock_on", "dropout_attribution")
    return {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}
