"""The pipeline step of the customer-effort analysis, and the CSV file it contributes to a run."""

from __future__ import annotations

from pathlib import Path

from mining import outputs
from mining.config import ProjectConfig
from mining.warehouse import connect, run_sql, scalar
from mining.warehouse.sqlfiles import sql_file

CSV_FILES = {outputs.EFFORT_CSV: sql_file(__package__, "csv_effort")}


def effort_step(warehouse: Path, config: ProjectConfig, process: str, out_dir: Path) -> dict:
    """Rebuild ``case_effort`` for ``process`` (it reads ``mot_events``: run after moments)."""
    params = {"process": process, "high_effort_actions": config.effort.high_effort_actions}
    with connect(warehouse) as con:
        con.execute("BEGIN TRANSACTION")
        run_sql(con, sql_file(__package__, "case_effort"), params)
        con.execute("COMMIT")
        share = scalar(con, "SELECT avg(high_effort::INTEGER) FROM case_effort WHERE process = $p", {"p": process})
    return {"effort": {"high_effort_share": None if share is None else round(share, 6)}}
