"""The pipeline step of discovery (registered in mining.registry): models and their quality."""

from __future__ import annotations

from pathlib import Path

from mining.config import ProjectConfig
from mining.discovery.store import discover
from mining.warehouse import connect


def discover_process(warehouse: str | Path, config: ProjectConfig, process: str) -> tuple[list[dict], list[dict]]:
    """Discover, evaluate and store the models of ``process`` in ``model_runs``, in one transaction
    (a step that fails half-way leaves the previous models); return their quality figures and what
    was skipped for a budget (``budget_skips``)."""
    with connect(warehouse) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            models = discover(con, process, config.discovery, config.budgets)
            skipped = budget_skips(con, process)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return [{"algorithm": model.algorithm, **quality} for model, quality in models], skipped


def discover_step(warehouse: Path, config: ProjectConfig, process: str, out_dir: Path) -> dict:
    """Pipeline step: models and their quality (mining.exports writes the PNML files)."""
    models, skipped = discover_process(warehouse, config, process)
    return {"models": models, "budget_skips": skipped}


def budget_skips(con, process: str) -> list[dict]:
    """The work ``process``'s steps skipped for a budget (table ``budget_skips``), in a stable order."""
    rows = con.execute(
        "SELECT step, work, reason, estimate, budget FROM budget_skips WHERE process = ? ORDER BY step, work",
        [process],
    ).fetchall()
    return [dict(zip(("step", "work", "reason", "estimate", "budget"), row, strict=True)) for row in rows]
