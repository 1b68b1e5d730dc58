"""The process map on Graphviz dot: sliders, views, SVG conventions, legibility, determinism.

Hand-built graphs with exact expectations, then the receipt log (a few dozen activities) and
BPIC2012 (24 activities, 125 arcs) loaded into a warehouse. The screenshots of both maps in a
real browser are made by tests/test_report_browser.py.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mining import pipeline, sqllib
from mining.report import processmap as pm
from mining.report.mapfilter import keep_activities, keep_paths, reaches, widest_tree
from mining.warehouse import connect
from mining.warehouse.prepare import prepare_process

LOGS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "logs"
S = "{http://www.w3.org/2000/svg}"

# A small process with rework loops and a self-loop: register -> check -> (fix -> check)* -> decide.
ACTS = [
    pm.MapActivity("register", 10, True, "web", 0.1, 3, "keep", cases=10, service_mean_s=30.0),
    pm.MapActivity("check", 14, False, None, 0.9, 1, "remove", cases=10),
    pm.MapActivity("fix <it>", 4, False, None, None, cases=3),
    pm.MapActivity("decide", 10, True, "letter", None, cases=10, service_mean_s=7200.0, service_max_s=9000.0),
    pm.MapActivity("call", 2, True, "phone", None, cases=2),
]
EDGES = [
    pm.MapEdge("register", "check", 10, 60.0, cases=10, mean_s=80.0, max_s=600.0),
    pm.MapEdge("check", "fix <it>", 4, 3600.0, cases=3, mean_s=4000.0, max_s=9000.0),
    pm.MapEdge("fix <it>", "check", 4, 120.0, cases=3),
    pm.MapEdge("check", "decide", 9, 86400.0, cases=9, mean_s=90000.0, max_s=200000.0),
    pm.MapEdge("check", "check", 1, 10.0, cases=1),
    pm.MapEdge("check", "call", 1, 10.0, cases=1),
    pm.MapEdge("call", "decide", 1, 10.0, cases=1),
    pm.MapEdge("register", "call", 1, 10.0, cases=1),
]
STARTS, ENDS = {"register": 10}, {"decide": 10}


def svg_tree(drawn: pm.ProcessMap) -> ET.Element:
    return ET.fromstring(drawn.svg)


def groups(root: ET.Element, cls: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{S}g") if cls in (g.get("class") or "").split()]


def label_boxes(root: ET.Element) -> list[tuple[str, float, float, float, float]]:
    """Every arc's label lines as boxes (arc id, x0, y0, x1, y1), text width estimated for Helvetica."""
    boxes = []
    for g in groups(root, "arc"):
        for t in g.iter(f"{S}text"):
            size, x, y = float(t.get("font-size")), float(t.get("x")), float(t.get("y"))
            width = 0.5 * size * len(t.text or "")  # Helvetica digits are 0.556 em, lowercase less
            boxes.append((g.get("id"), x - width / 2, y - 0.8 * size, x + width / 2, y + 0.2 * size))
    return boxes


def map_inputs(warehouse: Path, process: str) -> tuple[list, list, dict, dict]:
    """The map's inputs from a prepared warehouse, through the SQL library's views."""
    con = connect(warehouse)
    try:
        sqllib.install_queries(con)
        service = {
            a: (mean, med, mx)
            for a, mean, med, mx in con.execute(
                "SELECT activity, avg(service_s), median(service_s), max(service_s) FROM activity_instances "
                "WHERE process = $p GROUP BY activity",
                {"p": process},
            ).fetchall()
        }
        acts = [
            pm.MapActivity(
                a,
                f,
                cases=c,
                **dict(
                    zip(
                        ("service_mean_s", "service_median_s", "service_max_s"),
                        service.get(a, (None,) * 3),
                        strict=True,
                    )
                ),
            )
            for a, f, c in con.execute(
                "SELECT activity, frequency, n_cases FROM activities WHERE process = $p", {"p": process}
            ).fetchall()
        ]
        edges = [
            pm.MapEdge(s, t, f, med, cases=c, mean_s=mean, max_s=mx)
            for s, t, f, c, mean, med, mx in con.execute(
                "SELECT source_activity, target_activity, frequency, n_cases, mean_s, median_s, max_s FROM dfg "
                "WHERE process = $p",
                {"p": process},
            ).fetchall()
        ]
        ends = con.execute("SELECT endpoint, activity, n_cases FROM dfg_endpoints WHERE process = $p", {"p": process})
        points = ends.fetchall()
    finally:
        con.close()
    return (
        acts,
        edges,
        {a: n for e, a, n in points if e == "start"},
        {a: n for e, a, n in points if e == "end"},
    )


# --- the sliders -----------------------------------------------------------------------------------


def test_activity_slider_keeps_the_most_frequent_covering_the_share():
    freq = {a.activity: a.frequency for a in ACTS}  # 14, 10, 10, 4, 2 of 40
    assert keep_activities(freq, 0.0) == {"check"}
    assert keep_activities(freq, 0.5) == {"check", "decide"}  # ties by name: decide before register
    assert keep_activities(freq, 0.85) == {"check", "decide", "register"}
    assert keep_activities(freq, 1.0) == set(freq)


def test_widest_tree_follows_the_strongest_flow():
    weights = {("s", "a"): 10, ("a", "b"): 9, ("s", "b"): 2, ("b", "c"): 1, ("a", "c"): 5}
    assert widest_tree(weights, "s") == {("s", "a"), ("a", "b"), ("a", "c")}
    assert widest_tree(weights, "c", reverse=True) == {("a", "c"), ("b", "c"), ("s", "a")}


def test_path_slider_keeps_every_activity_connected_at_any_share():
    weights = {(e.source, e.target): e.frequency for e in EDGES}
    weights |= {(pm.START, a): n for a, n in STARTS.items()} | {(a, pm.END): n for a, n in ENDS.items()}
    sizes = []
    for share in (0.0, 0.25, 0.5, 1.0):
        arcs = keep_paths(weights, pm.START, pm.END, share)
        nodes = {n for arc in weights for n in arc}
        assert reaches(arcs, pm.START) == nodes and reaches(arcs, pm.END, reverse=True) == nodes
        sizes.append(len(arcs))
    assert sizes == sorted(sizes) and sizes[-1] == len(weights)
    backbone = keep_paths(weights, pm.START, pm.END, 0.0)
    assert ("check", "check") not in backbone and ("fix <it>", "check") in backbone


# --- the SVG ---------------------------------------------------------------------------------------


def test_map_marks_every_box_and_arc_for_clicks():
    drawn = pm.process_map(ACTS, EDGES, STARTS, ENDS)
    root = svg_tree(drawn)
    nodes = {g.get("data-activity"): g.get("class") for g in groups(root, "node") if g.get("data-activity")}
    assert nodes == {
        "register": "node mot",
        "check": "node",
        "fix <it>": "node",
        "decide": "node mot",
        "call": "node mot",
    }
    assert 'data-activity="fix &lt;it&gt;"' in drawn.svg  # escaped in the markup
    assert len(groups(root, "start")) == 1 and len(groups(root, "end")) == 1
    arcs = {(g.get("data-source"), g.get("data-target")) for g in groups(root, "arc")}
    assert arcs == {(e.source, e.target) for e in EDGES} | {("", "register"), ("decide", "")}
    assert all(g.get("id", "").startswith("pm-") for g in groups(root, "node") + groups(root, "arc"))
    assert pm.heat(0.9).lower() in drawn.svg
    assert (drawn.n_edges, drawn.n_edges_shown, drawn.transitions, drawn.transitions_shown) == (8, 8, 31, 31)
    assert "<!--" not in drawn.svg and "graphviz" not in drawn.svg.lower()
    assert drawn.svg.count("<svg") == 1 and "<script" not in drawn.svg


def test_frequency_view_counts_and_performance_view_times():
    root = svg_tree(pm.process_map(ACTS, EDGES, STARTS, ENDS))
    texts = {g.get("data-activity"): " ".join(t.text for t in g.iter(f"{S}text")) for g in groups(root, "node")}
    assert texts["check"] == "check 14 · 10 cases"
    assert texts["register"] == "register MOT · 10 · 10 cases"
    arc = next(g for g in groups(root, "arc") if g.get("data-source") == "register" and g.get("data-target") == "check")
    assert [t.text for t in arc.iter(f"{S}text")] == ["10"]  # cases only where they differ
    arc = next(g for g in groups(root, "arc") if g.get("data-source") == "check" and g.get("data-target") == "fix <it>")
    assert [t.text for t in arc.iter(f"{S}text")] == ["4", "3 cases"]
    for measure, check, decide, wait in (
        ("mean", "n/a", "2.0 h", "80 s"),
        ("median", "n/a", "n/a", "60 s"),
        ("max", "n/a", "2.5 h", "10 min"),
    ):
        root = svg_tree(pm.process_map(ACTS, EDGES, STARTS, ENDS, view="performance", measure=measure))
        texts = {g.get("data-activity"): " ".join(t.text for t in g.iter(f"{S}text")) for g in groups(root, "node")}
        assert texts["check"] == f"check {measure} service {check}"
        assert texts["decide"] == f"decide MOT · {measure} service {decide}"
        arc = next(
            g for g in groups(root, "arc") if g.get("data-source") == "register" and g.get("data-target") == "check"
        )
        assert [t.text for t in arc.iter(f"{S}text")] == [wait]
    with pytest.raises(ValueError, match="measure"):
        pm.process_map(ACTS, EDGES, STARTS, ENDS, view="performance", measure="p90")


def test_sliders_reach_the_svg():
    drawn = pm.process_map(ACTS, EDGES, STARTS, ENDS, activity_share=0.85, path_share=0.0)
    root = svg_tree(drawn)
    assert {g.get("data-activity") for g in groups(root, "node")} - {None} == {"check", "decide", "register"}
    assert drawn.n_activities == 5 and drawn.n_activities_shown == 3
    assert drawn.n_edges_shown == 2  # register -> check -> decide: the backbone


def test_same_input_same_bytes_whatever_the_order():
    first = pm.process_map(ACTS, EDGES, STARTS, ENDS).svg
    again = pm.process_map(list(reversed(ACTS)), list(reversed(EDGES)), dict(STARTS), dict(ENDS)).svg
    assert first == again


def test_names_wrap_and_text_is_readable():
    long = "Send the customer a letter asking for the missing documents again"
    acts = [*ACTS, pm.MapActivity(long, 3)]
    drawn = pm.process_map(acts, [*EDGES, pm.MapEdge("check", long, 3)], STARTS, ENDS)
    root = svg_tree(drawn)
    node = next(g for g in groups(root, "node") if g.get("data-activity") == long)
    lines = [t.text for t in node.iter(f"{S}text")]
    assert " ".join(lines[:-1]) == long and len(lines) > 2  # wrapped, nothing cut
    assert min(float(t.get("font-size")) for t in root.iter(f"{S}text")) >= 11
    assert root.get("width") == str(round(float(root.get("viewBox").split()[2])))


def test_missing_dot_names_the_setup(monkeypatch):
    from mining.report import dot

    monkeypatch.setattr(dot.shutil, "which", lambda _: None)
    with pytest.raises(dot.DotError, match="make setup"):
        pm.process_map(ACTS, EDGES, STARTS, ENDS)


# --- real logs -------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["receipt", pytest.param("bpic2012", marks=pytest.mark.slow)])
def real(request, tmp_path_factory):
    """A real log loaded and prepared; returns its name and the map's inputs."""
    log = LOGS / f"{request.param}.xes.gz"
    assert log.exists(), f"{log} is missing: the shared real logs belong next to the repository"
    warehouse = tmp_path_factory.mktemp(request.param) / "warehouse.duckdb"
    config = pipeline.config_for_log(log)
    pipeline.ingest_source(warehouse, config, config.sources[0])
    prepare_process(warehouse, config.processes[0])
    return request.param, map_inputs(warehouse, config.processes[0])


def test_real_map_keeps_every_activity_connected(real):
    name, (acts, edges, starts, ends) = real
    for share in (0.0, 0.3, 1.0):
        root = svg_tree(pm.process_map(acts, edges, starts, ends, path_share=share))
        arcs = {(g.get("data-source") or pm.START, g.get("data-target") or pm.END) for g in groups(root, "arc")}
        shown = {g.get("data-activity") for g in groups(root, "node")} - {None}
        assert shown == {a.activity for a in acts}
        assert reaches(arcs, pm.START) >= shown and reaches(arcs, pm.END, reverse=True) >= shown, (name, share)
    assert len(groups(root, "arc")) == len(edges) + len(starts) + len(ends)


def test_real_map_labels_do_not_collide(real):
    name, (acts, edges, starts, ends) = real
    for share in (0.0, 0.3, 1.0):
        root = svg_tree(pm.process_map(acts, edges, starts, ends, path_share=share))
        boxes = label_boxes(root)
        for a, b in itertools.combinations(boxes, 2):
            if a[0] != b[0]:
                overlap = a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]
                assert not overlap, f"{name}: labels of {a[0]} and {b[0]} overlap"
        assert min(float(t.get("font-size")) for t in root.iter(f"{S}text")) >= 11


def test_real_performance_map_says_n_a_where_service_is_not_measurable(real):
    name, (acts, edges, starts, ends) = real
    svg = pm.process_map(acts, edges, starts, ends, view="performance", measure="median", path_share=0.2).svg
    assert re.search(r"median service (n/a|[\d.]+ (s|min|h|d))", svg)
    if all(a.service_median_s is None for a in acts):
        assert svg.count("median service n/a") == len(acts), name


# --- in a real browser: the report's zoom, and the screenshots for the docs ------------------------

PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>{css}</style></head>
<body style="margin:16px"><div class="picture map" style="width:{width}px">{svg}</div><script>{js}</script></body></html>"""
ZOOM = """(() => {
  const svg = document.querySelector('svg.process-map');
  const vb = () => svg.viewBox.baseVal.width;
  const click = (label) => [...document.querySelectorAll('.map-tools button')].find((b) => b.textContent === label).click();
  const out = { fit: vb(), shown: svg.getBoundingClientRect().width };
  click('+'); out.zoomed = vb();
  click('Fit'); out.refit = vb();
  click('1:1'); out.natural = vb();
  out.fonts = Math.min(...[...svg.querySelectorAll('text')].map((t) => parseFloat(t.getAttribute('font-size'))));
  return out;
})()"""


def test_real_map_zooms_and_is_legible_in_chromium(real, tmp_path):
    """The map as the report draws it, in Chromium: zoom buttons work, text reads at natural size.

    With MOT_DOC_IMAGES=1 the screenshot at natural size replaces docs/img/map-<log>.png.
    """
    from test_report_browser import Chromium

    from mining.report.sections.process_map import MAX_ARROWS

    name, (acts, edges, starts, ends) = real
    drawn = pm.process_map(acts, edges, starts, ends, max_edges=MAX_ARROWS)
    templates = Path(pm.__file__).parent / "templates"
    css, js = (templates / "report.css").read_text(), (templates / "report.js").read_text()
    natural = int(svg_tree(drawn).get("width"))
    browser = Chromium(tmp_path / "profile")
    try:
        small = tmp_path / "small.html"
        small.write_text(PAGE.format(css=css, js=js, svg=drawn.svg, width=900), encoding="utf-8")
        browser.open(small.as_uri())
        zoom = browser.evaluate(ZOOM)
        big = tmp_path / "natural.html"
        big.write_text(PAGE.format(css=css, js=js, svg=drawn.svg, width=natural + 2), encoding="utf-8")
        browser.open(big.as_uri())
        shot = tmp_path / f"map-{name}.png"
        browser.screenshot(shot, width=natural + 40)
        assert browser.problems() == []
    finally:
        browser.close()
    assert zoom["fit"] == pytest.approx(float(svg_tree(drawn).get("viewBox").split()[2]), abs=0.01)
    assert zoom["zoomed"] == pytest.approx(zoom["fit"] / 1.5, abs=0.01) and zoom["refit"] == zoom["fit"]
    assert zoom["natural"] == pytest.approx(zoom["shown"], abs=0.5)  # 1:1 shows SVG units as CSS px
    assert zoom["fonts"] >= 11
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("MOT_DOC_IMAGES"):
        shutil.copy(shot, Path(__file__).resolve().parents[1] / "docs" / "img" / f"map-{name}.png")
