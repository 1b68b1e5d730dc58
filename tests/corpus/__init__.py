"""Validation corpus: small simulated event logs with documented truth (issue 16).

    from corpus import LOGS, write_corpus, load_truth
    frame = LOGS["noise_and_cause"](n_cases=4000, seed=505)    # pandas, warehouse column names
    paths = write_corpus(tmp_path)                              # <name>.xes and <name>.csv per log
    truth = load_truth("noise_and_cause")                       # tests/corpus/truth/<name>.yaml

Tests import it as ``corpus`` (tests/ is on sys.path under pytest because tests/conftest.py exists
and tests/ has no __init__.py). Method and per-log truth: docs/validation.md.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from . import simulate
from .truth import DEFAULTS, build_truth, load_truth, write_truth_files
from .writers import write_csv, write_xes, xes_text

LOGS: dict[str, Callable[..., pd.DataFrame]] = {
    "alternatives": simulate.alternatives,
    "lifecycle_queues": simulate.lifecycle_queues,
    "lifecycle_queues_interval": simulate.lifecycle_queues_interval,
    "no_outcomes": simulate.no_outcomes,
    "timers": simulate.timers,
    "noise_and_cause": simulate.noise_and_cause,
    "zero_value_check": simulate.zero_value_check,
}

WRITERS = {"xes": write_xes, "csv": write_csv}


def write_corpus(
    folder: str | Path,
    formats: tuple[str, ...] = ("xes", "csv"),
    names: tuple[str, ...] | None = None,
    n_cases: int | None = None,
    seed: int | None = None,
) -> dict[str, dict[str, Path]]:
    """Generate every log (or ``names``) and write it as ``<folder>/<name>.<format>``.

    Sizes and seeds are the defaults of tests/corpus/truth.py unless ``n_cases`` / ``seed`` are given.
    Returns {name: {format: path}}.
    """
    unknown = set(formats) - set(WRITERS)
    if unknown:
        raise ValueError(f"unknown format(s) {sorted(unknown)}; choose from {sorted(WRITERS)}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, dict[str, Path]] = {}
    for name in names or tuple(LOGS):
        kw = dict(DEFAULTS[name])
        if n_cases is not None:
            kw["n_cases"] = n_cases
        if seed is not None:
            kw["seed"] = seed
        frame = LOGS[name](**kw)
        out[name] = {fmt: WRITERS[fmt](frame, folder / f"{name}.{fmt}") for fmt in formats}
    return out


__all__ = [
    "DEFAULTS",
    "LOGS",
    "build_truth",
    "load_truth",
    "write_corpus",
    "write_csv",
    "write_truth_files",
    "write_xes",
    "xes_text",
]
