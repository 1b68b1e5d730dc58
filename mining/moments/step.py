"""The pipeline step of the moments analysis, and the CSV files it contributes to a run."""

from __future__ import annotations

from pathlib import Path

from mining import outputs
from mining.config import ProjectConfig
from mining.moments.analysis import analyse
from mining.warehouse import connect
from mining.warehouse.sqlfiles import sql_file

# Run-wide CSV files (mining.exports writes them): file name -> its SQL, from mining/moments/sql.
# dropout.csv keeps section 'place' (where customers left) apart from section 'cause' (upstream
# factors, ranked), so that the place is never read as the cause.
CSV_FILES = {
    name: sql_file(__package__, sql)
    for name, sql in zip(
        outputs.MOMENTS_CSVS, ("csv_moments", "csv_dropout", "csv_knock_on", "csv_moments_review"), strict=True
    )
}


def moments_step(warehouse: Path, config: ProjectConfig, process: str, out_dir: Path) -> dict:
    """Analyse the moments of truth of ``process`` into the warehouse tables; return the figures."""
    with connect(warehouse) as con:
        return {"moments": analyse(con, process, config.moments)}
