"""The pipeline step of the waste analysis (registered in mining/pipeline.py PROCESS_STEPS)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from mining.warehouse import connect
from mining.waste.analysis import analyse
from mining.waste.score import COMPONENTS

if TYPE_CHECKING:  # mining.config imports mining.config.waste; keep the run-time graph acyclic
    from mining.config import ProjectConfig

WASTE_CSV = "waste.csv"

# waste.csv: the ranking, the components and the what-if figures; ``process`` last, as in the
# other CSV files of a run.
CSV_QUERY = f"""
SELECT activity, waste_score, rank, recommendation, explanation, is_moment_of_truth, reason, merge_into,
    {", ".join(f"c_{k}" for k in COMPONENTS)},
    frequency, cases, rework_rate, median_wait_s, decision_value, rate_diff_pp, rate_diff_ci_low_pp,
    rate_diff_ci_high_pp, whatif_scope, whatif_cases_affected, whatif_steps_removed,
    whatif_mean_throughput_s_saved, whatif_hours_saved_per_month, whatif_work_hours_saved_per_month,
    whatif_mots_saved_per_case, whatif_variants_before, whatif_variants_after, whatif_delay_s,
    whatif_anchor_before, whatif_anchor_after, impact_rank, process
FROM waste_activities
WHERE list_contains($processes, process)
ORDER BY list_position($processes, process), rank
"""


def write_csv(con: duckdb.DuckDBPyConnection, processes: list[str], out_dir: Path) -> Path:
    """Write ``out_dir/waste.csv`` with the rows of ``processes`` (sorted, so runs diff cleanly)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / WASTE_CSV
    target = str(path).replace("'", "''")
    con.execute(f"COPY ({CSV_QUERY}) TO '{target}' (HEADER)", {"processes": processes}).fetchall()
    return path


def waste_step(warehouse: Path, config: ProjectConfig, process: str, out_dir: Path) -> dict:
    """Analyse the waste of ``process`` and write waste.csv for all the config's processes."""
    con = connect(warehouse)
    try:
        figures = analyse(con, process, config.waste)
        write_csv(con, config.processes, Path(out_dir))
    finally:
        con.close()
    return {"waste": figures}
