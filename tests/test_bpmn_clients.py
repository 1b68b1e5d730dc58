"""The BPMN files in the real clients: the BPMN 2.0 XSD, bpmn-moddle, bpmn-js in Debian's headless
Chromium (with a look at the screenshot's pixels), and pm4py's BPMN importer and token replay.

The pipeline runs for real on the sample system (twice, for byte-identical files), on small real
logs through the ``mot run`` command, and on BPIC2012. The Node tools come from the npm registry
through tools/bpmn-check/package-lock.json (``npm ci``, done here when ``make setup`` has not).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import yaml

from mining import discovery, pipeline
from mining.bpmn.serialize import BPMN, MOT
from mining.bpmn.tobe import project
from mining.warehouse import connect

REPO = Path(__file__).resolve().parents[1]
TOOLS = REPO / "tools" / "bpmn-check"
XSD = TOOLS / "node_modules" / "bpmn-moddle" / "resources" / "bpmn" / "xsd" / "BPMN20.xsd"
LOGS = REPO.parent / "shared" / "data" / "logs"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
GROUND_TRUTH = yaml.safe_load((REPO / "mining" / "sample_system" / "ground_truth.yaml").read_text("utf-8"))
DEMO = "loan_origination"


# --- the tools -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def node_tools() -> Path:
    """tools/bpmn-check with its node_modules, installed from the lock file when missing."""
    if not (TOOLS / "node_modules" / ".package-lock.json").exists():
        npm = shutil.which("npm")
        assert npm, "npm is not installed: the BPMN checks need Node.js and npm (see README.md)"
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=TOOLS, check=True)
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: install Debian's chromium (`make system-deps`)"
    return TOOLS


def node(tools: Path, script: str, *args: str) -> list[dict]:
    """Run one of the check scripts; its JSON report."""
    done = subprocess.run(["node", str(tools / script), *args], capture_output=True, text=True, timeout=600)
    assert done.stdout, f"{script} printed nothing; stderr:\n{done.stderr}"
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def xsd(node_tools):
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(XSD)))


def xsd_errors(schema, path: Path) -> list[str]:
    from lxml import etree

    schema.validate(etree.parse(str(path)))
    return [f"{e.line}: {e.message}" for e in schema.error_log]


# --- pipeline runs -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The sample system through the whole pipeline (as `mot demo` runs it)."""
    out = tmp_path_factory.mktemp("bpmn-demo")
    summary = pipeline.run(pipeline.demo_config(out, n_cases=2000, seed=42), out)
    return out, summary.processes[DEMO]["bpmn"]


@pytest.fixture(scope="module")
def small_logs(tmp_path_factory):
    """Two small real XES logs through the `mot run` command line."""
    outs = {}
    for name in ("running-example.xes.gz", "receipt.xes.gz"):
        out = tmp_path_factory.mktemp(name.split(".")[0])
        done = subprocess.run(
            [sys.executable, "-m", "mining.cli", "run", str(LOGS / name), "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        outs[name] = out
    return outs


def bpmn_root(path: Path):
    return ET.parse(path).getroot()


def tasks_of(path: Path) -> dict[str, ET.Element]:
    process = bpmn_root(path).find(f"{{{BPMN}}}process")
    return {t.get("name"): t for t in process.findall(f"{{{BPMN}}}task")}


def mot_attrs(element: ET.Element) -> dict[str, str]:
    return {k.split("}")[1]: v for k, v in element.attrib.items() if k.startswith(f"{{{MOT}}}")}


# --- the sample system -----------------------------------------------------------------------------


def test_demo_writes_as_is_and_to_be_next_to_the_other_outputs(demo):
    out, figures = demo
    assert figures["as_is_file"] == str(out / "as-is.bpmn") and figures["to_be_file"] == str(out / "to-be.bpmn")
    assert (out / "as-is.bpmn").stat().st_size > 10_000 and (out / "to-be.bpmn").stat().st_size > 10_000


def test_demo_files_are_byte_identical_across_runs(demo, tmp_path):
    out, _ = demo
    pipeline.run(pipeline.demo_config(tmp_path, n_cases=2000, seed=42), tmp_path)
    for name in ("as-is.bpmn", "to-be.bpmn"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name


def test_demo_files_are_valid_bpmn_2_0(demo, small_logs, xsd):
    out, _ = demo
    files = [out / "as-is.bpmn", out / "to-be.bpmn"]
    files += [o / n for o in small_logs.values() for n in ("as-is.bpmn", "to-be.bpmn")]
    for path in files:
        assert xsd_errors(xsd, path) == [], path
    # The schema does check: the same file with the documentation after the flows is refused.
    text = (out / "as-is.bpmn").read_text("utf-8")
    broken = out.parent / "broken.bpmn"
    moved = text.replace("<bpmn:documentation>", "<bpmn:incoming>x</bpmn:incoming><bpmn:documentation>", 1)
    broken.write_text(moved, encoding="utf-8")
    assert any("documentation" in e for e in xsd_errors(xsd, broken))


def test_bpmn_moddle_imports_both_files_with_zero_warnings(demo, small_logs, node_tools):
    out, _ = demo
    files = [out / "as-is.bpmn", out / "to-be.bpmn"]
    files += [o / n for o in small_logs.values() for n in ("as-is.bpmn", "to-be.bpmn")]
    reports = node(node_tools, "moddle-check.mjs", *map(str, files))
    for report in reports:
        assert "error" not in report, report
        assert report["warnings"] == [], report["file"]
        connections = ("bpmn:SequenceFlow", "bpmn:Association")
        shapes = [e for e in report["elements"] if e["type"] not in connections]
        flows = [e for e in report["elements"] if e["type"] in connections]
        # Complete diagram interchange: a shape with bounds for every node, waypoints for every flow.
        assert all(report["shapes"][e["id"]]["bounds"]["width"] > 0 for e in shapes)
        assert all(len(report["shapes"][f["id"]]["waypoints"]) >= 2 for f in flows)
        assert all(f["source"] and f["target"] for f in flows)
        assert len(report["shapes"]) == len(report["elements"])
    as_is = reports[0]
    con = connect(out / "warehouse.duckdb", read_only=True)
    try:
        mots = {
            a
            for (a,) in con.execute(
                "SELECT activity FROM mot_activities WHERE process = ? AND is_moment_of_truth", [DEMO]
            ).fetchall()
        }
    finally:
        con.close()
    tasks = {e["name"]: e for e in as_is["elements"] if e["type"] == "bpmn:Task"}
    assert mots and set(tasks) - mots  # both kinds are there to tell apart
    for name, task in tasks.items():
        shape = as_is["shapes"][task["id"]]
        assert (shape["fill"] == "#BBDEFB") == (name in mots), name  # read as bpmn-js reads it
        assert (shape["backgroundColor"] == "#BBDEFB") == (name in mots), name
        assert task["attrs"]["mot:momentOfTruth"] == ("true" if name in mots else "false")
        assert task["documentation"][0].startswith(name + "\nFrequency: ")


def blended(colour: str, opacity: float = 0.95) -> tuple[int, ...]:
    """What bpmn-js paints for a task fill: the colour at 95% opacity over the white canvas."""
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return tuple(round(opacity * c + (1 - opacity) * 255) for c in rgb)


def near(colour: str, rgb: tuple[int, ...], tolerance: int = 6) -> bool:
    return all(abs(int(colour[1 + 2 * i : 3 + 2 * i], 16) - rgb[i]) <= tolerance for i in range(3))


def test_bpmn_js_renders_both_files_and_the_screenshot_shows_the_mot_colours(demo, small_logs, node_tools, tmp_path):
    out, figures = demo
    files = [out / "as-is.bpmn", out / "to-be.bpmn", *(o / "as-is.bpmn" for o in small_logs.values())]
    reports = node(node_tools, "render-check.mjs", "--out", str(tmp_path), *map(str, files))
    for report in reports:
        assert report["error"] is None and report["warnings"] == [] and report["pageErrors"] == [], report["file"]
        assert Path(report["png"]).stat().st_size > 5_000
    con = connect(out / "warehouse.duckdb", read_only=True)
    try:
        mots = {
            a
            for (a,) in con.execute(
                "SELECT activity FROM mot_activities WHERE process = ? AND is_moment_of_truth", [DEMO]
            ).fetchall()
        }
    finally:
        con.close()
    candidates = set(figures["removal_candidates"])
    for report in reports[:2]:
        tasks = {s["name"]: s for s in report["shapes"].values() if s["type"] == "bpmn:Task"}
        assert tasks
        for name, shape in tasks.items():
            dominant = shape["colours"][0]
            assert dominant["share"] > 0.6, (name, shape["colours"])
            if name in mots:
                expected = blended("#BBDEFB")
            elif name in candidates:
                expected = blended("#FFCDD2")
            else:
                expected = (255, 255, 255)
            assert near(dominant["colour"], expected), (report["file"], name, shape["colours"])
        gateways = [s for s in report["shapes"].values() if s["type"].endswith("Gateway")]
        assert gateways and all(s["colours"][0]["colour"] == "#FFFFFF" for s in gateways)


def test_pm4py_reads_both_files_back_with_the_discovered_fitness(demo):
    import pm4py

    out, figures = demo
    con = connect(out / "warehouse.duckdb", read_only=True)
    try:
        log_variants = discovery.variants(con, DEMO)
        (discovered,) = con.execute(
            "SELECT fitness FROM model_runs WHERE process = ? AND algorithm = 'imf'", [DEMO]
        ).fetchall()[0]
    finally:
        con.close()
    nets = {}
    for name in ("as-is.bpmn", "to-be.bpmn"):
        net, im, fm = pm4py.convert_to_petri_net(pm4py.read_bpmn(str(out / name)))
        assert pm4py.check_soundness(net, im, fm)[0], name
        nets[name] = (net, im, fm)
    fitness = pm4py.fitness_token_based_replay(discovery.variant_log(log_variants), *nets["as-is.bpmn"])["log_fitness"]
    assert abs(fitness - discovered) <= 0.01, (fitness, discovered)
    projected = project(log_variants, figures["removed"])
    to_be = pm4py.fitness_token_based_replay(discovery.variant_log(projected), *nets["to-be.bpmn"])["log_fitness"]
    assert abs(to_be - figures["to_be"]["fitness"]) <= 0.01, (to_be, figures["to_be"])
    labels = {t.label for t in nets["to-be.bpmn"][0].transitions if t.label}
    assert labels == {a for s in projected for a in s}


def test_to_be_leaves_out_the_waste_candidates_and_keeps_the_value_steps(demo):
    out, figures = demo
    con = connect(out / "warehouse.duckdb", read_only=True)
    try:
        recommended = {
            a
            for (a,) in con.execute(
                "SELECT activity FROM waste_activities WHERE process = ? AND recommendation = 'remove'", [DEMO]
            ).fetchall()
        }
    finally:
        con.close()
    assert recommended, "the waste step did not run before the bpmn step (order of PROCESS_STEPS)"
    assert set(figures["removed"]) == recommended == set(figures["removal_candidates"])
    assert recommended <= set(GROUND_TRUTH["waste"])  # the injected waste, nothing that carries value
    as_is, to_be = tasks_of(out / "as-is.bpmn"), tasks_of(out / "to-be.bpmn")
    assert set(to_be) == set(as_is) - recommended
    assert set(GROUND_TRUTH["value_steps"]) <= set(to_be)
    root = bpmn_root(out / "as-is.bpmn")
    process = root.find(f"{{{BPMN}}}process")
    noted = {a.get("sourceRef") for a in process.findall(f"{{{BPMN}}}association")}
    assert noted == {as_is[a].get("id") for a in recommended}
    doc = bpmn_root(out / "to-be.bpmn").find(f"{{{BPMN}}}process").find(f"{{{BPMN}}}documentation").text
    assert f"without {len(recommended)} step(s): {', '.join(sorted(recommended))}." in doc
    comparison = figures["comparison"]
    assert f"- activities: {comparison['Activities']['as_is']} -> {comparison['Activities']['to_be']}" in doc
    assert comparison["MomentsPerCase"]["to_be"] < comparison["MomentsPerCase"]["as_is"]  # Courtesy call is an MOT
    assert comparison["EventsPerCase"]["to_be"] < comparison["EventsPerCase"]["as_is"]


def test_task_figures_are_the_warehouse_figures(demo):
    out, _ = demo
    tasks = tasks_of(out / "as-is.bpmn")
    con = connect(out / "warehouse.duckdb", read_only=True)
    try:
        stats = dict(con.execute("SELECT activity, frequency FROM activity_stats WHERE process = ?", [DEMO]).fetchall())
        share = dict(con.execute("SELECT activity, share FROM mot_activities WHERE process = ?", [DEMO]).fetchall())
        impact = dict(con.execute(
            "SELECT activity, avg(score) FROM mot_events WHERE process = ? AND is_moment_of_truth AND score IS NOT NULL GROUP BY activity", [DEMO]
        ).fetchall())  # fmt: skip
        waste = {
            a: (s, r)
            for a, s, r in con.execute(
                "SELECT activity, waste_score, recommendation FROM waste_activities WHERE process = ?", [DEMO]
            ).fetchall()
        }
        waits = dict(con.execute(
            "SELECT activity, median(epoch(ts) - epoch(prev_ts)) FROM event_log WHERE process = ? AND prev_ts IS NOT NULL GROUP BY activity", [DEMO]
        ).fetchall())  # fmt: skip
    finally:
        con.close()
    assert set(tasks) == set(stats)
    for name, task in tasks.items():
        attrs = mot_attrs(task)
        assert int(attrs["frequency"]) == stats[name]
        assert float(attrs["motShare"]) == pytest.approx(share[name], abs=1e-6)
        assert float(attrs["wasteScore"]) == pytest.approx(waste[name][0], abs=1e-6)
        assert attrs["recommendation"] == waste[name][1]
        if name in impact:
            assert float(attrs["runningScoreImpact"]) == pytest.approx(impact[name], abs=1e-6)
        else:
            assert "runningScoreImpact" not in attrs
        if name in waits:
            assert float(attrs["waitMedianSeconds"]) == pytest.approx(waits[name], abs=1e-6)


def test_mot_run_writes_both_files_for_any_xes_log(small_logs):
    for name, out in small_logs.items():
        as_is, to_be = tasks_of(out / "as-is.bpmn"), tasks_of(out / "to-be.bpmn")
        assert as_is and set(to_be) <= set(as_is), name
        doc = bpmn_root(out / "as-is.bpmn").find(f"{{{BPMN}}}process").find(f"{{{BPMN}}}documentation").text
        assert "Token-based replay fitness on the log: " in doc


# --- BPIC2012 -------------------------------------------------------------------------------------


# A bookkeeping state that always follows the submission, and the call-backs about offers (an MOT).
BPIC_REMOVE = ["A_PARTLYSUBMITTED", "W_Nabellen offertes"]


@pytest.fixture(scope="module")
def bpic(tmp_path_factory):
    """BPIC2012 through the whole pipeline, with two steps taken out of the to-be model by config."""
    out = tmp_path_factory.mktemp("bpmn-bpic")
    config_file = out.parent / "bpic-bpmn.yaml"
    config_file.write_text(yaml.safe_dump({"bpmn": {"remove": BPIC_REMOVE}}), encoding="utf-8")
    config = pipeline.config_for_log(LOGS / "bpic2012.xes.gz", config_file)
    summary = pipeline.run(config, out)
    return out, summary.processes["bpic2012"]["bpmn"]


@pytest.mark.slow
def test_bpic2012_opens_cleanly_in_the_clients(bpic, xsd, node_tools, tmp_path):
    out, figures = bpic
    assert figures["removed"] == sorted(BPIC_REMOVE)
    assert set(tasks_of(out / "to-be.bpmn")) == set(tasks_of(out / "as-is.bpmn")) - set(BPIC_REMOVE)
    files = [out / "as-is.bpmn", out / "to-be.bpmn"]
    for path in files:
        assert xsd_errors(xsd, path) == [], path
    for report in node(node_tools, "moddle-check.mjs", *map(str, files)):
        assert report["warnings"] == [], report["file"]
    for report in node(node_tools, "render-check.mjs", "--out", str(tmp_path), *map(str, files)):
        assert report["error"] is None and report["warnings"] == [] and report["pageErrors"] == [], report["file"]
        tasks = [s for s in report["shapes"].values() if s["type"] == "bpmn:Task"]
        assert len(tasks) >= 10
        assert any(near(s["colours"][0]["colour"], blended("#BBDEFB")) for s in tasks)  # the MOTs show


@pytest.mark.slow
def test_bpic2012_as_is_fitness_equals_the_discovered_models(bpic):
    import pm4py

    out, _ = bpic
    con = connect(out / "warehouse.duckdb", read_only=True)
    try:
        log_variants = discovery.variants(con, "bpic2012")
        (discovered,) = con.execute(
            "SELECT fitness FROM model_runs WHERE process = 'bpic2012' AND algorithm = 'imf'"
        ).fetchall()[0]
    finally:
        con.close()
    net, im, fm = pm4py.convert_to_petri_net(pm4py.read_bpmn(str(out / "as-is.bpmn")))
    fitness = pm4py.fitness_token_based_replay(discovery.variant_log(log_variants), net, im, fm)["log_fitness"]
    assert abs(fitness - discovered) <= 0.01, (fitness, discovered)
    to_be_net = pm4py.convert_to_petri_net(pm4py.read_bpmn(str(out / "to-be.bpmn")))[0]
    assert {t.label for t in to_be_net.transitions if t.label} == set(tasks_of(out / "to-be.bpmn"))
    assert Counter(t.label for t in net.transitions if t.label) == Counter(list(tasks_of(out / "as-is.bpmn")))
