"""Heavy pm4py work under a memory and a time budget (config section ``budgets``, issue 17).

``run_bounded`` runs one piece of work in a child process whose address space may grow by at most
the memory budget (``RLIMIT_AS`` set to what the child holds when it starts plus the budget) and
which is killed at the time budget. A child that runs out of memory or time raises
``BudgetExceeded`` in the caller, which records the skip and goes on: the kernel kills a child, never
the run (or the machine's other processes).

Children come from multiprocessing's *forkserver*: a single-threaded server process, started once
per run with pm4py already imported, forks each child. Forking the run itself (as the first version
did) copied a process with DuckDB's and the pipeline's threads in mid-flight; under load such a
child could crash in C code (segfaults in garbage collection, seen in parallel CI runs). The work
and its inputs travel pickled, so ``work`` must be a module-level function or a ``partial`` of one.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    ``work`` must pickle (a module-level function, or a ``partial`` of one).
    Raises ``BudgetExceeded`` when the child ran out of memory or time; re-raises the work's own
    error otherwise.
    """
    if not (memory_mb or seconds) or not hasattr(os, "fork"):
        return work()
    try:
        return _run_child(work, memory_mb, seconds)
    except ChildCrashed:
        # A crash in C code under a tight address-space cap is not always a clean MemoryError; the
        # same work in a fresh child then runs. A second crash is taken as the memory budget, as a
        # silent death is.
        try:
            return _run_child(work, memory_mb, seconds)
        except ChildCrashed:
            raise BudgetExceeded("memory budget exceeded", f"{memory_mb} MB") from None


class ChildCrashed(Exception):
    """The child died of a crash signal (SIGSEGV, SIGBUS, SIGABRT) before it answered."""


CRASH_SIGNALS = (signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT)


# What the forkserver imports once, so that a child neither pays for pm4py nor maps it under its cap.
PRELOAD = [
    "pm4py",
    "pm4py.algo.conformance.tokenreplay.variants.token_replay",
    "pm4py.algo.discovery.inductive.variants.imf",
    "mining.discovery.store",
]
_context: multiprocessing.context.ForkServerContext | None = None


def _forkserver() -> multiprocessing.context.ForkServerContext:
    global _context
    if _context is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        _context = context
    return _context


def start_server() -> None:
    """Start the forkserver now, so that it imports pm4py while the run does other work (prepare,
    moments) instead of when ``discover`` needs its first child. Returns at once."""
    if hasattr(os, "fork"):
        import multiprocessing.forkserver as forkserver

        _forkserver()
        forkserver.ensure_running()


def stop_server() -> None:
    """Stop the forkserver, if it runs: it holds pm4py (130-190 MB) for nothing once ``discover`` is
    done, while the steps beside and after it peak. A later child starts it again."""
    if hasattr(os, "fork"):
        import multiprocessing.forkserver as forkserver

        forkserver._forkserver._stop()


def _forget_the_parent_s_server() -> None:
    """In a child forked by other means, start a server of its own when it needs one.

    multiprocessing assumes such a child reuses its parent's server, but its liveness check
    (``waitpid`` on the server) fails in any process that is not the server's parent.
    """
    import multiprocessing.forkserver as forkserver
    import threading

    server = forkserver._forkserver
    if server._forkserver_pid is None:
        return
    if server._forkserver_alive_fd is not None:
        os.close(server._forkserver_alive_fd)  # the parent's server no longer waits for this process
    server._forkserver_address = server._forkserver_alive_fd = server._forkserver_pid = None
    server._lock = threading.Lock()  # it may have been held by another thread at the fork


os.register_at_fork(after_in_child=_forget_the_parent_s_server)


def _run_child(work: Callable[[], T], memory_mb: int, seconds: int) -> T:
    context = _forkserver()
    receive, send = context.Pipe(duplex=False)
    with _children_allowed():  # the child copies the config of this process when it is made
        child = context.Process(target=_child, args=(work, memory_mb, send), daemon=True)
        child.start()
    send.close()  # the child holds the only writer: its death ends the read
    try:
        if not receive.poll(seconds or None):
            child.kill()
            child.join()
            raise BudgetExceeded("time budget exceeded", f"{seconds} s")
        data = receive.recv_bytes()
    except EOFError:
        data = b""
    finally:
        receive.close()
    child.join()
    died_of = -child.exitcode if child.exitcode and child.exitcode < 0 else None
    if not data and died_of in CRASH_SIGNALS:
        raise ChildCrashed(signal.Signals(died_of).name)
    if not data:  # killed, or died, before it could answer: under a memory cap, it ran out
        raise BudgetExceeded("memory budget exceeded", f"{memory_mb} MB")
    outcome, value = pickle.loads(data)
    if outcome == "memory":
        raise BudgetExceeded("memory budget exceeded", f"{memory_mb} MB")
    if outcome == "error":
        raise value
    return value


@contextmanager
def _children_allowed() -> Iterator[None]:
    """Start the child without what multiprocessing would carry over from this process that the
    child cannot use, and put it all back after.

    - The program that started the run: multiprocessing would run ``__main__`` again in the child
      (the ``airflow`` or ``mot`` script; in an Airflow task that fails, the task's environment
      withholds the metadata database). The child runs only the work, so it needs none of it.
    - Under Celery's prefork pool (Airflow's CeleryExecutor), billiard's process object stands in
      as multiprocessing's current process: it is daemonic, which multiprocessing refuses children
      to (so that none is orphaned at exit; this child is waited for, or killed, before
      ``run_bounded`` returns), and its authentication key is billiard's type, which multiprocessing
      will not pickle for the child.
    """
    from multiprocessing.process import AuthenticationString

    config = multiprocessing.current_process()._config
    saved = dict(config)
    config.pop("daemon", None)
    if "authkey" in config and type(config["authkey"]) is not AuthenticationString:
        config["authkey"] = AuthenticationString(bytes(config["authkey"]))
    main = sys.modules.get("__main__")
    hidden = {name: main.__dict__.pop(name) for name in ("__spec__", "__file__") if main and name in main.__dict__}
    if main is not None:
        main.__spec__ = None
    try:
        yield
    finally:
        config.clear()
        config.update(saved)
        if main is not None:
            del main.__spec__
            main.__dict__.update(hidden)


def _child(work: Callable, memory_mb: int, send) -> None:  # pragma: no cover - runs in the child
    # The objects the forkserver imported (pm4py: about 190,000) go to the collector's permanent
    # generation: its collections in the child would otherwise write to every one of them and copy
    # the pages it shares with the server (Python's gc.freeze docs; 51 MB PSS less at BPIC2012).
    gc.freeze()
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
        send.send_bytes(data)
        send.close()
    except BaseException:
        code = 1
    finally:
        # No atexit handlers or buffered output of the server run twice.
        os._exit(code)


def _out_of_memory(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "failed to map" in text or "cannot allocate memory" in text


def _address_space() -> int:
    """The child's address space now, in bytes (the whole VmSize: DuckDB's and Python's mappings)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
