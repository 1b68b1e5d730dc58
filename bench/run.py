"""``make bench``: build the workloads, run both ways stage by stage, print and save the comparison.

Every stage runs in a fresh subprocess (``python -m bench.child``); the child reports its peak
RSS (VmHWM), the parent samples the process tree's RSS and stops it at the time limit or the
memory cap (so a pm4py run that would take the machine down is reported as stopped, not left to
swap), and repeats. Repetitions alternate the
two ways so that other work on the machine hits both alike.

    python -m bench.run                                # everything, default repetitions
    python -m bench.run --workloads bpic2012 --repeats 1
    python -m bench.run --workloads bpic2012_x40 --sides ours --only prepare,dfg_variants
    python -m bench.explore out/run                    # the explorer's redraw alone, on a run folder
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
from rich.console import Console
from rich.table import Table

from bench import machine, report, workloads
from bench.stages import stages_for

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# Wide enough for the comparison table when the output goes to a file or a CI log.
console = Console(width=None if sys.stdout.isatty() else 150)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options."""
    total_gb = psutil.virtual_memory().total / 2**30
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workloads", default=",".join([*workloads.NAMES, "extraction"]), help="comma-separated: %(default)s"
    )
    parser.add_argument("--sides", default="pm4py,ours", help="comma-separated: %(default)s")
    parser.add_argument("--only", default="", help="comma-separated stage names to run (default: all)")
    parser.add_argument("--repeats", type=int, default=3, help="repetitions on BPIC2012 (default %(default)s)")
    parser.add_argument(
        "--large-repeats", type=int, default=1, help="repetitions on the 10 M-event workloads (default %(default)s)"
    )
    parser.add_argument("--timeout", type=float, default=1200, help="seconds per stage (end to end: twice)")
    parser.add_argument(
        "--memory-cap-gb",
        type=float,
        default=round(min(12.0, 0.6 * total_gb), 1),
        help="stop a stage whose RSS passes this (default %(default)s GB)",
    )
    parser.add_argument(
        "--duckdb-memory-limit",
        default="900MB",
        help="MOT_DUCKDB_MEMORY_LIMIT for our side ('' = DuckDB's default, 80%% of RAM; default %(default)s)",
    )
    parser.add_argument("--copies", type=int, default=40, help="BPIC2012 copies (default %(default)s)")
    parser.add_argument("--sample-cases", type=int, default=1_000_000, help="sample-system cases (%(default)s)")
    parser.add_argument("--extraction-rows", type=int, default=1_000_000, help="rows for the PostgreSQL extraction")
    parser.add_argument("--extraction-repeats", type=int, default=3, help="repetitions of the extraction ways")
    parser.add_argument("--work", type=Path, default=ROOT / "out" / "bench", help="workloads and scratch")
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "latest.json", help="results JSON")
    return parser.parse_args(argv)


# --- one stage in a subprocess ----------------------------------------------------------------------


def run_child(spec: dict, work: Path, timeout: float, memory_cap_mb: float, env: dict | None = None) -> dict:
    """Run one stage in a fresh interpreter (with ``env`` added); its result, wall time, and peak RSS (MB)."""
    spec_path = Path(spec["rep_dir"]).parent / f"{spec['side']}-{spec['stage'].replace(':', '_')}.spec.json"
    result_path = spec_path.with_suffix("").with_suffix(".result.json")
    log_path = spec_path.with_suffix("").with_suffix(".log")
    result_path.unlink(missing_ok=True)
    spec = {**spec, "result": str(result_path)}
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    env = {**os.environ, "PM4PY_SHOW_PROGRESS_BAR": "False", "PYTHONPATH": str(ROOT), **(env or {})}
    started = time.monotonic()
    with open(log_path, "w", encoding="utf-8") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "bench.child", str(spec_path)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        stopped, sampled_peak = None, 0.0
        while True:
            pid, status, _usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            rss = _tree_rss_mb(child.pid)
            sampled_peak = max(sampled_peak, rss)
            if time.monotonic() - started > timeout:
                stopped = "timeout"
            elif rss > memory_cap_mb:
                stopped = "memory cap"
            if stopped:
                _kill_group(child.pid)
                _, status, _usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.2)
    wall = time.monotonic() - started
    # The child's own high-water mark (bench.child), or what sampling saw when it was stopped.
    peak = sampled_peak
    if stopped:
        limit = f"{timeout:,.0f} s" if stopped == "timeout" else f"{memory_cap_mb / 1024:,.1f} GB"
        return {
            "status": stopped,
            "error": f"stopped at the {'time limit' if stopped == 'timeout' else 'memory cap'} ({limit})",
            "wall_seconds": round(wall, 1),
            "peak_rss_mb": round(peak, 1),
            "log": str(log_path.relative_to(work)),
        }
    if result_path.exists():
        result = json.loads(result_path.read_text("utf-8"))
        peak = max(peak, result.pop("vm_hwm_mb", 0.0))
    else:
        code = os.waitstatus_to_exitcode(status)
        result = {"status": "error", "error": f"the stage process ended with code {code} and no result"}
    result.update(wall_seconds=round(wall, 1), peak_rss_mb=round(peak, 1), log=str(log_path.relative_to(work)))
    return result


def _tree_rss_mb(pid: int) -> float:
    """The memory of the process tree: its RSS, or with children (our pm4py work runs in forked
    children, bench ``long_trace``) the sum of PSS, which counts the pages a child shares with its
    parent once, as the machine holds them; summed RSS would count them twice."""
    try:
        parent = psutil.Process(pid)
        procs = [parent, *parent.children(recursive=True)]
        if len(procs) == 1:
            return parent.memory_info().rss / 2**20
        return sum(p.memory_full_info().pss for p in procs) / 2**20
    except psutil.Error:
        return 0.0


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


# --- a workload --------------------------------------------------------------------------------------


def run_workload(workload: workloads.Workload, args, repeats: int) -> dict:
    """Every stage of every side, ``repeats`` times; the attempts per side and stage."""
    only = {s for s in args.only.split(",") if s}
    sides = [s for s in args.sides.split(",") if s]
    runs: dict[str, dict[str, list]] = {side: {} for side in sides}
    cap_mb = args.memory_cap_gb * 1024
    for rep in range(1, repeats + 1):
        for side in sides:
            rep_dir = args.work / "runs" / workload.name / f"{side}-rep{rep}"
            shutil.rmtree(rep_dir, ignore_errors=True)
            rep_dir.mkdir(parents=True, exist_ok=True)
            outcome: dict[str, dict] = {}
            for stage in stages_for(side):
                if (only and stage.name not in only) or (workload.only and stage.name not in workload.only):
                    continue
                label = f"{workload.name} rep {rep}/{repeats} {side:5} {stage.name}"
                blocked = [n for n in stage.needs if n in outcome and outcome[n]["status"] != "ok"]
                if blocked:
                    result = {"status": "skipped", "error": f"needs {blocked[0]!r}, which did not finish"}
                elif stage.name.startswith("end_to_end") and (slow := _unfinished(outcome)):
                    name, first = slow
                    result = {
                        "status": first["status"],
                        "error": f"not run: stage {name!r} alone did not finish ({first['error']})",
                        "wall_seconds": first.get("wall_seconds"),
                        "peak_rss_mb": first.get("peak_rss_mb"),
                    }
                else:
                    timeout = args.timeout * (2 if stage.name.startswith("end_to_end") else 1)
                    with console.status(f"{label} ..."):
                        spec = {
                            "workload": workload.to_json(),
                            "side": side,
                            "stage": stage.name,
                            "rep_dir": str(rep_dir / "data"),
                        }
                        result = run_child(spec, args.work, timeout, cap_mb, side_env(side, args))
                outcome[stage.name] = result
                runs[side].setdefault(stage.name, []).append({"rep": rep, **result})
                console.print(f"{label}: {_describe(result)}")
            shutil.rmtree(rep_dir / "data", ignore_errors=True)  # keep the logs, drop the data
    return runs


def side_env(side: str, args) -> dict:
    """Environment of one side's stages: ours runs with the DuckDB memory limit asked for."""
    if side == "ours":
        return {"MOT_DUCKDB_MEMORY_LIMIT": args.duckdb_memory_limit}
    return {}


def _unfinished(outcome: dict) -> tuple[str, dict] | None:
    for name, result in outcome.items():
        if result["status"] in ("timeout", "memory cap"):
            return name, result
    return None


def _describe(result: dict) -> str:
    if result["status"] == "ok":
        return (
            f"{result['seconds']:.2f} s (cpu {result['cpu_seconds']:.1f} s), peak RSS {result['peak_rss_mb']:,.0f} MB"
        )
    return f"[yellow]{result['status']}[/]: {result.get('error', '')}"


def cross_checks(rows: list[dict]) -> list[str]:
    """Notes on whether both ways computed the same things (figures both report)."""
    notes = []
    for row in rows:
        p, o = row["pm4py"], row["ours"]
        if not p or not o or p["status"] != "ok" or o["status"] != "ok":
            continue
        pf, of = p.get("figures", {}), o.get("figures", {})
        if row["key"] in ("dfg_variants", "dfg_variants_raw"):
            same_dfg = pf.get("dfg_sha1") == of.get("dfg_sha1")
            same_var = pf.get("variants_sha1") == of.get("variants_sha1")
            notes.append(
                f"{row['label']}: DFG {of.get('dfg_edges')} edges "
                f"({'identical to' if same_dfg else 'DIFFERENT from'} pm4py's); "
                f"variants: {of.get('variants')} ({'identical' if same_var else 'DIFFERENT'})."
            )
        if row["key"] == "imf":
            same = pf.get("tree_sha1") == of.get("tree_sha1")
            notes.append(f"IMf process tree: {'identical' if same else 'different'} on both sides.")
        if row["key"] == "fitness":
            notes.append(f"Token-replay fitness: pm4py {pf.get('fitness')}, ours {of.get('fitness')}.")
    return notes


# --- the extraction benchmark (bench/extraction.py, written separately) ------------------------------


def run_extraction(args) -> dict:
    """The PostgreSQL -> DuckDB measurement of bench/extraction.py, in its own process, with targets."""
    if not (BENCH / "extraction.py").exists():
        return {"note": "bench/extraction.py is not there"}
    code = (
        "import json; from bench.extraction import measure; "
        f"print(json.dumps(measure(rows={int(args.extraction_rows)}, repeats={int(args.extraction_repeats)})))"
    )
    with console.status("PostgreSQL -> DuckDB extraction ..."):
        try:
            done = subprocess.run(
                [sys.executable, "-c", code],
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                capture_output=True,
                text=True,
                timeout=args.timeout * 2,
            )
        except subprocess.TimeoutExpired:
            return {"note": f"the extraction benchmark did not finish in {args.timeout * 2:,.0f} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"note": f"the extraction benchmark failed: {last}"[:500]}
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return {"figures": figures, "table": extraction_table(figures), "targets": extraction_targets(figures)}


# The extraction table is built in bench/report.py (also from an older results file).
EXTRACTION_WAYS = report.EXTRACTION_WAYS
extraction_table = report.extraction_table


def extraction_targets(figures: dict) -> list[dict]:
    """The extraction targets: ours at least 5x psycopg2 + pandas and at least 500,000 rows/s
    (issue 9); ours at most 1.3x the server's own COPY floor (issue 20)."""
    ours, theirs = figures.get("pg_copy") or figures["connectorx"], figures["psycopg2_pandas"]
    speedup = theirs["seconds"] / ours["seconds"]
    met = speedup >= 5 and ours["rows_per_s"] >= 500_000
    return [
        {
            "target": "PostgreSQL -> DuckDB >= 5x psycopg + pandas and >= 500k rows/s",
            "status": "met" if met else "not met",
            "value": round(speedup, 2),
            "detail": f"{speedup:.1f}x psycopg2 + pandas, {ours['rows_per_s']:,} rows/s "
            f"(end to end with load_batch: {figures.get('full_load', {}).get('rows_per_s', 0):,} rows/s; "
            f"the server's own COPY alone allows at most {_floor_speedup(figures)})",
        },
        _floor_target(figures, ours),
    ]


def _floor_target(figures: dict, ours: dict) -> dict:
    name = "PostgreSQL -> DuckDB client time <= 1.3x the server's COPY floor"
    floor = figures.get("server_copy_floor")
    if not floor:
        return {"target": name, "status": "not measured", "detail": "the floor was not measured"}
    ratio = ours["seconds"] / floor["seconds"]
    before = figures.get("connectorx")
    was = f"; connectorx {before['seconds'] / floor['seconds']:.2f}x" if before and before is not ours else ""
    return {
        "target": name,
        "status": "met" if ratio <= 1.3 else "not met",
        "value": round(ratio, 2),
        "detail": f"{ours['seconds']:.2f} s against the floor's {floor['seconds']:.2f} s: {ratio:.2f}x{was}",
    }


def _floor_speedup(figures: dict) -> str:
    floor = figures.get("server_copy_floor")
    if not floor:
        return "an unmeasured speed-up"
    base = figures["psycopg2_pandas"]["seconds"]
    bound = f"{base / floor['seconds']:.1f}x"
    if floor.get("server_cpu_s"):
        bound += (
            f"; the server process alone spends {floor['server_cpu_s']:.2f} CPU s on the query, "
            f"so even a client that costs nothing gets at most {base / floor['server_cpu_s']:.1f}x"
        )
    return bound


# --- output ------------------------------------------------------------------------------------------


def print_workload(name: str, entry: dict) -> None:
    """The rich table of one workload."""
    table = Table(title=f"{name}: {entry['workload']['description']} ({entry['repeats']} repetitions)")
    for header in report.HEADERS:
        table.add_column(header, justify="left" if header == "stage" else "right")
    for row in entry["rows"]:
        table.add_row(*report.table_cells(row))
    console.print(table)
    for note in entry["notes"]:
        console.print(f"  {note}")
    if entry.get("explore"):
        print_explore(name, entry["explore"])


def print_explore(name: str, figures: dict) -> None:
    """The rich table of the explorer's redraw after a filter (no pm4py counterpart)."""
    if figures.get("status") != "ok":
        console.print(f"{name} explorer redraw: [yellow]{figures.get('status')}[/]: {figures.get('note', '')}")
        return
    table = Table(title=f"{name}: explorer redraw after a filter (no pm4py counterpart)")
    for header in ("filter", "cases kept", "first draw (cold)", "warm, best", "longest part; slowest statement"):
        table.add_column(header, justify="left" if header in ("filter", "longest part; slowest statement") else "right")
    for i, entry in enumerate(figures["filters"]):
        cold = report.fmt_ms(figures["cold"]["seconds"]) if i == 0 and not entry["query"] else "-"
        table.add_row(
            entry["name"], f"{entry['cases']:,}", cold, report.fmt_ms(entry["best_s"]), report.bound_of(entry)
        )
    console.print(table)


def print_targets(found: list[dict]) -> None:
    """The targets and whether this run met them."""
    table = Table(title="Targets (issues 9, 17 and 20)")
    for header in ("target", "status", "measured"):
        table.add_column(header)
    colour = {"met": "green", "not met": "red"}
    for t in found:
        table.add_row(t["target"], f"[{colour.get(t['status'], 'yellow')}]{t['status']}[/]", t["detail"])
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; results to ``--out``."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    args.work = args.work.resolve()
    names = [n for n in args.workloads.split(",") if n and n != "extraction"]
    results = {
        "machine": machine.describe(),
        "load_start": machine.load_average(),
        "started_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "settings": {
            "repeats": args.repeats,
            "large_repeats": args.large_repeats,
            "timeout_s": args.timeout,
            "memory_cap_gb": args.memory_cap_gb,
            "copies": args.copies,
            "sample_cases": args.sample_cases,
            "ours_duckdb_memory_limit": args.duckdb_memory_limit or "DuckDB default (80% of RAM)",
        },
        "workloads": {},
    }
    built = workloads.build(names, args.work, say=console.print, copies=args.copies, sample_cases=args.sample_cases)
    for workload in built:
        repeats = args.repeats if workload.name == "bpic2012" else args.large_repeats
        runs = run_workload(workload, args, repeats)
        rows = report.rows_for(runs)
        entry = {"workload": workload.to_json(), "repeats": repeats, "runs": runs, "rows": rows}
        entry["notes"] = cross_checks(rows)
        entry["explore"] = report.explore_summary(runs)
        results["workloads"][workload.name] = entry
        print_workload(workload.name, entry)
        _write(args.out, results)  # after each workload, so a long run leaves partial results
    if "extraction" in args.workloads.split(","):
        results["extraction"] = run_extraction(args)
    results["load_end"] = machine.load_average()
    results["targets"] = report.targets(results)
    print_targets(results["targets"])
    _write(args.out, results)
    console.print(f"results: {args.out}")
    return 0


def _write(path: Path, results: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    tmp.replace(path)


if __name__ == "__main__":
    sys.exit(main())
