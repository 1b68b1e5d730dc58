"""What the tests that run Airflow for real (scripts/airflow-local) share: a free port, a look into
Airflow's SQLite metadata database, and waiting for a condition with Airflow's log on failure."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


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


def wait_for(what: str, check, deadline: float, log: Path | Callable[[], str], every: float = 2.0):
    """``check()``'s first truthy result before ``deadline`` (monotonic), else an AssertionError with
    the end of Airflow's ``log`` (or what the callable ``log`` says)."""
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    said = log() if callable(log) else log.read_text()[-6000:]
    raise AssertionError(f"timed out waiting for {what}; Airflow said:\n{said}")


def airflow_env(home: Path, port: int, config: Path, out: Path) -> dict[str, str]:
    """The environment of a test's Airflow: AIRFLOW_HOME ``home`` on ``port``, MOT_CONFIG ``config``,
    MOT_OUT ``out``, no AIRFLOW_* or MOT_* of the caller, the venv's ``airflow`` first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MOT_"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW_PORT=str(port),
        MOT_CONFIG=str(config),
        MOT_OUT=str(out),
        MOT_RETRY_DELAY_SECONDS="5",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def start_airflow(env: dict[str, str], log: Path) -> subprocess.Popen:
    """``scripts/airflow-local`` in ``env``, in a session of its own, its output to ``log``; stop it
    with ``stop_airflow``."""
    with open(log, "wb") as sink:
        return subprocess.Popen(
            [str(REPO / "scripts" / "airflow-local")],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_airflow(airflow: subprocess.Popen) -> None:
    """Ctrl-C to the script (it stops its components), then SIGKILL to whatever outlived it."""
    os.killpg(airflow.pid, signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        airflow.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(airflow.pid, signal.SIGKILL)
    airflow.wait()


def asset_events(name: str) -> int:
    """How many events the Asset ``name`` has in the metadata database of this test process's Airflow."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.settings import Session

    with Session() as session:
        return (
            session.query(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetModel.name == name)
            .count()
        )
