"""Scale-out: mine every process on any worker at once, with one writer of the warehouse.

DuckDB lets one process write a database file, so the warehouse has exactly one writer at a time
(the tasks in the one-slot pool ``mot_duckdb``), and everything heavy runs outside it on files:

- ``snapshot`` (writer): the events of one process -> ``<folder>/events.parquet``.
- ``analyse`` (any worker, in parallel): a private DuckDB database in a local scratch folder gets
  those events and runs the per-process pipeline steps (prepare, discover, moments, waste, bpmn:
  every step before ``WAREHOUSE_STEPS``), exactly the code ``mot run`` runs; then every result
  table is written as ``<folder>/tables/<table>.parquet``, and ``<folder>/manifest.json`` last.
- ``merge`` (writer): replaces the process's rows of each result table with the Parquet files, in
  one transaction.
- ``publish`` (writer, once): ``WAREHOUSE_STEPS`` (the SQL library and its read snapshot) on the
  merged warehouse, then every output file of the run (mining.exports), as ``mot run`` writes them.

``folder`` is a URL (a local path, ``file://``, or any fsspec file system such as ``s3://``), so
workers on different hosts meet on shared storage; the DuckDB files themselves stay local.
Nothing here imports Airflow.
"""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mining.exports import write_outputs
from mining.handover import filesystem, is_local, join, read_json, write_json
from mining.locking import atomic_path
from mining.pipeline import run_process_steps
from mining.registry import PROCESS_STEPS, StepFunction
from mining.settings import settings as machine_settings
from mining.warehouse import connect, quote_ident, runs, scalar, sql_literal

WAREHOUSE_STEPS = ("queries",)  # run on the warehouse itself, after the merge
EXTRACTION_TABLES = ("events", "load_audit", "quarantine", "watermarks")  # never mined per process
MANIFEST = "manifest.json"
EVENTS_FILE = "events.parquet"


def hostname() -> str:
    """The host name Airflow records for a task (``[core] hostname_callable``).

    ``MOT_WORKER_HOSTNAME`` when set (several workers on one machine need distinct names), else the
    machine's fully qualified name, as Airflow's default does.
    """
    return machine_settings().worker_hostname or socket.getfqdn()


# --- the steps -------------------------------------------------------------------------------------


def parallel_steps() -> list[tuple[str, StepFunction]]:
    """The per-process pipeline steps that run in a private database: all before ``WAREHOUSE_STEPS``."""
    names = [name for name, _ in PROCESS_STEPS]
    tail = names[len(names) - len(WAREHOUSE_STEPS) :]
    if tuple(tail) != WAREHOUSE_STEPS:
        raise RuntimeError(f"mining.registry.STEPS must end with {WAREHOUSE_STEPS}, not {tail}")
    return PROCESS_STEPS[: len(names) - len(WAREHOUSE_STEPS)]


def snapshot(warehouse: str | Path, process: str, folder: str) -> dict:
    """Write the events of ``process`` to ``<folder>/events.parquet``; return what ``analyse`` needs."""
    con = connect(warehouse)
    try:
        n = scalar(con, "SELECT count(*) FROM events WHERE process = $p", {"p": process})
        if not n:
            raise ValueError(f"process {process!r} has no events in {warehouse}: nothing to mine")
        # In the warehouse's own row order, so that the private database is laid out alike.
        sql = "SELECT * FROM events WHERE process = $p ORDER BY rowid"
        _copy_to(con, sql, {"p": process}, join(folder, EVENTS_FILE))
    finally:
        con.close()
    return {"process": process, "folder": folder, "events": n}


def analyse(config, process: str, folder: str, scratch: str | Path | None = None) -> dict:
    """Run the parallel steps of ``process`` in a private database seeded from ``folder``; write
    the result tables and the manifest to ``folder``; return the manifest (JSON-safe)."""
    with _scratch(scratch) as work:
        private, out_dir = work / "warehouse.duckdb", work / "out"
        with connect(private) as con:
            _insert_from(con, "events", join(folder, EVENTS_FILE))
        names = [name for name, _ in parallel_steps()]
        _figures, seconds = run_process_steps(private, config, process, out_dir, names)
        timings = {name: round(value, 3) for name, value in seconds.items()}
        manifest = {
            "process": process,
            "tables": _export_tables(private, process, folder),
            "seconds": timings,
            "host": hostname(),
        }
    write_json(manifest, join(folder, MANIFEST))  # last: a folder with a manifest is complete
    return manifest


def merge(warehouse: str | Path, out_dir: str | Path, folder: str) -> dict:
    """Replace the rows of the folder's process in every result table, in one transaction.
    Running it twice gives the same warehouse."""
    manifest = read_json(join(folder, MANIFEST))
    process = manifest["process"]
    con = connect(warehouse)
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            for table in sorted(manifest["tables"]):
                con.execute(f"DELETE FROM {quote_ident(table)} WHERE process = $p", {"p": process}).fetchall()
                _insert_from(con, table, join(folder, "tables", f"{table}.parquet"))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.close()
    return {"process": process, "rows": sum(manifest["tables"].values())}


def publish(warehouse: str | Path, config, out_dir: str | Path, processes: list[str] | None = None) -> dict:
    """After every merge: ``WAREHOUSE_STEPS`` once (the SQL library and its snapshot are the same for
    every process), then the run's output files for ``processes`` (default: the config's).

    Recorded in ``run_audit`` as an 'airflow publish' run: failed, with the error, when it fails."""
    steps = dict(PROCESS_STEPS)
    processes = list(config.processes if processes is None else processes)
    figures: dict = {}
    run_id = runs.start(warehouse, "airflow publish", processes)
    try:
        for name in WAREHOUSE_STEPS:
            figures.update(steps[name](Path(warehouse), config, processes[0] if processes else "", Path(out_dir)))
        files = write_outputs(warehouse, config, out_dir, processes)
    except BaseException as exc:
        runs.finish(warehouse, run_id, exc)
        raise
    runs.finish(warehouse, run_id, outputs=[p.relative_to(out_dir).as_posix() for p in files])
    figures["files"] = [str(p) for p in files]
    return json.loads(json.dumps(figures, default=str, sort_keys=True))


# --- inside the steps ------------------------------------------------------------------------------


@contextmanager
def _scratch(scratch: str | Path | None) -> Iterator[Path]:
    """A private local folder for one analysis (under ``MOT_SCRATCH`` or the system temp folder)."""
    base = scratch or machine_settings().scratch
    if base is not None:
        Path(base).mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="mot-analyse-", dir=base))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _copy_to(con, sql: str, params: dict, url: str) -> None:
    """Write the result of ``sql`` as a Parquet file at ``url``."""
    fs, path = filesystem(url)
    if is_local(fs):
        with atomic_path(path) as temp:
            con.execute(f"COPY ({sql}) TO {sql_literal(temp)} (FORMAT parquet)", params).fetchall()
        return
    with tempfile.TemporaryDirectory(prefix="mot-export-") as local:
        temp = Path(local) / "part.parquet"
        con.execute(f"COPY ({sql}) TO {sql_literal(temp)} (FORMAT parquet)", params).fetchall()
        fs.put_file(str(temp), path)


def _insert_from(con, table: str, url: str) -> None:
    """Append the rows of the Parquet file at ``url`` to ``table`` (columns matched by name)."""
    fs, path = filesystem(url)
    if is_local(fs):
        con.execute(
            f"INSERT INTO {quote_ident(table)} BY NAME SELECT * FROM read_parquet({sql_literal(path)})"
        ).fetchall()
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    with fs.open(path, "rb") as source:
        reader = pq.ParquetFile(source)
        batches = reader.iter_batches()  # streamed: a remote file never has to fit in memory
        stream = pa.RecordBatchReader.from_batches(reader.schema_arrow, batches)
        con.register("mot_parquet_stream", stream)
        try:
            con.execute(f"INSERT INTO {quote_ident(table)} BY NAME SELECT * FROM mot_parquet_stream").fetchall()
        finally:
            con.unregister("mot_parquet_stream")


def result_tables(con) -> list[str]:
    """The warehouse tables that hold per-process mining results (a ``process`` column, not extraction)."""
    rows = con.execute(
        "SELECT DISTINCT table_name FROM duckdb_columns() WHERE column_name = 'process' "
        "AND database_name = current_database() AND schema_name = 'main' ORDER BY table_name"
    ).fetchall()
    return [name for (name,) in rows if name not in EXTRACTION_TABLES]


def _export_tables(private: Path, process: str, folder: str) -> dict[str, int]:
    """Write every result table's rows of ``process`` to ``<folder>/tables``; return the row counts."""
    con = connect(private)
    try:
        counts = {}
        for table in result_tables(con):
            where = f"FROM {quote_ident(table)} WHERE process = $p"
            counts[table] = scalar(con, f"SELECT count(*) {where}", {"p": process})
            _copy_to(con, f"SELECT * {where}", {"p": process}, join(folder, "tables", f"{table}.parquet"))
    finally:
        con.close()
    return counts
