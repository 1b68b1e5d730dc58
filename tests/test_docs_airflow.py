"""docs/airflow.md as written: its connection steps on a fresh clone, its quarantine query on a warehouse.

The test clones the committed HEAD of this repository into a temporary folder (with ``../shared``
beside it, as CI has it), takes the bash block of the section "## Set the connection" from the
clone's docs/airflow.md, replaces only the URI variables at its top with databases made for the
test on the local PostgreSQL and MariaDB servers, and runs the block with ``bash -euo pipefail``
in the clone: ``make setup`` (a new .venv), the exports, ``airflow db migrate`` on the clone's own
``out/airflow-home``, the providers, both connections added and tested. Nothing of this checkout's
environment (venv, AIRFLOW_*, MOT_*, PYTHONPATH) reaches the block.

The SQL block of "## Quarantined rows behind the watermark" runs against a warehouse that the
functions of the extraction tasks (plan, extract, load) filled from a PostgreSQL table.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import duckdb
import pytest
import yaml

from mining.orchestration import Settings, extract, load, plan

HERE = Path(__file__).resolve().parent
SECTION = "## Set the connection"
QUARANTINE_SECTION = "## Quarantined rows behind the watermark"
DOCS = HERE.parent / "docs" / "airflow.md"
URI_LINE = re.compile(r"^([A-Z][A-Z0-9_]*_URI)=(\S+)(.*)$", re.MULTILINE)
SETUP_TIMEOUT_S = 900  # make setup takes about 1.5 min with pip's cache, much longer without


def repository() -> Path:
    """The top of the git repository this test file lives in."""
    top = subprocess.run(
        ["git", "-C", str(HERE), "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=True
    )
    return Path(top.stdout.strip())


def block(markdown: str, heading: str, language: str) -> str:
    """The first ``language`` block of the section ``heading``; fails when the docs lost that shape."""
    assert f"\n{heading}\n" in markdown, f"docs/airflow.md has no section {heading!r}"
    section = markdown.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]
    found = re.search(rf"^```{language}\n(.*?)^```$", section, re.MULTILINE | re.DOTALL)
    assert found, f"the section {heading!r} of docs/airflow.md has no ```{language} block"
    return found.group(1)


def connection_block(markdown: str) -> str:
    """The bash block of the section SECTION."""
    return block(markdown, SECTION, "bash")


def with_uris(block: str, uris: dict[str, str]) -> str:
    """``block`` with each ``NAME_URI=...`` line's value replaced by the URI of its scheme in ``uris``."""
    assigned = URI_LINE.findall(block)
    schemes = {name: value.strip("'\"").split("://", 1)[0] for name, value, _ in assigned}
    assert sorted(schemes.values()) == sorted(uris), f"URI variables of the block: {schemes}"

    def replace(match: re.Match) -> str:
        return f"{match.group(1)}='{uris[schemes[match.group(1)]]}'{match.group(3)}"

    return URI_LINE.sub(replace, block)


def clean_environment(home: Path) -> dict[str, str]:
    """This process's environment without what would point the block at this checkout."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW", "MOT_", "PYTHON", "VIRTUAL_ENV", "PYTEST", "_AIRFLOW"))
    }
    venvs = {str(Path(p).resolve()) for p in env.get("PATH", "").split(os.pathsep) if (Path(p) / "activate").exists()}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if str(Path(p).resolve()) not in venvs
    )
    env["HOME"] = os.environ.get("HOME", str(home))  # pip's and npm's caches
    return env


@pytest.mark.timeout(SETUP_TIMEOUT_S + 300)
def test_connection_steps_run_as_written_on_a_fresh_clone(tmp_path, postgres, mariadb):
    clone = tmp_path / "repo"
    subprocess.run(["git", "clone", "--quiet", str(repository()), str(clone)], check=True, timeout=300)
    shared = repository().parent / "shared"
    if shared.is_dir():  # CI runs on a clean clone with ../shared beside it
        (tmp_path / "shared").symlink_to(shared)
    block = connection_block((clone / "docs" / "airflow.md").read_text("utf-8"))
    tested = re.findall(r"^airflow connections test (\S+)", block, re.MULTILINE)
    assert len(tested) == 2, f"the block should test two connections: {tested}"
    with postgres.database("mot_docs") as pg, mariadb.database("mot_docs") as my:
        script = with_uris(block, {"postgres": pg, "mysql": my})
        (tmp_path / "steps.sh").write_text(script, encoding="utf-8")
        done = subprocess.run(
            ["bash", "-euo", "pipefail", str(tmp_path / "steps.sh")],
            cwd=clone,
            env=clean_environment(tmp_path),
            capture_output=True,
            text=True,
            timeout=SETUP_TIMEOUT_S,
        )
    (tmp_path / "steps.out").write_text(done.stdout, encoding="utf-8")
    (tmp_path / "steps.err").write_text(done.stderr, encoding="utf-8")
    assert done.returncode == 0, f"exit {done.returncode}\n{script}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    # The clone's own venv and Airflow home were used, made by the block itself.
    assert (clone / ".venv" / "bin" / "airflow").is_file()
    assert (clone / "out" / "airflow-home" / "airflow.db").is_file()
    for provider in ("apache-airflow-providers-postgres", "apache-airflow-providers-mysql"):
        assert re.search(rf"^{provider}\s", done.stdout, re.MULTILINE), (provider, done.stdout[-3000:])
    for conn_id in tested:
        assert f"Successfully added `conn_id`={conn_id}" in done.stdout, done.stdout[-3000:]
        result = done.stdout.split(f"Retrieving connection: '{conn_id}'", 1)[1].split("Retrieving connection:", 1)[0]
        assert "Connection success!" in result, (conn_id, result)


# --- the quarantine query ----------------------------------------------------------------------------


def test_quarantine_query_lists_the_rows_the_watermark_passed_until_a_backfill_loads_them(tmp_path, postgres):
    query = block(DOCS.read_text("utf-8"), QUARANTINE_SECTION, "sql")
    with postgres.database("mot_docs") as uri:
        postgres.execute(
            uri,
            "CREATE TABLE status_history (history_id INTEGER PRIMARY KEY, application_id INTEGER, "
            "status TEXT, changed_at TIMESTAMP)",
        )
        postgres.execute(  # history_id 2 has no status: quarantined ('missing activity')
            uri,
            "INSERT INTO status_history VALUES (1, 10, 'submitted', '2025-03-01 09:00'), "
            "(2, 10, NULL, '2025-03-01 10:00'), (3, 11, 'submitted', '2025-03-01 11:00')",
        )
        mapping = {
            "name": "status_history",
            "incremental_column": "history_id",
            "sql": "SELECT CAST(application_id AS TEXT) AS case_id, status AS activity, changed_at AS ts, "
            "history_id FROM status_history ORDER BY history_id",
        }
        source = {
            "name": "crm",
            "kind": "postgres",
            "conn_id": "crm_replica",
            "process": "loans",
            "mappings": [mapping],
        }
        config = tmp_path / "config.yaml"
        config.write_text(yaml.safe_dump({"project": "acme", "timezone": "UTC", "sources": [source]}))
        s = Settings(config_file=config, out_dir=tmp_path / "out")

        def run(backfill: bool = False) -> dict:
            items = plan("crm", backfill=backfill, s=s)
            staged = [extract("crm", i, uri=uri, run_id=f"run{n}{backfill}", s=s) for n, i in enumerate(items)]
            return load("crm", staged, items, s=s)

        def listed() -> list[dict]:
            con = duckdb.connect(str(s.warehouse), read_only=True)
            try:
                cur = con.execute(query)
                names = [d[0] for d in cur.description]
                return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
            finally:
                con.close()

        assert run()["rows_quarantined"] == 1
        [row] = listed()
        assert (row["source"], row["mapping"], row["row_number"], row["reason"]) == (
            "crm",
            "status_history",
            2,
            "missing activity",
        )
        assert '"history_id":2' in row["raw"] and row["watermark_now"] == "3"
        # Fixed in the source, with a new row after it: the incremental run reads the new row only.
        postgres.execute(uri, "UPDATE status_history SET status = 'approved' WHERE history_id = 2")
        postgres.execute(uri, "INSERT INTO status_history VALUES (4, 11, 'approved', '2025-03-02 11:00')")
        assert run()["rows_read"] == 1
        [row] = listed()
        assert row["watermark_now"] == "4" and row["watermark_after_that_load"] == "3"
        # A backfill reads behind the watermark: the fixed row is loaded, the others merge unchanged.
        totals = run(backfill=True)
        assert (totals["rows_read"], totals["rows_new"], totals["rows_updated"]) == (4, 1, 0)
        assert listed() == []
        con = duckdb.connect(str(s.warehouse), read_only=True)
        try:
            assert con.execute("SELECT value FROM watermarks").fetchall() == [("4",)]
            assert con.execute("SELECT count(*) FROM events WHERE activity = 'approved'").fetchall() == [(2,)]
        finally:
            con.close()
