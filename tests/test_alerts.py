"""Per-source isolation and alerts (issue 18): a broken source definition leaves only its own DAG out
and shows as an import error; a task that failed for good alerts by e-mail and webhook; a run late
for its deadline alerts. The e-mails go to a real SMTP server (aiosmtpd) and the webhook posts to a
real HTTP server, both on this machine; the failing source reads a missing table in PostgreSQL."""

from __future__ import annotations

import email
import email.policy
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from airflow_run import free_port, wait_for

from mining import alerts as words
from mining.config import ConfigError, load_config
from mining.orchestration import POOL

REPO = Path(__file__).resolve().parents[1]


class Sinks:
    """A real SMTP server and a real webhook receiver, recording what they get."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.emails: list[dict] = []
        self.posts: list[dict] = []
        sinks = self

        class Mail:
            async def handle_DATA(self, server, session, envelope):
                sinks.emails.append({"to": envelope.rcpt_tos, "from": envelope.mail_from, "data": envelope.content})
                return "250 OK"

        class Hook(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                sinks.posts.append({"path": self.path, **json.loads(body)})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):  # keep the test output clean
                pass

        self.smtp_port = free_port()
        self.smtp = Controller(Mail(), hostname="127.0.0.1", port=self.smtp_port)
        self.smtp.start()
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        self.http_port = self.http.server_address[1]
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def connections(self) -> dict[str, str]:
        """AIRFLOW_CONN_* values of the SMTP connection and the webhook connection."""
        smtp = {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": self.smtp_port,
            "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "airflow@test.example"},
        }
        return {
            "AIRFLOW_CONN_MOT_SMTP": json.dumps(smtp),
            "AIRFLOW_CONN_MOT_HOOK": f"http://127.0.0.1:{self.http_port}/hooks%2Fmot?token=t0k",
        }

    def wait(self, what: str, check, seconds: float = 120):
        said = lambda: f"e-mails {self.emails}, posts {self.posts}"  # noqa: E731
        return wait_for(what, check, time.monotonic() + seconds, said, every=0.5)

    def stop(self):
        self.smtp.stop()
        self.http.shutdown()


@pytest.fixture
def sinks():
    s = Sinks()
    yield s
    s.stop()


ALERTS = {"email": ["ops@acme.example"], "smtp_conn_id": "mot_smtp", "webhook_conn_id": "mot_hook"}


def write_project(folder: Path, sources: list[dict], files: dict[str, str], **extra) -> Path:
    (folder / "sources").mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / "sources" / name).write_text(text)
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump({"project": "alerts", "source_folder": "sources", "sources": sources, **extra}))
    return config


CSV = {"name": "drops", "kind": "csv", "path": "drops.csv", "schedule": None}
TYPO = "kind: postgres\nconn_id: crm\nmapings:\n  - {name: calls, sql: SELECT 1}\n"  # 'mapings'
GOOD = "kind: sqlite\npath: erp.sqlite\nmappings:\n  - {name: po, sql: SELECT 1}\n"


# --- the config: each source validated on its own ---------------------------------------------------


def test_a_broken_source_is_left_out_with_its_file_and_key(tmp_path):
    bad_inline = {"name": "shop", "kind": "mysql", "conn_id": "shop", "mappings": [{"name": "o"}]}  # no sql
    config = write_project(tmp_path, [CSV, bad_inline], {"crm.yaml": TYPO, "erp.yml": GOOD, "notes.txt": "x"})
    loaded = load_config(config, isolate=True)
    assert [s.name for s in loaded.sources] == ["drops", "erp"]  # erp: named by its file
    assert loaded.source("erp").path == str((tmp_path / "erp.sqlite").resolve())  # relative to the config
    broken = loaded.broken_sources
    assert set(broken) == {"shop", "crm"}
    assert "sources.1.mappings.0.sql: Field required" in broken["shop"] and str(config) in broken["shop"]
    assert "mapings: Extra inputs are not permitted" in broken["crm"] and "crm.yaml" in broken["crm"]
    with pytest.raises(ConfigError, match="left out: its definition is invalid"):
        loaded.source("crm")
    with pytest.raises(ConfigError) as strict:  # the command line: every broken source is an error
        load_config(config)
    assert "sources.1.mappings.0.sql" in str(strict.value) and "crm.yaml" in str(strict.value)


def test_a_source_file_that_is_no_yaml_a_duplicate_name_or_a_path_outside_is_left_out_alone(tmp_path):
    files = {
        "a.yaml": "kind: [\n",
        "b.yaml": "name: drops\nkind: csv\npath: x.csv\n",
        "c.yaml": "kind: csv\npath: ../x.csv\n",
    }
    loaded = load_config(write_project(tmp_path / "p", [CSV], files), isolate=True)
    assert [s.name for s in loaded.sources] == ["drops"]
    broken = loaded.broken_sources
    assert "not valid YAML" in broken["a"]
    assert "duplicate source name 'drops'" in next(v for k, v in broken.items() if k.startswith("drops ("))
    assert "outside the config's folder" in broken["c"]


def test_shared_keys_and_the_folder_itself_still_fail_the_whole_config(tmp_path):
    with pytest.raises(ConfigError, match="timezone"):
        load_config(write_project(tmp_path / "a", [CSV], {}, timezone="Mars/Olympus"), isolate=True)
    config = tmp_path / "b.yaml"
    config.write_text("source_folder: missing\n")
    with pytest.raises(ConfigError, match="source_folder: .* is not a folder"):
        load_config(config, isolate=True)


def test_a_sources_alerts_replace_the_projects_key_by_key(tmp_path):
    own = {**CSV, "alerts": {"email": ["crm@acme.example"], "deadline": "90 minutes"}}
    config = write_project(tmp_path, [own], {}, alerts={**ALERTS, "deadline": "2 hours"})
    loaded = load_config(config)
    settings = loaded.alert_settings(loaded.source("drops"))
    assert settings["email"] == ["crm@acme.example"] and settings["webhook_conn_id"] == "mot_hook"
    assert settings["deadline_delta"].total_seconds() == 5400 and settings["what"] == "source 'drops'"
    assert loaded.alert_settings()["deadline_delta"].total_seconds() == 7200  # mining: the project's


@pytest.mark.parametrize(
    ("alerts", "key"),
    [
        ({"email": ["not-an-address"]}, "alerts.email"),
        ({"webhook_conn_id": "https://hooks.example/T0/secret"}, "alerts.webhook_conn_id"),
        ({"deadline": "soon"}, "alerts.deadline"),
        ({"deadline": "0 minutes"}, "alerts.deadline"),
        ({"emial": ["a@b.example"]}, "alerts.emial"),
    ],
)
def test_bad_alert_settings_name_the_key_and_never_echo_a_url(tmp_path, alerts, key):
    with pytest.raises(ConfigError) as error:
        load_config(write_project(tmp_path, [CSV], {}, alerts=alerts))
    assert key in str(error.value)
    assert "secret" not in str(error.value)


# --- what an alert says ------------------------------------------------------------------------------


def test_the_alert_names_source_task_and_error_and_the_webhook_url_keeps_its_path(airflow_home):
    alert = words.failed(
        "acme", "source 'crm'", dag_id="mot_extract_crm", run_id="r1", task_id="extract", map_index=2,
        try_number=1, error="relation \"no_such_table\" does not exist {{ x }}", log_url="http://af/log",
    )  # fmt: skip
    assert alert.subject == "[mot] acme: source 'crm' failed in extract[2]"
    assert "no_such_table" in alert.text and "{{ x }}" in alert.html and "http://af/log" in alert.text
    assert alert.payload["event"] == "failed" and alert.payload["task_id"] == "extract"
    json.dumps(alert.payload)
    from airflow.sdk import Connection

    slack = Connection.from_uri("https://hooks.slack.com/services/T00/B00/XXX", conn_id="x")
    assert words.webhook_url(slack.conn_type, slack.host, slack.port, slack.schema, slack.extra_dejson) == (
        "https://hooks.slack.com/services/T00/B00/XXX"
    )
    assert words.webhook_url("http", "h", 80, "p", {"url": "https://elsewhere/x"}) == "https://elsewhere/x"
    with pytest.raises(ValueError, match="http or https"):
        words.post("file:///etc/passwd", alert)


# --- Airflow: the DAG folder with a broken source, and a failed task's alerts ------------------------------


def parse(monkeypatch, config: Path, out: Path):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("MOT_CONFIG", str(config))
    monkeypatch.setenv("MOT_OUT", str(out))
    return DagBag(dag_folder=str(REPO / "dags"), known_pools={POOL})


def test_a_typo_in_one_source_is_an_import_error_of_its_own_and_the_other_dags_stay(
    airflow_home, monkeypatch, tmp_path
):
    config = write_project(
        tmp_path, [CSV], {"crm.yaml": TYPO, "erp.yaml": GOOD}, alerts={**ALERTS, "deadline": "2 hours"}
    )
    bag = parse(monkeypatch, config, tmp_path / "out")
    assert set(bag.dags) == {"mot_extract_drops", "mot_extract_erp", "mot_mining"}
    assert [Path(f).name for f in bag.import_errors] == ["mot_sources_check.py"]  # not the other DAGs' file
    (error,) = bag.import_errors.values()
    assert "crm" in error and "crm.yaml" in error and "mapings" in error
    erp = bag.dags["mot_extract_erp"]
    for task in erp.tasks:  # every task alerts when it failed for good, except the verdict that repeats them
        kinds = sorted(type(n).__name__ for n in task.on_failure_callback or [])
        assert kinds == ([] if task.task_id == "verdict" else ["AlertEmail", "WebhookNotifier"]), task.task_id
    (deadline,) = erp.deadline
    assert deadline.interval.total_seconds() == 7200 and deadline.callback.path == "mot_airflow.alerts.late_run"
    (config.parent / "sources" / "crm.yaml").write_text(TYPO.replace("mapings", "mappings"))
    fixed = parse(monkeypatch, config, tmp_path / "out")  # fixed: the DAG is back, the error gone
    assert fixed.import_errors == {} and "mot_extract_crm" in fixed.dags


def test_a_task_that_failed_for_good_alerts_once_by_email_and_webhook(
    airflow_home, postgres, sinks, monkeypatch, tmp_path
):
    with postgres.database() as pg:
        broken = {"name": "calls", "sql": "SELECT id AS case_id, 'x' AS activity, now() AS ts FROM no_such_table"}
        source = {"name": "crm", "kind": "postgres", "conn_id": "mot_alert_crm", "schedule": None, "mappings": [broken]}
        config = write_project(tmp_path, [source], {}, alerts=ALERTS)
        monkeypatch.setenv("AIRFLOW_CONN_MOT_ALERT_CRM", "postgres" + pg[pg.index("://") :])
        for name, value in sinks.connections().items():
            monkeypatch.setenv(name, value)
        bag = parse(monkeypatch, config, tmp_path / "out")
        assert bag.import_errors == {}
        run = bag.dags["mot_extract_crm"].test()
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["extract"] == "failed" and states["verdict"] == "failed"
    (post,) = sinks.wait("the webhook", lambda: sinks.posts)
    assert post["path"] == "/hooks/mot?token=t0k"  # the connection's path, slashes and query kept
    assert (post["event"], post["what"], post["task_id"], post["dag_id"]) == (
        "failed", "source 'crm'", "extract", "mot_extract_crm",
    )  # fmt: skip
    assert "calls" in post["error"] and "no_such_table" in post["error"] and "password" not in post["error"]
    (mail,) = sinks.wait("the e-mail", lambda: sinks.emails)
    assert mail["to"] == ["ops@acme.example"] and mail["from"] == "airflow@test.example"
    message = email.message_from_bytes(mail["data"], policy=email.policy.default)
    body = "".join(part.get_content() for part in message.walk() if part.get_content_type() == "text/html")
    assert message["Subject"] == "[mot] alerts: source 'crm' failed in extract[0]"
    assert "no_such_table" in body and "mot_extract_crm" in body
    time.sleep(1)  # nothing else arrives: the verdict, which repeats the failure, does not alert
    assert len(sinks.posts) == 1 and len(sinks.emails) == 1


# --- for real: scripts/airflow-local with a broken source, a slow one with a deadline, a good one ---------


def test_live_a_broken_source_leaves_the_others_running_and_a_late_run_alerts(postgres, sinks, tmp_path):
    import subprocess

    from airflow_run import airflow_env, metadata, start_airflow, stop_airflow

    from mining.sample_system.generator import generate

    out, home, log = tmp_path / "out", tmp_path / "airflow-home", tmp_path / "airflow.log"
    generate(out / "sample_system.sqlite", n_cases=20, seed=3)
    with postgres.database() as pg:
        postgres.execute(pg, "CREATE TABLE orders (id int, at timestamp)")
        postgres.execute(pg, "INSERT INTO orders VALUES (1, '2026-01-01 10:00'), (2, '2026-01-01 11:00')")
        pause = (
            "SELECT CAST(id AS TEXT) AS case_id, 'placed' AS activity, at AS ts FROM orders, (SELECT pg_sleep(25)) AS p"
        )
        slow = {"name": "slow", "kind": "postgres", "conn_id": "mot_slow", "schedule": None, "process": "slow"}
        slow |= {"mappings": [{"name": "placed", "sql": pause}], "alerts": {"deadline": "5 seconds"}}
        demo = yaml.safe_load((REPO / "mining" / "sample_system" / "demo.yaml").read_text())["sources"][0]
        good = demo | {"name": "good", "path": str(out / "sample_system.sqlite"), "schedule": None}
        config = write_project(tmp_path, [good, slow], {"typo.yaml": TYPO}, alerts=ALERTS)
        env = airflow_env(home, free_port(), config, out) | sinks.connections()
        env |= {"AIRFLOW_CONN_MOT_SLOW": "postgres" + pg[pg.index("://") :]}
        env |= {"AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5"}
        airflow = start_airflow(env, log)
        runs = "SELECT state FROM dag_run WHERE dag_id = ? ORDER BY id"
        errors = "SELECT filename, stacktrace FROM import_error"
        try:
            deadline = time.monotonic() + 600
            dags = "SELECT dag_id FROM dag WHERE dag_id LIKE 'mot_%' AND NOT is_paused AND NOT is_stale ORDER BY 1"
            expected = [("mot_extract_good",), ("mot_extract_slow",), ("mot_mining",)]
            wait_for("the DAGs of the valid sources", lambda: metadata(home, dags) == expected, deadline, log)
            (filename, stacktrace), *others = wait_for(
                "the import error", lambda: metadata(home, errors), deadline, log
            )
            assert others == [] and filename == "mot_sources_check.py"
            assert "typo" in stacktrace and "typo.yaml" in stacktrace and "mapings" in stacktrace
            for dag_id in ("mot_extract_slow", "mot_extract_good"):
                subprocess.run(
                    ["airflow", "dags", "trigger", dag_id], env=env, check=True, capture_output=True, timeout=120
                )
            done = lambda dag_id: lambda: (metadata(home, runs, (dag_id,)) or [("",)])[0][0] in ("success", "failed")  # noqa: E731
            wait_for("the good source's run", done("mot_extract_good"), deadline, log)
            assert metadata(home, runs, ("mot_extract_good",)) == [("success",)]  # the broken one did not stop it
            late = sinks.wait("the late alert", lambda: [p for p in sinks.posts if p["event"] == "late"], 180)
            assert (late[0]["what"], late[0]["dag_id"], late[0]["deadline"]) == (
                "source 'slow'",
                "mot_extract_slow",
                "5 seconds",
            )
            mails = sinks.wait("the late e-mail", lambda: [m for m in sinks.emails if b"is late" in m["data"]], 60)
            assert mails[0]["to"] == ["ops@acme.example"]
            wait_for("the slow source's run", done("mot_extract_slow"), deadline, log)
            assert metadata(home, runs, ("mot_extract_slow",)) == [("success",)]  # late is not failed
            assert [p["event"] for p in sinks.posts] == ["late"]  # and nothing failed
            (tmp_path / "sources" / "typo.yaml").write_text(TYPO.replace("mapings", "mappings"))
            fixed = [*expected[:2], ("mot_extract_typo",), ("mot_mining",)]
            wait_for("the fixed source's DAG", lambda: metadata(home, dags) == fixed, deadline, log)
            wait_for("the import error to clear", lambda: not metadata(home, errors), deadline, log)
        finally:
            stop_airflow(airflow)
