"""What the `mot` command line loads before any step runs (issue 20: peak RSS of `mot run`).

The steps run in the main process, so every module it imports at start stays resident through
their peak. The report (altair) loads only when the export renders it; waste's chi-square test
uses scipy.special, not scipy.stats (about 46 MB).
"""

from __future__ import annotations

import subprocess
import sys

HEAVY_AT_RENDER_ONLY = ("altair", "scipy.stats", "mining.report.render", "pm4py")


def test_cli_import_leaves_heavy_modules_out():
    modules = repr(HEAVY_AT_RENDER_ONLY)
    code = f"import sys, mining.cli, mining.registry; print(' '.join(m for m in {modules} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert loaded == []


def test_discover_leaves_pm4py_to_its_children(tmp_path):
    """pm4py takes seconds of CPU to import, beside the steps that run while discover waits for its
    children: the run receives plain data (PNML text, the tree as text), never pm4py's objects."""
    csv = tmp_path / "log.csv"
    rows = ["case_id,activity,timestamp"]
    for case in range(40):
        steps = ["register", "check", "decide"] if case % 3 else ["register", "decide", "check", "decide"]
        rows += [f"c{case},{step},2024-01-01T{8 + i:02d}:{case % 60:02d}:00" for i, step in enumerate(steps)]
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from mining import pipeline\n"
        f"config = pipeline.config_for_log({str(csv)!r})\n"
        f"out = Path({str(tmp_path / 'out')!r}); out.mkdir()\n"
        "warehouse = pipeline.warehouse_path(out)\n"
        "for source in config.sources: pipeline.ingest_source(warehouse, config, source)\n"
        "figures, _ = pipeline.run_process_steps(warehouse, config, 'log', out, ['prepare', 'discover'])\n"
        "print(sorted(m['algorithm'] for m in figures['models']), 'pm4py' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split("\n")[-2] == "['heuristics', 'imf'] False"
