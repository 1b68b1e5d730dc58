"""The run audit (table ``run_audit``, migration 016): one row per pipeline run or Airflow publish.

``load_audit`` says what each load read; this says whether the run as a whole got to the end and
which output files it published, or the error it stopped with. Every function here is called under
the warehouse lock (``mining.locking.run_lock``), so no other run writes the table meanwhile.

A failed run records its failure as far as the disk allows: when even that small write fails (the
disk is still full), the row stays 'running', the original error is what the caller sees, and the
next run marks the row failed as interrupted (``start`` does that first).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from mining.warehouse import connect, run_sql, scalar
from mining.warehouse.sqlfiles import sections, sql_file


def _sql(name: str) -> str:
    return sections(sql_file(__package__, "run_audit"))[name]


def start(warehouse: str | Path, purpose: str, processes: list[str]) -> int:
    """Close the rows of runs that died, open this run's row; return its run_id."""
    with connect(warehouse) as con:
        run_sql(con, _sql("interrupted"))
        return scalar(con, _sql("start"), {"purpose": purpose, "processes": list(processes)})


def finish(
    warehouse: str | Path, run_id: int, error: BaseException | None = None, outputs: list[str] | None = None
) -> bool:
    """Record the end of run ``run_id``: succeeded with ``outputs``, or failed with ``error``.

    Returns whether the row was written. A failure to write it is swallowed when the run failed
    anyway (its own error matters more), and raised when the run had succeeded.
    """
    params = {
        "run_id": run_id,
        "status": "failed" if error is not None else "succeeded",
        "error": None if error is None else one_line(error),
        "outputs": None if outputs is None else sorted(outputs),
    }
    try:
        with connect(warehouse) as con:
            run_sql(con, _sql("finish"), params)
    except Exception:
        if error is None:
            raise
        return False
    return True


def last_outputs(warehouse: str | Path) -> list[str] | None:
    """The output files (relative to the output folder) of the last finished run, or None when it
    failed, published none or there is none."""
    with connect(warehouse, read_only=True) as con:
        rows = con.execute(_sql("last_outputs")).fetchall()
    if not rows or rows[0][0] != "succeeded" or rows[0][1] is None:
        return None
    return list(rows[0][1])


DISK_FULL = (os.strerror(errno.ENOSPC), os.strerror(errno.EFBIG))


def one_line(error: BaseException) -> str:
    """The error as one line (line breaks folded). When it was raised from or during a full disk
    (a failed ROLLBACK can hide the write that failed), that error follows: 'message <- earlier'.
    Only those: other chained errors may come from a driver that quotes a connection string, and
    the table must never hold a credential."""
    parts = [" ".join(str(error).split()) or type(error).__name__]
    seen = {id(error)}
    earlier = error.__cause__ or error.__context__
    while earlier is not None and id(earlier) not in seen:
        seen.add(id(earlier))
        text = " ".join(str(earlier).split())
        if any(reason in text for reason in DISK_FULL) and text not in parts:
            parts.append(text)
        earlier = earlier.__cause__ or earlier.__context__
    return " <- ".join(parts)[:2000]


def nothing_to_mine(warehouse: str | Path, process: str) -> str | None:
    """None when ``process`` has events; else why not, in one line: 'no events to mine: N read,
    N quarantined (top reasons ...)'. Checked right after ingest, before any mining step."""
    with connect(warehouse, read_only=True) as con:
        n_events, n_read, n_quarantined = con.execute(_sql("events"), {"p": process}).fetchall()[0]
        if n_events:
            return None
        reasons = con.execute(_sql("reasons"), {"p": process}).fetchall()
    found = f"process {process!r}: no events to mine: {n_read:,} read, {n_quarantined:,} quarantined"
    if reasons:
        found += " (top reasons: " + "; ".join(f"{kind} ({n:,})" for kind, n in reasons) + ")"
    return found
