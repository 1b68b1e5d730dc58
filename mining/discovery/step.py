"""The pipeline step of discovery (registered in mining.registry): models and their quality."""

from __future__ import annotations

from pathlib import Path

from mining.config import ProjectConfig
from mining.discovery.store import discover
from mining.warehouse import connect


def discover_process(warehouse: str | Path, config: ProjectConfig, process: str) -> list[dict]:
    """Discover, evaluate and store the models of ``process`` in ``model_runs``, in one transaction
    (a step that fails half-way leaves the previous models); return their quality figures."""
    with connect(warehouse) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            models = discover(con, process, config.discovery)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return [{"algorithm": m.algorithm, **m.quality} for m in models]


def discover_step(warehouse: Path, config: ProjectConfig, process: str, out_dir: Path) -> dict:
    """Pipeline step: models and their quality (mining.exports writes the PNML files)."""
    return {"models": discover_process(warehouse, config, process)}
