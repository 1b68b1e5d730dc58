"""An IMf discovery left out for its budget (issue 17, defect 1): the bpmn step that draws it says so
and the run completes, instead of failing on the missing model after every other step has run.

Which discovery outgrows a budget depends on the machine, so the skip is set up as the discover
step records it (its budget_skips row, no IMf model); the bpmn step and the export then run for real.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import duckdb

from mining import exports, outputs, pipeline
from mining.warehouse import connect


def test_imf_left_out_for_its_budget_leaves_no_bpmn_and_says_why(tmp_path):
    rng = random.Random(5)
    lines = ["case_id,activity,timestamp"]
    for case in range(30):
        ts = datetime(2024, 1, 1) + timedelta(days=case)
        for activity in ["open", "check", *(["fix", "check"] * rng.randint(0, 2)), "close"]:
            ts += timedelta(minutes=rng.randint(1, 90))
            lines.append(f"c{case},{activity},{ts.isoformat()}")
    log = tmp_path / "log.csv"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = pipeline.config_for_log(log)
    process = config.processes[0]
    out = tmp_path / "out"
    pipeline.run(config, out)
    assert list(out.rglob(outputs.AS_IS_FILE))  # drawn while IMf was there

    warehouse = pipeline.warehouse_path(out)
    with connect(warehouse) as con:
        con.execute("DELETE FROM model_runs WHERE process = ? AND algorithm = 'imf'", [process]).fetchall()
        con.execute(
            "INSERT INTO budget_skips VALUES (?, 'discover', 'imf discovery', 'memory budget exceeded', NULL, '1536 MB')",
            [process],
        ).fetchall()
    figures, _seconds = pipeline.run_process_steps(warehouse, config, process, out, names=["bpmn"])
    exports.write_outputs(warehouse, config, out)

    assert "memory budget exceeded" in figures["bpmn"]["skipped"]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        row = con.execute("SELECT reason, budget FROM budget_skips WHERE step = 'bpmn'").fetchone()
        documents = con.execute("SELECT count(*) FROM bpmn_documents").fetchone()[0]
    finally:
        con.close()
    assert row == ("not drawn: the IMf discovery it draws was skipped (memory budget exceeded)", "1536 MB")
    assert documents == 0
    assert not list(out.rglob(outputs.AS_IS_FILE))  # the previous drawing is not shown as current
    report = (out / outputs.report_file(config.processes, process)).read_text(encoding="utf-8")
    assert "not drawn: the IMf discovery it draws was skipped" in report
