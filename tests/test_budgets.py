"""Memory and time budgets (issue 17, defect 1): a long trace is mined within its budgets, and what a
step skipped for a budget is recorded, with the reason and the budget, and shown in the report.

Every log here is generated in the test. No timing is asserted: a time budget is tested by work
that cannot finish within it, and the memory budget of ``make bench`` is a measurement, not a test.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import duckdb
import pytest

from mining import pipeline
from mining.config.budgets import Budgets
from mining.discovery import variants
from mining.discovery.bounded import BudgetExceeded, prefix_events, run_bounded
from mining.discovery.store import discover
from mining.warehouse import connect
from mining.warehouse.prepare import prepare_step

ACTIVITIES = [f"Step {c}" for c in "ABCDEFGHIJKLMNOPQR"]


def long_trace_csv(path: Path, n_events: int, seed: int = 7) -> Path:
    """One case of ``n_events``: activities cycling, one in four drawn at random; increasing times."""
    rng = random.Random(seed)
    ts = datetime(2024, 1, 1)
    lines = ["case_id,activity,timestamp,resource"]
    for i in range(n_events):
        activity = ACTIVITIES[i % len(ACTIVITIES)] if rng.random() < 0.75 else rng.choice(ACTIVITIES)
        ts += timedelta(seconds=rng.randint(1, 600))
        lines.append(f"c1,{activity},{ts.isoformat()},r{rng.randint(1, 4)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def small_log_csv(path: Path) -> Path:
    """Forty short cases over five activities: a log every default budget fits."""
    rng = random.Random(3)
    lines = ["case_id,activity,timestamp,resource"]
    for case in range(40):
        ts = datetime(2024, 1, 1) + timedelta(days=case)
        for activity in ["register", "check", *(["fix", "check"] * rng.randint(0, 2)), "decide", "notify"]:
            ts += timedelta(minutes=rng.randint(5, 300))
            lines.append(f"c{case},{activity},{ts.isoformat()},r{rng.randint(1, 3)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def skips(out: Path) -> list[tuple]:
    con = duckdb.connect(str(pipeline.warehouse_path(out)), read_only=True)
    try:
        return con.execute("SELECT step, work, reason, estimate, budget FROM budget_skips ORDER BY ALL").fetchall()
    finally:
        con.close()


def prepared(log: Path, warehouse: Path):
    """``log`` ingested and prepared into ``warehouse`` (no mining step yet); returns its config."""
    config = pipeline.config_for_log(log)
    for source in config.sources:
        pipeline.ingest_source(warehouse, config, source)
    prepare_step(warehouse, config, config.processes[0], warehouse.parent)
    return config


def test_a_long_trace_completes_with_precision_skipped_and_said(tmp_path):
    # 6,000 events in one case: ETConformance precision would hold 18 million prefix events (on
    # 200,000 it took the process to 24 GB), and the timers' self-join paired every two instances.
    log = long_trace_csv(tmp_path / "long.csv", 6000)
    config = pipeline.config_for_log(log)
    summary = pipeline.run(config, tmp_path / "out")

    estimate = f"{6000 * 6001 // 2:,} prefix events"
    budget = "5,000,000 prefix events (budgets.precision_max_prefix_events)"
    assert skips(tmp_path / "out") == [
        ("discover", "heuristics precision", "estimate over budget", estimate, budget),
        ("discover", "imf precision", "estimate over budget", estimate, budget),
    ]
    figures = summary.processes["long"]
    assert [(m["algorithm"], m["precision"]) for m in figures["models"]] == [("imf", None), ("heuristics", None)]
    assert all(m["fitness"] is not None for m in figures["models"])
    assert [s["work"] for s in figures["budget_skips"]] == ["heuristics precision", "imf precision"]
    # the rest of the run completed: every analysis wrote its outputs, the report says what was skipped
    for name in ("report.html", "moments.csv", "waste.csv", "effort.csv", "as-is.bpmn", "models/long/imf.pnml"):
        assert (tmp_path / "out" / name).is_file(), name
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert 'id="budget-skips"' in html
    assert "imf precision" in html and "estimate over budget" in html and "5,000,000 prefix events" in html
    assert "Skipped to stay within the memory and time budgets" in html


def test_a_normal_log_skips_nothing(tmp_path):
    log = small_log_csv(tmp_path / "small.csv")
    summary = pipeline.run(pipeline.config_for_log(log), tmp_path / "out")

    assert skips(tmp_path / "out") == []
    assert summary.processes["small"]["budget_skips"] == []
    assert all(m["precision"] is not None for m in summary.processes["small"]["models"])
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert 'id="budget-skips"' not in html and "Skipped to stay within" not in html


def test_the_forkserver_stops_once_discover_is_done(tmp_path, monkeypatch):
    """pm4py's forkserver (130-190 MB) lives only while discover needs children: the steps beside and
    after it run without it, and later bounded work starts a new one."""
    import multiprocessing.forkserver as forkserver

    from mining.discovery import store

    servers = []

    def recording(work, memory_mb, seconds):
        result = run_bounded(work, memory_mb, seconds)
        servers.append(forkserver._forkserver._forkserver_pid)
        return result

    monkeypatch.setattr(store, "run_bounded", recording)
    pipeline.run(pipeline.config_for_log(small_log_csv(tmp_path / "small.csv")), tmp_path / "out")

    assert servers and servers[0] is not None and set(servers) == {servers[0]}  # one server for discover
    assert forkserver._forkserver._forkserver_pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(servers[0], 0)  # stopped and reaped, not left behind
    assert run_bounded(os.getppid, memory_mb=200, seconds=60) not in (os.getpid(), servers[0])


def test_precision_past_its_memory_budget_is_cut_short_and_recorded(tmp_path):
    # With the up-front estimate off, the memory budget stops precision on a 12,000-event trace.
    log = long_trace_csv(tmp_path / "long.csv", 12000)
    config = prepared(log, tmp_path / "w.duckdb")
    budgets = Budgets(memory_mb=300, precision_max_prefix_events=0)
    with connect(tmp_path / "w.duckdb") as con:
        models = discover(con, "long", config.discovery.model_copy(update={"algorithms": ["imf"]}), budgets)
        rows = con.execute("SELECT step, work, reason, estimate, budget FROM budget_skips").fetchall()
        stored = con.execute("SELECT algorithm, fitness, precision FROM model_runs").fetchall()
    assert rows == [("discover", "imf precision", "memory budget exceeded", None, "300 MB")]
    assert [model.algorithm for model, _quality in models] == ["imf"]
    assert stored[0][0] == "imf" and stored[0][1] is not None and stored[0][2] is None


def test_heuristics_discovery_past_its_memory_budget_is_skipped_and_recorded(tmp_path):
    """The Heuristics Miner runs in a child under the budgets too: on 300 activities that follow one
    another at random (some 15,000 DFG edges) 1 MB more than the server's copy is too little
    for it, so it is skipped, recorded, and no Heuristics model is stored."""
    rng = random.Random(5)
    lines = ["case_id,activity,timestamp"]
    for case in range(600):
        lines += [f"c{case},a{rng.randrange(300)},2024-01-01T{i // 60:02d}:{i % 60:02d}:00" for i in range(30)]
    log = tmp_path / "wide.csv"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = prepared(log, tmp_path / "w.duckdb")
    with connect(tmp_path / "w.duckdb") as con:
        settings = config.discovery.model_copy(update={"algorithms": ["heuristics"]})
        models = discover(con, "wide", settings, Budgets(memory_mb=1))
        rows = con.execute("SELECT step, work, reason, budget FROM budget_skips").fetchall()
        stored = con.execute("SELECT count(*) FROM model_runs").fetchall()[0][0]
    assert models == [] and stored == 0
    assert rows == [("discover", "heuristics discovery", "memory budget exceeded", "1 MB")]


def test_run_bounded_returns_results_and_raises_the_work_s_errors():
    assert run_bounded(partial(sum, range(1000)), memory_mb=200, seconds=60) == 499500
    with pytest.raises(ValueError, match="bad input"):
        run_bounded(partial(int, "bad input"), memory_mb=200, seconds=60)


def test_a_child_leaves_what_the_forkserver_imported_to_the_permanent_generation():
    """The child's collections must not write to the objects it shares with the forkserver (pm4py's
    modules), which would copy their pages into the child."""
    import gc

    assert run_bounded(gc.get_freeze_count, memory_mb=200, seconds=60) > 50_000


def test_run_bounded_stops_work_over_its_memory_budget():
    with pytest.raises(BudgetExceeded) as caught:
        run_bounded(partial(bytearray, 800 * 1024 * 1024), memory_mb=100, seconds=60)
    assert (caught.value.reason, caught.value.budget) == ("memory budget exceeded", "100 MB")


def test_run_bounded_stops_work_over_its_time_budget():
    with pytest.raises(BudgetExceeded) as caught:
        run_bounded(partial(time.sleep, 120), memory_mb=100, seconds=1)
    assert (caught.value.reason, caught.value.budget) == ("time budget exceeded", "1 s")


def test_run_bounded_children_are_not_forks_of_the_multi_threaded_run():
    """The child's parent is the single-threaded forkserver, not this process (whose threads a fork
    would copy in mid-flight: the segfaults of the first version under parallel CI runs)."""
    worker = threading.Thread(target=time.sleep, args=(2,))
    worker.start()
    try:
        parent = run_bounded(os.getppid, memory_mb=200, seconds=60)
    finally:
        worker.join()
    assert parent != os.getpid()
    assert run_bounded(os.getppid, memory_mb=200, seconds=60) == parent  # one server for the run


def bounded_sum_into(queue) -> None:
    queue.put(run_bounded(partial(sum, range(10)), memory_mb=200, seconds=60))


def test_run_bounded_works_in_a_celery_prefork_worker_process():
    """Airflow's CeleryExecutor runs our task in a billiard (Celery's multiprocessing fork) worker:
    a daemonic process whose authentication key multiprocessing will not pickle."""
    import billiard

    queue = billiard.Queue()
    worker = billiard.Process(target=bounded_sum_into, args=(queue,), daemon=True)
    worker.start()
    try:
        assert queue.get(timeout=120) == 45
    finally:
        worker.join(30)
    assert worker.exitcode == 0


def test_run_bounded_does_not_run_the_program_that_started_it_again(tmp_path):
    """An Airflow task's program is the `airflow` script, which cannot start in the child: the
    child must not execute ``__main__`` again (multiprocessing would, by default)."""
    marker = tmp_path / "started.txt"
    script = tmp_path / "program.py"
    script.write_text(
        "import os, sys\n"
        f"open({str(marker)!r}, 'a').write(str(os.getpid()) + '\\n')  # every start of the program\n"
        "if __name__ == '__main__':\n"
        "    from functools import partial\n"
        "    from mining.discovery.bounded import run_bounded\n"
        "    print(run_bounded(partial(sum, range(5)), memory_mb=200, seconds=60))\n",
        encoding="utf-8",
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["10"]
    assert len(marker.read_text().split()) == 1, "the child ran the program again"


def crash_once(marker: Path) -> str:
    """Segfault the first time (the child of a multi-threaded parent can crash so), answer after."""
    if not marker.exists():
        marker.write_text("crashed")
        os.kill(os.getpid(), signal.SIGSEGV)
    return "answered"


def crash_always() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)  # getpid here: the child's own


def test_run_bounded_tries_a_crashed_child_once_more_and_a_second_crash_is_the_budget(tmp_path):
    assert run_bounded(partial(crash_once, tmp_path / "once"), 512, 30) == "answered"
    with pytest.raises(BudgetExceeded, match="memory budget exceeded"):
        run_bounded(crash_always, 512, 30)


def test_the_precision_estimate_counts_every_prefix_of_every_variant(tmp_path):
    prepared(long_trace_csv(tmp_path / "long.csv", 300), tmp_path / "w.duckdb")
    with connect(tmp_path / "w.duckdb") as con:
        assert prefix_events(variants(con, "long")) == 300 * 301 // 2


# --- the budgets of a step: its wall time (budgets.step_seconds) and its SQL's memory (budgets.sql_memory_mb)

ROOT = Path(__file__).resolve().parents[1]


def many_cases_csv(path: Path, n_cases: int, seed: int = 1) -> Path:
    """``n_cases`` cases of 5 to 25 events over 15 activities and 20 resources: a log whose SQL
    steps take seconds (prepare about 5 s for 40,000 cases on a 2-core machine)."""
    rng = random.Random(seed)
    activities = [f"A{i}" for i in range(15)]
    lines = ["case_id,activity,timestamp,resource"]
    for case in range(n_cases):
        ts = datetime(2024, 1, 1) + timedelta(minutes=case)
        for _ in range(rng.randint(5, 25)):
            ts += timedelta(minutes=rng.randint(1, 500))
            lines.append(f"c{case},{rng.choice(activities)},{ts.isoformat()},r{rng.randint(1, 20)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def audit(out: Path) -> list[tuple]:
    con = duckdb.connect(str(pipeline.warehouse_path(out)), read_only=True)
    try:
        return con.execute("SELECT status, error FROM run_audit ORDER BY run_id").fetchall()
    finally:
        con.close()


def with_budgets(config, **budgets):
    return config.model_copy(update={"budgets": config.budgets.model_copy(update=budgets)})


def test_a_step_past_its_time_budget_stops_the_run_with_one_line_and_keeps_the_previous_outputs(tmp_path):
    out = tmp_path / "out"
    # A previous good run of the process 'log' on a small log.
    (tmp_path / "small").mkdir()
    small = small_log_csv(tmp_path / "small" / "log.csv")
    before = pipeline.run(pipeline.config_for_log(small), out)
    outputs = {p: p.read_bytes() for p in before.files}
    assert outputs
    # The same process from a log whose SQL steps take seconds, with a step budget of 1 s.
    big = many_cases_csv(tmp_path / "big" / "log.csv", 40_000)
    config_file = tmp_path / "budgets.yaml"
    config_file.write_text("budgets:\n  step_seconds: 1\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "mining.cli", "run", str(big), "--config", str(config_file), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr[-3000:]
    overrun = re.fullmatch(
        r"error: step '(\w+)' of process 'log' went past its time budget of 1 s \(config key "
        r"budgets.step_seconds\); the run stopped, the previous outputs are as they were",
        errors[0],
    )
    assert overrun, errors[0]
    assert overrun.group(1) in {name for name, _ in pipeline.PROCESS_STEPS}
    # The failed run is recorded, and the previous outputs are as they were.
    rows = audit(out)
    assert [status for status, _ in rows] == ["succeeded", "failed"]
    assert "budgets.step_seconds" in rows[1][1] and overrun.group(1) in rows[1][1]
    assert {p: p.read_bytes() for p in before.files} == outputs


def test_a_step_over_its_time_budget_in_process_raises_a_value_error(tmp_path):
    big = many_cases_csv(tmp_path / "log.csv", 40_000)
    config = with_budgets(pipeline.config_for_log(big), step_seconds=1)
    with pytest.raises(pipeline.StepBudgetExceeded, match=r"budgets\.step_seconds") as caught:
        pipeline.run(config, tmp_path / "out")
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value.__cause__, duckdb.InterruptException)


def memory_limits_seen(config, out: Path) -> list[str]:
    """The memory limit of a connection opened with the pipeline's settings, at each step of a run."""
    seen = []

    def probe(_message: str) -> None:
        with connect() as con:
            seen.append(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])

    pipeline.run(config, out, progress=probe)
    return seen


def test_the_sql_memory_budget_is_the_pipeline_s_duckdb_memory_limit(tmp_path, monkeypatch):
    monkeypatch.delenv("MOT_DUCKDB_MEMORY_LIMIT", raising=False)
    config = with_budgets(pipeline.config_for_log(small_log_csv(tmp_path / "small.csv")), sql_memory_mb=512)
    seen = memory_limits_seen(config, tmp_path / "out")
    assert seen and set(seen) == {"512.0 MiB"}
    # outside a run, DuckDB's default again
    with connect() as con:
        assert con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0] != "512.0 MiB"
    # the default budget applies too
    default = pipeline.config_for_log(tmp_path / "small.csv")
    assert set(memory_limits_seen(default, tmp_path / "out2")) == {"4.0 GiB"}
    # the machine setting wins over the config key
    monkeypatch.setenv("MOT_DUCKDB_MEMORY_LIMIT", "300MiB")
    assert set(memory_limits_seen(config, tmp_path / "out3")) == {"300.0 MiB"}


def test_duckdb_out_of_memory_in_a_step_is_one_line_naming_the_step_and_both_keys(tmp_path, monkeypatch):
    # 20 MiB is below what DuckDB needs for the first step of a 2,000-case log: it runs out of memory.
    monkeypatch.delenv("MOT_DUCKDB_MEMORY_LIMIT", raising=False)
    log = many_cases_csv(tmp_path / "log.csv", 2_000)
    config = pipeline.config_for_log(log)
    warehouse = tmp_path / "w.duckdb"
    for source in config.sources:  # loaded within DuckDB's default
        pipeline.ingest_source(warehouse, config, source)
    with pytest.raises(pipeline.StepOutOfMemory) as caught:
        pipeline.run_process_steps(warehouse, with_budgets(config, sql_memory_mb=20), "log", tmp_path / "out1")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("step 'prepare' of process 'log' ran out of memory in DuckDB"), message
    assert "budgets.sql_memory_mb=20" in message and "MOT_DUCKDB_MEMORY_LIMIT" in message
    assert isinstance(caught.value, ValueError) and isinstance(caught.value.__cause__, duckdb.OutOfMemoryException)

    # A whole run: the same line (the load may be the step that runs out), and a failed run_audit row.
    with pytest.raises(pipeline.StepOutOfMemory, match=r"^step '\w+' of process 'log' ran out of memory"):
        pipeline.run(with_budgets(config, sql_memory_mb=20), tmp_path / "out2")
    assert audit(tmp_path / "out2")[-1][0] == "failed"

    # The machine setting wins, and the line says so.
    monkeypatch.setenv("MOT_DUCKDB_MEMORY_LIMIT", "20MiB")
    with pytest.raises(pipeline.StepOutOfMemory, match=r"MOT_DUCKDB_MEMORY_LIMIT=20MiB \(it overrides budgets"):
        pipeline.run_process_steps(warehouse, config, "log", tmp_path / "out3")


def test_the_watchdog_interrupts_the_connections_of_the_thread_it_watches():
    # A step beside the others (discover) runs on a worker thread: its watchdog targets that thread.
    from concurrent.futures import ThreadPoolExecutor

    from mining.warehouse import Watchdog

    def beside() -> str:
        watch = Watchdog(0.5, threading.get_ident()).start()
        try:
            with connect() as con:
                con.execute("SELECT count(*) FROM range(100000000000) a").fetchall()
            return "finished"
        except duckdb.InterruptException:
            return "interrupted"
        finally:
            watch.stop()

    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(beside).result(timeout=120) == "interrupted"
