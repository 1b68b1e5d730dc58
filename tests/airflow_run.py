"""What the tests that run Airflow for real (scripts/airflow-local) share: a free port, a look into
Airflow's SQLite metadata database, and waiting for a condition with Airflow's log on failure."""

from __future__ import annotations

import socket
import sqlite3
import time
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metadata(home: Path, sql: str, params=()) -> list[tuple]:
    """Read Airflow's metadata database directly (cheaper than a CLI call per poll)."""
    db = home / "airflow.db"
    if not db.exists():
        return []
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return con.execute(sql, params).fetchall()
    except sqlite3.OperationalError:  # tables not created yet
        return []
    finally:
        con.close()


def wait_for(what: str, check, deadline: float, log: Path):
    """``check()``'s first truthy result before ``deadline`` (monotonic), else an AssertionError with
    the end of Airflow's ``log``."""
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what}; Airflow said:\n{log.read_text()[-6000:]}")
