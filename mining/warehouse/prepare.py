"""The prepared tables every analysis reads: event_log, cases, variants, dfg_edges, activity_stats.

``prepare`` rebuilds them for one process from the loaded ``events`` (mining/warehouse/sql/prepare.sql),
working through the cases in ranges (``case_ranges``) so that the window sort of a 10-million-event
log stays the size of one range; other steps that write per-event tables chunk with the same ranges.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb

from mining.config.instances import Instances
from mining.warehouse import connect, run_sql
from mining.warehouse.fingerprints import code_digest
from mining.warehouse.sqlfiles import sections, sql_file

# Events per range of cases that prepare orders in one go: bounds the memory of its window sort.
PREPARE_CHUNK_EVENTS = 2_000_000
# Up to this share of changed cases, rebuilding them alone costs less than rebuilding every case
# (BPIC2012: 0.49 s at 5 %, 1.24 s at 30 %, 1.54 s at 50 %, against 1.47-1.57 s for all).
REBUILD_SHARE = 0.5


def prepare_sections() -> dict[str, str]:
    """The sections of prepare.sql: clear, chunks, chunk, finish."""
    return sections(sql_file(__package__, "prepare"))


def case_ranges(
    con: duckdb.DuckDBPyConnection, process: str, chunk_events: int | None = None
) -> list[tuple[str | None, str | None]]:
    """Ranges ``[lo, hi)`` of the case ids of ``process`` (None: open), ascending, with about
    ``chunk_events`` (default ``PREPARE_CHUNK_EVENTS``) events each (from the loaded events, which
    hold the same cases as event_log)."""
    chunk_events = chunk_events or PREPARE_CHUNK_EVENTS
    n_events = con.execute("SELECT count(*) FROM events WHERE process = $p", {"p": process}).fetchall()[0][0]
    chunks = -(-n_events // chunk_events)
    if chunks <= 1:
        return [(None, None)]
    chunks_sql = prepare_sections()["chunks"]
    starts = [row[0] for row in con.execute(chunks_sql, {"process": process, "chunks": chunks}).fetchall()]
    lows = [None, *starts[1:]]
    return list(zip(lows, [*starts[1:], None], strict=True))


def instance_parameters(process: str, settings: Instances) -> dict:
    """The parameters of instances.sql for ``process`` under ``settings``."""
    return {
        "process": process,
        "classifier": settings.classifier,
        "pair": settings.pairs_lifecycle,
        "schedule": settings.schedule,
        "start": settings.start,
        "start_key": settings.start_timestamp,
    }


def prepare(con: duckdb.DuckDBPyConnection, process: str, instances: Instances | None = None) -> int:
    """Bring the prepared tables (event_log, cases, variants, dfg_edges, activity_stats) and the
    activity instances (activity_instances, event_instances) up to date under ``instances``
    (default settings).

    A case's rows depend on its own events alone, so only the cases whose events changed since the
    last prepare (their digest in ``prepared_cases``) are rebuilt, when the code and the instance
    settings are the ones the kept rows were built under and at most ``REBUILD_SHARE`` of the cases
    changed; otherwise every case is. The process-wide tables are rebuilt from the cases either way.
    The tables hold the same rows as a full rebuild would write (tests/test_incremental.py).
    Returns the number of cases rebuilt (gone cases among them).
    """
    parts = prepare_sections()
    merge = sections(sql_file(__package__, "instances"))
    params = instance_parameters(process, instances or Instances())
    settings = prepare_settings(params)
    con.execute("BEGIN TRANSACTION")
    try:
        run_sql(con, parts["digests"], {"process": process})
        run_sql(con, parts["changed"], {"process": process})
        changed, cases = con.execute(parts["counts"]).fetchall()[0]
        rebuild_all = not _only_changed(con, process, settings, changed, cases)
        clear = "clear" if rebuild_all else "clear_changed"
        run_sql(con, parts[clear], {"process": process})
        run_sql(con, merge[clear], params)
        only = "" if rebuild_all else "AND case_id IN (SELECT case_id FROM prepare_changed)"
        chunk, instance_chunk = (text.replace("/*CHANGED*/", only) for text in (parts["chunk"], merge["chunk"]))
        for lo, hi in case_ranges(con, process):
            run_sql(con, chunk, {"process": process, "lo": lo, "hi": hi})
            run_sql(con, instance_chunk, params | {"lo": lo, "hi": hi})
        run_sql(con, parts["finish"], {"process": process})
        run_sql(con, parts["record"], {"process": process, "all": rebuild_all, "settings": settings})
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return cases if rebuild_all else changed


def prepare_settings(params: dict) -> str:
    """What the prepared rows of a process depend on besides its events: the mining code (its SQL
    among it) and the instance settings."""
    return hashlib.sha256(f"{code_digest()}\x1f{json.dumps(params, sort_keys=True)}".encode()).hexdigest()


def _only_changed(con: duckdb.DuckDBPyConnection, process: str, settings: str, changed: int, cases: int) -> bool:
    """Whether to rebuild the ``changed`` of ``cases`` cases alone: the kept rows were built under
    ``settings``, and few enough changed that deleting and appending them costs less."""
    stored = con.execute("SELECT settings FROM prepared_settings WHERE process = $p", {"p": process}).fetchall()
    return bool(stored) and stored[0][0] == settings and changed <= REBUILD_SHARE * cases


def forget_prepared(con: duckdb.DuckDBPyConnection, process: str) -> None:
    """Drop what the prepared rows of ``process`` were built under: its next ``prepare`` rebuilds
    every case (``mot run --full``)."""
    con.execute("DELETE FROM prepared_settings WHERE process = $p", {"p": process}).fetchall()


def process_counts(con: duckdb.DuckDBPyConnection, process: str) -> dict:
    """Cases, events, activities and variants of a prepared process."""
    row = con.execute(
        "SELECT (SELECT count(*) FROM cases WHERE process = $p), "
        "(SELECT count(*) FROM event_log WHERE process = $p), "
        "(SELECT count(*) FROM activity_stats WHERE process = $p), "
        "(SELECT count(*) FROM variants WHERE process = $p)",
        {"p": process},
    ).fetchall()[0]
    return dict(zip(("cases", "events", "activities", "variants"), row, strict=True))


def prepare_process(warehouse: str | Path, process: str, instances: Instances | None = None) -> dict:
    """Bring the prepared tables of ``process`` up to date; return its case, event and variant
    counts and how many cases were rebuilt."""
    with connect(warehouse) as con:
        rebuilt = prepare(con, process, instances)
        return process_counts(con, process) | {"cases_rebuilt": rebuilt}


def prepare_step(warehouse: Path, config, process: str, out_dir: Path) -> dict:
    """Pipeline step (mining.registry): the prepared tables of ``process`` and its counts."""
    return prepare_process(warehouse, process, config.instances)
