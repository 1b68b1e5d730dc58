"""`mot serve` in a real browser: Debian's chromium driven by Python playwright (``executable_path``;
nothing is downloaded), against the real server started as a subprocess on two real runs.

On the demo run: the page draws the map with moments of truth, the sliders thin it, a filter set
in the dialog changes the counters to what SQL on the same snapshot says and lands in the URL (a
fresh page on that URL shows the same), a click on an arrow lists exactly the cases where the one
activity directly follows the other, a click on a case shows its journey, and the filtered CSV
export reloads with the filtered events. On BPIC2012: the performance view and a case-attribute
filter. Every request the page makes is a GET to the API with known keys and no SQL; the page logs
no error. Screenshots go to the test's tmp folder.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit
from urllib.request import urlopen

import duckdb
import pytest
import shared_run
from airflow_run import free_port

from mining import pipeline
from mining.outputs import snapshot_path, warehouse_path

ROOT = Path(__file__).resolve().parents[1]
BPIC = ROOT.parent / "shared" / "data" / "logs" / "bpic2012.xes.gz"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# The keys the page may send: the filters, the map's settings, paging and drill-down. No SQL.
KEYS = {"process", "since", "until", "timeframe", "variant", "outcome", "with", "without", "min_duration"}
KEYS |= {"max_duration", "view", "measure", "activities", "paths", "limit", "offset", "activity", "source"}
KEYS |= {"target", "of_variant", "case_id", "figure", "remove", "top"}


class Served:
    """``mot serve`` on one run, its snapshot for independent SQL, and its URL."""

    def __init__(self, out: Path, process: str):
        self.out, self.process, port = out, process, free_port()
        self.url = f"http://127.0.0.1:{port}/"
        self.server = subprocess.Popen(
            [str(Path(sys.executable).with_name("mot")), "serve", str(out), "--port", str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                urlopen(self.url + "api/processes", timeout=2).read()
                break
            except OSError:
                assert self.server.poll() is None, self.server.stdout.read().decode()
                assert time.monotonic() < deadline, "mot serve did not answer within 60 s"
                time.sleep(0.3)
        self.con = duckdb.connect(str(snapshot_path(warehouse_path(out))), read_only=True)

    def sql(self, query: str, **params):
        return self.con.execute(query, {"p": self.process, **params}).fetchall()

    def stop(self):
        self.con.close()
        self.server.terminate()
        self.server.wait(timeout=30)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("browse-demo")
    pipeline.run(pipeline.demo_config(out, n_cases=400, seed=11), out)
    served = Served(out, "loan_origination")
    yield served
    served.stop()


@pytest.fixture(scope="module")
def bpic(tmp_path_factory, bpic2012_run):
    out = shared_run.copy(bpic2012_run, tmp_path_factory.mktemp("browse-bpic") / "run")
    served = Served(out, "bpic2012")
    yield served
    served.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A page that records its requests and errors; the test fails on any error it logged."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.requests, page.errors = [], []
    page.on("request", lambda r: page.requests.append(r))
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    yield page
    assert page.errors == []
    for request in page.requests:  # only GETs of our own API and static files, with known keys
        url = urlsplit(request.url)
        assert request.method == "GET" and url.netloc.startswith("127.0.0.1"), request.url
        if url.path.startswith("/api/"):
            keys = {k for k, _ in parse_qsl(url.query)}
            unknown = {k for k in keys - KEYS if not k.startswith(("case.", "event."))}
            assert not unknown, (request.url, unknown)
    context.close()


def open_page(page, url: str):
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]", timeout=60_000)
    page.wait_for_selector("#map svg", timeout=60_000)


def counter(page, label: str) -> tuple[int, int]:
    """(filtered, total) of a header counter: '1,234 of 2,000' or '2,000'."""
    text = page.locator("#counters div", has_text=label).locator("dd").inner_text()
    numbers = [int(n.replace(",", "")) for n in text.split(" of ")]
    return numbers[0], numbers[-1]


def move(page, slider: str, value: int):
    page.eval_on_selector(
        f"#{slider}",
        "(el, v) => { el.value = v; el.dispatchEvent(new Event('input')); el.dispatchEvent(new Event('change')); }",
        value,
    )
    page.wait_for_function(f"location.search.includes('{slider}={value}')")
    page.wait_for_selector("#map:not(.busy) svg")


def nodes(page) -> set[str]:
    return set(page.eval_on_selector_all("#map .node[data-activity]", "els => els.map(e => e.dataset.activity)"))


def test_demo_map_sliders_filter_drill_and_export(demo, page, tmp_path):
    open_page(page, demo.url)
    (total,) = demo.sql("SELECT count(DISTINCT case_id) FROM events WHERE process = $p")[0]
    assert counter(page, "cases") == (total, total)
    activities = {a for (a,) in demo.sql("SELECT DISTINCT activity FROM events WHERE process = $p")}
    assert nodes(page) == activities
    assert page.locator("#map .node.mot").count() > 0  # moments of truth are marked
    page.screenshot(path=tmp_path / "demo-map.png")

    move(page, "activities", 30)  # Disco's activity slider: the most frequent ones stay
    thinned = nodes(page)
    assert 0 < len(thinned) < len(activities)
    by_frequency = demo.sql("SELECT activity FROM events WHERE process = $p GROUP BY ALL ORDER BY count(*) DESC, 1")
    assert by_frequency[0][0] in thinned
    arcs_all = page.locator("#map .arc").count()
    move(page, "paths", 0)
    assert page.locator("#map .arc").count() < arcs_all
    move(page, "activities", 100)
    move(page, "paths", 100)

    # A filter from the dialog: cases that contain one activity.
    chosen = by_frequency[len(by_frequency) // 2][0]
    page.click("#add-filter")
    page.select_option("#filter-kind", "with")
    page.wait_for_selector("#f-activity")
    page.select_option("#f-activity", chosen)
    page.click("#filter-apply")
    page.wait_for_function("location.search.includes('with=')")
    (expected,) = demo.sql("SELECT count(DISTINCT case_id) FROM events WHERE process = $p AND activity = $a", a=chosen)[
        0
    ]
    page.wait_for_function(
        "n => document.querySelector('#counters dd').innerText.startsWith(n.toLocaleString('en'))", arg=expected
    )
    assert counter(page, "cases") == (expected, total)
    assert page.locator("#chips .chip", has_text=chosen).count() == 1
    shared = page.url
    other = page.context.new_page()
    open_page(other, shared)  # the link carries the view
    assert counter(other, "cases") == (expected, total)
    other.close()

    # Drill-down from the heaviest arrow between two different activities.
    pairs = demo.sql(
        "SELECT a.activity, b.activity, count(DISTINCT a.case_id) FROM activity_instances a "
        "JOIN activity_instances b ON b.process = a.process AND b.case_id = a.case_id "
        "AND b.instance_pos = a.instance_pos + 1 "
        "WHERE a.process = $p AND a.activity <> b.activity AND a.case_id IN "
        "(SELECT case_id FROM events WHERE process = $p AND activity = $a) "
        "GROUP BY ALL ORDER BY 3 DESC, 1, 2 LIMIT 1",
        a=chosen,
    )
    source, target, n = pairs[0]
    page.click(f'#map .arc[data-source="{source}"][data-target="{target}"]')
    page.wait_for_selector("#drawer:not([hidden]) table")
    assert page.locator("#drawer .caption").inner_text().startswith(f"{n:,} cases")
    page.click("#drawer tbody tr.click >> nth=0")
    page.wait_for_selector("#drawer button:has-text('Back to the cases')")  # the journey replaced the list
    case_id = page.locator("#drawer h2").inner_text().removeprefix("Case ")
    (n_events,) = demo.sql("SELECT count(*) FROM events WHERE process = $p AND case_id = $c", c=case_id)[0]
    assert page.locator("#drawer tbody tr").count() == n_events
    page.click("#drawer-close")

    # The filtered event log as CSV, reloaded.
    page.click("[data-tab=export]")
    with page.expect_download() as download:
        page.click("a[href^='/api/export.csv']")
    path = tmp_path / "filtered.csv"
    download.value.save_as(path)
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    (events,) = demo.sql(
        "SELECT count(*) FROM events WHERE process = $p AND case_id IN "
        "(SELECT case_id FROM events WHERE process = $p AND activity = $a)",
        a=chosen,
    )[0]
    assert len(rows) == events
    assert duckdb.sql(f"SELECT count(*) FROM read_csv('{path}')").fetchall() == [(events,)]


def test_bpic_performance_view_and_a_case_attribute_filter(bpic, page, tmp_path):
    open_page(page, bpic.url + "?view=performance&measure=median")
    assert nodes(page) == {a for (a,) in bpic.sql("SELECT DISTINCT activity FROM events WHERE process = $p")}
    labels = page.text_content("#map svg")
    assert any(unit in labels for unit in (" min", " h", " d"))  # times, not counts
    page.screenshot(path=tmp_path / "bpic-performance.png")
    page.click("#add-filter")
    page.select_option("#filter-kind", "case")
    page.wait_for_selector("#f-attr")
    page.select_option("#f-attr", "AMOUNT_REQ")
    value = page.eval_on_selector("#f-values", "el => el.options[0].value")
    page.select_option("#f-values", value)
    page.click("#filter-apply")
    page.wait_for_function("location.search.includes('case.AMOUNT_REQ=')")
    (expected,) = bpic.sql(
        "SELECT count(DISTINCT case_id) FROM events WHERE process = $p AND attrs->>'case:AMOUNT_REQ' = $v", v=value
    )[0]
    page.wait_for_function(
        "n => document.querySelector('#counters dd').innerText.startsWith(n.toLocaleString('en') + ' of')",
        arg=expected,
    )
    assert counter(page, "cases")[0] == expected


def test_the_api_takes_no_sql_and_bad_values_are_a_4xx(demo):
    from urllib.error import HTTPError

    for query in ("sql=SELECT%201", "with=x%27%20OR%201%3D1%20--", "since=yesterday", "limit=10%3B%20DROP"):
        with pytest.raises(HTTPError) as error:
            urlopen(f"{demo.url}api/cases?process={demo.process}&{query}", timeout=10)
        assert 400 <= error.value.code < 500
        body = json.loads(error.value.read())
        assert set(body) == {"error", "key"} and body["key"] in query  # names the key, says no more
