"""Faults: a load killed half-way, a full disk, a source database that is down, hung or slow, two
writers on one warehouse, and a mining step that fails. Every fault is real: processes are killed
with SIGKILL, the disk fills up through RLIMIT_FSIZE, the database is a real PostgreSQL server
(blocked by a real lock, or behind a real TCP proxy that comes up late).
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import yaml

from mining import orchestration, pipeline
from mining.config import load_config, parse_config
from mining.locking import WarehouseBusy, lock_path, run_lock
from mining.sources import SourceError
from mining.sources.database import SourceUnavailable, check_reachable, with_retries
from mining.warehouse import connect

MOT = Path(sys.executable).with_name("mot")
AUDIT_COLUMNS = "load_id, process, source, location, rows_read, rows_loaded, rows_new, rows_quarantined, status, error"


def dump(warehouse: Path) -> dict[str, list[tuple]]:
    """Everything a load writes, in a fixed order (load_audit without its clock columns)."""
    con = connect(warehouse, read_only=True)
    try:
        return {
            "events": con.execute(
                "SELECT * EXCLUDE (attrs), CAST(attrs AS VARCHAR) FROM events ORDER BY event_key"
            ).fetchall(),
            "quarantine": con.execute("SELECT * FROM quarantine ORDER BY load_id, row_number").fetchall(),
            "watermarks": con.execute("SELECT * FROM watermarks ORDER BY ALL").fetchall(),
            "load_audit": con.execute(f"SELECT {AUDIT_COLUMNS} FROM load_audit ORDER BY load_id").fetchall(),
        }
    finally:
        con.close()


def python(script: str, *args: str, env: dict | None = None, **popen) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        **popen,
    )


def wait_for_line(proc: subprocess.Popen, prefix: str, timeout: float = 120) -> str:
    """Read the child's output until a line starts with ``prefix``; return that line."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"child ended before {prefix!r}: {proc.wait()} {proc.stderr.read()[-3000:]}")
        if line.startswith(prefix):
            return line.strip()
    raise AssertionError(f"no {prefix!r} within {timeout} s")


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()


def write_config(folder: Path, sources: list[dict], **settings) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "mot.yaml"
    # The logs live in other temporary folders: list them, since a config reads only its own folder
    # and its allowed_roots.
    roots = sorted({str(Path(s["path"]).parent) for s in sources if "path" in s})
    path.write_text(yaml.safe_dump({"project": "faults", "sources": sources, "allowed_roots": roots, **settings}))
    return path


# --- a load killed half-way ------------------------------------------------------------------------

# The loop of mining.pipeline.ingest_source, with a line before and after each load so that the
# test can kill the process while the load's transaction is open.
LOADER = """
    import sys, time
    from mining.config import load_config
    from mining.sources import extract
    from mining.warehouse import connect
    from mining.warehouse.load import load_batch
    config = load_config(sys.argv[1])
    source = config.sources[0]
    con = connect(sys.argv[2])
    for batch in extract(source):
        print("loading", flush=True)
        started = time.monotonic()
        load_batch(con, batch.table, process=source.process, source=source.name, location=batch.location,
                   timezone=config.timezone, timestamp_format=batch.timestamp_format)
        print(f"loaded {time.monotonic() - started:.3f}", flush=True)
    con.close()
    print("closed", flush=True)
"""


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory) -> Path:
    """150,000 events, one row in 97 with an unparseable time (so the quarantine is written too)."""
    path = tmp_path_factory.mktemp("big") / "big.csv"
    with open(path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["case_id", "activity", "timestamp", "resource", "amount"])
        for i in range(150_000):
            ts = f"2024-{1 + i % 12:02d}-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:00" if i % 97 else "not a time"
            writer.writerow([f"c{i // 7}", f"act{i % 11}", ts, f"r{i % 13}", i * 3 % 1000])
    return path


def test_load_killed_half_way_then_rerun_equals_an_uninterrupted_run(tmp_path, big_csv):
    config = write_config(tmp_path, [{"name": "big", "kind": "csv", "path": str(big_csv), "process": "p"}])
    reference = tmp_path / "reference.duckdb"
    proc = python(LOADER, str(config), str(reference))
    wait_for_line(proc, "loading")
    duration = float(wait_for_line(proc, "loaded").split()[1])
    wait_for_line(proc, "closed")
    assert proc.wait() == 0
    expected = dump(reference)
    assert len(expected["events"]) == 148_453 and len(expected["quarantine"]) == 1_547
    mid_transaction = 0
    for fraction in (0.1, 0.4, 0.7):
        warehouse = tmp_path / f"killed_{fraction}.duckdb"
        proc = python(LOADER, str(config), str(warehouse))
        wait_for_line(proc, "loading")
        time.sleep(duration * fraction)
        kill(proc)
        after_kill = dump(warehouse)  # the warehouse opens: the WAL replays committed work only
        assert len(after_kill["events"]) in (0, len(expected["events"]))  # all or nothing
        assert after_kill["load_audit"] in ([], expected["load_audit"])
        mid_transaction += not after_kill["events"]
        rerun = python(LOADER, str(config), str(warehouse))
        assert rerun.wait(timeout=300) == 0, rerun.stderr.read()[-3000:]
        rerun.stdout.close()
        rerun.stderr.close()
        got = dump(warehouse)
        assert got["events"] == expected["events"]
        if not after_kill["events"]:  # killed before its commit: no trace at all, same load id
            assert got == expected
        else:  # the kill came after the commit: the re-run is a second, complete load of the file
            assert got == loaded_twice(config, reference, tmp_path)
    assert mid_transaction >= 1  # at least one kill landed inside the open transaction


def loaded_twice(config: Path, reference: Path, tmp_path: Path) -> dict[str, list[tuple]]:
    """The warehouse of an uninterrupted load followed by a second one of the same file: no new
    events, and the second load's audit row and quarantine rows (each load records what it read)."""
    twice = tmp_path / "twice.duckdb"
    if not twice.exists():
        shutil.copy(reference, twice)
        proc = python(LOADER, str(config), str(twice))
        assert proc.wait(timeout=300) == 0, proc.stderr.read()[-3000:]
        proc.stdout.close()
        proc.stderr.close()
    return dump(twice)


def test_disk_full_during_a_load_leaves_nothing_half_written(tmp_path, big_csv):
    warehouse = tmp_path / "warehouse.duckdb"
    small = write_config(
        tmp_path / "small", [{"name": "s", "kind": "csv", "path": str(write_small_log(tmp_path)), "process": "p"}]
    )
    pipeline.ingest_source(warehouse, load_config(small), load_config(small).sources[0])
    before = dump(warehouse)
    config = write_config(tmp_path / "big", [{"name": "big", "kind": "csv", "path": str(big_csv), "process": "p"}])
    script = """
        import resource, signal, sys
        from mining.config import load_config
        from mining.pipeline import ingest_source
        config = load_config(sys.argv[1])
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[3]), resource.RLIM_INFINITY))
        ingest_source(sys.argv[2], config, config.sources[0])
    """
    limit = warehouse.stat().st_size + 1_000_000  # room for the small WAL entries, not for 150,000 rows
    proc = python(script, str(config), str(warehouse), str(limit))
    assert proc.wait(timeout=300) == 1
    error = proc.stderr.read()
    assert "File too large" in error, error[-3000:]
    after = dump(warehouse)
    assert {k: after[k] for k in ("events", "quarantine", "watermarks")} == {
        k: before[k] for k in ("events", "quarantine", "watermarks")
    }
    failed = after["load_audit"][len(before["load_audit"]) :]
    assert [(row[3], row[8]) for row in failed] in ([], [(str(big_csv), "failed")])  # audited when the disk allowed


# --- the source database: down, hung, slow ----------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_source(conn_id: str = "crm") -> dict:
    sql = "SELECT case_id, activity, ts FROM history"
    return {
        "name": "crm",
        "kind": "postgres",
        "process": "crm",
        "conn_id": conn_id,
        "mappings": [{"name": "history", "sql": sql}],
    }


ROWS = [
    (f"c{i}", activity, f"2024-02-{1 + i % 28:02d} {h:02d}:00:00")
    for i in range(30)
    for h, activity in ((9, "in"), (12, "out"))
]


@pytest.fixture(scope="module")
def crm(postgres):
    """A PostgreSQL database with a small history table; its admin URI."""
    with postgres.database("mot_faults") as uri:
        postgres.execute(uri, "CREATE TABLE history (case_id TEXT, activity TEXT, ts TIMESTAMP)")
        for row in ROWS:
            postgres.execute(uri, "INSERT INTO history VALUES (%s, %s, %s)", row)
        yield uri


def ingest_pg(tmp_path: Path, uri: str, retries: int, delay: float):
    config = parse_config({"sources": [pg_source()]})
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MOT_CONN_CRM", uri)
        env.setenv("MOT_SOURCE_RETRIES", str(retries))
        env.setenv("MOT_SOURCE_RETRY_DELAY_SECONDS", str(delay))
        return pipeline.ingest_source(tmp_path / "warehouse.duckdb", config, config.sources[0])


def nothing_loaded(tmp_path: Path) -> bool:
    got = dump(tmp_path / "warehouse.duckdb")
    return got["events"] == [] and got["load_audit"] == []


def test_source_down_retries_with_back_off_then_fails_cleanly(tmp_path, caplog):
    uri = f"postgresql://mot@127.0.0.1:{closed_port()}/crm"
    started = time.monotonic()
    with caplog.at_level("WARNING", logger="mining.sources.database"), pytest.raises(SourceUnavailable) as err:
        ingest_pg(tmp_path, uri, retries=2, delay=0.2)
    elapsed = time.monotonic() - started
    assert str(err.value).startswith("source 'crm': the postgres server at 127.0.0.1:")
    assert "(connection 'crm') does not answer: Connection refused (gave up after 3 attempts)" in str(err.value)
    waits = [r.getMessage().rsplit("trying again in ", 1)[1] for r in caplog.records]
    assert waits == ["0.2 s", "0.4 s"]  # exponential back-off
    assert 0.6 <= elapsed < 10
    assert nothing_loaded(tmp_path)


class BlackHole:
    """A TCP server that accepts connections and never says a word (a hung database)."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self):
        self.server.close()
        for conn in self.held:
            conn.close()


def test_source_that_accepts_connections_but_never_answers():
    # connectorx alone would wait 30 s in its pool; the probe asks for the first protocol byte.
    hole = BlackHole()
    try:
        source = parse_config({"sources": [pg_source()]}).sources[0]
        uri = f"postgresql://mot@127.0.0.1:{hole.port}/crm"
        started = time.monotonic()
        with pytest.raises(
            SourceUnavailable, match=r"does not answer: no reply within 0\.5 s \(gave up after 2 attempts\)"
        ):
            with_retries(lambda: check_reachable(source, uri, timeout=0.5), "source 'crm'", retries=1, delay_s=0.1)
        assert time.monotonic() - started < 5
    finally:
        hole.close()


def test_slow_source_times_out_is_retried_and_fails_cleanly_or_recovers(tmp_path, crm, postgres):
    import psycopg2

    slow = crm + "?options=" + "-c%20statement_timeout%3D400"  # the connection's own limit, in ms
    blocker = psycopg2.connect(crm)
    try:
        blocker.cursor().execute("LOCK TABLE history IN ACCESS EXCLUSIVE MODE")  # held: every read waits
        with pytest.raises(
            SourceUnavailable, match=r"canceling statement due to statement timeout \(gave up after 2 attempts\)"
        ):
            ingest_pg(tmp_path / "fails", slow, retries=1, delay=0.1)
        assert nothing_loaded(tmp_path / "fails")
        threading.Timer(1.0, blocker.rollback).start()  # the lock goes away during the back-off
        results = ingest_pg(tmp_path / "recovers", slow, retries=4, delay=0.3)
    finally:
        blocker.close()
    assert [(r.rows_read, r.rows_new) for r in results] == [(len(ROWS), len(ROWS))]
    assert len(dump(tmp_path / "recovers" / "warehouse.duckdb")["events"]) == len(ROWS)


class LateProxy:
    """A TCP proxy to the real PostgreSQL server that starts listening only after ``delay`` seconds."""

    def __init__(self, delay: float, target=("127.0.0.1", 5432)):
        self.port = closed_port()
        self.target = target
        self.server: socket.socket | None = None
        self.timer = threading.Timer(delay, self._start)
        self.timer.start()

    def _start(self):
        self.server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self):
        self.timer.cancel()
        if self.server is not None:
            self.server.close()


def test_source_down_then_back_is_loaded_once(tmp_path, crm, caplog):
    proxy = LateProxy(delay=0.6)
    try:
        uri = crm.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        with caplog.at_level("WARNING", logger="mining.sources.database"):
            results = ingest_pg(tmp_path, uri, retries=4, delay=0.3)
    finally:
        proxy.close()
    assert caplog.records and "Connection refused" in caplog.records[0].getMessage()
    assert [(r.rows_read, r.rows_new) for r in results] == [(len(ROWS), len(ROWS))]
    assert len(dump(tmp_path / "warehouse.duckdb")["load_audit"]) == 1


# --- two writers on one warehouse ------------------------------------------------------------------

HOLDER = """
    import sys, time
    from mining.locking import run_lock
    with run_lock(sys.argv[1], purpose="mot run"):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
    print("released", flush=True)
"""


def write_small_log(folder: Path, name: str = "small.csv", cases: int = 120, first: int = 0) -> Path:
    """A small loan-like log: submit, check, then approve+notify or reject, then archive."""
    path = folder / name
    folder.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["case_id", "activity", "timestamp", "resource"])
        for c in range(first, first + cases):
            steps = ["submit", "check"] + (["approve", "notify"] if c % 10 < 7 else ["reject"]) + ["archive"]
            for i, step in enumerate(steps):
                writer.writerow(
                    [f"c{c}", step, f"2024-03-{1 + c % 28:02d} {8 + i:02d}:{c % 60:02d}:00", f"r{(c + i) % 4}"]
                )
    return path


def test_second_writer_fails_clearly_when_it_may_not_wait(tmp_path):
    log = write_small_log(tmp_path)
    config = write_config(tmp_path, [{"name": "small", "kind": "csv", "path": str(log), "process": "small"}])
    out = tmp_path / "out"
    holder = python(HOLDER, str(out / "warehouse.duckdb"), "60")
    try:
        wait_for_line(holder, "held")
        env = {**os.environ, "MOT_LOCK_WAIT_SECONDS": "0.5"}
        done = subprocess.run(
            [str(MOT), "run", str(log), "--out", str(out)], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 2
        error = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert len(error) == 1
        assert re.fullmatch(
            rf"error: another run is writing {re.escape(str(out / 'warehouse.duckdb'))} \(pid {holder.pid} on "
            rf"{re.escape(socket.gethostname())} since 20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ \(mot run\)\); gave up after "
            r"0\.5 s\. Try again when it has finished, or set MOT_LOCK_WAIT_SECONDS to wait longer",
            error[0],
        ), error[0]
        # An Airflow task (the same function the DAG calls) meets the same lock.
        settings = orchestration.Settings(config_file=config, out_dir=out)
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("MOT_LOCK_WAIT_SECONDS", "0.2")
            with pytest.raises(WarehouseBusy, match=rf"\(pid {holder.pid} on .* \(mot run\)\); gave up after 0\.2 s"):
                orchestration.plan("small", s=settings)
        assert not (out / "warehouse.duckdb").exists()  # nobody got in
    finally:
        kill(holder)


def test_lock_of_a_killed_run_is_released_by_the_kernel(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    holder = python(HOLDER, str(warehouse), "60")
    wait_for_line(holder, "held")
    kill(holder)
    started = time.monotonic()
    with run_lock(warehouse, wait_s=5):
        assert time.monotonic() - started < 1
        assert lock_path(warehouse).read_text().startswith(f"pid {os.getpid()} on ")


def test_waiting_writer_goes_ahead_when_the_lock_is_released(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    holder = python(HOLDER, str(warehouse), "1.0")
    wait_for_line(holder, "held")
    told = []
    with run_lock(warehouse, wait_s=30, say=told.append):
        assert holder.wait(timeout=30) == 0
    assert len(told) == 1 and told[0].startswith(f"another run is writing {warehouse} (pid {holder.pid} on ")
    assert told[0].endswith("(mot run)); waiting up to 30 s")
    holder.stdout.close()
    holder.stderr.close()


def test_lock_is_re_entrant_within_one_process(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with run_lock(warehouse, wait_s=0), run_lock(warehouse, wait_s=0):
        pass
    with run_lock(warehouse, wait_s=0):  # released after the outer block: free again
        pass


def test_cli_run_and_dag_tasks_at_once_on_one_warehouse(tmp_path):
    log = write_small_log(tmp_path / "logs")
    config = write_config(tmp_path, [{"name": "small", "kind": "csv", "path": str(log), "process": "small"}])
    out = tmp_path / "out"
    dag = """
        from mining import orchestration as mot
        items = mot.plan("small")
        print("planned", len(items), flush=True)
        staged = [mot.extract("small", item, run_id="scheduled__1") for item in items]
        print("load", mot.load("small", staged), flush=True)
        mot.merge(mot.analyse(mot.snapshot("small")))
        mot.publish(["small"])
        print("dag done", flush=True)
    """
    env = {"MOT_CONFIG": str(config), "MOT_OUT": str(out)}
    cli = subprocess.Popen(
        [str(MOT), "run", "--config", str(config), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    airflow = python(dag, env=env)
    cli_out, cli_err = cli.communicate(timeout=600)
    dag_out, dag_err = airflow.communicate(timeout=600)
    assert cli.returncode == 0, cli_err[-3000:]
    assert airflow.returncode == 0, dag_err[-3000:]
    assert "dag done" in dag_out
    got = dump(out / "warehouse.duckdb")
    keys = [row[0] for row in got["events"]]
    assert len(keys) == len(set(keys)) == 120 * 5 - 36  # every event once: no duplicates
    audit = sorted((row[4], row[6], row[8]) for row in got["load_audit"])
    if "not mined again" in " ".join(cli_out.split()):  # rich may wrap the line
        # The DAG had loaded and mined the file whole before the CLI took the lock: the CLI found it
        # unchanged (same hash, mined under this config) and did not read it again.
        assert audit == [(564, 564, "committed")]
    elif "planned 0" in dag_out:
        # The CLI had loaded the file and kept its hash before the DAG planned: the DAG found the file
        # unchanged and planned nothing to read.
        assert audit == [(564, 564, "committed")]
    else:
        assert audit == [(564, 0, "committed"), (564, 564, "committed")]  # the second writer found all there
    con = connect(out / "warehouse.duckdb", read_only=True)
    assert con.execute("SELECT sum(n_events), count(*) FROM cases WHERE process = 'small'").fetchall() == [(564, 120)]
    con.close()


# --- a mining step that fails ----------------------------------------------------------------------

RUNNER = """
    import resource, signal, sys
    from mining import pipeline
    from mining.config import load_config
    limit = int(sys.argv[3])
    if limit:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    pipeline.run(load_config(sys.argv[1]), sys.argv[2], progress=lambda message: print(message, flush=True))
    print("finished", flush=True)
"""
WAREHOUSE_FILES = ("warehouse.duckdb", "warehouse.duckdb.wal", "warehouse.duckdb.lock", "warehouse.snapshot.duckdb")


def outputs(out: Path) -> dict[str, bytes]:
    """Every result file of a run (not the warehouse files, not hidden work files and folders such
    as a killed export's staging folder), by relative path."""
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file()
        and p.name not in WAREHOUSE_FILES
        and not any(part.startswith(".") for part in p.relative_to(out).parts)
    }


def prepared(warehouse: Path) -> dict[str, list[tuple]]:
    con = connect(warehouse, read_only=True)
    try:
        return {
            t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in ("cases", "variants", "dfg_edges", "activity_stats")
        } | {
            "model_runs": con.execute(
                "SELECT process, model_id, algorithm, pnml FROM model_runs ORDER BY ALL"
            ).fetchall()
        }
    finally:
        con.close()


def run_child(config: Path, out: Path, limit: int = 0) -> subprocess.Popen:
    return python(RUNNER, str(config), str(out), str(limit))


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory):
    """A folder source run once (v1), then again after a second file arrived (v2), both complete;
    returns the folders and what each version left behind."""
    base = tmp_path_factory.mktemp("versions")
    drops = base / "drops"
    write_small_log(drops, "1.csv", cases=120)
    config = write_config(
        base,
        [{"name": "loans", "kind": "csv", "path": str(drops), "process": "loans"}],
        discovery={"algorithms": ["imf"]},
    )
    v1 = base / "v1"
    assert run_child(config, v1).wait(timeout=600) == 0
    v1_state = (outputs(v1), prepared(v1 / "warehouse.duckdb"))
    saved = base / "v1_saved"
    shutil.copytree(v1, saved)
    write_small_log(drops, "2.csv", cases=60, first=1000)
    proc = run_child(config, v1)
    assert proc.wait(timeout=600) == 0, proc.stderr.read()[-3000:]
    v2_state = (outputs(v1), prepared(v1 / "warehouse.duckdb"))
    assert v2_state[1]["cases"] != v1_state[1]["cases"]
    return {"config": config, "v1": saved, "v1_state": v1_state, "v2_state": v2_state}


def fresh_copy(two_versions, target: Path) -> Path:
    shutil.copytree(two_versions["v1"], target)
    return target


def assert_whole(out: Path, two_versions, where: str) -> None:
    """Each result file and each prepared table is one version whole: the previous run's or the new."""
    import xml.etree.ElementTree as ET

    (v1_files, v1_tables), (v2_files, v2_tables) = two_versions["v1_state"], two_versions["v2_state"]
    tables = prepared(out / "warehouse.duckdb")  # the warehouse opens after the fault
    for name, rows in tables.items():
        assert rows in (v1_tables[name], v2_tables[name]), (where, name)
    for name, data in outputs(out).items():
        assert data in (v1_files.get(name), v2_files.get(name)), (where, name)
        if name.endswith((".pnml", ".bpmn")):
            ET.fromstring(data)


def assert_recovers(out: Path, two_versions) -> None:
    """A plain re-run afterwards ends where an undisturbed second run ended."""
    proc = run_child(two_versions["config"], out)
    assert proc.wait(timeout=600) == 0, proc.stderr.read()[-3000:]
    v2_files, v2_tables = two_versions["v2_state"]
    files = outputs(out)
    # The report also shows the load audit, which rightly counts the extra attempts.
    assert {k: v for k, v in files.items() if k != "report.html"} == {
        k: v for k, v in v2_files.items() if k != "report.html"
    }
    assert prepared(out / "warehouse.duckdb") == v2_tables


def test_disk_full_during_mining_leaves_the_previous_results_readable(tmp_path, two_versions):
    # With these limits the run fails while rebuilding the prepared tables, or later in the
    # moments step (the point depends on DuckDB's write sizes; the outcome must not).
    for limit in (60_000, 300_000):
        out = fresh_copy(two_versions, tmp_path / f"out_{limit}")
        proc = run_child(two_versions["config"], out, limit)
        assert proc.wait(timeout=600) == 1
        error = proc.stderr.read()
        assert "File too large" in error, error[-3000:]
        assert_whole(out, two_versions, f"disk full at {limit} bytes")
    assert_recovers(out, two_versions)


def test_killed_during_mining_leaves_the_previous_results_readable(tmp_path, two_versions):
    out = fresh_copy(two_versions, tmp_path / "out")
    for step, delay in (("discover", 0.3), ("export", 0.2)):
        proc = run_child(two_versions["config"], out)
        wait_for_line(proc, f"{step} loans")
        time.sleep(delay)
        kill(proc)
        assert_whole(out, two_versions, f"killed in {step}")
    assert_recovers(out, two_versions)
    assert list(out.glob(".export-*")) == []  # a killed export's staging folder is cleared by the next run


def test_failing_step_output_is_replaced_whole_or_not_at_all(tmp_path):
    from mining.locking import atomic_path, write_text_atomic

    target = tmp_path / "models" / "dfg.csv"
    write_text_atomic(target, "old,complete\n")
    with pytest.raises(OSError), atomic_path(target) as temp:
        temp.write_text("new,half")
        raise OSError(28, "No space left on device")  # what a full disk raises half-way
    assert target.read_text() == "old,complete\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["dfg.csv"]  # no temporary file left


def test_a_file_source_that_vanishes_is_a_clean_error(tmp_path):
    log = write_small_log(tmp_path)
    config = parse_config({"sources": [{"name": "s", "kind": "csv", "path": str(log), "process": "p"}]})
    pipeline.ingest_source(tmp_path / "warehouse.duckdb", config, config.sources[0])
    log.unlink()
    with pytest.raises(SourceError, match=r"small\.csv: file not found"):
        pipeline.ingest_source(tmp_path / "warehouse.duckdb", config, config.sources[0])
    assert len(dump(tmp_path / "warehouse.duckdb")["events"]) == 564
