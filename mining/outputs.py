"""The one home of output names and paths: what a run writes where in its output folder.

``DIR/warehouse.duckdb`` and its read snapshot; run-wide CSV files; per process ``models/<p>/``;
the BPMN files (in ``DIR`` for a one-process config, else ``DIR/bpmn/<p>/``); the report
(``report.html``, or ``report-<p>.html`` per process plus ``report.html`` as an index).
``DIR/.outputs.json`` lists the files of the last published set (``mining.exports``).
"""

from __future__ import annotations

import re
from pathlib import Path

WAREHOUSE_FILE = "warehouse.duckdb"
SNAPSHOT_SUFFIX = ".snapshot.duckdb"
AS_IS_FILE = "as-is.bpmn"
TO_BE_FILE = "to-be.bpmn"
REPORT_FILE = "report.html"
MODELS_DIR = "models"
# Run-wide CSV files: one file for all processes, a ``process`` column last. Each step names the
# SQL that fills its files (mining.registry); the names live here.
MOMENTS_CSVS = ("moments.csv", "dropout.csv", "knock_on.csv", "moments_review.csv")
WASTE_CSV = "waste.csv"
EFFORT_CSV = "effort.csv"
DROPOUT_REMOVAL_CSV = "dropout_removal.csv"
# The list of the output files a run published, as one set (mining.exports); hidden, not a result.
MANIFEST_FILE = ".outputs.json"


def warehouse_path(out_dir: str | Path) -> Path:
    """Where the warehouse of an output folder lives."""
    return Path(out_dir) / WAREHOUSE_FILE


def snapshot_path(warehouse: str | Path) -> Path:
    """The read snapshot beside ``warehouse``: ``warehouse.duckdb`` -> ``warehouse.snapshot.duckdb``."""
    warehouse = Path(warehouse)
    return warehouse.with_name(warehouse.name.removesuffix(".duckdb") + SNAPSHOT_SUFFIX)


def models_folder(out_dir: str | Path, process: str) -> Path:
    """The folder of a process's models, DFG and variants: ``DIR/models/<process>``."""
    return Path(out_dir) / MODELS_DIR / process


def bpmn_folder(processes: list[str], process: str, out_dir: str | Path) -> Path:
    """Where a process's BPMN files go: ``DIR`` for a one-process config, else ``DIR/bpmn/<process>``."""
    if len(processes) <= 1:
        return Path(out_dir)
    return Path(out_dir) / "bpmn" / process


def report_file(processes: list[str], process: str) -> str:
    """The report's file name: ``report.html`` for a one-process config, else ``report-<process>.html``."""
    if len(processes) <= 1:
        return REPORT_FILE
    return f"report-{re.sub(r'[^A-Za-z0-9_.-]', '_', process)}.html"


def owner(processes: list[str], relative: str) -> str | None:
    """The process whose files include ``relative`` (a path inside the output folder, with ``/``),
    or None for a run-wide file (the CSV files, the index page, anything else)."""
    for process in processes:
        models = f"{MODELS_DIR}/{process}/"
        bpmn = bpmn_folder(processes, process, "")
        owned = {report_file(processes, process)} | {(bpmn / n).as_posix() for n in (AS_IS_FILE, TO_BE_FILE)}
        if relative.startswith(models) or relative in owned:
            return process
    return None
