"""Pipeline steps that the CLI and the Airflow DAGs both call.

Each step opens the warehouse, does one thing and closes it again, so a scheduler can run the
steps as separate tasks. ``run`` chains them for one command-line run.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from mining import exports
from mining.bpmn.step import check_remove
from mining.config import ProjectConfig, Source, load_config
from mining.config.budgets import Budgets
from mining.discovery.bounded import start_server, stop_server
from mining.locking import run_lock
from mining.outputs import warehouse_path
from mining.registry import BESIDE, PROCESS_STEPS, StepFunction
from mining.sample_system.demo import DEMO_DATABASE, demo_project
from mining.sample_system.generator import generate
from mining.sources import DATABASES, extract, extract_item, work_items
from mining.sources.files import kind_from_path
from mining.warehouse import Watchdog, connect, fingerprints, memory_limit_default, memory_limit_source, runs, scalar
from mining.warehouse.load import LoadResult, load_batch, stored_watermarks
from mining.warehouse.prepare import forget_prepared
from mining.warehouse.snapshot import publish_snapshot

Progress = Callable[[str], None]


@dataclass
class RunSummary:
    """What a run did: loads, per-process counts, models and the files it wrote."""

    out_dir: Path
    loads: list[LoadResult] = field(default_factory=list)
    processes: dict[str, dict] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)  # processes left as they were (nothing changed)


class StepBudgetExceeded(ValueError):
    """A step ran past ``budgets.step_seconds`` and was stopped: the run fails (a ValueError, so
    the command line reports it as one line)."""


class StepOutOfMemory(ValueError):
    """DuckDB ran out of memory in a step: the run fails, naming the step and the memory keys."""


@contextmanager
def step_budget(step: str, process: str, budgets: Budgets) -> Iterator[None]:
    """Run the block (one step of one process, on this thread) within ``budgets.step_seconds``
    and turn a DuckDB out-of-memory into ``StepOutOfMemory``.

    Past the time budget a watchdog interrupts the SQL of the connections this thread opened (and
    keeps interrupting the next statements) and the step fails with ``StepBudgetExceeded``. The run
    fails rather than skipping the step: the later steps read the step's tables, and a half-run
    step must not leave stale tables shown as current. pm4py work runs in children with its own
    budgets (``budgets.seconds``); the watchdog stops the step at its next statement after it.
    """
    watch = Watchdog(budgets.step_seconds, threading.get_ident()).start() if budgets.step_seconds else None
    try:
        yield
    except Exception as exc:
        if watch is not None and watch.fired:
            raise _overrun(step, process, budgets) from exc
        if (oom := _out_of_memory(exc)) is not None:
            first = (str(oom).splitlines() or [type(oom).__name__])[0]
            raise StepOutOfMemory(
                f"step {step!r} of process {process!r} ran out of memory in DuckDB (limit: {memory_limit_source()}); "
                f"the run stopped, the previous outputs are as they were. Raise the limit and run again. DuckDB: {first}"
            ) from exc
        raise
    finally:
        if watch is not None:
            watch.stop()
    if watch is not None and watch.fired:  # it finished past its budget, nothing left to interrupt
        raise _overrun(step, process, budgets)


def _out_of_memory(exc: BaseException | None) -> BaseException | None:
    """DuckDB's out-of-memory error when it is ``exc`` or what ``exc`` was raised from."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, duckdb.OutOfMemoryException):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _overrun(step: str, process: str, budgets: Budgets) -> StepBudgetExceeded:
    return StepBudgetExceeded(
        f"step {step!r} of process {process!r} went past its time budget of {budgets.step_seconds} s "
        "(config key budgets.step_seconds); the run stopped, the previous outputs are as they were"
    )


# --- steps ---------------------------------------------------------------------------------------


def ingest_source(
    warehouse: str | Path, config: ProjectConfig, source: Source, skip_unchanged: bool = False
) -> list[LoadResult]:
    """Extract every batch of ``source`` and load it (one transaction per batch).

    A file's content hash is kept as its watermark. With ``skip_unchanged``, a file whose hash is
    the stored one is not read again when its process was last mined under this configuration and
    code (``fingerprints.same_config``): reading it would load the same events.
    """
    results = []
    with connect(warehouse) as con:
        if source.kind in DATABASES:
            batches = ((batch, None) for batch in extract(source))
        else:
            stored = stored_watermarks(con, source.name)
            if not (skip_unchanged and fingerprints.same_config(con, config, source.process)):
                stored = {}
            batches = ((extract_item(source, item.name), item.watermark) for item in work_items(source, stored))
        for batch, before in batches:
            results.append(
                load_batch(
                    con,
                    batch.table,
                    process=source.process,
                    source=source.name,
                    location=batch.location,
                    timezone=config.timezone,
                    timestamp_format=batch.timestamp_format,
                    watermark=None if source.kind in DATABASES else (batch.location, before, batch.watermark),
                )
            )
    return results


def run_process_steps(
    warehouse: Path,
    config: ProjectConfig,
    process: str,
    out_dir: Path,
    names: Collection[str] | None = None,
    progress: Progress | None = None,
) -> tuple[dict, dict[str, float]]:
    """Run the steps ``names`` (default: all) of ``PROCESS_STEPS`` for ``process``, in their order,
    except that a step of ``BESIDE`` runs in a thread beside the next ones.

    Returns the steps' figures, merged in ``PROCESS_STEPS`` order as if they had run one by one,
    and the seconds each step took.
    """
    say = progress or (lambda _msg: None)
    wanted = [(name, step) for name, step in PROCESS_STEPS if names is None or name in names]
    if "discover" in dict(wanted) and (config.budgets.memory_mb or config.budgets.seconds):
        start_server()  # pm4py's children come from it; it loads pm4py beside the steps before discover
    results: dict[str, dict] = {}
    seconds: dict[str, float] = {}

    def timed(name: str, step: StepFunction) -> dict:
        started = time.monotonic()
        try:
            with step_budget(name, process, config.budgets):  # on the thread that runs the step
                figures = step(warehouse, config, process, out_dir)
        finally:
            if name == "discover":
                stop_server()  # only discover's children come from it
        seconds[name] = time.monotonic() - started
        return figures

    with (
        memory_limit_default(config.budgets.sql_memory_mb),
        ThreadPoolExecutor(max_workers=max(len(BESIDE), 1), thread_name_prefix="mot-beside") as pool,
    ):
        running: dict[str, Future] = {}
        # While steps run side by side, one connection stays open so that the database stays open:
        # else a step that closes the last connection while another thread opens one races DuckDB's
        # instance cache ("Unique file handle conflict"). Closed before the steps after them, since
        # publishing the snapshot (queries) attaches the file from another database.
        anchor: duckdb.DuckDBPyConnection | None = None
        try:
            for name, step in wanted:
                for other in [o for o in running if BESIDE[o] == name]:
                    results[other] = running.pop(other).result()
                if not running and anchor is not None:
                    anchor.close()
                    anchor = None
                # Progress is said here, on the caller's thread only: a callback that prints from two
                # threads at once can run two messages into one line.
                say(f"{name} {process}")
                if name in BESIDE:
                    anchor = anchor or connect(warehouse)
                    running[name] = pool.submit(timed, name, step)
                else:
                    results[name] = timed(name, step)
                check_remove(name, warehouse, config, process)  # bpmn.remove vs the activities, once prepared
            for other, future in running.items():
                results[other] = future.result()
        finally:
            if anchor is not None:
                anchor.close()
    figures: dict = {}
    for name, _step in wanted:
        figures.update(results[name])
    return figures, {name: seconds[name] for name, _step in wanted}


def run(config: ProjectConfig, out_dir: str | Path, progress: Progress | None = None, full: bool = False) -> RunSummary:
    """Ingest every source, then run every process step for every process; results in ``out_dir``.

    A process whose events, the configuration and the mining code are all as when it was last mined
    to the end is not mined again (``mining.warehouse.fingerprints``; ``full`` mines it anyway, and
    rebuilds every case's prepared rows rather than the changed ones):
    its tables are already what mining it would write. The run is recorded in ``run_audit``
    (mining.warehouse.runs): failed, with its error, when any step fails. A first run that fails before it loaded anything leaves no warehouse behind.
    """
    say = progress or (lambda _msg: None)
    out_dir = Path(out_dir)
    if not config.sources:
        raise ValueError("the configuration has no sources: give an event-log file or add 'sources'")
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    warehouse = warehouse_path(out_dir)
    summary = RunSummary(out_dir=out_dir)
    try:
        # One writer at a time: a second run (or an Airflow task) on this warehouse waits here.
        with run_lock(warehouse, say=say), memory_limit_default(config.budgets.sql_memory_mb):
            fresh = not warehouse.exists()
            exports.recover(out_dir)  # an export killed half-way is finished first (or dropped)
            run_id = runs.start(warehouse, "mot run", config.processes)
            try:
                _run_steps(config, out_dir, warehouse, summary, say, full)
            except BaseException as exc:
                runs.finish(warehouse, run_id, exc)
                if fresh:
                    _drop_if_empty(warehouse)
                raise
            runs.finish(warehouse, run_id, outputs=[p.relative_to(out_dir).as_posix() for p in summary.files])
    except BaseException:
        if created:
            with suppress(OSError):  # removed only when the failed run left it empty
                out_dir.rmdir()
        raise
    return summary


def _run_steps(
    config: ProjectConfig, out_dir: Path, warehouse: Path, summary: RunSummary, say: Progress, full: bool
) -> None:
    for source in config.sources:
        say(f"ingest {source.name}")
        started = time.monotonic()
        with step_budget("ingest", source.process, config.budgets.model_copy(update={"step_seconds": 0})):
            summary.loads.extend(ingest_source(warehouse, config, source, skip_unchanged=not full))
        summary.timings[f"ingest:{source.name}"] = time.monotonic() - started
    # Stop here, with the counts, rather than in the middle of a mining step.
    for process in config.processes:
        if (why := runs.nothing_to_mine(warehouse, process)) is not None:
            raise ValueError(why)
    for process in config.processes:
        _mine_if_changed(config, out_dir, warehouse, process, summary, say, full)
    if not summary.processes and not summary.loads and (kept := _outputs_in_place(out_dir, warehouse)):
        summary.files = kept  # nothing was read or mined: the last run's files are this run's
        return
    if not summary.processes and summary.loads:
        # No process was mined, so no queries step published the read snapshot: what the loads
        # wrote (their audit rows, quarantined rows) reaches `mot sql` readers this way.
        publish_snapshot(warehouse)
    say(f"export {', '.join(config.processes)}")
    started = time.monotonic()
    summary.files = exports.write_outputs(warehouse, config, out_dir)
    summary.timings["export"] = time.monotonic() - started


def _mine_if_changed(
    config: ProjectConfig, out_dir: Path, warehouse: Path, process: str, summary: RunSummary, say: Progress, full: bool
) -> None:
    """Run the steps of ``process`` unless its inputs are those it was last mined from (or ``full``)."""
    with connect(warehouse) as con:
        inputs = fingerprints.current(con, config, process)
        if not full and fingerprints.unchanged(con, inputs):
            say(f"unchanged {process}")
            summary.unchanged.append(process)
            return
        fingerprints.forget(con, process)  # no digest beside half-written tables if a step fails
        if full:
            forget_prepared(con, process)  # --full rebuilds every case's prepared rows too
    figures, seconds = run_process_steps(warehouse, config, process, out_dir, progress=say)
    with connect(warehouse) as con:
        fingerprints.record(con, inputs)
    summary.processes.setdefault(process, {}).update(figures)
    summary.timings.update({f"{name}:{process}": s for name, s in seconds.items()})


def _outputs_in_place(out_dir: Path, warehouse: Path) -> list[Path] | None:
    """The files of the last run that succeeded, when every one is still in ``out_dir``."""
    outputs = runs.last_outputs(warehouse)
    if not outputs:
        return None
    files = [out_dir / name for name in outputs]
    return files if all(f.is_file() for f in files) else None


def _drop_if_empty(warehouse: Path) -> None:
    """Remove a warehouse this run created when nothing was loaded into it (a refused file): an
    empty warehouse would only look like a result. Its run_audit row goes with it; the error is
    what the caller reports."""
    try:
        with connect(warehouse, read_only=True) as con:
            loads = scalar(con, "SELECT count(*) FROM load_audit")
    except Exception:  # unreadable (the disk was full when it was created): nothing worth keeping
        loads = 0
    if loads:
        return
    for path in (warehouse, warehouse.with_name(warehouse.name + ".wal")):
        path.unlink(missing_ok=True)


def config_for_log(log: str | Path, config_file: str | Path | None = None) -> ProjectConfig:
    """The config for ``mot run LOG``: the file's settings plus one source for the log file.

    When the config has a file source of the log's kind, the log takes its place and keeps its
    settings (column mapping, delimiter, timestamp format, process name); the other sources stay.
    Otherwise the log becomes a new source named after the file.
    """
    config = load_config(config_file)
    log = Path(log).resolve()
    kind = kind_from_path(log)
    template = next((s for s in config.sources if s.kind == kind and s.path), None)
    if template is not None:
        process = template.process if template.process != "default" else source_name(log)
        source = template.model_copy(update={"path": str(log), "process": process})
        others = [s for s in config.sources if s is not template]
    else:
        name = source_name(log)
        source = Source(name=name, kind=kind, process=name, path=str(log))
        others = [s for s in config.sources if s.name != name]
    return config.model_copy(update={"sources": [*others, source]})


def source_name(path: Path) -> str:
    """A valid source/process name from a file name: ``bpic2012.xes.gz`` -> ``bpic2012``."""
    stem = path.name.split(".")[0]
    name = re.sub(r"[^A-Za-z0-9_]", "_", stem) or "log"
    if not name[0].isalpha():
        name = "log_" + name
    return name[:63]


def demo_config(out_dir: str | Path, n_cases: int = 2000, seed: int = 42) -> ProjectConfig:
    """Generate the sample business system into ``out_dir`` and return its extraction config."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    database = out_dir / DEMO_DATABASE
    generate(database, n_cases=n_cases, seed=seed)
    return demo_project(database)
