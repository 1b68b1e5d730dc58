"""The pipeline step of the waste analysis, and the CSV file it contributes to a run."""

from __future__ import annotations

from pathlib import Path

from mining import outputs
from mining.config import ProjectConfig
from mining.warehouse import connect
from mining.warehouse.sqlfiles import sql_file
from mining.waste.analysis import analyse

# Run-wide CSV files (mining.exports writes them): file name -> its SQL, from mining/waste/sql.
CSV_FILES = {outputs.WASTE_CSV: sql_file(__package__, "csv_waste")}
WASTE_CSV = outputs.WASTE_CSV


def waste_step(warehouse: Path, config: ProjectConfig, process: str, out_dir: Path) -> dict:
    """Analyse the waste of ``process`` into the warehouse tables; return the figures."""
    with connect(warehouse) as con:
        return {"waste": analyse(con, process, config.waste)}
