"""Scheduled runs cost what changed (issue 20, target 1): a process whose events, configuration and
mining code are as when it was last mined is not mined again, and what the run leaves equals what a
full run writes.

The pipeline tests generate their logs here: two processes in two CSV files; the second run appends
new cases and new events of open cases to one of them. The prepare tests at the end read two real
logs in place (../shared/data/logs): one with lifecycle pairs, one with start-time attributes.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from mining import pipeline
from mining.config import parse_config
from mining.sources.xes import read_xes
from mining.warehouse import connect
from mining.warehouse.load import load_batch
from mining.warehouse.prepare import prepare_process

# What legitimately differs between an incremental run and a full run on the same data: the loads
# (a second run reads the file again), the runs, the wall-clock time a digest was stored.
LOGS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "logs"
PREPARED = ("event_log", "cases", "variants", "dfg_edges", "activity_stats", "activity_instances", "event_instances")
NOT_MINED = {"load_audit", "run_audit", "quarantine", "watermarks", "schema_migrations", "mined_inputs"}
# Per load, not per content: events loaded by the second run carry its load id and source order,
# and a case's prepare digest covers its events' source order.
LOAD_COLUMNS = {"events": ("load_id", "seq"), "prepared_cases": ("digest_xor", "digest_sum")}
ACTIVITIES = ["apply", "check", "call customer", "approve", "reject", "pay out", "remind", "close"]


def journey(rng: random.Random) -> list[str]:
    steps = ["apply", "check"]
    steps += ["call customer"] * rng.randint(0, 2)
    steps.append(rng.choice(["approve", "approve", "reject"]))
    if steps[-1] == "approve":
        steps += ["remind"] * rng.randint(0, 1) + ["pay out"]
    return [*steps, "close"]


def write_log(path: Path, first_case: int, n_cases: int, seed: int, keep_open: int = 0) -> list[str]:
    """``n_cases`` cases from ``first_case``; the last ``keep_open`` of them stop after two events.
    Returns the rows (without header) that complete the open cases."""
    rng = random.Random(seed)
    rows, rest = [], []
    for number in range(first_case, first_case + n_cases):
        ts = datetime(2024, 1, 1) + timedelta(hours=number * 7)
        lines = []
        for activity in journey(rng):
            ts += timedelta(minutes=rng.randint(5, 3000))
            lines.append(f"c{number},{activity},{ts.isoformat()},r{rng.randint(1, 5)},{rng.randint(100, 900)}")
        if number >= first_case + n_cases - keep_open:
            rows += lines[:2]
            rest += lines[2:]
        else:
            rows += lines
    header = "" if path.exists() else "case_id,activity,timestamp,resource,amount\n"
    with path.open("a", encoding="utf-8") as out:
        out.write(header + "\n".join(rows) + "\n")
    return rest


def append(path: Path, rows: list[str]) -> None:
    with path.open("a", encoding="utf-8") as out:
        out.write("\n".join(rows) + "\n")


def config_for(folder: Path, **extra):
    sources = [
        {"name": name, "kind": "csv", "path": str(folder / f"{name}.csv"), "process": name}
        for name in ("loans", "claims")
    ]
    return parse_config({"sources": sources, "allowed_roots": [str(folder)], **extra})


def tables(warehouse: Path) -> dict[str, list[tuple]]:
    """Every mined table's rows, sorted (the run's own bookkeeping left out)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        found = {}
        for name in names:
            if name in NOT_MINED:
                continue
            dropped = ", ".join(LOAD_COLUMNS.get(name, ()))
            select = f"* EXCLUDE ({dropped})" if dropped else "*"
            found[name] = sorted(con.execute(f'SELECT {select} FROM "{name}"').fetchall(), key=repr)
        return found
    finally:
        con.close()


def outputs(out: Path) -> dict[str, bytes]:
    """The CSV and BPMN files of a run (the report shows the loads, which differ by design)."""
    return {
        p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.suffix in (".csv", ".bpmn")
    }


@pytest.fixture()
def logs(tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    open_rest = write_log(folder / "loans.csv", 0, 300, seed=1, keep_open=6)
    write_log(folder / "claims.csv", 0, 200, seed=2)
    return folder, open_rest


def test_an_unchanged_run_mines_nothing_and_leaves_what_a_full_run_writes(logs, tmp_path):
    folder, _ = logs
    config = config_for(folder)
    first = pipeline.run(config, tmp_path / "out")
    assert sorted(first.processes) == ["claims", "loans"] and first.unchanged == []
    before = tables(tmp_path / "out" / "warehouse.duckdb")

    second = pipeline.run(config, tmp_path / "out")
    assert second.processes == {} and second.unchanged == ["loans", "claims"]
    assert second.loads == []  # the files' content hashes are their stored watermarks: not read again
    assert sorted(second.files) == sorted(first.files)
    assert not any(name.startswith(("moments:", "discover:", "prepare:")) for name in second.timings)
    assert tables(tmp_path / "out" / "warehouse.duckdb") == before

    full = pipeline.run(config, tmp_path / "full-again", full=True)
    assert sorted(full.processes) == ["claims", "loans"]
    assert outputs(tmp_path / "out") == outputs(tmp_path / "full-again")


def test_a_delta_re_mines_only_its_process_and_equals_a_full_run(logs, tmp_path):
    folder, open_rest = logs
    config = config_for(folder)
    pipeline.run(config, tmp_path / "out")

    # The delta: the open cases' later events and 3 new cases (about 1% of the events each way).
    append(folder / "loans.csv", open_rest)
    write_log(folder / "loans.csv", 300, 3, seed=3)
    delta = pipeline.run(config, tmp_path / "out")
    assert list(delta.processes) == ["loans"] and delta.unchanged == ["claims"]
    # prepare rebuilt the six open cases and the three new ones, and kept the other 294 cases' rows
    assert delta.processes["loans"]["cases_rebuilt"] == 9
    assert [r.source for r in delta.loads] == ["loans"]
    assert delta.loads[0].rows_new > len(open_rest) and delta.loads[0].rows_updated == 0

    fresh = pipeline.run(config, tmp_path / "fresh")
    assert sorted(fresh.processes) == ["claims", "loans"]
    assert tables(tmp_path / "out" / "warehouse.duckdb") == tables(tmp_path / "fresh" / "warehouse.duckdb")
    assert outputs(tmp_path / "out") == outputs(tmp_path / "fresh")
    with duckdb.connect(str(tmp_path / "out" / "warehouse.duckdb"), read_only=True) as con:
        cases = con.execute("SELECT count(*) FROM cases WHERE process = 'loans'").fetchone()[0]
        closed = con.execute(
            "SELECT count(*) FROM event_log WHERE process = 'loans' AND case_id = 'c299' AND activity = 'close'"
        ).fetchone()[0]
    assert cases == 303 and closed == 1


def test_a_changed_configuration_mines_every_process_again(logs, tmp_path):
    folder, _ = logs
    pipeline.run(config_for(folder), tmp_path / "out")
    changed = config_for(folder, discovery={"imf_noise_threshold": 0.3})
    again = pipeline.run(changed, tmp_path / "out")
    assert sorted(again.processes) == ["claims", "loans"] and again.unchanged == []
    # Nothing prepare reads changed: no case is rebuilt.
    assert again.processes["loans"]["cases_rebuilt"] == again.processes["claims"]["cases_rebuilt"] == 0
    # Read again too: a changed setting (a column mapping, the time zone) can change the events.
    assert sorted(r.source for r in again.loads) == ["claims", "loans"]
    assert all(r.rows_new == 0 and r.rows_updated == 0 for r in again.loads)


def test_a_changed_time_zone_reads_the_files_again_and_moves_the_events(logs, tmp_path):
    folder, _ = logs
    pipeline.run(config_for(folder), tmp_path / "out")
    moved = pipeline.run(config_for(folder, timezone="Europe/Amsterdam"), tmp_path / "out")
    assert sorted(r.source for r in moved.loads) == ["claims", "loans"]
    # Naive times are now read as Amsterdam time: every event has a new time, so a new identity; the
    # file is the truth for its events, so the old ones go.
    new, deleted = sum(r.rows_new for r in moved.loads), sum(r.rows_deleted for r in moved.loads)
    assert new == deleted == sum(r.rows_read for r in moved.loads) > 0


def test_a_run_that_failed_half_way_leaves_no_digest_behind(logs, tmp_path, monkeypatch):
    folder, open_rest = logs
    config = config_for(folder)
    pipeline.run(config, tmp_path / "out")
    append(folder / "loans.csv", open_rest)

    def broken(*_args):
        raise RuntimeError("waste broke")

    monkeypatch.setattr(
        pipeline, "PROCESS_STEPS", [(n, broken if n == "waste" else f) for n, f in pipeline.PROCESS_STEPS]
    )
    with pytest.raises(RuntimeError, match="waste broke"):
        pipeline.run(config, tmp_path / "out")
    with duckdb.connect(str(tmp_path / "out" / "warehouse.duckdb"), read_only=True) as con:
        stored = {p for (p,) in con.execute("SELECT process FROM mined_inputs").fetchall()}
    assert stored == {"claims"}  # loans' tables are half rewritten: its digest is gone
    monkeypatch.undo()
    assert list(pipeline.run(config, tmp_path / "out").processes) == ["loans"]


def rewrite(path: Path, edit) -> None:
    """Replace the data rows of the CSV file at ``path`` by ``edit(rows)``."""
    header, *rows = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([header, *edit(rows)]) + "\n", encoding="utf-8")


def test_corrected_and_deleted_cases_are_rebuilt_alone_and_equal_a_full_run(logs, tmp_path, monkeypatch):
    """A source that corrects an event (a new time, which reorders its case), drops a case and adds
    an event to a closed case: prepare rebuilds those three cases alone, also when it works through
    the cases in ranges of a few events, and every table equals a full run's."""
    from mining.warehouse import prepare

    monkeypatch.setattr(prepare, "PREPARE_CHUNK_EVENTS", 120)  # about 20 ranges of cases
    folder, _ = logs
    config = config_for(folder)
    first = pipeline.run(config, tmp_path / "out")
    assert first.processes["loans"]["cases_rebuilt"] == 300

    def edit(rows: list[str]) -> list[str]:
        kept = [r for r in rows if not r.startswith("c7,")]  # case c7 is gone
        moved = next(i for i, r in enumerate(kept) if r.startswith("c12,"))
        case, activity, _ts, *rest = kept[moved].split(",")
        kept[moved] = ",".join([case, activity, "2023-12-31T00:00:00", *rest])  # c12's first event moves
        return [*kept, "c40,remind,2025-06-01T09:00:00,r2,500"]  # c40 gets a late event

    rewrite(folder / "loans.csv", edit)
    delta = pipeline.run(config, tmp_path / "out")
    assert list(delta.processes) == ["loans"]
    assert delta.processes["loans"]["cases_rebuilt"] == 3
    fresh = pipeline.run(config, tmp_path / "fresh")
    assert fresh.processes["loans"]["cases_rebuilt"] == 299
    assert tables(tmp_path / "out" / "warehouse.duckdb") == tables(tmp_path / "fresh" / "warehouse.duckdb")
    assert outputs(tmp_path / "out") == outputs(tmp_path / "fresh")
    with duckdb.connect(str(tmp_path / "out" / "warehouse.duckdb"), read_only=True) as con:
        assert (
            con.execute("SELECT count(*) FROM event_log WHERE process = 'loans' AND case_id = 'c7'").fetchone()[0] == 0
        )
        assert con.execute("SELECT count(*) FROM prepared_cases WHERE process = 'loans'").fetchone()[0] == 299
    # --full rebuilds every case, to the same tables
    assert pipeline.run(config, tmp_path / "out", full=True).processes["loans"]["cases_rebuilt"] == 299
    assert tables(tmp_path / "out" / "warehouse.duckdb") == tables(tmp_path / "fresh" / "warehouse.duckdb")


def test_changed_instance_settings_rebuild_every_case(logs, tmp_path):
    """The kept rows were built under other instance settings: every case is rebuilt, and the tables
    equal a full run's under the new settings."""
    folder, _ = logs
    pipeline.run(config_for(folder), tmp_path / "out")
    changed = config_for(folder, instances={"classifier": ["activity", "resource"]})
    again = pipeline.run(changed, tmp_path / "out")
    assert again.processes["loans"]["cases_rebuilt"] == 300
    assert again.processes["claims"]["cases_rebuilt"] == 200
    pipeline.run(changed, tmp_path / "fresh")
    assert tables(tmp_path / "out" / "warehouse.duckdb") == tables(tmp_path / "fresh" / "warehouse.duckdb")
    assert outputs(tmp_path / "out") == outputs(tmp_path / "fresh")


@pytest.mark.parametrize(
    ("log", "rebuilt"),
    [("reviewing.xes.gz", 8), ("interval_event_log.xes.gz", 78)],  # lifecycle pairs; start-time attributes
)
def test_a_real_log_prepared_after_its_latest_events_equals_a_full_prepare(tmp_path, log, rebuilt):
    """A real log loaded whole and prepared in full, against a copy prepared without its latest 3 % of
    events, which then come back: the changed cases alone are rebuilt, to the same rows."""
    full, delta = tmp_path / "full.duckdb", tmp_path / "delta.duckdb"
    for path in (full, delta):
        with connect(path) as con:
            load_batch(con, read_xes(LOGS / log), process="p", source="s", location=log)
    prepare_process(full, "p")
    with connect(delta) as con:
        cutoff = con.execute("SELECT quantile_disc(ts, 0.97) FROM events").fetchone()[0]
        con.execute("CREATE TABLE held AS SELECT * FROM events WHERE ts > ?", [cutoff])
        con.execute("DELETE FROM events WHERE ts > ?", [cutoff])
    prepare_process(delta, "p")
    with connect(delta) as con:
        con.execute("INSERT INTO events SELECT * FROM held")
        con.execute("DROP TABLE held")
    assert prepare_process(delta, "p")["cases_rebuilt"] == rebuilt
    with duckdb.connect(str(delta), read_only=True) as con:
        con.execute(f"ATTACH '{full}' AS f (READ_ONLY)")
        for table in PREPARED:
            differing = con.execute(
                f"SELECT (SELECT count(*) FROM (SELECT * FROM {table} EXCEPT ALL SELECT * FROM f.{table})) + "
                f"(SELECT count(*) FROM (SELECT * FROM f.{table} EXCEPT ALL SELECT * FROM {table}))"
            ).fetchone()[0]
            assert differing == 0, table
            assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0, table
