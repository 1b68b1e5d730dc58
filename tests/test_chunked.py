"""A run that works through the cases in many ranges gives what one pass gives (issue 20, target 4).

``prepare`` writes the event log and the activity instances one range of cases at a time, and
``moments`` builds its instance tables, forms its timers' look-back gaps and writes case_scores and
mot_events so, to bound the memory of their sorts and aggregates at 10 to 100 M events. The ranges
only engage above a million events, so here they are made a few hundred events long: every table
and every result file must equal those of the single pass on the same log.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_pipeline_steps import table_rows

from mining import exports, pipeline
from mining.moments import analysis
from mining.warehouse import prepare

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

    def counted(con, process, chunk_events=None):
        found = real_ranges(con, process, chunk_events)
        ranges_seen.append(len(found))
        return found

    monkeypatch.setattr(prepare, "PREPARE_CHUNK_EVENTS", 700 * scale)
    monkeypatch.setattr(analysis, "MOT_EVENTS_CHUNK_EVENTS", 500 * scale)
    monkeypatch.setattr(analysis, "INSTANCE_CHUNK_EVENTS", 600 * scale)
    monkeypatch.setattr(analysis, "TIMER_CHUNK_EVENTS", 400 * scale)
    monkeypatch.setattr(analysis, "CASE_SCORES_CHUNK_EVENTS", 450 * scale)
    monkeypatch.setattr(prepare, "case_ranges", counted)
    monkeypatch.setattr(analysis, "case_ranges", counted)
    chunked = mined(tmp_path / "chunked", LOGS / log, rules)

    # prepare, the moments' instance tables, its timers' look-back gaps, case_scores and mot_events
    # all went through the cases in ranges
    assert len(ranges_seen) == 5 and min(ranges_seen) >= 5
    assert chunked[0].keys() == single[0].keys()
    for table, rows in single[0].items():
        assert chunked[0][table] == rows, table
    for name, content in single[1].items():
        assert chunked[1][name] == content, name
    if log.startswith("hospital"):
        assert single[0]["mot_timers"], "hospital detects timers: look-back gaps decide flags"
