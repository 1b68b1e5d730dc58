"""The ``budgets`` section: the memory and time one piece of heavy work may take (issue 17).

pm4py's discovery and conformance run in pure Python on objects that grow with the log: one trace of
200,000 events took ETConformance precision to 24 GB. Each such piece of work runs in a child
process that may grow by at most ``memory_mb`` and run for at most ``seconds``; work whose size
estimate is already beyond its budget is skipped up front. A skipped or cut-short piece is recorded
in ``budget_skips`` with the reason and the budget, shown in the report, and the run goes on.
Each step of each process has a wall-time budget (``step_seconds``) and its SQL a memory limit
(``sql_memory_mb``); past either the run fails with one line naming the step and the key.
The defaults fit a machine of 2 cores and a few GB (docs/reliability.md, "Memory and time budgets").
"""

from __future__ import annotations

from pydantic import Field

from mining.config.base import Strict


class Budgets(Strict):
    """Memory and time budgets of the heavy pieces of work of a step (0 switches a limit off)."""

    # How far one piece of pm4py work (a discovery, its replay, its precision) may grow the process
    # beyond what it holds when the piece starts, in MB.
    memory_mb: int = Field(1536, ge=0)
    # Wall time of one piece of pm4py work, in seconds.
    seconds: int = Field(600, ge=0)
    # ETConformance precision holds every prefix of every variant: about the sum over the variants
    # of length^2 / 2 events. Above this estimate it is skipped before it starts.
    precision_max_prefix_events: int = Field(5_000_000, ge=0)
    # Wall time of one step of one process (its SQL and its pieces of pm4py work), in seconds. Past
    # it the step's SQL is interrupted and the run fails: the later steps read the step's tables.
    step_seconds: int = Field(3600, ge=0)
    # DuckDB's memory limit for the pipeline's connections, in MB (MiB), when the machine setting
    # MOT_DUCKDB_MEMORY_LIMIT is not set (it wins); 0 leaves DuckDB's default (80 % of the memory).
    sql_memory_mb: int = Field(4096, ge=0)
