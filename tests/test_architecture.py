"""The layout rules of docs/contributing.md, checked on the code itself: the import-linter layers,
thin DAG files, no Airflow in mining/, small modules, and one registry line per step."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 450


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_the_layer_contract_holds():
    done = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken" in done.stdout


def test_dag_files_import_only_airflow_and_the_orchestration_entry_point():
    for dag in sorted((ROOT / "dags").glob("*.py")):
        ours = {m for m in imported_modules(dag) if m.split(".")[0] in ("mining", "mot_airflow")}
        assert ours <= {"mining", "mining.orchestration", "mot_airflow", "mot_airflow.errors"}, (dag.name, ours)


def test_the_airflow_adapters_use_mining_only_through_orchestration_and_alerts():
    for module in sorted((ROOT / "mot_airflow").glob("*.py")):
        mining = {m for m in imported_modules(module) if m.split(".")[0] == "mining"}
        assert mining <= {"mining", "mining.orchestration", "mining.alerts"}, (module.name, mining)


def test_mining_never_imports_airflow():
    offenders = [
        p.relative_to(ROOT).as_posix()
        for p in sorted((ROOT / "mining").rglob("*.py"))
        if any(m.split(".")[0] == "airflow" for m in imported_modules(p))
    ]
    assert offenders == []


def test_no_module_in_mining_is_above_the_size_limit():
    sizes = {
        p.relative_to(ROOT).as_posix(): len(p.read_text("utf-8").splitlines()) for p in (ROOT / "mining").rglob("*.py")
    }
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_every_registered_step_lives_in_its_own_package_and_names_its_csv_files_once():
    from mining.registry import STEPS

    names = [s.name for s in STEPS]
    assert len(names) == len(set(names))
    files = [f for s in STEPS for f in s.csv_files]
    assert len(files) == len(set(files))
    assert names[-1] == "queries"  # the last writer publishes the read snapshot
