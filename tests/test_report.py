"""The HTML report without a browser: layout, process map, queries, missing parts, files, determinism.

The browser checks on the demo and BPIC2012 are in tests/test_report_browser.py.
"""

from __future__ import annotations

import hashlib
import random
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from mining import outputs
from mining.config import parse_config
from mining.exports import write_report
from mining.outputs import report_file
from mining.report import bpmn as report_bpmn
from mining.report import processmap as pm
from mining.report.data import Reader, install_library, source_of
from mining.report.render import render_report
from mining.sources.delimited import read_csv
from mining.warehouse import connect
from mining.warehouse.load import load_batch
from mining.warehouse.prepare import prepare

# --- process map (the renderer's own tests are in tests/test_report_map.py) --------------------------


def test_heat_scale_and_text_colour():
    assert pm.heat(None) == pm.NEUTRAL_FILL
    assert pm.heat(0.0) == pm.HEAT[0].upper()
    assert pm.heat(1.0) == pm.HEAT[-1].upper()
    assert pm.heat(7.0) == pm.HEAT[-1].upper()  # clamped
    assert pm.text_colour(pm.heat(1.0)) == "#FFFFFF"
    assert pm.text_colour(pm.heat(0.0)) == "#111827"


def test_process_map_marks_moments_waste_and_ends():
    acts = [
        pm.MapActivity("call", 10, True, "phone", 0.1, 3, "keep"),
        pm.MapActivity("check <twice>", 8, False, None, 0.9, 1, "remove"),
        pm.MapActivity("letter", 6, True, "letter", None),
    ]
    edges = [pm.MapEdge("call", "check <twice>", 8, 60.0), pm.MapEdge("check <twice>", "letter", 6, 7200.0)]
    drawn = pm.process_map(acts, edges, {"call": 10}, {"letter": 6, "call": 4})
    svg = drawn.svg
    nodes = dict(re.findall(r'<g id="pm-a\d+" class="node[^"]*" data-activity="([^"]+)" data-mot="(true|false)"', svg))
    assert nodes == {"call": "true", "check &lt;twice&gt;": "false", "letter": "true"}
    assert 'data-waste="0.9"' in svg and pm.heat(0.9).lower() in svg
    assert sorted(re.findall(r'class="arc to-end" data-source="[^"]+" data-target="" data-frequency="(\d+)"', svg)) == [
        "4",
        "6",
    ]
    assert (drawn.n_edges, drawn.n_edges_shown, drawn.transitions, drawn.transitions_shown) == (2, 2, 14, 14)
    assert svg.count("<svg") == 1 and "<script" not in svg


# --- a small warehouse without moments, waste, models or BPMN --------------------------------------

LOG = """case_id,activity,timestamp,resource
c1,register,2024-01-01 10:00:00,r1
c1,call customer,2024-01-01 11:00:00,r2
c1,decide,2024-01-01 13:00:00,r1
c2,register,2024-01-02 10:00:00,r1
c2,decide,2024-01-02 10:30:00,r1
c3,register,2024-01-03 09:00:00,r3
c3,call customer,2024-01-03 09:10:00,r2
c3,call customer,2024-01-03 09:20:00,r2
c3,decide,2024-01-03 09:50:00,r1
"""


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """A warehouse file with two prepared processes (p1, p2) and nothing else; returns its folder."""
    folder = tmp_path_factory.mktemp("small")
    log = folder / "log.csv"
    log.write_text(LOG, encoding="utf-8")
    con = connect(folder / "warehouse.duckdb")
    try:
        for process in ("p1", "p2"):
            load_batch(con, read_csv(log), process=process, source=process, location="log.csv", timezone="UTC")
            prepare(con, process)
    finally:
        con.close()
    return folder


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class _Collect(HTMLParser):
    """Section ids, missing notices and data-figure values of a rendered report."""

    def __init__(self):
        super().__init__()
        self.sections, self.missing, self.figures, self._figure = [], [], {}, None
        self._in_missing = False
        self._text = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and a.get("class") == "section":
            self.sections.append(a["id"])
        if "data-missing" in a:
            self._in_missing, self._text = True, []
        if "data-figure" in a:
            self.figures[a["data-figure"]] = a.get("data-value")

    def handle_endtag(self, tag):
        if tag == "p" and self._in_missing:
            self.missing.append("".join(self._text))
            self._in_missing = False

    def handle_data(self, data):
        if self._in_missing:
            self._text.append(data)


def test_report_says_what_is_missing_and_never_writes_the_warehouse(small):
    warehouse = small / "warehouse.duckdb"
    before = _digest(warehouse)
    html = render_report(warehouse, "p1", small, processes=["p1"], viewer=False)
    assert _digest(warehouse) == before  # read-only: the library is installed as temporary views
    page = _Collect()
    page.feed(html)
    assert page.sections == [
        "summary",
        "process-map",
        "bpmn",
        "journey",
        "knock-on",
        "dropout",
        "removal",
        "waste",
        "models",
        "review",
        "reproduce",
    ]
    assert page.figures["cases"] == "3" and page.figures["events"] == "9" and page.figures["activities"] == "3"
    assert page.figures["rows_read"] == "9" and page.figures["rows_quarantined"] == "0"
    missing = " | ".join(page.missing)
    assert "table mot_activities holds no rows for process 'p1': the moments step has not run for it" in missing
    assert "table waste_activities holds no rows for process 'p1': the waste step has not run for it" in missing
    assert "table model_runs holds no rows for process 'p1': the discover step has not run for it" in missing
    assert "as-is.bpmn is not there: the bpmn step has not run for this process" in missing
    assert "table knock_on holds no rows" in missing and "table dropout_funnel holds no rows" in missing
    # The map still draws, without outlines or heat, and says why.
    assert 'class="process-map"' in html and 'data-mot="true"' not in html
    assert "No row was quarantined" in html


def test_report_on_a_warehouse_from_before_the_moments_tables(tmp_path, small):
    """An older warehouse (no migrations 003/004) read-only: the views that need them are reported missing."""
    import duckdb

    old = tmp_path / "old.duckdb"
    con = duckdb.connect(str(old))
    con.execute(f"ATTACH '{small / 'warehouse.duckdb'}' AS src (READ_ONLY)")
    for table in (
        "events",
        "load_audit",
        "quarantine",
        "event_log",
        "cases",
        "variants",
        "dfg_edges",
        "activity_stats",
    ):
        con.execute(f"CREATE TABLE {table} AS FROM src.{table}")
    con.close()
    html = render_report(old, "p1", tmp_path, processes=["p1"], viewer=False)
    assert "table mot_activities is not in the warehouse (the moments step has not run on this warehouse)" in html
    assert "view running_score_curve of queries/70_running_score.sql is not available" in html
    assert 'data-figure="cases" data-value="3"' in html


def test_same_warehouse_same_bytes(small):
    first = render_report(small / "warehouse.duckdb", "p2", small, processes=["p1", "p2"], viewer=False)
    second = render_report(small / "warehouse.duckdb", "p2", small, processes=["p1", "p2"], viewer=False)
    assert first == second
    assert str(small) not in first  # no absolute output paths in the file


def test_several_processes_get_one_report_each_and_an_index(small, tmp_path):
    log = small / "log.csv"
    config = parse_config(
        {
            "project": "two",
            "sources": [
                {"name": "p1", "kind": "csv", "process": "p1", "path": str(log)},
                {"name": "p2", "kind": "csv", "process": "p2", "path": str(log)},
            ],
        }
    )
    out = tmp_path / "out"
    written = [write_report(small / "warehouse.duckdb", config, p, out) for p in config.processes]
    assert [p.name for p in written] == ["report-p1.html", "report-p2.html"]
    index = (out / "report.html").read_text("utf-8")
    assert re.findall(r'<a href="(report-p\d\.html)">', index) == ["report-p1.html", "report-p2.html"]
    p2 = (out / "report-p2.html").read_text("utf-8")
    assert '<a href="report-p1.html">p1</a>' in p2 and '<a href="report.html">all processes</a>' in p2
    assert report_file(["only"], "only") == "report.html"
    assert report_file(["a", "b/c"], "b/c") == "report-b_c.html"


def test_figures_cite_the_library_file_that_defines_their_view():
    src = source_of("funnel", "it's")
    assert [(o.file, o.kind, o.name) for o in src.library] == [("75_dropout.sql", "view", "funnel")]
    assert src.files == ("queries/75_dropout.sql",)
    assert "WHERE process = 'it''s'" in src.sql and "$process" not in src.sql
    assert src.reads == ("dropout_funnel",)
    models = source_of("models", "p")
    assert models.library == () and models.tables == (("model_runs", "mining/warehouse/migrations/002_prepared.sql"),)
    queries = Path(__file__).resolve().parents[1] / "queries"
    for name in (
        "summary",
        "variants",
        "map_activities",
        "map_edges",
        "running_score",
        "score_by_outcome",
        "mot_scores",
        "knock_on",
        "funnel",
        "dropout_causes",
    ):
        for o in source_of(name, "p").library:
            text = (queries / o.file).read_text("utf-8")
            assert re.search(rf"CREATE OR REPLACE {o.kind.upper()} {o.name}\b", text), (name, o)


def test_library_installs_as_temporary_objects_on_a_read_only_connection(small):
    with Reader(small / "warehouse.duckdb") as reader:
        assert reader.library_errors == {}
        kinds = dict(
            reader.con.execute("SELECT view_name, temporary FROM duckdb_views() WHERE view_name = 'funnel'").fetchall()
        )
        assert kinds == {"funnel": True}
        assert install_library(reader.con) == {}  # idempotent


# --- BPMN embedding --------------------------------------------------------------------------------

TO_BE = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:bioc="http://bpmn.io/schema/bpmn/biocolor/1.0"
  xmlns:mot="urn:mot-mining:bpmn:1.0" id="d" targetNamespace="x">
  <bpmn:process id="P" name="p (to-be)" mot:side="to-be" mot:removed="Check|Courtesy call" mot:asIsTasks="5" mot:toBeTasks="3"
    mot:asIsMomentsPerCase="2.5" mot:toBeMomentsPerCase="2">
    <bpmn:startEvent id="S"/><bpmn:task id="T" name="Send the offer &amp; wait" bioc:fill="#BBDEFB" bioc:stroke="#0D4372"/>
    <bpmn:exclusiveGateway id="G"/><bpmn:endEvent id="E"/>
    <bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="T"/><bpmn:sequenceFlow id="F2" sourceRef="T" targetRef="E"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="D"><bpmndi:BPMNPlane id="PL" bpmnElement="P">
    <bpmndi:BPMNShape id="S_di" bpmnElement="S"><dc:Bounds x="0" y="22" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="T_di" bpmnElement="T"><dc:Bounds x="86" y="0" width="120" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="G_di" bpmnElement="G"><dc:Bounds x="256" y="15" width="50" height="50"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="E_di" bpmnElement="E"><dc:Bounds x="356" y="22" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="F1_di" bpmnElement="F1"><di:waypoint x="36" y="40"/><di:waypoint x="86" y="40"/></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="F2_di" bpmnElement="F2"><di:waypoint x="206" y="40"/><di:waypoint x="356" y="40"/></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>"""


def test_static_bpmn_drawing_follows_the_diagram_interchange():
    svg = report_bpmn.static_svg(TO_BE, "to-be")
    assert svg.count("<circle") == 2 and svg.count("<rect") == 1 and svg.count("marker-end") == 2
    assert 'fill="#BBDEFB" stroke="#0D4372"' in svg
    assert "Send the offer &amp; wait" in svg
    assert 'id="bpmn-arrow-to-be"' in svg and "url(#bpmn-arrow-to-be)" in svg
    assert 'viewBox="-20 -20 432 120"' in svg


def test_to_be_comparison_comes_from_the_process_attributes():
    rows, removed = report_bpmn.comparison(TO_BE)
    assert removed == ["Check", "Courtesy call"]
    assert [(r.label, r.as_is, r.to_be) for r in rows] == [("moments per case", 2.5, 2.0), ("tasks", 5.0, 3.0)]


def test_bpmn_folder_is_the_output_folder_for_one_process_else_a_folder_per_process():
    # One rule in mining.outputs, used by the bpmn step's figures, the exports and the report.
    assert outputs.bpmn_folder(["p"], "p", Path("out")) == Path("out")
    assert outputs.bpmn_folder(["p", "q"], "p", Path("out")) == Path("out") / "bpmn" / "p"


def test_inline_scripts_cannot_end_early():
    assert report_bpmn.script_safe("a</script><b></STYLE>") == "a<\\/script><b><\\/STYLE>"
    viewer = report_bpmn.find_viewer()  # make node-deps installs bpmn-js
    assert viewer is not None and viewer.origin.startswith("bpmn-js ")
    assert "</script" not in report_bpmn.script_safe(viewer.script).lower()


def test_charts_render_to_the_same_svg_every_time():
    from mining.report import charts

    rows = [
        {"activity": f"step {i}", **{key: (i % 3) / 2 if key != "c_delay" else None for key, _ in charts.COMPONENTS}}
        for i in range(4)
    ]
    first, second = charts.waste_chart(rows), charts.waste_chart(rows)
    assert first.svg == second.svg  # Vega's gradient counter would differ between the two calls
    assert 'id="waste-1"' in first.svg and "url(#waste-1)" in first.svg
    assert first.svg.count(">n/a<") == 4  # the unmeasured component of each step


def test_report_under_an_address_space_limit_leaves_charts_out_and_says_why(tmp_path):
    """Under ``ulimit -v`` the chart engine (V8 in vl-convert) aborted the whole run at the report."""
    import subprocess
    import sys
    from datetime import datetime, timedelta

    rng = random.Random(2)
    lines = ["case_id,activity,timestamp"]
    for case in range(40):
        ts = datetime(2024, 1, 1) + timedelta(days=case)
        for activity in ["open", "check", *(["fix", "check"] * rng.randint(0, 2)), "close"]:
            ts += timedelta(minutes=rng.randint(1, 90))
            lines.append(f"c{case},{activity},{ts.isoformat()}")
    log = tmp_path / "log.csv"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    limit = str(8 * 10**9)  # 8 GB of address space: ample for the run, far below what V8 reserves
    done = subprocess.run(
        [
            "prlimit",
            f"--as={limit}",
            "--",
            sys.executable,
            "-m",
            "mining.cli",
            "run",
            str(log),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "Chart not drawn: the process runs under an address-space limit" in report
