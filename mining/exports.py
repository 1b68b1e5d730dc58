"""Every output file of a run, written once from the warehouse tables, for the CLI and the DAGs alike.

The steps write tables only; this module turns them into files: the run-wide CSV files (each step
of ``mining.registry`` names its own), per process the models, DFG and variants, the as-is and
to-be BPMN and the HTML report (with an index page when a config has several processes). Names and
folders come from ``mining.outputs``.

The files of a run are published as one set, with a journal (a write-ahead log of renames):

1. every file is built in a staging folder ``DIR/.export-<pid>`` (same file system as ``DIR``) and
   flushed to disk; a failure here (a full disk included) removes the folder, the old set untouched;
2. the journal ``COMMIT.json`` is written into the staging folder (under a temporary name, then
   renamed): it lists the files to move into place and the files of the previous set to remove.
   Its rename is the commit point of the whole set;
3. the files are moved into place one by one (``os.replace``), the stale ones removed, the staging
   folder deleted. Each move is idempotent, so repeating the list is harmless.

``recover`` runs before anything else is written to ``DIR`` (at the start of every run, under the
warehouse lock): a staging folder with a journal is rolled forward (its remaining moves and
removals are done), one without is deleted. So after a run killed at any point, the next run
starts from the whole old set or the whole new set, never a mix of the two. ``DIR/.outputs.json``
lists the current set; it is moved last.

Why not one symlink to a versioned folder: the output paths are real files in the output folder
(README, docs and other tools walk and copy it), and ``os.walk``/``rglob`` do not follow symlinked
folders. The price of the journal: during step 3 (milliseconds of renames) and after a crash
inside it until the next run, a reader can see part of the new set beside the old.

CSV cells that a spreadsheet would run as a formula are neutralised (``mot_csv_cell``).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from mining import outputs
from mining.config import ProjectConfig
from mining.registry import PROCESS_STEPS, csv_files
from mining.warehouse import connect, quote_ident, sql_literal
from mining.warehouse.sqlfiles import sql_file

STAGING_PREFIX = ".export-"
JOURNAL = "COMMIT.json"


def write_outputs(
    warehouse: str | Path, config: ProjectConfig, out_dir: str | Path, processes: list[str] | None = None
) -> list[Path]:
    """Write the run-wide CSV files and, for ``processes`` (default: the config's), the per-process
    files, and publish them as one set; return the paths written, sorted.

    The files of the config's other processes stay as they are; files of the previous set that
    this run would have written and did not (a process without models any more) are removed.
    """
    # The report (altair, jinja2) is imported here, not at the top: every `mot` command imports this
    # module, and the steps run before it would carry its memory through their peak.
    from mining.report.render import render_index, render_report

    out_dir = Path(out_dir)
    processes = list(config.processes if processes is None else processes)
    recover(out_dir)
    previous = read_manifest(out_dir)
    with staging(out_dir) as stage:
        with connect(warehouse) as con:
            write_csvs(con, config.processes, stage)
            for process in processes:
                write_models(con, process, outputs.models_folder(stage, process))
                write_bpmn(con, config.processes, process, stage)
        reports = []
        for process in processes:
            name = outputs.report_file(config.processes, process)
            # The BPMN files the report embeds are read from the staging folder: this run's.
            html = render_report(warehouse, process, stage, config.processes, project=config.project)
            reports.append(write_text(stage / name, html).name)
        if len(config.processes) > 1:
            # The index links this run's reports and those of the other processes already published.
            index = render_index(warehouse, config.processes, out_dir, config.project, written=tuple(reports))
            write_text(stage / outputs.REPORT_FILE, index)
        new = staged_files(stage)
        kept = [
            name
            for name in previous
            if name not in new
            and outputs.owner(config.processes, name) in set(config.processes) - set(processes)
            and (out_dir / name).is_file()
        ]
        current = sorted(set(new) | set(kept))
        commit(stage, new, [name for name in previous if name not in current], current)
        roll_forward(stage, out_dir)
    return sorted(out_dir / name for name in new)


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
    from mining.report.render import report_pages  # as in export: the report loads only to render

    out_dir = Path(out_dir)
    for name, html in report_pages(warehouse, config, process, out_dir).items():
        write_text(out_dir / name, html)
    return out_dir / outputs.report_file(config.processes, process)


# --- files -----------------------------------------------------------------------------------------


def copy_to_csv(con: duckdb.DuckDBPyConnection, sql: str, params: dict, path: Path) -> None:
    """``COPY (sql) TO path`` as CSV with a header, every text cell passed through ``mot_csv_cell``
    (a cell a spreadsheet would run as a formula gets a leading single quote)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    query = sql.strip().rstrip(";")
    con.execute(sql_file("mining.warehouse", "csv_cell")).fetchall()
    columns = con.execute(f"SELECT * FROM ({query}\n) AS mot_rows LIMIT 0", params).description
    cells = ", ".join(
        f"mot_csv_cell({quote_ident(name)}) AS {quote_ident(name)}" if str(kind) == "VARCHAR" else quote_ident(name)
        for name, kind, *_ in columns
    )
    safe = f"SELECT {cells} FROM ({query}\n) AS mot_rows"
    con.execute(f"COPY ({safe}) TO {sql_literal(path)} (HEADER, DELIMITER ',')", params).fetchall()


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
    """A fresh staging folder inside ``out_dir``, removed afterwards whatever happens (call
    ``recover`` first: it rolls forward or removes the folders of earlier runs)."""
    stage = out_dir / f"{STAGING_PREFIX}{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def staged_files(stage: Path) -> list[str]:
    """The files of ``stage`` as sorted paths relative to it (``/``-separated)."""
    return sorted(p.relative_to(stage).as_posix() for p in stage.rglob("*") if p.is_file())


def read_manifest(out_dir: Path) -> list[str]:
    """The files of the set published last in ``out_dir`` (none for a folder without a manifest)."""
    try:
        return list(json.loads((out_dir / outputs.MANIFEST_FILE).read_text("utf-8"))["files"])
    except FileNotFoundError:
        return []


def commit(stage: Path, new: list[str], stale: list[str], current: list[str]) -> None:
    """Make the staged set durable and write the journal, the commit point of the set."""
    write_bytes(stage / outputs.MANIFEST_FILE, _json({"files": current}))
    for name in [*new, outputs.MANIFEST_FILE]:
        _fsync(stage / name)
    # The manifest moves last: while it still names the old set, the old set is what was published.
    journal = {"move": [*new, outputs.MANIFEST_FILE], "remove": stale}
    write_bytes(stage / JOURNAL, _json(journal))
    _fsync(stage / JOURNAL)
    _fsync(stage)


def roll_forward(stage: Path, out_dir: Path) -> None:
    """Do (again) what the journal of ``stage`` says, then delete ``stage``. Idempotent."""
    journal = json.loads((stage / JOURNAL).read_text("utf-8"))
    for name in journal["move"]:
        source, target = stage / name, out_dir / name
        if source.is_file():  # moved already when an earlier roll-forward was cut short
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
    for name in journal["remove"]:
        (out_dir / name).unlink(missing_ok=True)
        _remove_empty_parents(out_dir / name, out_dir)
    _fsync(out_dir)
    shutil.rmtree(stage, ignore_errors=True)


def recover(out_dir: Path) -> list[Path]:
    """Finish what earlier exports into ``out_dir`` left: roll a committed staging folder forward,
    delete an uncommitted one. Exports run under the warehouse's one-writer lock, so no other
    export is using them. Returns the staging folders that were rolled forward."""
    rolled = []
    for stage in sorted(out_dir.glob(f"{STAGING_PREFIX}*")):
        if (stage / JOURNAL).is_file():
            roll_forward(stage, out_dir)
            rolled.append(stage)
        else:
            shutil.rmtree(stage, ignore_errors=True)
    return rolled


def _remove_empty_parents(path: Path, top: Path) -> None:
    folder = path.parent
    while folder != top and top in folder.parents:
        try:
            folder.rmdir()
        except OSError:  # not empty (or gone): the folder still holds files of the set
            return
        folder = folder.parent


def _json(data: dict) -> bytes:
    return (json.dumps(data, indent=1, sort_keys=True) + "\n").encode("utf-8")


def _fsync(path: Path) -> None:
    """Flush a file or folder to disk, so that the journal never names data a power cut could lose."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
