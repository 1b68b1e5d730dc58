"""docs/airflow.md's connection steps run as written on a fresh clone.

The test clones the committed HEAD of this repository into a temporary folder (with ``../shared``
beside it, as CI has it), takes the bash block of the section "## Set the connection" from the
clone's docs/airflow.md, replaces only the URI variables at its top with databases made for the
test on the local PostgreSQL and MariaDB servers, and runs the block with ``bash -euo pipefail``
in the clone: ``make setup`` (a new .venv), the exports, ``airflow db migrate`` on the clone's own
``out/airflow-home``, the providers, both connections added and tested. Nothing of this checkout's
environment (venv, AIRFLOW_*, MOT_*, PYTHONPATH) reaches the block.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SECTION = "## Set the connection"
URI_LINE = re.compile(r"^([A-Z][A-Z0-9_]*_URI)=(\S+)(.*)$", re.MULTILINE)
SETUP_TIMEOUT_S = 900  # make setup takes about 1.5 min with pip's cache, much longer without


def repository() -> Path:
    """The top of the git repository this test file lives in."""
    top = subprocess.run(
        ["git", "-C", str(HERE), "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=True
    )
    return Path(top.stdout.strip())


def connection_block(markdown: str) -> str:
    """The first bash block of the section SECTION; fails when the docs lost that shape."""
    assert f"\n{SECTION}\n" in markdown, f"docs/airflow.md has no section {SECTION!r}"
    section = markdown.split(f"\n{SECTION}\n", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"^```bash\n(.*?)^```$", section, re.MULTILINE | re.DOTALL)
    assert found, f"the section {SECTION!r} of docs/airflow.md has no ```bash block"
    return found.group(1)


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
