"""The pipeline step of the moments analysis (registered in mining/pipeline.py PROCESS_STEPS)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mining.moments.analysis import analyse
from mining.moments.export import write_csvs
from mining.warehouse import connect

if TYPE_CHECKING:  # mining.config imports mining.config.moments; keep the run-time graph acyclic
    from mining.config import ProjectConfig


def moments_step(warehouse: Path, config: ProjectConfig, process: str, out_dir: Path) -> dict:
    """Analyse ``process`` and write the moments CSV files of all the config's processes to ``out_dir``."""
    con = connect(warehouse)
    try:
        figures = analyse(con, process, config.moments)
        write_csvs(con, config.processes, out_dir)
    finally:
        con.close()
    return {"moments": figures}
