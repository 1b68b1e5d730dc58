"""The pipeline step of the removal-effect attribution, and the CSV file it contributes to a run."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from mining import outputs
from mining.attribution.analysis import Factor, attribute
from mining.attribution.chain import journey
from mining.config import ProjectConfig
from mining.warehouse import connect, run_sql
from mining.warehouse.sqlfiles import sql_file

CSV_FILES = {outputs.DROPOUT_REMOVAL_CSV: sql_file(__package__, "csv_dropout_removal")}

SCHEMA = pa.schema(
    [
        ("kind", pa.string()),
        ("activity", pa.string()),
        ("state", pa.string()),
        ("rank", pa.int64()),
        ("measurable", pa.bool_()),
        ("reason", pa.string()),
        ("dropouts_avoided", pa.float64()),
        ("ci_low", pa.float64()),
        ("ci_high", pa.float64()),
        ("share_of_dropouts", pa.float64()),
        ("p_dropout", pa.float64()),
        ("p_dropout_without", pa.float64()),
        ("n_cases", pa.int64()),
        ("n_dropout", pa.int64()),
        ("n_cases_through", pa.int64()),
        ("n_dropout_through", pa.int64()),
        ("lift_factor", pa.string()),
        ("lift_rank", pa.int64()),
        ("lift", pa.float64()),
        ("lift_ci_low", pa.float64()),
        ("echo_of", pa.string()),
        ("agreement", pa.string()),
        ("chain", pa.string()),
        ("chain_note", pa.string()),
    ]
)


def read_inputs(con, process: str):
    """The journeys of ``process`` (mot_events + case_outcomes) and its lift ranking (dropout_attribution)."""
    journeys = []
    rows = con.execute(sql_file(__package__, "journeys"), {"process": process}).fetchall()
    for outcome, activities, poor, n_cases in rows:
        # the cases of one distinct journey share its object
        journeys.extend([journey(zip(activities, poor, strict=True), outcome)] * n_cases)
    factors = [
        Factor(kind, activity, lift, ci_low, rank, echo_of)
        for kind, activity, lift, ci_low, rank, echo_of in con.execute(
            sql_file(__package__, "lift_factors"), {"process": process}
        ).fetchall()
    ]
    return journeys, factors


def attribution_step(warehouse: Path, config: ProjectConfig, process: str, out_dir: Path) -> dict:
    """Rebuild ``dropout_removal`` for ``process`` (it reads ``mot_events``, ``case_outcomes`` and
    ``dropout_attribution``: run after moments)."""
    with connect(warehouse) as con:
        journeys, factors = read_inputs(con, process)
        rows = attribute(journeys, factors, config.attribution_markov, config.moments.confidence_level)
        con.register("mot_removal_rows", pa.Table.from_pylist(rows, schema=SCHEMA))
        try:
            con.execute("BEGIN TRANSACTION")
            run_sql(con, sql_file(__package__, "dropout_removal"), {"process": process})
            con.execute("COMMIT")
        finally:
            con.unregister("mot_removal_rows")
    top = [r for r in rows if r["kind"] == "poor_variant" and r["rank"] == 1]
    return {
        "attribution": {
            "removal_measurable": any(r["measurable"] for r in rows),
            "removal_top_poor_variant": top[0]["state"] if top else None,
        }
    }
