"""Pipeline steps that the CLI and the Airflow DAGs both call.

Each step opens the warehouse, does one thing and closes it again, so a scheduler can run the
steps as separate tasks. ``run`` chains them for one command-line run.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from mining import discovery
from mining.config import ProjectConfig, Source, load_config  # noqa: F401  (re-exported for the CLI)
from mining.locking import atomic_path, run_lock, write_text_atomic
from mining.sources import extract
from mining.sources.files import kind_from_path
from mining.warehouse import connect
from mining.warehouse.load import LoadResult, load_batch
from mining.warehouse.prepare import prepare, process_counts

WAREHOUSE_FILE = "warehouse.duckdb"
Progress = Callable[[str], None]


@dataclass
class RunSummary:
    """What a run did: loads, per-process counts, models and the files it wrote."""

    out_dir: Path
    loads: list[LoadResult] = field(default_factory=list)
    processes: dict[str, dict] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def warehouse_path(out_dir: str | Path) -> Path:
    """Where the warehouse of an output folder lives."""
    return Path(out_dir) / WAREHOUSE_FILE


# --- steps -------------------------------------------------------------------------------------


def ingest_source(warehouse: str | Path, config: ProjectConfig, source: Source) -> list[LoadResult]:
    """Extract every batch of ``source`` and load it (one transaction per batch)."""
    results = []
    con = connect(warehouse)
    try:
        for batch in extract(source):
            results.append(
                load_batch(
                    con,
                    batch.table,
                    process=source.process,
                    source=source.name,
                    location=batch.location,
                    timezone=config.timezone,
                    timestamp_format=batch.timestamp_format,
                )
            )
    finally:
        con.close()
    return results


def prepare_process(warehouse: str | Path, process: str) -> dict:
    """Rebuild the prepared tables of ``process``; return its case, event and variant counts."""
    con = connect(warehouse)
    try:
        prepare(con, process)
        return process_counts(con, process)
    finally:
        con.close()


def discover_process(warehouse: str | Path, config: ProjectConfig, process: str, out_dir: str | Path) -> list[dict]:
    """Discover and evaluate the models of ``process``; write them under ``out_dir/models``."""
    con = connect(warehouse)
    try:
        # One transaction for all models, and files replaced whole: a step that fails half-way
        # leaves the previous models readable (mining.locking).
        con.execute("BEGIN TRANSACTION")
        try:
            models = discovery.discover(con, process, config.discovery)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        folder = Path(out_dir) / "models" / process
        folder.mkdir(parents=True, exist_ok=True)
        for model in models:
            write_text_atomic(folder / f"{model.algorithm}.pnml", discovery.pnml(model))
            if model.process_tree is not None:
                write_text_atomic(folder / f"{model.algorithm}.tree.txt", str(model.process_tree) + "\n")
        export_tables(con, process, folder)
        return [{"algorithm": m.algorithm, **m.quality} for m in models]
    finally:
        con.close()


def export_tables(con, process: str, folder: Path) -> None:
    """Write the DFG and the variants of ``process`` as CSV next to its models (each file whole or not at all)."""
    with atomic_path(folder / "dfg.csv") as temp:
        con.execute(
            f"COPY (SELECT source_activity, target_activity, frequency, n_cases, mean_s, median_s "
            f"FROM dfg_edges WHERE process = $p ORDER BY source_activity, target_activity) "
            f"TO '{_sql_path(temp)}' (HEADER)",
            {"p": process},
        ).fetchall()
    with atomic_path(folder / "variants.csv") as temp:
        con.execute(
            f"COPY (SELECT rank, variant_id, n_cases, share, n_events, array_to_string(activities, ' > ') AS activities "
            f"FROM variants WHERE process = $p ORDER BY rank) TO '{_sql_path(temp)}' (HEADER)",
            {"p": process},
        ).fetchall()


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


# --- whole runs ----------------------------------------------------------------------------------


def prepare_step(warehouse: Path, config: ProjectConfig, process: str, out_dir: Path) -> dict:
    """Pipeline step: prepared tables and counts."""
    return prepare_process(warehouse, process)


def discover_step(warehouse: Path, config: ProjectConfig, process: str, out_dir: Path) -> dict:
    """Pipeline step: models and their quality."""
    return {"models": discover_process(warehouse, config, process, out_dir)}


def queries_step(warehouse: Path, config: ProjectConfig, process: str, out_dir: Path) -> dict:
    """Pipeline step, kept last: the queries/ views and macros, then the read snapshot."""
    from mining import queries

    return queries.queries_step(warehouse, config, process, out_dir)


def moments_step(warehouse: Path, config: ProjectConfig, process: str, out_dir: Path) -> dict:
    """Pipeline step: moments of truth, running scores, knock-on, drop-out (moments.csv, dropout.csv)."""
    from mining.moments.step import moments_step as step

    return step(warehouse, config, process, out_dir)


def bpmn_step(warehouse: Path, config: ProjectConfig, process: str, out_dir: Path) -> dict:
    """Pipeline step: annotated as-is and to-be BPMN (as-is.bpmn, to-be.bpmn)."""
    from mining.bpmn.step import bpmn_step as step

    return step(warehouse, config, process, out_dir)


def waste_step(warehouse: Path, config: ProjectConfig, process: str, out_dir: Path) -> dict:
    """Pipeline step: waste scores, removal candidates and what-if removal (waste.csv)."""
    from mining.waste.step import waste_step as step

    return step(warehouse, config, process, out_dir)


# The per-process steps in run order. Each takes (warehouse, config, process, out_dir) and returns
# a dict of figures that is merged into the run summary; the DAGs run the same list.
PROCESS_STEPS: list[tuple[str, Callable[..., dict]]] = [
    ("prepare", prepare_step),
    ("discover", discover_step),
    ("moments", moments_step),
    ("waste", waste_step),
    # After moments and waste (it draws their figures); before queries, which must stay last.
    ("bpmn", bpmn_step),
    # Last writer: it publishes the snapshot that `mot sql` and the duckdb CLI read.
    ("queries", queries_step),
    # Reads only, so the snapshot stays current; after every step whose results it shows.
    ("report", lambda warehouse, config, process, out_dir: report_step(warehouse, config, process, out_dir)),
]


# Steps that need only the prepared tables, run in a thread beside the steps after them until the
# step named here, which reads their results. discover is pm4py in pure Python, moments -> waste
# are DuckDB SQL, which releases the GIL while it runs: side by side they use both cores.
BESIDE: dict[str, str] = {"discover": "bpmn"}


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
    results: dict[str, dict] = {}
    seconds: dict[str, float] = {}

    def timed(name: str, step: Callable[..., dict]) -> dict:
        started = time.monotonic()
        figures = step(warehouse, config, process, out_dir)
        seconds[name] = time.monotonic() - started
        return figures

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mot-beside") as pool:
        running: dict[str, Future] = {}
        for name, step in wanted:
            for other in [o for o in running if BESIDE[o] == name]:
                results[other] = running.pop(other).result()
            # Progress is said here, on the caller's thread only: a callback that prints from two
            # threads at once can run two messages into one line.
            say(f"{name} {process}")
            if name in BESIDE:
                running[name] = pool.submit(timed, name, step)
            else:
                results[name] = timed(name, step)
        for other, future in running.items():
            results[other] = future.result()
    figures: dict = {}
    for name, _step in wanted:
        figures.update(results[name])
    return figures, {name: seconds[name] for name, _step in wanted}


def write_run_files(warehouse: str | Path, config: ProjectConfig, out_dir: str | Path) -> list[Path]:
    """Write the files that cover every process of ``config`` at once (the moments CSV files and
    waste.csv), as the moments and waste steps do, from the warehouse as it is now.

    The scale-out path (mining.scaleout) mines each process in its own database, so it writes these
    files once after merging all processes.
    """
    from mining.moments.export import write_csvs
    from mining.waste.step import write_csv

    con = connect(warehouse)
    try:
        paths = write_csvs(con, config.processes, out_dir)
        paths.append(write_csv(con, config.processes, Path(out_dir)))
    finally:
        con.close()
    return paths


def run_file_names() -> set[str]:
    """The names of the files ``write_run_files`` writes (in the output folder itself)."""
    from mining.moments.export import FILES
    from mining.waste.step import WASTE_CSV

    return {*FILES, WASTE_CSV}


def report_step(warehouse: Path, config: ProjectConfig, process: str, out_dir: Path) -> dict:
    """Pipeline step: the HTML report (DIR/report.html; DIR/report-<process>.html with several processes)."""
    from mining.report.render import report_step as step

    return step(warehouse, config, process, out_dir)


def run(config: ProjectConfig, out_dir: str | Path, progress: Progress | None = None) -> RunSummary:
    """Ingest every source, then run every process step for every process; results in ``out_dir``."""
    say = progress or (lambda _msg: None)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    warehouse = warehouse_path(out_dir)
    summary = RunSummary(out_dir=out_dir)
    if not config.sources:
        raise ValueError("the configuration has no sources: give an event-log file or add 'sources'")
    # One writer at a time: a second run (or an Airflow task) on this warehouse waits here.
    with run_lock(warehouse, say=say) as lock:
        for source in config.sources:
            say(f"ingest {source.name}")
            started = time.monotonic()
            summary.loads.extend(ingest_source(warehouse, config, source))
            summary.timings[f"ingest:{source.name}"] = time.monotonic() - started
        for process in config.processes:
            figures, seconds = run_process_steps(warehouse, config, process, out_dir, progress=say)
            summary.processes.setdefault(process, {}).update(figures)
            summary.timings.update({f"{name}:{process}": s for name, s in seconds.items()})
    summary.files = sorted(p for p in out_dir.rglob("*") if p.is_file() and p.resolve() != lock)
    return summary


def config_for_log(log: str | Path, config_file: str | Path | None = None) -> ProjectConfig:
    """The config for ``mot run LOG``: the file's settings plus one source for the log file."""
    config = load_config(config_file)
    log = Path(log).resolve()
    name = source_name(log)
    source = Source(name=name, kind=kind_from_path(log), process=name, path=str(log))
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
    from importlib import resources

    from mining.config import parse_config
    from mining.sample_system.generator import generate

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    database = out_dir / "sample_system.sqlite"
    generate(database, n_cases=n_cases, seed=seed)
    import yaml

    text = resources.files("mining.sample_system").joinpath("demo.yaml").read_text("utf-8")
    config = parse_config(yaml.safe_load(text), "mining/sample_system/demo.yaml")
    sources = [s.model_copy(update={"path": str(database.resolve())}) for s in config.sources]
    return config.model_copy(update={"sources": sources})
