"""The stages of both ways. Each runs in its own subprocess (bench.child) and times only its work.

A stage is ``f(ctx) -> figures``: it loads its inputs untimed (the data frame, tree or model an
earlier stage saved; the warehouse as it was left), wraps its work in ``ctx.clock(...)``, and
returns figures that let the two ways be checked against each other (DFG edges, variants,
fitness). The subprocess's peak RSS therefore covers the stage's inputs plus its work, as in a
notebook or an Airflow task that holds the data it needs.

The pm4py-only way is what a notebook user writes: ``pm4py.read_xes`` (its default parser),
``discover_dfg``, ``get_variants``, ``discover_process_tree_inductive`` (IMf, noise 0.2),
``fitness_token_based_replay`` and ``write_bpmn``. Ours is the pipeline, stage by stage.
"""

from __future__ import annotations

import hashlib
import pickle
import resource
import shutil
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.workloads import Workload, _sql_string
from mining.warehouse.sqlfiles import sections, sql_file

NOISE = 0.2


@dataclass
class Context:
    """What a stage sees: the workload, its scratch folder for this side and repetition, timings."""

    workload: Workload
    rep_dir: Path
    sections: dict[str, float] = field(default_factory=dict)
    cpu: float = 0.0

    @contextmanager
    def clock(self, name: str):
        """Time the enclosed work (wall and CPU); only clocked work counts as the stage's time."""
        cpu0, wall0 = _cpu_seconds(), time.perf_counter()
        try:
            yield
        finally:
            self.sections[name] = self.sections.get(name, 0.0) + time.perf_counter() - wall0
            self.cpu += _cpu_seconds() - cpu0

    @property
    def seconds(self) -> float:
        """Wall time of all clocked work."""
        return sum(self.sections.values())

    def save(self, name: str, obj) -> None:
        """Keep an object for a later stage (untimed)."""
        with open(self.rep_dir / f"{name}.pkl", "wb") as handle:
            pickle.dump(obj, handle, protocol=pickle.HIGHEST_PROTOCOL)

    def load(self, name: str):
        """An object an earlier stage kept (untimed)."""
        path = self.rep_dir / f"{name}.pkl"
        if not path.exists():
            raise MissingInput(f"{path.name}: an earlier stage did not leave it")
        with open(path, "rb") as handle:
            return pickle.load(handle)

    @property
    def warehouse(self) -> Path:
        """Our warehouse for this repetition."""
        return self.rep_dir / "warehouse.duckdb"


class MissingInput(RuntimeError):
    """A stage's input is missing because the stage that makes it failed or did not finish."""


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def copy_warehouse(source: str | Path, target: Path) -> None:
    """Copy a closed DuckDB file (and drop a stale write-ahead log next to the target)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in (target, Path(str(target) + ".wal")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(source, target)


# --- the pm4py-only way ---------------------------------------------------------------------------


def pm4py_frame(workload: Workload):
    """The event log as a pandas frame with pm4py's columns, read the way a pm4py user reads it."""
    import pandas as pd
    import pm4py

    if workload.kind == "xes":
        return pm4py.read_xes(workload.xes)
    if workload.kind == "warehouse":
        return pd.read_parquet(workload.parquet)
    if workload.kind == "csv":
        frame = pd.read_csv(workload.csv)
        return pm4py.format_dataframe(frame, case_id="case_id", activity_key="activity", timestamp_key="timestamp")
    import sqlite3

    config = workload.config()
    frames = []
    with sqlite3.connect(workload.sqlite) as con:
        for source in config.sources:
            for mapping in source.mappings:
                frames.append(pd.read_sql_query(mapping.sql, con))
    frame = pd.concat(frames, ignore_index=True)
    del frames
    return pm4py.format_dataframe(frame, case_id="case_id", activity_key="activity", timestamp_key="ts")


def pm4py_read(ctx: Context) -> dict:
    """Read the log into a data frame."""
    with ctx.clock("read"):
        frame = pm4py_frame(ctx.workload)
    ctx.save("frame", frame)
    return {"events": len(frame), "cases": int(frame["case:concept:name"].nunique())}


def pm4py_dfg_variants(ctx: Context, frame=None) -> dict:
    """``discover_dfg`` and ``get_variants`` on the frame."""
    import pm4py

    frame = ctx.load("frame") if frame is None else frame
    with ctx.clock("dfg"):
        dfg, _starts, _ends = pm4py.discover_dfg(frame)
    with ctx.clock("variants"):
        variants = pm4py.get_variants(frame)
    return {**dfg_figures(dfg), **variant_figures({tuple(k): v for k, v in variants.items()})}


def pm4py_imf(ctx: Context, frame=None):
    """``discover_process_tree_inductive`` (IMf, noise 0.2) on the frame."""
    import pm4py

    keep = frame is None
    frame = ctx.load("frame") if frame is None else frame
    with ctx.clock("imf"):
        tree = pm4py.discover_process_tree_inductive(frame, noise_threshold=NOISE)
    if keep:
        ctx.save("tree", tree)
        return {"tree_sha1": _sha1(str(tree))}
    return tree


def pm4py_fitness(ctx: Context, frame=None, tree=None) -> dict:
    """Token-based replay fitness of the IMf tree's Petri net on the frame."""
    import pm4py

    frame = ctx.load("frame") if frame is None else frame
    tree = ctx.load("tree") if tree is None else tree
    with ctx.clock("fitness"):
        net, im, fm = pm4py.convert_to_petri_net(tree)
        fitness = pm4py.fitness_token_based_replay(frame, net, im, fm)
    return {"fitness": round(float(fitness["log_fitness"]), 6)}


def pm4py_bpmn(ctx: Context, tree=None) -> dict:
    """BPMN of the IMf tree, written with ``write_bpmn`` (laid out when Graphviz is installed)."""
    import pm4py

    tree = ctx.load("tree") if tree is None else tree
    target = ctx.rep_dir / "pm4py.bpmn"
    # pm4py lays the diagram out with Graphviz's dot; without it, the export has no layout (and is
    # faster, which only makes the comparison harder for us).
    layout = shutil.which("dot") is not None
    with ctx.clock("bpmn"):
        pm4py.write_bpmn(pm4py.convert_to_bpmn(tree), str(target), auto_layout=layout)
    return {"bpmn_bytes": target.stat().st_size, "bpmn_layout": layout}


def pm4py_end_to_end(ctx: Context) -> dict:
    """Every pm4py stage in one process, as in one notebook session."""
    with ctx.clock("read"):
        frame = pm4py_frame(ctx.workload)
    figures = pm4py_dfg_variants(ctx, frame)
    tree = pm4py_imf(ctx, frame)
    figures.update(pm4py_fitness(ctx, frame, tree))
    figures.update(pm4py_bpmn(ctx, tree))
    return figures


# --- ours -------------------------------------------------------------------------------------------


def ours_ingest(ctx: Context) -> dict:
    """Extract and load every source (read_xes / connectorx / Parquet, then load_batch).

    For the replicated workload the timed load goes to a throwaway warehouse, and the later stages
    start from a copy of the warehouse built in DuckDB (untimed).
    """
    from mining.pipeline import ingest_source

    config = ctx.workload.config()
    target = ctx.rep_dir / "ingest.duckdb" if ctx.workload.kind == "warehouse" else ctx.warehouse
    loads = []
    with ctx.clock("ingest"):
        for source in config.sources:
            loads.extend(ingest_source(target, config, source))
    figures = {"events": sum(r.rows_loaded for r in loads), "quarantined": sum(r.rows_quarantined for r in loads)}
    if ctx.workload.kind == "warehouse":
        for path in (target, Path(str(target) + ".wal")):
            path.unlink(missing_ok=True)
        copy_warehouse(ctx.workload.warehouse, ctx.warehouse)
    return figures


def ours_prepare(ctx: Context) -> dict:
    """The prepare step: ordered event log, cases, variants, DFG, activity statistics."""
    from mining.warehouse.prepare import prepare_step

    with ctx.clock("prepare"):
        counts = prepare_step(ctx.warehouse, ctx.workload.config(), ctx.workload.process, ctx.rep_dir)
    return counts


def ours_dfg_variants(ctx: Context) -> dict:
    """DFG and variants counted in SQL over the prepared warehouse tables."""
    return _dfg_variants_sql(ctx, "dfg_variants")


def ours_dfg_variants_raw(ctx: Context) -> dict:
    """DFG and variants computed in SQL from the raw ``events`` table (no prepared tables)."""
    return _dfg_variants_sql(ctx, "dfg_variants_raw")


def _dfg_variants_sql(ctx: Context, name: str) -> dict:
    """Run the bench SQL file ``bench/sql/<name>.sql`` whose last two statements return the DFG and the variants."""
    from mining.warehouse import connect
    from mining.warehouse.sqlfiles import statements

    con = connect(ctx.warehouse, read_only=True)
    try:
        *setup, dfg_sql, variants_sql = statements(sql_file("bench", name))
        with ctx.clock("dfg"):
            for statement in setup:
                _query(con, statement, ctx.workload.process)
            dfg = {(a, b): n for a, b, n in _query(con, dfg_sql, ctx.workload.process)}
        with ctx.clock("variants"):
            variants = {tuple(acts): n for acts, n in _query(con, variants_sql, ctx.workload.process)}
    finally:
        con.close()
    return {**dfg_figures(dfg), **variant_figures(variants)}


def _query(con, statement: str, process: str) -> list:
    """Run one statement, binding ``$process`` when it uses it."""
    params = {"process": process} if "$process" in statement else None
    return con.execute(statement, params).fetchall()


# Our stages that run pm4py's code in the stage's own process (our IMf and replay build on it); the
# pipeline's steps run it in children only.
PM4PY_IN_PROCESS = frozenset({"imf", "fitness"})


def ours_imf(ctx: Context) -> dict:
    """IMf (noise 0.2) on the variants read from the warehouse."""
    from mining import discovery
    from mining.warehouse import connect

    con = connect(ctx.warehouse, read_only=True)
    try:
        with ctx.clock("imf"):
            variants = discovery.variants(con, ctx.workload.process)
            model = discovery.discover_imf(variants, NOISE)
    finally:
        con.close()
    ctx.save("model", (model, variants))
    return {"tree_sha1": _sha1(str(model.process_tree))}


def ours_fitness(ctx: Context) -> dict:
    """Token-based replay fitness of the IMf model on the variants."""
    from mining import discovery

    model, variants = ctx.load("model")
    with ctx.clock("fitness"):
        quality = discovery.evaluate(model, variants, with_precision=False)
    return {"fitness": quality["fitness"]}


def ours_step(name: str) -> Callable[[Context], dict]:
    """A pipeline step (mining.registry.STEPS) as a stage."""

    def stage(ctx: Context) -> dict:
        from mining.pipeline import PROCESS_STEPS

        step = dict(PROCESS_STEPS)[name]
        with ctx.clock(name):
            result = step(ctx.warehouse, ctx.workload.config(), ctx.workload.process, ctx.rep_dir / "out")
        return summarize(result)

    stage.__doc__ = f"The pipeline's {name!r} step."
    return stage


def ours_explore(ctx: Context) -> dict:
    """The explorer's redraw after a filter (bench.explore) on the read snapshot the queries step
    published beside this repetition's warehouse; the figures hold the redraw times."""
    from bench.explore import measure
    from mining.outputs import snapshot_path

    if not snapshot_path(ctx.warehouse).is_file():
        raise MissingInput(
            f"{snapshot_path(ctx.warehouse).name}: step:queries did not publish it "
            "(on an existing run folder: python -m bench.explore DIR)"
        )
    with ctx.clock("explore"):
        return measure(ctx.rep_dir)


def ours_end_to_end(ctx: Context) -> dict:
    """The whole ``mot run`` in one process: ingest and every step (from the warehouse for x40)."""
    from mining import pipeline

    if ctx.workload.kind == "warehouse":
        _mine(ctx, ctx.rep_dir / "e2e", [name for name, _ in pipeline.PROCESS_STEPS])
        return {}
    with ctx.clock("mot run"):
        summary = pipeline.run(ctx.workload.config(), ctx.rep_dir / "e2e")
    return {"events": sum(r.rows_loaded for r in summary.loads)}


def ours_rerun_unchanged(ctx: Context) -> dict:
    """``mot run`` again into the folder ``end_to_end`` left, with nothing changed: the source is read
    and loaded again (it finds every event present), no process is mined (issue 20, target 1)."""
    from mining import pipeline

    if ctx.workload.kind == "warehouse":
        raise MissingInput("the 10 M-event workloads start from a warehouse copy, not from a `mot run` folder")
    if not (ctx.rep_dir / "e2e").is_dir():
        raise MissingInput("e2e: end_to_end did not leave its run folder")
    with ctx.clock("mot run"):
        summary = pipeline.run(ctx.workload.config(), ctx.rep_dir / "e2e")
    return {"mined": len(summary.processes), "unchanged": len(summary.unchanged)}


# The delta of ``rerun_delta``: the latest events of the log (by time), new cases and later events
# of open cases alike, as a day's extract of a business system would bring them.
DELTA_SHARE = 0.01


def ours_rerun_delta(ctx: Context) -> dict:
    """``mot run`` after a delta of the latest 1 % of the events (issue 20, target 1), against a full
    ``mot run`` of the same file in a fresh folder (both on Parquet copies of the log, untimed to
    write). Only the run after the delta is the stage's time; the full run's time, the ratio and
    whether every CSV and BPMN file equals the full run's are figures."""
    from mining import pipeline

    if ctx.workload.kind != "xes" or not (ctx.rep_dir / "e2e").is_dir():
        raise MissingInput("rerun_delta needs the XES workload and the run folder end_to_end left")
    work = ctx.rep_dir / "delta"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    whole, early, log = work / "whole.parquet", work / "early.parquet", work / "log.parquet"
    delta_events = _split_log(pipeline.warehouse_path(ctx.rep_dir / "e2e"), whole, early)
    config = pipeline.config_for_log(log, ctx.workload.config_file)
    shutil.copyfile(early, log)
    pipeline.run(config, work / "scheduled")  # yesterday's run: untimed
    shutil.copyfile(whole, log)
    with ctx.clock("mot run after the delta"):
        summary = pipeline.run(config, work / "scheduled")
    started = time.perf_counter()
    pipeline.run(config, work / "full")
    full_s = time.perf_counter() - started
    files = sorted(p.name for p in (work / "full").iterdir() if p.suffix in (".csv", ".bpmn"))
    equal = all((work / "full" / f).read_bytes() == (work / "scheduled" / f).read_bytes() for f in files)
    return {
        "delta_events": delta_events,
        "mined": len(summary.processes),
        # prepare rebuilds only the cases whose events changed (mining/warehouse/prepare.py)
        "cases_rebuilt": sum(figures.get("cases_rebuilt", 0) for figures in summary.processes.values()),
        "full_run_s": round(full_s, 3),
        "delta_over_full": round(ctx.seconds / full_s, 3),
        "files_equal_full_run": equal,
        "files_compared": len(files),
    }


def _split_log(warehouse: Path, whole: Path, early: Path) -> int:
    """Write the events of an end-to-end run's ``warehouse`` to ``whole`` and those before the delta
    to ``early`` (Parquet, bench/sql/delta.sql); return the delta's number of events."""
    import duckdb

    paths = {"/*WHOLE*/": _sql_string(whole), "/*EARLY*/": _sql_string(early)}
    queries = {}
    for name, text in sections(sql_file("bench", "delta")).items():
        for marker, path in paths.items():
            text = text.replace(marker, path)
        queries[name] = text
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {_sql_string(warehouse)} AS e2e (READ_ONLY)")
        con.execute("USE e2e")
        con.execute(sql_file("bench", "to_parquet").replace("/*PATH*/", paths["/*WHOLE*/"]))
        cutoff = con.execute(queries["cutoff"], {"share": DELTA_SHARE}).fetchone()[0]
        con.execute(queries["early"], {"cutoff": cutoff})
        return con.execute(queries["delta_events"], {"cutoff": cutoff}).fetchone()[0]
    finally:
        con.close()


# The target's scope in issue 9: XES to model + MOT + waste + BPMN (no SQL library, no report).
TARGET_STEPS = ("prepare", "discover", "moments", "waste", "bpmn")


def ours_end_to_end_scope(ctx: Context) -> dict:
    """``mot run`` in the target's scope: ingest, then model, MOT, waste, BPMN (no SQL library, no files).

    This is the work the pm4py-only end-to-end stage is compared with (it makes a model and a BPMN
    file, and no report).
    """
    steps = _mine(ctx, ctx.rep_dir / "scope", TARGET_STEPS)
    return {"steps": ",".join(steps)}


def _mine(ctx: Context, out: Path, names) -> list[str]:
    """Ingest every source (timed), or start from a copy of the workload's warehouse (untimed, as
    the 10 M-event log starts in DuckDB), then run the pipeline steps ``names`` of every process as
    ``mining.pipeline.run`` does (timed). Returns the names of the steps run."""
    from mining import pipeline

    config = ctx.workload.config()
    warehouse = pipeline.warehouse_path(out)
    steps = [name for name, _ in pipeline.PROCESS_STEPS if name in names]
    out.mkdir(parents=True, exist_ok=True)
    if ctx.workload.kind == "warehouse":
        copy_warehouse(ctx.workload.warehouse, warehouse)
    else:
        with ctx.clock("ingest"):
            for source in config.sources:
                pipeline.ingest_source(warehouse, config, source)
    with ctx.clock("steps"):
        for process in config.processes:
            pipeline.run_process_steps(warehouse, config, process, out, steps)
    return steps


# --- figures that both ways report -----------------------------------------------------------------


def dfg_figures(dfg: dict) -> dict:
    """Edges and total directly-follows count, and a digest of the whole DFG."""
    items = sorted((a, b, int(n)) for (a, b), n in dfg.items())
    return {"dfg_edges": len(items), "dfg_total": sum(n for *_, n in items), "dfg_sha1": _sha1(repr(items))}


def variant_figures(variants: dict) -> dict:
    """Number of variants, cases they cover, and a digest of all of them."""
    items = sorted((tuple(k), int(v)) for k, v in variants.items())
    return {"variants": len(items), "variant_cases": sum(v for _, v in items), "variants_sha1": _sha1(repr(items))}


def summarize(result: dict) -> dict:
    """A pipeline step's result, cut down to scalars (it can hold long lists)."""
    flat = {}
    for key, value in result.items():
        if isinstance(value, int | float | str | bool) or value is None:
            flat[key] = value
    return flat


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


# --- registry -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    """One stage of one side: its function and the stages whose output it needs."""

    side: str
    name: str
    run: Callable[[Context], dict]
    needs: tuple[str, ...] = ()


def stages_for(side: str) -> list[Stage]:
    """The stages of ``side`` ("pm4py" or "ours") in run order; the end-to-end run comes last."""
    if side == "pm4py":
        return [
            Stage("pm4py", "read", pm4py_read),
            Stage("pm4py", "dfg_variants", pm4py_dfg_variants, ("read",)),
            Stage("pm4py", "imf", pm4py_imf, ("read",)),
            Stage("pm4py", "fitness", pm4py_fitness, ("read", "imf")),
            Stage("pm4py", "bpmn", pm4py_bpmn, ("imf",)),
            Stage("pm4py", "end_to_end", pm4py_end_to_end),
        ]
    from mining.pipeline import PROCESS_STEPS

    names = [name for name, _ in PROCESS_STEPS if name != "prepare"]
    ours = [
        Stage("ours", "ingest", ours_ingest),
        Stage("ours", "prepare", ours_prepare, ("ingest",)),
        Stage("ours", "dfg_variants_raw", ours_dfg_variants_raw, ("ingest",)),
        Stage("ours", "dfg_variants", ours_dfg_variants, ("prepare",)),
        Stage("ours", "imf", ours_imf, ("prepare",)),
        Stage("ours", "fitness", ours_fitness, ("imf",)),
    ]
    previous = "prepare"
    for name in names:
        ours.append(Stage("ours", f"step:{name}", ours_step(name), (previous,)))
        previous = f"step:{name}"
    # After the last step, which published the read snapshot that `mot serve` opens.
    ours.append(Stage("ours", "explore", ours_explore, (previous,)))
    ours.append(Stage("ours", "end_to_end_scope", ours_end_to_end_scope))
    ours.append(Stage("ours", "end_to_end", ours_end_to_end))
    ours.append(Stage("ours", "rerun_unchanged", ours_rerun_unchanged, ("end_to_end",)))
    ours.append(Stage("ours", "rerun_delta", ours_rerun_delta, ("end_to_end",)))
    return ours


def find(side: str, name: str) -> Stage:
    """The stage called ``name`` of ``side``."""
    for stage in stages_for(side):
        if stage.name == name:
            return stage
    raise KeyError(f"no stage {name!r} on side {side!r}")
