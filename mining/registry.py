"""The one registry of pipeline steps: adding an analysis adds one line here (docs/contributing.md).

A step is ``run(warehouse, config, process, out_dir) -> figures``: it opens the warehouse, rebuilds
the tables of one process and returns a dict of figures that is merged into the run summary. Steps
write tables only; ``mining.exports`` writes the files, among them the run-wide CSV files each step
names in ``csv_files`` (file name -> SQL over its tables, bound to ``$processes``).

The order is the run order, and the DAGs run the same list. ``beside_until`` lets a step run in a
thread beside the ones after it until the named step, which reads its results (mining.pipeline).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mining.attribution import step as attribution
from mining.bpmn.step import bpmn_step
from mining.config import ProjectConfig
from mining.discovery.step import discover_step
from mining.effort import step as effort
from mining.moments import step as moments
from mining.sqllib import queries_step
from mining.warehouse.prepare import prepare_step
from mining.waste import step as waste

StepFunction = Callable[[Path, ProjectConfig, str, Path], dict]


@dataclass(frozen=True)
class Step:
    """One pipeline step: its name (also its Airflow task and progress word), what it runs, the
    run-wide CSV files it contributes, and the later step it may run beside until."""

    name: str
    run: StepFunction
    csv_files: Mapping[str, str] = field(default_factory=dict)
    beside_until: str | None = None


STEPS: tuple[Step, ...] = (
    Step("prepare", prepare_step),
    # pm4py in pure Python, beside moments -> waste (DuckDB SQL, which releases the GIL): both cores.
    Step("discover", discover_step, beside_until="bpmn"),
    Step("moments", moments.moments_step, moments.CSV_FILES),
    # Python and numpy on one core, beside waste -> bpmn (DuckDB SQL); nothing before queries reads it.
    Step("attribution", attribution.attribution_step, attribution.CSV_FILES, beside_until="queries"),
    Step("waste", waste.waste_step, waste.CSV_FILES),
    Step("effort", effort.effort_step, effort.CSV_FILES),
    # After moments and waste (it draws their figures).
    Step("bpmn", bpmn_step),
    # Last writer: installs the SQL library and publishes the snapshot that `mot sql` reads.
    Step("queries", queries_step),
)

# (name, function) pairs in run order: the form the pipeline, the DAG tasks and the tests iterate.
PROCESS_STEPS: list[tuple[str, StepFunction]] = [(s.name, s.run) for s in STEPS]
BESIDE: dict[str, str] = {s.name: s.beside_until for s in STEPS if s.beside_until}


def csv_files(steps: Sequence[tuple[str, StepFunction]] | None = None) -> dict[str, str]:
    """The run-wide CSV files of ``steps`` (default: all) as ``{file name: SQL}``, in step order."""
    names = {name for name, _ in steps} if steps is not None else None
    found: dict[str, str] = {}
    for step in STEPS:
        if names is None or step.name in names:
            found.update(step.csv_files)
    return found
