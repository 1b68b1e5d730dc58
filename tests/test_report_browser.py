"""The report in a real browser: Debian's headless Chromium opens the demo's and BPIC2012's report.

Chromium is driven over the DevTools protocol (the ``websockets`` package) from here, so no Node
tooling is needed for this test. Each report must load without console errors, exceptions or any
request that leaves the file (it must work offline), draw both BPMN diagrams with the inlined
bpmn-js, show every section with the figures the warehouse holds, and every "Reproduce" statement
must run on the warehouse snapshot. A full-page screenshot goes into the test's tmp folder.
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import duckdb
import pytest
import shared_run
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from mining import pipeline
from mining.exports import write_report

ROOT = Path(__file__).resolve().parents[1]
BPIC = ROOT.parent / "shared" / "data" / "logs" / "bpic2012.xes.gz"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SECTIONS = [
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
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


class Chromium:
    """Headless Chromium with one page, driven over the DevTools protocol; events are kept."""

    def __init__(self, profile: Path):
        profile.mkdir(parents=True, exist_ok=True)
        self.log = open(profile / "chromium.log", "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.is_file() and len(port_file.read_text().splitlines()) >= 2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chromium did not start; see {profile / 'chromium.log'}")
            time.sleep(0.1)
        port, path = port_file.read_text().splitlines()[:2]
        self.ws = ws_connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=30)
        self.next_id = 0
        self.events: list[dict] = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=True)

    def call(self, method: str, params: dict | None = None, session: bool = False, timeout: float = 120) -> dict:
        """Send one command and wait for its answer; events that arrive meanwhile are kept."""
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            reply = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 120) -> dict:
        """The first kept or coming event called ``method``."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event.get("method") == method:
                    return event
            self.events.append(json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic()))))

    def evaluate(self, expression: str):
        """The JSON value of a JavaScript expression in the page (promises are awaited)."""
        result = self.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}, session=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url: str) -> None:
        """Navigate and wait for the load event."""
        self.call("Page.navigate", {"url": url}, session=True)
        self.wait_for("Page.loadEventFired")

    def screenshot(self, path: Path, width: int = 1280) -> tuple[int, int]:
        """A full-page PNG at ``path``; returns its size in CSS pixels."""
        size = self.call("Page.getLayoutMetrics", session=True)["cssContentSize"]
        height = min(int(size["height"]) + 1, 30000)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=True,
        )
        data = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=True)[
            "data"
        ]
        path.write_bytes(base64.b64decode(data))
        return width, height

    def problems(self) -> list[str]:
        """Console errors, uncaught exceptions and error log entries seen so far."""
        out = []
        for e in self.events:
            method, p = e.get("method"), e.get("params", {})
            if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console: " + " ".join(str(a.get("value", a.get("description"))) for a in p.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                out.append("exception: " + json.dumps(p.get("exceptionDetails", {}))[:500])
            elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append("log: " + p["entry"].get("text", ""))
        return out

    def requests(self) -> list[str]:
        """URLs of every request the page made."""
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def close(self) -> None:
        """Close the browser and wait for it."""
        # The browser may close the socket before it answers.
        with contextlib.suppress(ConnectionClosed, TimeoutError, RuntimeError):
            self.call("Browser.close", timeout=10)
        self.ws.close()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


# Everything the tests compare, read from the page in one go.
EXTRACT = """(() => {
  const text = (el) => (el ? el.textContent.trim() : null);
  const figures = {};
  document.querySelectorAll('[data-figure]').forEach((el) => { figures[el.dataset.figure] = el.dataset.value ?? null; });
  const tables = {};
  document.querySelectorAll('table[data-table]').forEach((t) => {
    const cols = [...t.querySelectorAll('thead th')].map((th) => th.dataset.column);
    tables[t.dataset.table] = [...t.querySelectorAll('tbody tr:not(.detail)')].map((tr) => {
      const row = {};
      [...tr.children].forEach((td, i) => { row[cols[i]] = td.dataset.value ?? null; });
      return row;
    });
  });
  const nodes = [...document.querySelectorAll('.process-map .node[data-activity]')].map((g) => ({
    activity: g.dataset.activity, mot: g.dataset.mot === 'true', frequency: Number(g.dataset.frequency),
    waste: g.dataset.waste === undefined ? null : Number(g.dataset.waste),
  }));
  const sources = [...document.querySelectorAll('figure[data-figure-id]')].map((f) => ({
    figure: f.dataset.figureId,
    queries: [...f.querySelectorAll('details.source')].map((d) => ({
      query: d.dataset.query,
      files: d.dataset.files ? d.dataset.files.split(' ') : [],
      tables: d.dataset.tables ? d.dataset.tables.split(' ') : [],
      sql: d.querySelector('pre').textContent,
    })),
  }));
  const bpmn = {};
  for (const [side, b] of Object.entries(window.motBpmn || {})) {
    bpmn[side] = { done: b.done, error: b.error, warnings: b.warnings,
      tasks: b.viewer.get('elementRegistry').filter((e) => e.type === 'bpmn:Task').map((e) => e.businessObject.name).sort(),
      svgShapes: document.querySelectorAll('#bpmn-canvas-' + side + ' .djs-element.djs-shape').length };
  }
  return {
    title: document.title,
    sections: [...document.querySelectorAll('main > section.section')].map((s) => s.id),
    headings: [...document.querySelectorAll('main > section.section > h2')].map(text),
    missing: [...document.querySelectorAll('[data-missing]')].map(text),
    charts: document.querySelectorAll('svg.chart').length,
    figures, tables, nodes, sources, bpmn,
  };
})()"""

# The process map as the page shows it: laid out by dot, with its zoom tools, fit to the width.
MAP = """(() => {
  const svg = document.querySelector('.picture.map svg.process-map');
  return { tools: [...document.querySelectorAll('.map-tools button')].map((b) => b.textContent),
    starts: svg.querySelectorAll('g.node.start').length, ends: svg.querySelectorAll('g.node.end').length,
    arcs: svg.querySelectorAll('g.arc[data-source][data-target]').length,
    width: svg.getBoundingClientRect().width, container: svg.parentElement.getBoundingClientRect().width };
})()"""

BPMN_READY = (
    "Object.values(window.motBpmn || {}).length === 2 && Object.values(window.motBpmn).every((b) => b.done || b.error)"
)


def open_report(report: Path, tmp: Path) -> dict:
    """Open ``report`` in Chromium, wait for the BPMN diagrams, screenshot it; the page's figures."""
    browser = Chromium(tmp / "profile")
    try:
        browser.open(report.resolve().as_uri())
        deadline = time.monotonic() + 60
        while not browser.evaluate(BPMN_READY):
            assert time.monotonic() < deadline, "bpmn-js did not finish drawing within 60 s"
            time.sleep(0.2)
        page = browser.evaluate(EXTRACT)
        shot = tmp / f"{report.stem}.png"
        page["screenshot"] = (str(shot), *browser.screenshot(shot))
        # At the screenshot's 1280 px: wider content would mean a table or figure overflows sideways.
        page["scroll_width"] = browser.evaluate("document.documentElement.scrollWidth")
        page["map"] = browser.evaluate(MAP)
        page["problems"] = browser.problems()
        page["requests"] = browser.requests()
    finally:
        browser.close()
    return page


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The sample system through the whole pipeline (as `mot demo`), and its report in Chromium."""
    out = tmp_path_factory.mktemp("report-demo")
    config = pipeline.demo_config(out)
    pipeline.run(config, out)
    return out, config, open_report(out / "report.html", tmp_path_factory.mktemp("browser-demo"))


@pytest.fixture(scope="module")
def bpic(tmp_path_factory, bpic2012_run):
    """BPIC2012 through the whole pipeline (as `mot run`: the session's shared run), and its report in Chromium."""
    out = shared_run.copy(bpic2012_run, tmp_path_factory.mktemp("report-bpic") / "run")
    config = pipeline.config_for_log(BPIC)
    return out, config, open_report(out / "report.html", tmp_path_factory.mktemp("browser-bpic"))


RUNS = ["demo", pytest.param("bpic", marks=pytest.mark.slow)]


@pytest.fixture(params=RUNS)
def run(request):
    return request.getfixturevalue(request.param)


def scalar(con, sql: str, process: str):
    return con.execute(sql, {"p": process}).fetchall()[0][0]


def test_page_loads_offline_without_errors(run):
    out, config, page = run
    assert page["problems"] == []
    leaving = [u for u in page["requests"] if not u.startswith(("file:", "data:", "about:", "blob:"))]
    assert leaving == []
    assert page["title"] == f"{config.processes[0]}: moments-of-truth report"
    png, width, height = page["screenshot"]
    assert Path(png).stat().st_size > 100_000 and width == 1280 and height > 5000
    assert Path(png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_nothing_overflows_sideways_and_the_map_fits_with_zoom(run):
    _, _, page = run
    assert page["scroll_width"] <= 1280
    m = page["map"]
    assert m["tools"] == ["+", "\u2212", "1:1", "Fit"]
    assert m["starts"] == 1 and m["ends"] == 1 and m["arcs"] > 0
    assert m["width"] <= m["container"]


def test_every_section_is_there_with_nothing_missing(run):
    _, _, page = run
    assert page["sections"] == SECTIONS
    assert page["missing"] == []
    assert page["charts"] >= 6  # running score, trajectories, knock-on, funnel, causes, waste (+ savings)


def test_headline_figures_equal_the_warehouse(run):
    out, config, page = run
    p = config.processes[0]
    f = page["figures"]
    con = duckdb.connect(str(out / "warehouse.snapshot.duckdb"), read_only=True)
    try:
        assert int(f["cases"]) == scalar(con, "SELECT count(*) FROM cases WHERE process = $p", p)
        assert int(f["events"]) == scalar(con, "SELECT count(*) FROM event_log WHERE process = $p", p)
        assert int(f["activities"]) == scalar(
            con, "SELECT count(DISTINCT activity) FROM event_log WHERE process = $p", p
        )
        assert int(f["variants"]) == scalar(con, "SELECT count(DISTINCT variant_id) FROM cases WHERE process = $p", p)
        assert int(f["rows_read"]) == scalar(con, "SELECT sum(rows_read) FROM load_audit WHERE process = $p", p)
        assert int(f["rows_quarantined"]) == scalar(
            con, "SELECT count(*) FROM quarantine q JOIN load_audit a USING (load_id) WHERE a.process = $p", p
        )
        assert int(f["mot_activities"]) == scalar(
            con, "SELECT count(*) FILTER (WHERE is_moment_of_truth) FROM mot_activities WHERE process = $p", p
        )
        assert float(f["knock_on_p"]) == pytest.approx(
            scalar(con, "SELECT p_poor_given_poor FROM knock_on WHERE process = $p AND from_activity = '*'", p),
            rel=1e-12,
        )
        assert int(f["dropouts"]) == scalar(
            con, "SELECT count(*) FROM case_outcomes WHERE process = $p AND outcome = 'dropout'", p
        )
        assert int(f["removal_candidates"]) == scalar(
            con, "SELECT count(*) FROM waste_activities WHERE process = $p AND recommendation = 'remove'", p
        )
        for algorithm, fitness, precision in con.execute(
            "SELECT algorithm, fitness, precision FROM model_runs WHERE process = $p", {"p": p}
        ).fetchall():
            assert float(f[f"fitness_{algorithm}"]) == pytest.approx(fitness)
            if precision is not None:
                assert float(f[f"precision_{algorithm}"]) == pytest.approx(precision)
        assert int(f["undecided"]) == scalar(
            con, "SELECT count(*) FILTER (WHERE NOT decided) FROM mot_activities WHERE process = $p", p
        )
    finally:
        con.close()


def test_map_funnel_and_causes_equal_the_warehouse(run):
    out, config, page = run
    p = config.processes[0]
    con = duckdb.connect(str(out / "warehouse.snapshot.duckdb"), read_only=True)
    try:
        stats = con.execute(
            "SELECT s.activity, s.frequency, m.is_moment_of_truth, w.waste_score FROM activity_stats s "
            "JOIN mot_activities m USING (process, activity) JOIN waste_activities w USING (process, activity) "
            "WHERE s.process = $p ORDER BY s.activity",
            {"p": p},
        ).fetchall()
        nodes = sorted((n["activity"], n["frequency"], n["mot"], n["waste"]) for n in page["nodes"])
        assert [n[:3] for n in nodes] == [s[:3] for s in stats]
        # a waste score is a number or, where too little is measurable, none (and no heat colour)
        assert [n[3] is None for n in nodes] == [s[3] is None for s in stats]
        assert [n[3] for n in nodes if n[3] is not None] == pytest.approx(
            [s[3] for s in stats if s[3] is not None], rel=1e-5
        )
        funnel = con.execute(
            "SELECT activity, n_cases_reached, n_left_after FROM dropout_funnel WHERE process = $p ORDER BY step, activity",
            {"p": p},
        ).fetchall()
        shown = [(r["activity"], int(r["n_cases_reached"]), int(r["n_left_after"])) for r in page["tables"]["funnel"]]
        assert shown == funnel
        causes = con.execute(
            "SELECT rank, factor, lift, ci_low FROM dropout_attribution WHERE process = $p ORDER BY rank LIMIT 20",
            {"p": p},
        ).fetchall()
        shown = [
            (int(r["rank"]), r["factor"], float(r["lift"]), float(r["ci_low"]))
            for r in page["tables"]["dropout-causes"]
        ]
        assert shown == causes
        candidates = con.execute(
            "SELECT activity, whatif_hours_saved_per_month FROM waste_activities WHERE process = $p AND recommendation <> 'keep' ORDER BY rank",
            {"p": p},
        ).fetchall()
        shown = [
            (r["activity"], float(r["whatif_hours_saved_per_month"]))
            for r in page["tables"].get("removal-candidates", [])
        ]
        assert shown == candidates
    finally:
        con.close()


def test_bpmn_js_draws_both_diagrams_with_every_task(run):
    out, _, page = run
    for side, name in (("as-is", "as-is.bpmn"), ("to-be", "to-be.bpmn")):
        drawn = page["bpmn"][side]
        assert drawn["done"] and drawn["error"] is None and drawn["warnings"] == 0
        tasks = sorted(t.get("name") for t in ET.parse(out / name).getroot().iter(f"{BPMN}task"))
        assert drawn["tasks"] == tasks and tasks
        assert drawn["svgShapes"] >= len(tasks)


def test_every_figure_names_a_query_that_reproduces_it(run):
    out, _, page = run
    queries = ROOT / "queries"
    con = duckdb.connect(str(out / "warehouse.snapshot.duckdb"), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        for figure in page["sources"]:
            if figure["figure"].startswith("bpmn-"):
                continue  # the BPMN files themselves, named under the diagrams (test_bpmn_js_draws_...)
            assert figure["queries"], f"figure {figure['figure']} names no query"
            for q in figure["queries"]:
                assert q["files"] or q["tables"], figure["figure"]
                for file in q["files"]:
                    assert (ROOT / file).is_file() and (ROOT / file).parent == queries, file
                # The statement people copy runs on the snapshot (where the queries step installed the library);
                # only these two may rightly answer with no rows (nothing quarantined, nothing undecided).
                rows = con.execute(q["sql"]).fetchall()
                assert rows or q["query"] in ("quarantine", "undecided"), f"{figure['figure']}: {q['sql']}"
    finally:
        con.close()


def test_report_is_byte_identical_when_rebuilt(demo, tmp_path):
    out, config, _ = demo
    copy = tmp_path / "again"
    copy.mkdir()
    for name in ("as-is.bpmn", "to-be.bpmn"):
        shutil.copy(out / name, copy / name)
    rebuilt = write_report(out / "warehouse.duckdb", config, config.processes[0], copy)
    assert rebuilt.read_bytes() == (out / "report.html").read_bytes()


def test_every_library_example_runs_on_the_run(run):
    """The examples in the headers of queries/*.sql name no process of their own (issue 19): each one
    runs on the demo's and on BPIC2012's warehouse, and all but a few answer with rows there."""
    from mining import sqllib

    out, _, _ = run
    # These may rightly find nothing on a real log: no journey scored that low, no poor-poor pair.
    may_be_empty = {("70_running_score.sql", 3), ("80_knock_on.sql", 1)}
    con = duckdb.connect(str(out / "warehouse.snapshot.duckdb"), read_only=True)
    empty = []
    try:
        con.execute("SET TimeZone = 'UTC'")
        for f in sqllib.query_files():
            for i, sql in enumerate(f.examples):
                if not con.execute(sql).fetchall():
                    empty.append((f.name, i))
    finally:
        con.close()
    assert set(empty) <= may_be_empty, empty
