"""A whole run that several test files read, made once per test session for all xdist workers.

Each whole run of BPIC2012 costs a CI core 15-25 s, and five test files read one with the default
config; the first worker that asks makes it under a file lock, the others wait for it and read it.
"""

from __future__ import annotations

import fcntl
import pickle
import shutil
from pathlib import Path


def make(root: Path, log: Path) -> Path:
    """The output folder of ``mot run LOG`` (the default config) under ``root``, made unless a
    worker made it already; ``summary.pickle`` in it holds the run's ``RunSummary``."""
    from mining import pipeline

    name = log.name.split(".")[0]
    out = root / f"shared-run-{name}"
    with open(root / f"shared-run-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one worker runs it; the others wait here, then read it
        if not (out / "summary.pickle").is_file():
            shutil.rmtree(out, ignore_errors=True)  # what a failed attempt left
            summary = pipeline.run(pipeline.config_for_log(log), out)
            (out / "summary.pickle").write_bytes(pickle.dumps(summary))
    return out


def copy(run: Path, to: Path) -> Path:
    """A copy of the output folder ``run`` at ``to`` (without ``summary.pickle``), for a test that
    writes into it or serves it."""
    shutil.copytree(run, to, ignore=shutil.ignore_patterns("summary.pickle"))
    return to


def summary(run: Path):
    """The ``RunSummary`` of a run that ``make`` made."""
    return pickle.loads((run / "summary.pickle").read_bytes())
