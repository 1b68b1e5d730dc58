"""Whether a process needs mining again: the digest of what it was last mined from (migration 018).

A process's tables are a pure function of its events, the configuration and the mining code (no
step reads the clock). ``current`` digests the three; when it equals the digest stored after the
process was last mined, its tables are what mining it again would write, and the run leaves them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources

import duckdb

from mining.config import ProjectConfig
from mining.warehouse.sqlfiles import sections, sql_file


@dataclass(frozen=True)
class Inputs:
    """The digest of a process's mining inputs, and its number of events."""

    process: str
    fingerprint: str
    config_digest: str
    n_events: int


def _sql(name: str) -> str:
    return sections(sql_file("mining.warehouse", "mined_inputs"))[name]


def current(con: duckdb.DuckDBPyConnection, config: ProjectConfig, process: str) -> Inputs:
    """The digest of ``process``'s events, the whole configuration and the mining code, now."""
    ((n_events, events),) = con.execute(_sql("events_digest"), {"process": process}).fetchall()
    settings = config_digest(config)
    return Inputs(process, _digest(process, events, settings), settings, int(n_events))


def config_digest(config: ProjectConfig) -> str:
    """The digest of the whole configuration and of the mining code."""
    return _digest(config.model_dump_json(), code_digest())


def same_config(con: duckdb.DuckDBPyConnection, config: ProjectConfig, process: str) -> bool:
    """Whether ``process`` was last mined, to the end, under this configuration and code."""
    rows = con.execute(_sql("stored_config"), {"process": process}).fetchall()
    return bool(rows) and rows[0][0] == config_digest(config)


def _digest(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\x1f")
    return digest.hexdigest()


def unchanged(con: duckdb.DuckDBPyConnection, inputs: Inputs) -> bool:
    """Whether ``process`` was last mined, to the end, from exactly ``inputs``."""
    rows = con.execute(_sql("stored"), {"process": inputs.process}).fetchall()
    return bool(rows) and rows[0][0] == inputs.fingerprint


def forget(con: duckdb.DuckDBPyConnection, process: str) -> None:
    """Drop the stored digest: called before a process's tables are rewritten."""
    con.execute(_sql("forget"), {"process": process}).fetchall()


def record(con: duckdb.DuckDBPyConnection, inputs: Inputs) -> None:
    """Store the digest: called after the process's last step succeeded."""
    params = {
        "process": inputs.process,
        "fingerprint": inputs.fingerprint,
        "config_digest": inputs.config_digest,
        "n_events": inputs.n_events,
    }
    con.execute(_sql("record"), params).fetchall()


@cache
def code_digest() -> str:
    """A digest of the mining package's code, SQL and rule files: an upgrade mines everything again."""
    digest = hashlib.sha256()
    root = resources.files("mining")
    for path in sorted(_files(root), key=lambda p: p[0]):
        digest.update(path[0].encode())
        digest.update(path[1].read_bytes())
    return digest.hexdigest()


def _files(folder, prefix: str = ""):
    for entry in folder.iterdir():
        name = f"{prefix}{entry.name}"
        if entry.is_dir():
            if entry.name != "__pycache__":
                yield from _files(entry, name + "/")
        elif entry.name.endswith((".py", ".sql", ".yaml", ".html", ".js", ".css")):
            yield name, entry
