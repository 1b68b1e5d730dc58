"""Config that used to hang, abort or crash a run, and the messages and outcomes it gives now (issue 17).

- a catastrophic marking regex (``^(a+)+$``) on a long activity name: the run finishes (RE2);
- regex constructs RE2 lacks: a config error naming the key, at load;
- every activity up for removal: the run completes, the to-be keeps the most frequent path and
  says why, in the BPMN and in the report;
- a misspelt name in ``bpmn.remove``: refused right after the prepare step, before the heavy ones;
- a reader holding ``warehouse.duckdb`` open: one line naming the holder and the snapshot.

Every input is generated here; real runs (``mot run`` in a child process, ``pipeline.run``), no mocks.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from xml.etree import ElementTree as ET

import duckdb
import pytest
import yaml

from mining import exports, pipeline
from mining.bpmn.serialize import BPMN, MOT
from mining.bpmn.step import bpmn_step
from mining.config import ConfigError, ProjectConfig, Source, parse_config
from mining.config.bpmn import Bpmn
from mining.config.moments import Match
from mining.moments.rules import CompiledMatch
from mining.warehouse import WarehouseHeld, connect

MOT_CLI = Path(sys.executable).with_name("mot")
CHILD_ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
LONG_A = "a" * 40  # ^(a+)+$ backtracks 2^40 ways on this followed by one other character


def write_log(path: Path, cases: int = 60, extra: dict[int, str] | None = None) -> Path:
    """A loan-like log: submit, check, then approve + notify (2 of 3) or reject, then archive.

    ``extra``: case number -> an activity added after 'check' in that case.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["case_id", "activity", "timestamp", "resource"])
        for c in range(cases):
            steps = ["submit", "check"] + ([extra[c]] if extra and c in extra else [])
            steps += (["approve", "notify"] if c % 3 else ["reject"]) + ["archive"]
            for i, step in enumerate(steps):
                writer.writerow([f"c{c}", step, f"2024-03-{1 + c % 28:02d} {8 + i:02d}:{c % 60:02d}:00", f"r{c % 4}"])
    return path


def write_config(folder: Path, log: Path, **sections) -> Path:
    data = {"sources": [{"name": "loans", "kind": "csv", "path": str(log), "process": "loans"}], **sections}
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


# --- defect 7: catastrophic regexes ----------------------------------------------------------------


def test_catastrophic_marking_rule_on_a_long_activity_name_finishes_and_marks_what_it_matches(tmp_path):
    # Python's re needs about 2^40 steps for '^(a+)+$' against LONG_A + '!': the run used to hang,
    # holding the writer lock. A generous limit, not a timing claim: the run takes seconds.
    log = write_log(tmp_path / "loans.csv", extra={1: LONG_A + "!", 2: LONG_A})
    marking = {"rules": [{"name": "all a", "activity_regex": "^(a+)+$"}], "use_default_rules": False}
    config = write_config(tmp_path, log, moments={"marking": marking})
    out = tmp_path / "out"
    done = subprocess.run(
        [str(MOT_CLI), "run", "--config", str(config), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env=CHILD_ENV,
    )
    assert done.returncode == 0, done.stderr
    with connect(out / "warehouse.duckdb", read_only=True) as con:
        marked = dict(con.execute("SELECT activity, is_moment_of_truth FROM mot_activities").fetchall())
    assert marked[LONG_A] is True  # matched in full
    assert marked[LONG_A + "!"] is False  # the case that backtracked for ever: no match, found at once
    assert not any(marked[a] for a in ("submit", "check", "approve", "notify", "reject", "archive"))


@pytest.mark.parametrize(
    ("section", "key", "pattern", "construct"),
    [
        ({"moments": {"marking": {"rules": [{"name": "r", "activity_regex": "(?<!re)call"}]}}},
         "moments.marking.rules.0.activity_regex", "(?<!re)call", "a lookbehind"),
        ({"moments": {"marking": {"rules": [{"name": "r", "where": {"channel": {"regex": r"^(\w)\1$"}}}]}}},
         "moments.marking.rules.0.where.channel.Pattern.regex", r"^(\w)\1$", "a backreference"),
        ({"moments": {"outcomes": {"success": [{"activity_regex": "paid(?! late)"}]}}},
         "moments.outcomes.success.0.activity_regex", "paid(?! late)", "a negative lookahead"),
        ({"waste": {"system_resource_regex": "(?=sys)system"}}, "waste.system_resource_regex", "(?=sys)system",
         "a lookahead"),
        ({"moments": {"marking": {"channel_names": {"phone": "(?>call)"}}}}, "moments.marking.channel_names",
         "(?>call)", "phone: regular expression"),
    ],
)  # fmt: skip
def test_constructs_the_linear_time_engine_lacks_are_refused_at_load_naming_the_key(section, key, pattern, construct):
    with pytest.raises(ConfigError) as caught:
        parse_config(section, "project.yaml")
    message = str(caught.value)
    assert f"{key}: Value error," in message
    assert repr(pattern) in message and construct in message
    assert "RE2, in time linear in the text" in message


def test_python_syntax_and_case_insensitive_matching_still_work():
    match = CompiledMatch(
        Match(activity_regex=r"(?P<verb>send|sent)\s+offer\b", where={"amount": {"regex": r"^\d{3,}$"}})
    )
    assert match.matches({"activity": "SEND  Offer", "amount": "1200"})
    assert not match.matches({"activity": "send offers", "amount": "1200"})
    assert not match.matches({"activity": "sent offer", "amount": "12"})
    # A broken pattern still gets Python's message, with the position.
    with pytest.raises(ConfigError, match=r"activity_regex: Value error, invalid regular expression '\(call'"):
        parse_config({"moments": {"marking": {"rules": [{"name": "r", "activity_regex": "(call"}]}}})


# --- defect 9: every activity up for removal ------------------------------------------------------------


def to_be_process(path: Path) -> ET.Element:
    return ET.parse(path).getroot().find(f"{{{BPMN}}}process")


def to_be_tasks(process: ET.Element) -> set[str]:
    return {t.get("name") for t in process.findall(f"{{{BPMN}}}task")}


def test_every_activity_ranked_for_removal_keeps_the_most_frequent_path_and_says_why(tmp_path):
    log = write_log(tmp_path / "loans.csv")
    config = ProjectConfig(sources=[Source(name="loans", kind="csv", path=str(log), process="loans")])
    out = tmp_path / "out"
    pipeline.run(config, out)
    warehouse = out / "warehouse.duckdb"
    # What the waste analysis leaves when it ranks every activity for removal (bpmn.remove unset).
    with connect(warehouse) as con:
        con.execute("UPDATE waste_activities SET recommendation = 'remove' WHERE process = 'loans'").fetchall()
    figures = bpmn_step(warehouse, config, "loans", out)["bpmn"]
    exports.write_outputs(warehouse, config, out)

    path = ["submit", "check", "approve", "notify", "archive"]  # 40 of the 60 cases
    assert set(figures["removed"]) == {"reject"}
    assert figures["to_be_notice"].startswith("The waste analysis recommends removing every activity of loans (6)")
    assert "most frequent variant (40 of 60 cases, 66.7%): " + " -> ".join(path) in figures["to_be_notice"]
    process = to_be_process(out / "to-be.bpmn")
    assert to_be_tasks(process) == set(path)
    assert process.get(f"{{{MOT}}}notice") == figures["to_be_notice"]
    doc = process.find(f"{{{BPMN}}}documentation").text
    assert "Notice: The waste analysis recommends removing every activity" in doc
    assert "Removal candidates kept on the path of the most frequent variant" in doc
    notes = [t.find(f"{{{BPMN}}}text").text for t in process.findall(f"{{{BPMN}}}textAnnotation")]
    assert len(notes) == 5 and all(n.startswith("Kept in the to-be model on the most frequent path") for n in notes)
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "which would leave no process to run. The to-be keeps the path of the most frequent variant" in report


def test_bpmn_remove_naming_every_activity_completes_the_run(tmp_path):
    log = write_log(tmp_path / "loans.csv")
    every = ["approve", "archive", "check", "notify", "reject", "submit"]
    config = parse_config(yaml.safe_load(write_config(tmp_path, log, bpmn={"remove": every}).read_text()))
    summary = pipeline.run(config, tmp_path / "out")
    bpmn = summary.processes["loans"]["bpmn"]
    assert bpmn["removed"] == ["reject"]
    assert bpmn["to_be_notice"].startswith("bpmn.remove names every activity of loans (6)")
    assert to_be_tasks(to_be_process(tmp_path / "out" / "to-be.bpmn")) == set(every) - {"reject"}


# --- defect 10: bpmn.remove checked early -------------------------------------------------------------------


def test_unknown_activity_in_bpmn_remove_stops_the_run_right_after_prepare(tmp_path):
    log = write_log(tmp_path / "loans.csv")
    config = parse_config(yaml.safe_load(write_config(tmp_path, log, bpmn={"remove": ["notfy"]}).read_text()))
    said: list[str] = []
    with pytest.raises(ValueError) as caught:
        pipeline.run(config, tmp_path / "out", progress=said.append)
    assert str(caught.value) == (
        "bpmn.remove: process 'loans' has no activity 'notfy' (did you mean 'notify'?) "
        "(known: approve, archive, check, notify, reject, submit)"
    )
    assert said == ["ingest loans", "prepare loans"]  # discovery, moments, waste never started
    with connect(tmp_path / "out" / "warehouse.duckdb", read_only=True) as con:
        assert con.execute("SELECT count(*) FROM model_runs").fetchall() == [(0,)]


@pytest.mark.parametrize(
    ("name", "says"),
    [("notify\x07", "holds a control character: no activity can"), (" notify", "starts or ends with a space")],
)
def test_names_no_activity_can_have_are_refused_at_config_load(name, says):
    with pytest.raises(ConfigError, match=rf"bpmn\.remove: Value error, item 0 \(.*\) {says}"):
        parse_config({"bpmn": {"remove": [name]}}, "project.yaml")
    assert Bpmn(remove=["notify"]).remove == ["notify"]


# --- defect 10: a reader holding the warehouse ---------------------------------------------------------------

HOLD = """
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "read-only")
    print("open", flush=True)
    time.sleep(120)
"""


@pytest.mark.parametrize("mode", ["read-only", "read-write"])
def test_mot_run_on_a_warehouse_another_process_holds_says_who_and_points_to_the_snapshot(tmp_path, mode):
    log = write_log(tmp_path / "loans.csv", cases=12)
    out = tmp_path / "out"
    with connect(out / "warehouse.duckdb"):  # an earlier run's warehouse
        pass
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HOLD), str(out / "warehouse.duckdb"), mode],
        stdout=subprocess.PIPE,
        text=True,
        env=CHILD_ENV,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        done = subprocess.run(
            [str(MOT_CLI), "run", str(log), "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=300,
            env=CHILD_ENV,
        )
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "IOException" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: cannot write {out / 'warehouse.duckdb'}: process {holder.pid} ({sys.executable} -c "
        + errors[0].split(f"({sys.executable} -c ", 1)[1]
    ]
    assert f"({sys.executable} -c import sys, time, duckdb con = duckdb.connect(" in errors[0]  # from /proc
    assert "readers should open the snapshot warehouse.snapshot.duckdb" in errors[0]
    assert "(`mot sql` reads it by default)" in errors[0]


def test_a_reader_meeting_a_writer_is_told_to_read_the_snapshot(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with connect(warehouse):
        pass
    writer = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HOLD), str(warehouse), "read-write"],
        stdout=subprocess.PIPE,
        text=True,
        env=CHILD_ENV,
    )
    try:
        assert writer.stdout.readline().strip() == "open"
        with pytest.raises(WarehouseHeld) as caught:
            connect(warehouse, read_only=True)
    finally:
        writer.kill()
        writer.wait()
    assert str(caught.value).startswith(f"cannot read {warehouse}: process {writer.pid} ({sys.executable} -c ")
    assert str(caught.value).endswith("is writing it; read the snapshot warehouse.snapshot.duckdb beside it instead")
    assert isinstance(caught.value.__cause__, duckdb.IOException)
