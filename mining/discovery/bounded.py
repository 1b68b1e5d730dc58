"""Heavy pm4py work under a memory and a time budget (config section ``budgets``, issue 17).

``run_bounded`` runs one piece of work in a forked child whose address space may grow by at most
the memory budget (``RLIMIT_AS`` set to what the child holds at the fork plus the budget) and which
is killed at the time budget. The result comes back pickled through a pipe. A child that runs out
of memory or time raises ``BudgetExceeded`` in the caller, which records the skip and goes on: the
kernel kills a child, never the run (or the machine's other processes).

The child only runs pure-Python pm4py code on objects it was handed; it does not touch DuckDB, so
the connections and threads of the parent (forked as they stood) are never used in it.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import time
from collections.abc import Callable
from typing import TypeVar

from mining.discovery.inputs import Variants

T = TypeVar("T")
MB = 1024 * 1024


class BudgetExceeded(Exception):
    """A piece of work would exceed, or exceeded, its budget: ``reason``, ``budget`` and ``estimate``."""

    def __init__(self, reason: str, budget: str, estimate: str | None = None):
        super().__init__(f"{reason} (budget {budget})")
        self.reason, self.budget, self.estimate = reason, budget, estimate


def prefix_events(log_variants: Variants) -> int:
    """What ETConformance precision holds: the events of every prefix of every variant (sum of n(n+1)/2)."""
    return sum(len(v) * (len(v) + 1) // 2 for v in log_variants)


def run_bounded(work: Callable[[], T], memory_mb: int, seconds: int) -> T:
    """``work()``, run in a child process within ``memory_mb`` more memory and ``seconds`` of wall time.

    0 switches a limit off; with both off (or without ``os.fork``) the work runs in this process.
    Raises ``BudgetExceeded`` when the child ran out of memory or time; re-raises the work's own
    error otherwise.
    """
    if not (memory_mb or seconds) or not hasattr(os, "fork"):
        return work()
    try:
        return _run_child(work, memory_mb, seconds)
    except ChildCrashed:
        # A child forked from this multi-threaded process can, rarely, crash in C code (a segfault
        # while collecting garbage, seen once under a parallel test run); the same work in a fresh
        # child then runs. A second crash is taken as the memory budget, as a silent death is.
        try:
            return _run_child(work, memory_mb, seconds)
        except ChildCrashed:
            raise BudgetExceeded("memory budget exceeded", f"{memory_mb} MB") from None


class ChildCrashed(Exception):
    """The child died of a crash signal (SIGSEGV, SIGBUS, SIGABRT) before it answered."""


CRASH_SIGNALS = (signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT)


def _run_child(work: Callable[[], T], memory_mb: int, seconds: int) -> T:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; its outcome is checked through the parent
        os.close(read_end)
        _child(work, memory_mb, write_end)
    os.close(write_end)
    try:
        data = _read_all(read_end, time.monotonic() + seconds if seconds else None)
    except TimeoutError:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise BudgetExceeded("time budget exceeded", f"{seconds} s") from None
    finally:
        os.close(read_end)
    _, status = os.waitpid(pid, 0)
    if not data and os.WIFSIGNALED(status) and os.WTERMSIG(status) in CRASH_SIGNALS:
        raise ChildCrashed(signal.Signals(os.WTERMSIG(status)).name)
    if not data:  # killed, or died, before it could answer: under a memory cap, it ran out
        raise BudgetExceeded("memory budget exceeded", f"{memory_mb} MB")
    outcome, value = pickle.loads(data)
    if outcome == "memory":
        raise BudgetExceeded("memory budget exceeded", f"{memory_mb} MB")
    if outcome == "error":
        raise value
    return value


def _child(work: Callable, memory_mb: int, write_end: int) -> None:  # pragma: no cover - runs in the child
    code = 0
    try:
        if memory_mb:
            import resource

            held = _address_space()
            limit = held + memory_mb * MB
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        try:
            data = pickle.dumps(("ok", work()), protocol=pickle.HIGHEST_PROTOCOL)
        except MemoryError:
            data = pickle.dumps(("memory", None))
        except (ImportError, OSError) as exc:
            # A library mapped in under the cap fails to map: that is the memory budget too.
            outcome = "memory" if _out_of_memory(exc) else "error"
            data = pickle.dumps((outcome, exc if outcome == "error" else None))
        except Exception as exc:  # the caller re-raises it
            try:
                data = pickle.dumps(("error", exc))
            except Exception:
                data = pickle.dumps(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
        with os.fdopen(write_end, "wb") as out:
            out.write(data)
    except BaseException:
        code = 1
    finally:
        # No atexit handlers or buffered output of the parent run twice.
        os._exit(code)


def _out_of_memory(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "failed to map" in text or "cannot allocate memory" in text


def preload() -> None:
    """Import pm4py here, before a fork: a child importing it under its memory cap may fail to map it."""
    import pm4py  # noqa: F401
    from pm4py.algo.conformance.tokenreplay.variants import token_replay  # noqa: F401
    from pm4py.algo.discovery.inductive.variants import imf  # noqa: F401


def _address_space() -> int:
    """The child's address space now, in bytes (the whole VmSize: DuckDB's and Python's mappings)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _read_all(fd: int, deadline: float | None) -> bytes:
    """Everything written to ``fd`` until the writer closes it; TimeoutError at ``deadline``."""
    chunks = []
    while True:
        wait = None if deadline is None else deadline - time.monotonic()
        if wait is not None and wait <= 0:
            raise TimeoutError
        ready, _, _ = select.select([fd], [], [], wait)
        if not ready:
            raise TimeoutError
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
