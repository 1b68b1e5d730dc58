"""One writer at a time per warehouse, and outputs that are replaced whole or not at all.

DuckDB lets one process open a database file for writing; a second one fails at once with an IO
error. A pipeline run opens and closes the warehouse once per step, so two runs against one output
folder (two ``mot run`` commands, or a command-line run and an Airflow task) would interleave their
steps and one of them would fail at a random point. ``run_lock`` makes the whole run (or the whole
Airflow task) exclusive instead: the second writer waits, saying who holds the warehouse, and gives
up with a clear message after ``MOT_LOCK_WAIT_SECONDS`` (default 600).

The lock is ``flock`` on ``<warehouse>.lock`` beside the warehouse. The kernel releases it when the
holding process ends, however it ends (a SIGKILL included), so a crashed run never holds the lock.
A holder that releases the lock normally (a run that succeeded or failed) also removes the file,
so no lock file is left behind to look stale. That is safe with ``flock`` because every taker
checks, once it holds the lock, that the file it locked is still the one at the path (same inode);
a waiter that locked a file the previous holder has just unlinked starts again on the new one, so
two processes never hold "the" lock on two different files. A killed holder leaves the file (it
cannot clean up); the next holder removes it on release. Within one process the lock is
re-entrant, so a run can call steps that take it too.

``atomic_path`` and ``write_text_atomic`` write an output file under a temporary name in the same
folder and rename it over the old one, so a reader (or a failed step) never sees half a file.
"""

from __future__ import annotations

import fcntl
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from mining.settings import settings as machine_settings

WAIT_ENV = "MOT_LOCK_WAIT_SECONDS"  # named in the message of WarehouseBusy
POLL_S = 0.2

_held: dict[Path, list] = {}  # lock file -> [open file, depth], for re-entry in this process
_guard = threading.Lock()


class WarehouseBusy(ValueError):
    """Another process is writing the warehouse and did not finish in time.

    A ValueError, like the other errors the command line reports as one plain line.
    """


def lock_path(warehouse: str | Path) -> Path:
    """The lock file of a warehouse: ``warehouse.duckdb.lock`` beside it."""
    warehouse = Path(warehouse)
    return warehouse.with_name(warehouse.name + ".lock")


def wait_seconds(environ: dict[str, str] | None = None) -> float:
    """How long to wait for another writer: ``MOT_LOCK_WAIT_SECONDS``, or 600 (``mining.settings``)."""
    return machine_settings(environ).lock_wait_seconds


def holder(warehouse: str | Path) -> str:
    """Who holds (or last held) the warehouse, as the lock file says: 'pid N on HOST since T (what)'."""
    try:
        text = lock_path(warehouse).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        text = ""
    return text or "an unknown process"


@contextmanager
def run_lock(
    warehouse: str | Path,
    purpose: str = "mot run",
    wait_s: float | None = None,
    say: Callable[[str], None] | None = None,
) -> Iterator[Path]:
    """Hold the exclusive writer lock of ``warehouse`` for the body of the ``with``.

    Waits up to ``wait_s`` seconds (default ``wait_seconds()``) for another holder, telling ``say``
    once who it waits for; then raises WarehouseBusy naming the warehouse, the holder and the wait.
    """
    path = lock_path(warehouse).resolve()
    with _guard:
        entry = _held.get(path)
        if entry is not None:
            entry[1] += 1
    if entry is not None:
        try:
            yield path
        finally:
            with _guard:
                entry[1] -= 1
        return
    handle = _acquire(path, Path(warehouse), purpose, wait_seconds() if wait_s is None else wait_s, say)
    with _guard:
        _held[path] = [handle, 1]
    try:
        yield path
    finally:
        with _guard:
            entry = _held[path]
            entry[1] -= 1
            done = entry[1] == 0
            if done:
                del _held[path]
        if done:
            # Unlink while still holding the lock: a waiter that gets the lock next finds the path
            # gone (or another inode there) and starts again on a fresh file (see _acquire).
            _unlink_if_ours(path, handle)
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()


def _is_ours(path: Path, handle) -> bool:
    """Whether the open ``handle`` is still the file at ``path`` (not unlinked, not replaced)."""
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(handle.fileno())
    return (on_disk.st_dev, on_disk.st_ino) == (mine.st_dev, mine.st_ino)


def _unlink_if_ours(path: Path, handle) -> None:
    if _is_ours(path, handle):
        path.unlink(missing_ok=True)


def _acquire(path: Path, warehouse: Path, purpose: str, wait_s: float, say: Callable[[str], None] | None):
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_s
    told = False
    while True:
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held open for as long as the lock
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if _is_ours(path, handle):
                break
            # The holder we waited for removed this file on release: lock the path's new file.
            handle.close()
            continue
        except BlockingIOError:
            who = holder(warehouse)
            handle.close()
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"another run is writing {warehouse} ({who}); gave up after {wait_s:g} s. "
                    f"Try again when it has finished, or set {WAIT_ENV} to wait longer"
                ) from None
            if not told and say is not None:
                say(f"another run is writing {warehouse} ({who}); waiting up to {wait_s:g} s")
                told = True
            time.sleep(min(POLL_S, max(0.0, deadline - time.monotonic())))
    since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()} on {socket.gethostname()} since {since} ({purpose})\n")
    handle.flush()
    return handle


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path to write ``path``'s new content to; renamed over ``path`` on success.

    On an error the temporary file is removed and the old ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Same folder (a rename within one file system is atomic), same suffix (DuckDB's COPY picks
    # the format by it), hidden name (nobody takes it for a result).
    temp = path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")
    try:
        yield temp
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` so that readers see the old file or the new one, never half."""
    with atomic_path(path) as temp:
        temp.write_text(text, encoding="utf-8")
