"""Run one stage in this (fresh) process and write its result: ``python -m bench.child SPEC.json``.

The spec names the workload, side, stage and scratch folder; the result file gets the clocked
wall and CPU seconds, the figures, or the error, and this process's own peak RSS (VmHWM). The
parent also samples the RSS of the whole process tree while the stage runs.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

from bench.stages import PM4PY_IN_PROCESS, Context, MissingInput, find
from bench.workloads import Workload


def main(spec_path: str) -> int:
    """Run the stage the spec names; 0 on success."""
    spec = json.loads(Path(spec_path).read_text("utf-8"))
    result_path = Path(spec["result"])
    ctx = Context(workload=Workload(**spec["workload"]), rep_dir=Path(spec["rep_dir"]))
    ctx.rep_dir.mkdir(parents=True, exist_ok=True)
    # Heavy imports before any clock starts (a notebook has them loaded): only what the stage's own
    # process works with, as it holds them through its peak; `mot run` never imports pm4py.
    import_for(spec["side"], spec["stage"], reads_xes=ctx.workload.kind == "xes")
    try:
        figures = find(spec["side"], spec["stage"]).run(ctx)
        result = {"status": "ok", "figures": figures}
    except MissingInput as exc:
        result = {"status": "skipped", "error": str(exc)}
    except Exception as exc:  # reported in the results, with the traceback in the stage log
        traceback.print_exc()
        result = {"status": "error", "error": f"{type(exc).__name__}: {exc}"[:500]}
    result.update(seconds=round(ctx.seconds, 3), cpu_seconds=round(ctx.cpu, 3), sections=ctx.sections)
    result["vm_hwm_mb"] = peak_rss_mb()
    result_path.write_text(json.dumps(result, sort_keys=True), encoding="utf-8")
    return 0 if result["status"] == "ok" else 1


def import_for(side: str, stage: str, reads_xes: bool = False) -> None:
    """Import what the stage's process works with: DuckDB and pandas on both sides, pm4py on
    pm4py's and in our stages that call pm4py's code here (``PM4PY_IN_PROCESS``), the pipeline on ours,
    and on ours rustxes when the workload is an XES file.

    rustxes brings polars (about 0.4 s), which ``import pm4py`` loads on pm4py's side: untimed on
    both sides, so that reading the file compares the readers, not who imported polars first.
    """
    import duckdb  # noqa: F401
    import pandas  # noqa: F401

    if side == "pm4py" or stage in PM4PY_IN_PROCESS:
        import pm4py  # noqa: F401
    if side == "ours":
        import mining.pipeline  # noqa: F401

        if reads_xes:
            import rustxes  # noqa: F401


def peak_rss_mb() -> float:
    """This process's peak resident set size in MB (VmHWM).

    Not ``wait4``'s ``ru_maxrss`` in the parent: Linux keeps the high-water mark across fork and
    exec, so a child of a large parent would report the parent's size, whatever it used itself.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)  # kB
    raise RuntimeError("/proc/self/status has no VmHWM line")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
