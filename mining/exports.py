"""Every output file of a run, written once from the warehouse tables, for the CLI and the DAGs alike.

The steps write tables only; this module turns them into files: the run-wide CSV files (each step
of ``mining.registry`` names its own), per process the models, DFG and variants, the as-is and
to-be BPMN and the HTML report (with an index page when a config has several processes). Names and
folders come from ``mining.outputs``.

Files are built in a staging folder inside the output folder and then moved into place one by one
(``os.replace``, atomic per file on one file system): a run that fails while exporting leaves every
previous file whole, and no half-written file is ever visible.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from mining import outputs
from mining.config import ProjectConfig
from mining.registry import PROCESS_STEPS, csv_files
from mining.report.render import render_index, render_report, report_pages
from mining.warehouse import connect, sql_literal

STAGING_PREFIX = ".export-"


def write_outputs(
    warehouse: str | Path, config: ProjectConfig, out_dir: str | Path, processes: list[str] | None = None
) -> list[Path]:
    """Write the run-wide CSV files and, for ``processes`` (default: the config's), the per-process
    files; return the paths written, sorted."""
    out_dir = Path(out_dir)
    processes = list(config.processes if processes is None else processes)
    with staging(out_dir) as stage:
        with connect(warehouse) as con:
            write_csvs(con, config.processes, stage)
            for process in processes:
                write_models(con, process, outputs.models_folder(stage, process))
                write_bpmn(con, config.processes, process, stage)
        for process in processes:
            name = outputs.report_file(config.processes, process)
            html = render_report(warehouse, process, stage, config.processes, project=config.project)
            write_text(stage / name, html)
        written = publish(stage, out_dir)
    if len(config.processes) > 1:
        # After the reports are in place: the index links every report that exists, this run's or not.
        index = render_index(warehouse, config.processes, out_dir, config.project)
        written.append(write_text(out_dir / outputs.REPORT_FILE, index))
    return sorted(written)


def write_csvs(con: duckdb.DuckDBPyConnection, processes: list[str], out_dir: str | Path) -> list[Path]:
    """Write every step's run-wide CSV files with the rows of ``processes`` (in that order)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, sql in csv_files(PROCESS_STEPS).items():
        path = out_dir / name
        copy_to_csv(con, sql, {"processes": list(processes)}, path)
        written.append(path)
    return written


def write_models(con: duckdb.DuckDBPyConnection, process: str, folder: Path) -> list[Path]:
    """The stored models of ``process`` as PNML (and the IMf tree as text), its DFG and variants as CSV."""
    rows = con.execute(
        "SELECT algorithm, pnml, process_tree FROM model_runs WHERE process = $p ORDER BY algorithm", {"p": process}
    ).fetchall()
    if not rows:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for algorithm, pnml, tree in rows:
        written.append(write_text(folder / f"{algorithm}.pnml", pnml))
        if tree is not None:
            written.append(write_text(folder / f"{algorithm}.tree.txt", tree + "\n"))
    dfg = (
        "SELECT source_activity, target_activity, frequency, n_cases, mean_s, median_s "
        "FROM dfg_edges WHERE process = $p ORDER BY source_activity, target_activity"
    )
    variants = (
        "SELECT rank, variant_id, n_cases, share, n_events, array_to_string(activities, ' > ') AS activities "
        "FROM variants WHERE process = $p ORDER BY rank"
    )
    for name, sql in (("dfg.csv", dfg), ("variants.csv", variants)):
        copy_to_csv(con, sql, {"p": process}, folder / name)
        written.append(folder / name)
    return written


def write_bpmn(con: duckdb.DuckDBPyConnection, processes: list[str], process: str, out_dir: Path) -> list[Path]:
    """The as-is and to-be BPMN documents the bpmn step stored for ``process``."""
    rows = con.execute("SELECT as_is, to_be FROM bpmn_documents WHERE process = $p", {"p": process}).fetchall()
    if not rows:
        return []
    folder = outputs.bpmn_folder(processes, process, out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    as_is, to_be = rows[0]
    return [
        write_bytes(folder / outputs.AS_IS_FILE, as_is),
        write_bytes(folder / outputs.TO_BE_FILE, to_be),
    ]


def write_report(warehouse: str | Path, config: ProjectConfig, process: str, out_dir: str | Path) -> Path:
    """Write the HTML report of ``process`` (and, with several processes, the index); return its path."""
    out_dir = Path(out_dir)
    for name, html in report_pages(warehouse, config, process, out_dir).items():
        write_text(out_dir / name, html)
    return out_dir / outputs.report_file(config.processes, process)


# --- files -----------------------------------------------------------------------------------------


def copy_to_csv(con: duckdb.DuckDBPyConnection, sql: str, params: dict, path: Path) -> None:
    """``COPY (sql) TO path`` as CSV with a header."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"COPY ({sql.strip().rstrip(';')}) TO {sql_literal(path)} (HEADER, DELIMITER ',')", params).fetchall()


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` as UTF-8 to ``path``; return the path."""
    return write_bytes(path, text.encode("utf-8"))


def write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename (whole or not at all)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)
    return path


@contextmanager
def staging(out_dir: Path) -> Iterator[Path]:
    """A fresh staging folder inside ``out_dir``, removed afterwards whatever happens.

    Staging folders that a killed export left behind are removed first: exports run under the
    warehouse's one-writer lock, so no other export is using them.
    """
    for leftover in out_dir.glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(leftover, ignore_errors=True)
    stage = out_dir / f"{STAGING_PREFIX}{os.getpid()}"
    stage.mkdir(parents=True)
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def publish(stage: Path, out_dir: Path) -> list[Path]:
    """Move every file of ``stage`` to the same place under ``out_dir``; return the new paths."""
    moved = []
    for path in sorted(p for p in stage.rglob("*") if p.is_file()):
        target = out_dir / path.relative_to(stage)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        moved.append(target)
    return moved
