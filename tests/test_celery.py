"""Scale-out for real: Airflow 3 on the CeleryExecutor (``scripts/airflow-celery``) with the running
Redis as the broker and a fresh PostgreSQL database as the metadata database, the API server,
scheduler, DAG processor and two Celery workers each a process of its own (``worker-a`` and
``worker-b``, as the task instances record them). Three sources (the sample business system, and
two real logs read in place) are extracted and their three processes mined with the DAGs as they
are; the warehouse must equal the one a single-process ``mot run`` over the same config builds.
One worker is killed while it mines: its task is retried on the other and the warehouse is still
equal. A second test runs the same hand-over through a non-local fsspec URL (``memory://``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

import psutil
import pytest
import redis
import yaml

from mining import orchestration, pipeline
from mining.config import load_config
from mining.sample_system.generator import generate
from mining.warehouse import connect

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "airflow-celery"
LOGS = REPO.parent / "shared" / "data" / "logs"
SOURCES = ("loans", "receipt", "roadtraffic")
WORKERS = ("worker-a", "worker-b")
DEADLINE_S = 900
# Columns that differ between two correct runs: load ids and times of a load, the watermarks that
# only the scheduled loads keep, ``seq`` (load id << 32 + row: `mot run` loads the mappings in
# config order, the load task by item name), and the prepare digests of cases (prepared_cases), which
# cover seq. Event keys are compared: they depend on the content only.
VOLATILE = {"load_id", "started_at", "finished_at", "duration_s", "watermark_before", "watermark_after", "seq"}
VOLATILE |= {"digest_xor", "digest_sum"}
# `mot run` keeps no watermarks for files, the DAGs do; runs differ by kind; only `mot run` records what
# it mined from (the DAGs mine what an Asset event names, and a merge drops the process's digest).
NOT_COMPARED = {"watermarks", "run_audit", "mined_inputs"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def three_process_config(folder: Path) -> Path:
    """The sample system (300 applications), the receipt log and 100 road-traffic cases."""
    database = folder / "sample_system.sqlite"
    generate(database, n_cases=300, seed=11)
    config = yaml.safe_load(resources.files("mining.sample_system").joinpath("demo.yaml").read_text("utf-8"))
    config["sources"][0]["path"] = str(database)
    config["sources"] += [
        {"name": "receipt", "kind": "xes", "path": str(LOGS / "receipt.xes.gz"), "process": "receipt"},
        {
            "name": "roadtraffic",
            "kind": "xes",
            "path": str(LOGS / "roadtraffic100traces.xes"),
            "process": "roadtraffic",
        },
    ]
    for source in config["sources"]:
        source["schedule"] = None  # runs only when triggered
    config["allowed_roots"] = [str(LOGS)]  # the shared logs are outside the config's folder
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def warehouse_content(path: Path) -> dict[str, list[tuple]]:
    """Every table of a warehouse as sorted rows of text (JSON with sorted keys), minus ``VOLATILE``."""
    con = connect(path, read_only=True)
    try:
        tables = con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() ORDER BY 1"
        ).fetchall()
        content = {}
        for (table,) in tables:
            if table in NOT_COMPARED:
                continue
            columns = con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() "
                "AND table_name = ? ORDER BY column_index",
                [table],
            ).fetchall()
            kept = [(c, t) for c, t in columns if c not in VOLATILE or table == "cases"]
            select = ", ".join(f'"{c}"::VARCHAR' for c, _ in kept)
            rows = con.execute(f'SELECT {select} FROM "{table}"')
            json_at = [i for i, (_, t) in enumerate(kept) if t == "JSON"]
            content[table] = sorted(
                (
                    tuple(
                        json.dumps(json.loads(v), sort_keys=True) if i in json_at and v else v for i, v in enumerate(r)
                    )
                    for r in rows.fetchall()
                ),
                key=repr,
            )
        return content
    finally:
        con.close()


def assert_same_warehouse(actual: Path, expected: dict[str, list[tuple]]) -> None:
    content = warehouse_content(actual)
    assert sorted(content) == sorted(expected)
    for table, rows in expected.items():
        assert len(content[table]) == len(rows), table
        assert content[table] == rows, table
    assert len(expected["events"]) > 13_000 and len(expected["waste_activities"]) > 40  # all three processes


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> dict:
    """The config, and the warehouse content of the single-process run (``mot run``) over it."""
    folder = tmp_path_factory.mktemp("celery")
    config = three_process_config(folder)
    reference = folder / "reference"
    pipeline.run(load_config(config), reference)
    return {"folder": folder, "config": config, "expected": warehouse_content(reference / "warehouse.duckdb")}


def claim_redis_database() -> tuple[redis.Redis, int]:
    """A Redis database number nobody uses (empty), claimed with a key of ours."""
    admin = redis.Redis(host="127.0.0.1", port=6379)
    count = int(admin.config_get("databases")["databases"])
    for number in range(count - 1, 0, -1):
        client = redis.Redis(host="127.0.0.1", port=6379, db=number)
        if client.dbsize() == 0 and client.set("mot_test_claim", os.getpid(), nx=True):
            return client, number
    pytest.fail("every Redis database holds keys: none is free for the Celery test")


class Cluster:
    """Airflow on the CeleryExecutor: every component a process (group) of its own."""

    def __init__(self, folder: Path, config: Path, database_uri: str, redis_db: int):
        self.folder = folder
        self.out = folder / "out"
        port = free_port()
        sync = database_uri.replace("postgresql://", "postgresql+psycopg2://", 1)
        self.database_uri = database_uri
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MOT_"))}
        self.env.update(
            AIRFLOW_HOME=str(folder / "airflow-home"),
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=sync,
            AIRFLOW__CELERY__RESULT_BACKEND="db+" + sync,
            AIRFLOW__CELERY__BROKER_URL=f"redis://127.0.0.1:6379/{redis_db}",
            AIRFLOW__CELERY__WORKER_CONCURRENCY="1",
            AIRFLOW__API__HOST="127.0.0.1",
            AIRFLOW__API__PORT=str(port),
            AIRFLOW__API__WORKERS="1",
            AIRFLOW__API__BASE_URL=f"http://127.0.0.1:{port}",
            AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{port}/execution/",
            AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT="20",
            AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL="5",
            AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT="120",
            MOT_CONFIG=str(config),
            MOT_OUT=str(self.out),
            MOT_SCRATCH=str(folder / "scratch"),
            MOT_RETRY_DELAY_SECONDS="3",
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        )
        self.processes: dict[str, subprocess.Popen] = {}
        self.killed: set[str] = set()

    def run(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run(
            [str(SCRIPT), *args] if args[0] == "init" else ["airflow", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, f"{args} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done.stdout

    def start(self, name: str, *args: str, env: dict | None = None) -> None:
        with open(self.folder / f"{name}.log", "wb") as sink:
            self.processes[name] = subprocess.Popen(
                [str(SCRIPT), *args],
                env={**self.env, **(env or {})},
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def start_all(self) -> None:
        self.run("init")
        for component in ("api-server", "scheduler", "dag-processor"):
            self.start(component, component)
        for name in WORKERS:
            self.start(name, "worker", name, env={"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())})

    def logs(self) -> str:
        return "\n".join(
            f"--- {name}\n{(self.folder / f'{name}.log').read_text(errors='replace')[-3000:]}"
            for name in self.processes
        )

    def metadata(self, sql: str, params=()) -> list[tuple]:
        import psycopg2

        con = psycopg2.connect(self.database_uri)
        try:
            with con.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall()
        except psycopg2.errors.UndefinedTable:
            return []
        finally:
            con.close()

    def wait_for(self, what: str, check, deadline: float, every: float = 2.0):
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None and name not in self.killed:
                    raise AssertionError(f"{name} exited with {process.returncode}:\n{self.logs()}")
            result = check()
            if result:
                return result
            time.sleep(every)
        raise AssertionError(f"timed out waiting for {what}:\n{self.logs()}")

    def kill(self, name: str) -> None:
        """SIGKILL a component's process group and every process below it (the task runners that
        Airflow puts in groups of their own), as if its host had died."""
        process = self.processes[name]
        tree = psutil.Process(process.pid).children(recursive=True)
        self.killed.add(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        for child in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        process.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM every component (warm shutdown), then SIGKILL whatever is left of its tree."""
        trees = {}
        for name, process in self.processes.items():
            with contextlib.suppress(psutil.NoSuchProcess):
                trees[name] = psutil.Process(process.pid).children(recursive=True)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        for name, process in self.processes.items():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            for child in trees.get(name, []):
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
            process.wait()

    def extract_and_mine(self, deadline: float, during_mining=None) -> None:
        """Trigger the three extraction DAGs and wait until the Asset-triggered mining is done."""
        dags = "SELECT dag_id FROM dag WHERE dag_id LIKE 'mot_%%' AND NOT is_paused"
        self.wait_for("the DAG processor to register the DAGs", lambda: len(self.metadata(dags)) == 4, deadline)
        for source in SOURCES:
            self.run("dags", "trigger", f"mot_extract_{source}")
        if during_mining is not None:
            during_mining(deadline)
        self.wait_for("the extractions and the mining to finish", self.finished, deadline, every=3)

    def finished(self) -> bool:
        runs = self.metadata("SELECT dag_id, state, start_date, end_date FROM dag_run ORDER BY start_date")
        failed = [r for r in runs if r[1] == "failed"]
        assert not failed, f"failed DAG runs {failed}:\n{self.logs()}"
        extractions = [r for r in runs if r[0] != "mot_mining"]
        mining = [r for r in runs if r[0] == "mot_mining"]
        if len(extractions) < 3 or any(r[1] != "success" for r in extractions + mining) or not mining:
            return False
        pending = self.metadata("SELECT count(*) FROM asset_dag_run_queue")[0][0]
        return pending == 0 and mining[-1][2] >= max(r[3] for r in extractions)


@pytest.fixture
def cluster(setup, postgres, tmp_path):
    client, number = claim_redis_database()
    try:
        with postgres.database("mot_airflow_celery") as uri:
            cluster = Cluster(tmp_path, setup["config"], uri, number)
            try:
                cluster.start_all()
                yield cluster
            finally:
                cluster.stop()
    finally:
        client.flushdb()
    leftovers = [p for p in psutil.process_iter(["cmdline"]) if str(tmp_path) in " ".join(p.info["cmdline"] or [])]
    assert leftovers == [], leftovers  # nothing of the cluster outlives the test


def successful_hosts(cluster: Cluster) -> dict[str, int]:
    rows = cluster.metadata(
        "SELECT hostname, count(*) FROM task_instance WHERE state = 'success' GROUP BY hostname ORDER BY hostname"
    )
    return dict(rows)


def test_celery_workers_mine_three_processes_as_one_process_does_and_retry_a_killed_worker_s_task(setup, cluster):
    """One cluster, one round of extraction and mining, with a worker killed while it mines (each
    cluster start costs about a minute of a CI core, so both properties are checked on one run)."""
    victim: dict = {}

    def kill_a_worker_while_it_mines(deadline):
        running = (
            "SELECT hostname, run_id, map_index, try_number FROM task_instance WHERE dag_id = 'mot_mining' "
            "AND task_id = 'mine.analyse' AND state = 'running' AND hostname IS NOT NULL"
        )
        host, run_id, map_index, try_number = cluster.wait_for(
            "a worker to mine a process", lambda: (cluster.metadata(running) or [None])[0], deadline, every=0.3
        )
        victim.update(host=host, run_id=run_id, map_index=map_index, try_number=try_number)
        cluster.kill(host)

    cluster.extract_and_mine(time.monotonic() + DEADLINE_S, kill_a_worker_while_it_mines)
    survivor = next(w for w in WORKERS if w != victim["host"])
    # Every task ran on a Celery worker; both took tasks (the victim was mining when it was killed).
    hosts = successful_hosts(cluster)
    assert set(hosts) <= set(WORKERS) and survivor in hosts, hosts
    retried = cluster.metadata(
        "SELECT hostname, try_number, state FROM task_instance WHERE dag_id = 'mot_mining' "
        "AND task_id = 'mine.analyse' AND run_id = %s AND map_index = %s",
        (victim["run_id"], victim["map_index"]),
    )
    killed = cluster.metadata(
        "SELECT hostname, state FROM task_instance_history WHERE dag_id = 'mot_mining' AND task_id = 'mine.analyse' "
        "AND run_id = %s AND map_index = %s AND try_number = %s",
        (victim["run_id"], victim["map_index"], victim["try_number"]),
    )
    assert killed == [(victim["host"], "failed")], killed  # the heartbeat timeout failed the killed try
    assert retried[0][0] == survivor and retried[0][1] > victim["try_number"] and retried[0][2] == "success", retried
    analysed = cluster.metadata(
        "SELECT count(*) FROM task_instance WHERE dag_id = 'mot_mining' AND task_id = 'mine.analyse' "
        "AND state = 'success' AND map_index >= 0"
    )
    assert analysed[0][0] >= 3  # one mapped instance per process (per mining run)
    assert_same_warehouse(cluster.out / "warehouse.duckdb", setup["expected"])
    assert not (cluster.out / "mining").exists()  # hand-over folders are removed after the merge
    for process in ("loan_origination", "receipt", "roadtraffic"):
        assert (cluster.out / "models" / process / "imf.pnml").is_file()
        assert (cluster.out / "bpmn" / process / "as-is.bpmn").is_file()
        assert (cluster.out / f"report-{process}.html").is_file()


def test_the_hand_over_works_through_a_non_local_url(setup, tmp_path):
    """The same tasks, in this process, with ``MOT_SHARED`` on fsspec's in-memory file system:
    staged extracts and mining results never touch the local disk, and the warehouse is equal."""
    import fsspec

    s = orchestration.Settings(config_file=setup["config"], out_dir=tmp_path / "out", shared_url="memory://mot-test")
    try:
        for source in SOURCES:
            staged = [orchestration.extract(source, item, run_id="r1", s=s) for item in orchestration.plan(source, s=s)]
            assert all(item["staged"].startswith("memory://mot-test/staging/") for item in staged)
            orchestration.load(source, staged, s=s)
        mined = orchestration.processes(s=s)
        assert mined == ["loan_origination", "receipt", "roadtraffic"]
        for process in mined:
            work = orchestration.snapshot(process, "run1", s=s)
            assert work["folder"].startswith("memory://mot-test/mining/")
            orchestration.merge(orchestration.analyse(work, s=s), s=s)
        orchestration.publish(mined, s=s)
        assert not (tmp_path / "out" / "staging").exists() and not (tmp_path / "out" / "mining").exists()
        assert_same_warehouse(tmp_path / "out" / "warehouse.duckdb", setup["expected"])
        assert fsspec.filesystem("memory").find("/mot-test") == []  # every hand-over removed
    finally:
        memory = fsspec.filesystem("memory")
        if memory.exists("/mot-test"):
            memory.rm("/mot-test", recursive=True)
