"""Moments-of-truth process mining: warehouse, discovery, moments of truth, waste, BPMN, report."""

import os

# pm4py draws tqdm bars on stderr for every replay; our CLI shows its own progress.
os.environ.setdefault("PM4PY_SHOW_PROGRESS_BAR", "False")

__version__ = "0.1.0"
