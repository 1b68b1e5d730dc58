"""A deterministic simulator of a consumer-loan origination system, written to SQLite.

The database looks like a real business system (surrogate keys, naive local timestamps, status
codes, contact purposes), and has known effects injected so that the analytics can be tested
against a ground truth (see ``ground_truth.yaml`` and ``data/sample_system/GROUND_TRUTH.md``):

* waste: a rework loop (``Documents requested`` repeated), a zero-value ``Internal double-check``,
  a ``Courtesy call`` that changes nothing, a redundant ``Second approval``;
* a vicious circle: a latent per-case *frustration* ``F`` grows with the bank-side waits the
  customer sits through; ``F`` makes later waits longer (the file falls to the bottom of the pile),
  later contacts more often negative, repeated document requests and status enquiries likelier,
  and withdrawal likelier;
* an upstream drop-out cause: cases whose documents were requested by *letter* withdraw about
  three times as often, mostly right after ``Offer sent`` (where they leave is not the cause).

How it is built: applications are simulated stage by stage with numpy, vectorised over chunks of
``CHUNK`` cases, so a million cases need no per-case Python objects. All times are integer seconds
of naive Europe/Amsterdam wall-clock time; SQLite formats them with ``datetime(?, 'unixepoch')``.
Nothing happens between 23:30 and 06:30, so no time falls into a daylight-saving gap or overlap.
The same ``(n_cases, seed)`` gives a byte-identical file: one ``numpy.random.default_rng(seed)``
drives everything, chunks are processed in order, and rows are inserted in a fixed sort order.

Where each part lives: ``parameters`` (calendar and injected effects), ``reference`` (code lists,
names, teams, tables), ``draws`` (vectorised random draws), ``journey`` (the stages of one chunk),
``rows`` (table rows and surrogate keys), ``sql/`` (schema, indexes, inserts); this module writes
the file and is the public entry point.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from mining.sample_system.journey import Chunk, State, arrivals
from mining.sample_system.parameters import CHUNK
from mining.sample_system.reference import TABLES
from mining.sample_system.rows import chunk_rows, employee_rows
from mining.warehouse.sqlfiles import sections, sql_file, statements

_PACKAGE = "mining.sample_system"


def generate(path: str | Path, n_cases: int = 2000, seed: int = 42) -> dict[str, int]:
    """Write a fresh loan-origination database with ``n_cases`` applications to ``path``.

    Overwrites ``path``. The same ``(n_cases, seed)`` gives a byte-identical file. Returns the row
    count of each table, in schema order.
    """
    if n_cases < 1:
        raise ValueError(f"n_cases must be at least 1, got {n_cases}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (path, path.with_name(path.name + "-journal")):
        stale.unlink(missing_ok=True)
    con = sqlite3.connect(path, isolation_level=None)
    try:
        counts = _write(con, n_cases, seed)
    except BaseException:
        con.close()
        path.unlink(missing_ok=True)
        raise
    con.close()
    return counts


def expected_event_count(db_path: str | Path) -> int:
    """How many events the extraction mappings must yield, counted from the business tables.

    One event per application, status change, contact, document request, received document,
    decision and payment. Deliberately plain SQL, independent of the mapping queries.
    """
    con = sqlite3.connect(Path(db_path).resolve().as_uri() + "?mode=ro", uri=True)
    try:
        (total,) = con.execute(sql_file(_PACKAGE, "event_count")).fetchone()
    finally:
        con.close()
    return int(total)


def _write(con: sqlite3.Connection, n_cases: int, seed: int) -> dict[str, int]:
    """Create the schema, simulate and insert every chunk, index: one transaction."""
    rng = np.random.default_rng(seed)
    state = State(n_cases)
    t_sub, sub_channel = arrivals(rng, n_cases)
    inserts = sections(sql_file(_PACKAGE, "inserts"))
    counts = dict.fromkeys(TABLES, 0)
    # No journal and no fsync: the file is written once, from scratch, and rebuilt on failure.
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-200000")
    con.execute("BEGIN")
    _run_all(con, statements(sql_file(_PACKAGE, "schema")))
    employees = employee_rows()
    con.executemany(inserts["employees"], employees)
    counts["employees"] = len(employees)
    for start in range(0, n_cases, CHUNK):
        stop = min(n_cases, start + CHUNK)
        chunk = Chunk(rng, state, t_sub[start:stop], sub_channel[start:stop])
        chunk.run()
        rows = chunk_rows(chunk)
        for table in TABLES:
            if table in rows:
                con.executemany(inserts[table], rows[table])
                counts[table] += len(rows[table])
    # Indexes after the bulk insert: building them once is faster than keeping them up to date.
    _run_all(con, statements(sql_file(_PACKAGE, "indexes")))
    con.execute("COMMIT")
    return counts


def _run_all(con: sqlite3.Connection, sql: list[str]) -> None:
    """Execute each statement in order (sqlite3's ``execute`` takes one statement at a time)."""
    for statement in sql:
        con.execute(statement)
