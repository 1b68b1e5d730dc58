"""The machine settings (mining.settings): every MOT_* variable in one typed object."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mining.settings import MachineSettings, SettingsError, connection_variables, settings, variables

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_when_nothing_is_set():
    machine = settings({})
    assert machine.duckdb_memory_limit is None and machine.duckdb_threads is None and machine.sql_profile is None
    assert machine.lock_wait_seconds == 600.0
    assert (machine.source_retries, machine.source_retry_delay_seconds) == (2, 5.0)
    assert machine.config is None and machine.out == Path("out/airflow") and machine.retry_delay_seconds == 60.0
    assert machine.shared is None and machine.writer_queue is None
    assert machine.worker_hostname is None and machine.scratch is None
    assert machine.connection_uri("crm") is None


def test_every_variable_is_read():
    environ = {
        "MOT_DUCKDB_MEMORY_LIMIT": "1GB",
        "MOT_DUCKDB_THREADS": "3",
        "MOT_SQL_PROFILE": "/tmp/profile.tsv",
        "MOT_LOCK_WAIT_SECONDS": "1.5",
        "MOT_SOURCE_RETRIES": "4",
        "MOT_SOURCE_RETRY_DELAY_SECONDS": "0.5",
        "MOT_CONFIG": "project.yaml",
        "MOT_OUT": "/srv/mot",
        "MOT_RETRY_DELAY_SECONDS": "30",
        "MOT_SHARED": "s3://bucket/mot",
        "MOT_WRITER_QUEUE": "mot_warehouse",
        "MOT_WORKER_HOSTNAME": "worker-2",
        "MOT_SCRATCH": "/scratch",
        "MOT_MAX_DECOMPRESSED_BYTES": "2GiB",
        "MOT_MAX_COMPRESSION_RATIO": "50",
        "MOT_MAX_FIELD_BYTES": "1000",
    }
    assert set(variables()) == set(environ)
    machine = settings(environ)
    assert machine.model_dump() == {
        "duckdb_memory_limit": "1GB",
        "duckdb_threads": 3,
        "sql_profile": Path("/tmp/profile.tsv"),
        "lock_wait_seconds": 1.5,
        "source_retries": 4,
        "source_retry_delay_seconds": 0.5,
        "config": Path("project.yaml"),
        "out": Path("/srv/mot"),
        "retry_delay_seconds": 30.0,
        "shared": "s3://bucket/mot",
        "writer_queue": "mot_warehouse",
        "worker_hostname": "worker-2",
        "scratch": Path("/scratch"),
        "max_decompressed_bytes": 2 * 1024**3,
        "max_compression_ratio": 50.0,
        "max_field_bytes": 1000,
    }


def test_empty_means_unset_and_negative_waits_mean_none():
    machine = settings(
        {"MOT_OUT": "", "MOT_DUCKDB_THREADS": "  ", "MOT_LOCK_WAIT_SECONDS": "-3", "MOT_SOURCE_RETRIES": "-1"}
    )
    assert machine.out == Path("out/airflow") and machine.duckdb_threads is None
    assert machine.lock_wait_seconds == 0.0 and machine.source_retries == 0


def test_names_are_case_sensitive():
    assert settings({"mot_out": "/elsewhere"}).out == Path("out/airflow")


@pytest.mark.parametrize(
    ("variable", "value", "expects"),
    [
        ("MOT_LOCK_WAIT_SECONDS", "soon", "a number of seconds"),
        ("MOT_SOURCE_RETRIES", "two", "a whole number"),
        ("MOT_RETRY_DELAY_SECONDS", "1 minute", "a number of seconds"),
        ("MOT_DUCKDB_THREADS", "0", "a valid DuckDB threads"),
        ("MOT_DUCKDB_MEMORY_LIMIT", "80%", "a valid DuckDB memory_limit"),
    ],
)
def test_a_bad_value_is_named_with_the_variable(variable, value, expects):
    with pytest.raises(SettingsError) as caught:
        settings({variable: value})
    assert str(caught.value) == f"environment variable {variable}={value!r} is not {expects}"
    assert isinstance(caught.value, ValueError)  # the command line shows it as one plain line


def test_the_environment_is_read_at_every_call(monkeypatch):
    monkeypatch.setenv("MOT_WRITER_QUEUE", "first")
    assert settings().writer_queue == "first"
    monkeypatch.setenv("MOT_WRITER_QUEUE", "second")
    assert settings().writer_queue == "second"
    monkeypatch.delenv("MOT_WRITER_QUEUE")
    assert settings().writer_queue is None
    assert MachineSettings().writer_queue is None  # the class itself reads os.environ too


def test_connection_uris_ours_first_then_airflows_and_never_shown():
    assert connection_variables("crm.replica-1") == ("MOT_CONN_CRM_REPLICA_1", "AIRFLOW_CONN_CRM_REPLICA_1")
    environ = {"MOT_CONN_CRM": "postgresql://u:secret@h/db", "AIRFLOW_CONN_CRM": "postgres://a@b/c"}
    machine = settings(environ)
    assert machine.connection_uri("crm") == "postgresql://u:secret@h/db"
    assert settings({"AIRFLOW_CONN_CRM": "postgres://a@b/c"}).connection_uri("crm") == "postgres://a@b/c"
    assert settings({"MOT_CONN_CRM": ""}).connection_uri("crm") is None
    assert "secret" not in repr(machine) and "secret" not in str(machine.model_dump())


def test_docs_list_every_variable():
    table = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    for name in [*variables(), "MOT_CONN_<ID>"]:
        assert f"| `{name}` |" in table, name


def test_only_the_settings_module_reads_the_environment():
    # mining/__init__.py only sets pm4py's PM4PY_SHOW_PROGRESS_BAR before pm4py is imported.
    allowed = {"mining/settings.py", "mining/__init__.py"}
    offenders = [
        name
        for folder in ("mining", "dags")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if (name := path.relative_to(ROOT).as_posix()) not in allowed
        and re.search(r"os\.environ|getenv", path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
