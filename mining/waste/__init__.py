"""Waste: step metrics, waste score, removal candidates and what-if removal (docs/waste.md).

``analyse(con, process, settings)`` rebuilds the waste_* tables of a process; ``what_if(con,
process, activities, scope)`` projects the log without steps; ``waste_step`` is the pipeline step.
"""

from mining.config.waste import Waste, Weights
from mining.waste.analysis import analyse, what_if

__all__ = ["Waste", "Weights", "analyse", "what_if"]
