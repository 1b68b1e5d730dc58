"""The read snapshot of a warehouse, and opening a warehouse for people's queries.

DuckDB lets one process hold a database file for writing, and a process that merely reads it also
blocks the writer. So the ``queries`` pipeline step, the last one of a run that writes, publishes a
snapshot copy of the finished warehouse next to it (``warehouse.snapshot.duckdb``, replaced
atomically). ``open_for_reading`` reads that snapshot, so neither side waits for the other; it
reads the live file only when asked to (``live``) or when there is no snapshot, and then retries
with back-off while a writer holds the lock.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from mining.outputs import SNAPSHOT_SUFFIX, WAREHOUSE_FILE, snapshot_path
from mining.warehouse import STORAGE_VERSION, apply_engine_settings, lock_holder, sql_literal, storage_version

SNAPSHOT_STORAGE_VERSION = STORAGE_VERSION


class SqlError(Exception):
    """A problem running SQL for a person: bad arguments, a busy warehouse, a failing query."""


def publish_snapshot(warehouse: str | Path) -> tuple[Path, str]:
    """Copy a closed warehouse to its snapshot path, replacing the old snapshot atomically.

    The snapshot is in DuckDB's v1.5 storage format whenever the data allows it, so that the duckdb
    CLI from PyPI (``duckdb-cli``, 1.5 at the time of writing) opens it as well as DuckDB 2 does. A
    warehouse made in that format (every one since ``STORAGE_VERSION``) is copied as a file; an older
    one is copied table by table into the v1.5 format (``COPY FROM DATABASE``), or as a file in its
    own format when something in it needs the newer one (the step's figures say so:
    ``snapshot_storage``). Readers that have the old snapshot open keep reading the old file; new
    readers get the new one; nobody sees a half-written snapshot, because the copy is built under a
    temporary name first. Returns the path and the storage version written.
    """
    warehouse = Path(warehouse)
    target = snapshot_path(warehouse)
    partial = target.with_name(target.name + ".partial")
    for leftover in (partial, partial.with_name(partial.name + ".wal")):
        leftover.unlink(missing_ok=True)
    con = duckdb.connect()
    try:
        apply_engine_settings(con)
        con.execute(f"SET temp_directory = {sql_literal(partial.with_name(partial.name + '.tmp'))}").fetchall()
        con.execute(f"ATTACH {sql_literal(warehouse)} AS live (READ_ONLY)").fetchall()
        storage = _file_copy_storage(con, warehouse) or _copy_tables(con, partial)
    finally:
        con.close()
    if not partial.exists():
        shutil.copyfile(warehouse, partial)
    os.replace(partial, target)
    return target, storage


def _file_copy_storage(con: duckdb.DuckDBPyConnection, warehouse: Path) -> str | None:
    """``SNAPSHOT_STORAGE_VERSION`` when a byte copy of ``warehouse`` is the snapshot: the file is in
    that format and holds everything (no write-ahead log beside it, as after a checkpoint)."""
    wal = warehouse.with_name(warehouse.name + ".wal")
    if wal.exists() and wal.stat().st_size > 0:
        return None
    version = storage_version(con, "live") or ""
    return SNAPSHOT_STORAGE_VERSION if version.rstrip("+") == SNAPSHOT_STORAGE_VERSION else None


def _copy_tables(con: duckdb.DuckDBPyConnection, partial: Path) -> str:
    """Write the attached ``live`` warehouse into ``partial`` in the v1.5 format; when its data needs
    the newer format, leave ``partial`` absent (the caller copies the file) and say ``current``."""
    try:
        con.execute(f"ATTACH {sql_literal(partial)} AS snap (STORAGE_VERSION '{SNAPSHOT_STORAGE_VERSION}')").fetchall()
        con.execute("COPY FROM DATABASE live TO snap").fetchall()
        con.execute("DETACH snap").fetchall()
        return SNAPSHOT_STORAGE_VERSION
    except duckdb.Error:
        con.execute("DETACH DATABASE IF EXISTS snap").fetchall()
        partial.unlink(missing_ok=True)
        return "current"


def resolve_warehouse(path: str | Path) -> Path:
    """A warehouse file from what a person typed: the file itself or an output folder holding it."""
    path = Path(path)
    if path.is_dir():
        path = path / WAREHOUSE_FILE
    if not path.is_file():
        raise SqlError(f"no warehouse at {path}: give a .duckdb file or the output folder of `mot run`")
    return path


def open_for_reading(
    path: str | Path,
    *,
    live: bool = False,
    wait_s: float = 60.0,
    say: Callable[[str], None] | None = None,
) -> tuple[duckdb.DuckDBPyConnection, Path]:
    """Open a warehouse read-only for queries; return the connection and the file it reads.

    Reads the snapshot of the last completed run when there is one (never blocks a pipeline), else
    the live file; while a writer holds the live file it retries with back-off for ``wait_s``
    seconds, telling ``say`` once why it waits.
    """
    say = say or (lambda _msg: None)
    warehouse = resolve_warehouse(path)
    snapshot = snapshot_path(warehouse)
    if warehouse.name.endswith(SNAPSHOT_SUFFIX) or live or not snapshot.is_file():
        target = warehouse
    else:
        target = snapshot
        if warehouse.stat().st_mtime > snapshot.stat().st_mtime + 1:
            say(
                f"reading the snapshot of the last completed run ({snapshot.name}); the live warehouse "
                "has changed since (a run in progress, or one that stopped early): --live reads it"
            )
    return _connect_with_retry(target, wait_s, say), target


def _connect_with_retry(path: Path, wait_s: float, say: Callable[[str], None]) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + wait_s
    delay = 0.05
    told = False
    while True:
        try:
            con = duckdb.connect(str(path), read_only=True)
            con.execute("SET TimeZone = 'UTC'").fetchall()
            return con
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise SqlError(f"cannot open {path}: {exc}") from exc
            holder = lock_holder(str(exc)) or "another process"
            if time.monotonic() >= deadline:
                raise SqlError(
                    f"{path} is being written by {holder} and stayed busy for {wait_s:g} s; "
                    "try again when the run has finished, or raise --wait"
                ) from exc
            if not told:
                say(f"{path.name} is being written by {holder}; waiting up to {wait_s:g} s for it")
                told = True
            time.sleep(min(delay, max(deadline - time.monotonic(), 0)))
            delay = min(delay * 2, 2.0)
