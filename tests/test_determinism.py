"""The same input and config give byte-identical outputs: every table, library view and output file of two
runs into two folders (the DuckDB files themselves excepted, and the wall-clock columns of
load_audit). BPIC2012 is the log on which float sums used to differ in their last digits; one of its
two runs is the session's shared run (tests/shared_run.py), the other a `mot run` of its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import shared_run

LOGS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "logs"
MOT = Path(sys.executable).with_name("mot")
WALL_CLOCK = {
    "load_audit": ("started_at", "finished_at", "duration_s"),
    "run_audit": ("started_at", "ended_at"),
    "mined_inputs": ("mined_at",),
}
NOT_OUTPUTS = (".duckdb", ".wal", ".lock")


def run(log: Path, out: Path) -> None:
    done = subprocess.run([str(MOT), "run", str(log), "--out", str(out)], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]


def tables(warehouse: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        # The tables, and the views of the SQL library that people query.
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() UNION ALL "
                "SELECT view_name FROM duckdb_views() WHERE NOT internal AND schema_name = 'main' ORDER BY 1"
            ).fetchall()
        ]
        found = {}
        for name in names:
            columns = [r[0] for r in con.execute(f'DESCRIBE "{name}"').fetchall()]
            kept = [c for c in columns if c not in WALL_CLOCK.get(name, ())]
            select = ", ".join(f'"{c}"' for c in kept)
            # Row order of a table is not part of its contents; the rows are.
            found[name] = sorted(con.execute(f'SELECT {select} FROM "{name}"').fetchall(), key=repr)
        return found
    finally:
        con.close()


def files(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and not p.name.endswith(NOT_OUTPUTS) and ".snapshot." not in p.name
    }


@pytest.mark.slow
@pytest.mark.parametrize("log", ["bpic2012.xes.gz", "receipt.xes.gz"])
def test_two_runs_give_identical_tables_and_files(tmp_path, log, request):
    path = LOGS / log
    if log == "bpic2012.xes.gz":  # the session's shared run (pipeline.run in a test process) is one of the two
        shared_run.copy(request.getfixturevalue("bpic2012_run"), tmp_path / "one")
    else:
        run(path, tmp_path / "one")
    run(path, tmp_path / "two")
    one, two = files(tmp_path / "one"), files(tmp_path / "two")
    assert sorted(one) == sorted(two)
    assert {"report.html", "as-is.bpmn", "to-be.bpmn", "moments.csv", "waste.csv"} <= set(one)
    differing = [name for name in one if one[name] != two[name]]
    assert differing == []
    first, second = tables(tmp_path / "one" / "warehouse.duckdb"), tables(tmp_path / "two" / "warehouse.duckdb")
    assert sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []
