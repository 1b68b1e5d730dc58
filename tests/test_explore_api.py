"""`mot serve`'s JSON API on two real runs (the demo's sample system and BPIC2012), no mocks.

Every filtered count is held against an independent SQL count on the same snapshot; drill-down,
journey, what-if and the exports against the warehouse tables; malformed input must give a 4xx
naming its key, never a 500 or SQL text.
"""

from __future__ import annotations

import csv
import io
import shutil
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qsl, urlencode
from urllib.request import urlopen

import duckdb
import pytest
import shared_run
from starlette.testclient import TestClient

from mining import pipeline
from mining.explore.app import create_app
from mining.outputs import snapshot_path, warehouse_path

ROOT = Path(__file__).resolve().parents[1]
BPIC = ROOT.parent / "shared" / "data" / "logs" / "bpic2012.xes.gz"


class Run:
    """One pipeline run: its folder, process, snapshot connection and API client."""

    def __init__(self, out: Path, process: str) -> None:
        self.out, self.process = out, process
        self.snapshot = snapshot_path(warehouse_path(out))
        self.con = duckdb.connect(str(self.snapshot), read_only=True)
        self.client = TestClient(create_app(self.snapshot))

    def get(self, path: str, params=(), status: int = 200):
        items = [("process", self.process), *(params.items() if isinstance(params, dict) else params)]
        response = self.client.get(f"{path}?{urlencode(items)}")
        assert response.status_code == status, response.text
        return response

    def api(self, path: str, params=()) -> dict:
        return self.get(path, params).json()

    def scalar(self, sql: str, params: dict | None = None):
        return self.con.execute(sql, {"p": self.process} | (params or {})).fetchone()[0]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("explore-demo")
    pipeline.run(pipeline.demo_config(out, n_cases=600, seed=3), out)
    return Run(out, "loan_origination")


@pytest.fixture(scope="module")
def bpic(tmp_path_factory, bpic2012_run):
    out = shared_run.copy(bpic2012_run, tmp_path_factory.mktemp("explore-bpic") / "run")
    return Run(out, "bpic2012")


# Independent counts: from the raw events table (not the prepared cases), each in its own words.
SPANS = "SELECT case_id, min(ts) AS s, max(ts) AS e FROM events WHERE process = $p GROUP BY case_id"
SEQUENCES = "SELECT case_id, list(activity ORDER BY pos) AS seq FROM event_log WHERE process = $p GROUP BY case_id"
WINDOW = {
    "intersecting": "e >= TIMESTAMPTZ '2011-11-01' AND s < TIMESTAMPTZ '2012-01-01'",
    "contained": "s >= TIMESTAMPTZ '2011-11-01' AND e < TIMESTAMPTZ '2012-01-01'",
    "started": "s >= TIMESTAMPTZ '2011-11-01' AND s < TIMESTAMPTZ '2012-01-01'",
    "completed": "e >= TIMESTAMPTZ '2011-11-01' AND e < TIMESTAMPTZ '2012-01-01'",
}
BPIC_FILTERS = [
    *(
        (
            [("since", "2011-11-01"), ("until", "2011-12-31"), ("timeframe", tf)],
            f"SELECT count(*) FROM ({SPANS}) WHERE {w}",
        )
        for tf, w in WINDOW.items()
    ),
    (
        [("case.AMOUNT_REQ", "5000"), ("case.AMOUNT_REQ", "10000")],
        "SELECT count(DISTINCT case_id) FROM events WHERE process = $p AND attrs->>'case:AMOUNT_REQ' IN ('5000', '10000')",
    ),
    (
        [("event.resource", "10861"), ("event.lifecycle", "START")],
        "SELECT count(DISTINCT case_id) FROM events WHERE process = $p AND resource = '10861' "
        "AND case_id IN (SELECT case_id FROM events WHERE lifecycle = 'START')",
    ),
    (
        [("variant", "1"), ("variant", "2")],
        f"SELECT count(*) FROM ({SEQUENCES}) WHERE seq IN (SELECT activities FROM variants WHERE process = $p AND rank <= 2)",
    ),
    ([("outcome", "success")], "SELECT count(*) FROM case_outcomes WHERE process = $p AND outcome = 'success'"),
    (
        [("with", "A_DECLINED"), ("with", "W_Completeren aanvraag")],
        "SELECT count(*) FROM (SELECT case_id FROM events WHERE process = $p GROUP BY case_id "
        "HAVING bool_or(activity = 'A_DECLINED') AND bool_or(activity = 'W_Completeren aanvraag'))",
    ),
    (
        [("without", "W_Nabellen offertes")],
        "SELECT count(*) FROM (SELECT case_id FROM events WHERE process = $p GROUP BY case_id "
        "HAVING NOT bool_or(activity = 'W_Nabellen offertes'))",
    ),
    (
        [("min_duration", "1d"), ("max_duration", "720h")],
        f"SELECT count(*) FROM ({SPANS}) WHERE epoch(e) - epoch(s) BETWEEN 86400 AND 2592000",
    ),
    (
        [
            ("outcome", "declined"),
            ("with", "W_Completeren aanvraag"),
            ("min_duration", "3600"),
            ("since", "2011-12-01"),
        ],
        f"SELECT count(*) FROM ({SPANS}) AS t JOIN case_outcomes AS o USING (case_id) WHERE o.process = $p "
        "AND o.outcome = 'declined' AND epoch(e) - epoch(s) >= 3600 AND e >= TIMESTAMPTZ '2011-12-01' "
        "AND case_id IN (SELECT case_id FROM events WHERE process = $p AND activity = 'W_Completeren aanvraag')",
    ),
]
DEMO_FILTERS = [
    (
        [("event.channel", "letter"), ("event.channel", "branch")],
        "SELECT count(DISTINCT case_id) FROM events WHERE process = $p AND attrs->>'channel' IN ('letter', 'branch')",
    ),
    ([("outcome", "dropout")], "SELECT count(*) FROM case_outcomes WHERE process = $p AND outcome = 'dropout'"),
    (
        [("case.product", "car_loan"), ("event.channel", "letter")],
        "SELECT count(DISTINCT case_id) FROM events WHERE process = $p AND attrs->>'product' = 'car_loan' AND case_id IN "
        "(SELECT case_id FROM events WHERE attrs->>'channel' = 'letter')",
    ),
    (
        [("variant", "1"), ("without", "Courtesy call")],
        f"SELECT count(*) FROM ({SEQUENCES}) WHERE seq = (SELECT activities FROM variants WHERE process = $p AND rank = 1) "
        "AND NOT list_contains(seq, 'Courtesy call')",
    ),
]


@pytest.mark.parametrize(
    "params,sql", BPIC_FILTERS, ids=lambda v: "&".join(k for k, _ in v) if isinstance(v, list) else ""
)
def test_bpic_filtered_counts_equal_independent_sql(bpic, params, sql):
    found = bpic.api("/api/overview", params)
    expected = bpic.scalar(sql)
    assert found["filtered"]["cases"] == expected
    assert 0 < expected < found["total"]["cases"]
    assert {c["key"] for c in found["chips"]} == {k for k, v in params if (k, v) != ("timeframe", "intersecting")}
    again = bpic.api("/api/overview", parse_qsl(found["query"]))
    assert again["filtered"] == found["filtered"]  # the canonical query string gives the same view


@pytest.mark.parametrize(
    "params,sql", DEMO_FILTERS, ids=lambda v: "&".join(k for k, _ in v) if isinstance(v, list) else ""
)
def test_demo_filtered_counts_equal_independent_sql(demo, params, sql):
    found = demo.api("/api/overview", params)
    assert found["filtered"]["cases"] == demo.scalar(sql) > 0
    events = f"SELECT count(*) FROM events WHERE process = $p AND case_id IN ({sql.replace('count(*)', 'case_id', 1)})"
    if "DISTINCT" not in sql:
        assert found["filtered"]["events"] == demo.scalar(events)


def test_arc_drill_down_returns_exactly_the_cases_with_source_directly_followed_by_target(bpic):
    graph = bpic.api("/api/map", {"outcome": "success"})
    edge = max((e for e in graph["edges"] if e["source"] != e["target"]), key=lambda e: (e["cases"] < 2000, e["cases"]))
    ids, offset = [], 0
    while True:
        page = bpic.api(
            "/api/cases",
            {"outcome": "success", "source": edge["source"], "target": edge["target"], "limit": 500, "offset": offset},
        )
        ids += [c["case_id"] for c in page["cases"]]
        offset += 500
        if offset >= page["total"]:
            break
    expected = {
        r[0]
        for r in bpic.con.execute(
            "SELECT DISTINCT a.case_id FROM activity_instances a JOIN activity_instances b "
            "ON b.process = a.process AND b.case_id = a.case_id AND b.instance_pos = a.instance_pos + 1 "
            "JOIN case_outcomes o ON o.process = a.process AND o.case_id = a.case_id "
            "WHERE a.process = $p AND o.outcome = 'success' AND a.activity = $s AND b.activity = $t",
            {"p": bpic.process, "s": edge["source"], "t": edge["target"]},
        ).fetchall()
    }
    assert len(ids) == len(set(ids)) == page["total"] == edge["cases"]
    assert set(ids) == expected


def test_map_rows_and_svg(bpic, demo):
    whole = bpic.api("/api/map", {"view": "performance", "measure": "max"})
    instances = bpic.scalar("SELECT count(*) FROM activity_instances WHERE process = $p")
    assert sum(a["frequency"] for a in whole["activities"]) == instances
    timed = {a["activity"] for a in whole["activities"] if a["service_mean_s"] is not None}
    assert "W_Completeren aanvraag" in timed and "A_SUBMITTED" not in timed
    assert sum(whole["starts"].values()) == sum(whole["ends"].values()) == 13087
    # Disco's activity slider: the most frequent activities covering half of the instances stay, the
    # others are taken out of the cases, and the arrows are counted again between the kept ones.
    graph = bpic.api("/api/map", {"view": "performance", "measure": "max", "activities": "50", "paths": "20"})
    assert graph["svg"].startswith("<svg") and graph["options"]["measure"] == "max"
    kept = sorted(a["activity"] for a in graph["activities"])
    ranked = sorted(whole["activities"], key=lambda a: (-a["frequency"], a["activity"]))
    assert kept == sorted(a["activity"] for a in ranked[: len(kept)])
    assert (
        sum(a["frequency"] for a in graph["activities"])
        >= instances / 2
        > sum(a["frequency"] for a in ranked[: len(kept) - 1])
    )
    linked = bpic.con.execute(
        "SELECT count(*) FROM (SELECT activity, lead(activity) OVER (PARTITION BY case_id ORDER BY instance_pos) AS nxt "
        "FROM activity_instances WHERE process = $p AND list_contains($k, activity)) WHERE nxt IS NOT NULL",
        {"p": bpic.process, "k": kept},
    ).fetchone()[0]
    assert sum(e["frequency"] for e in graph["edges"]) == linked
    assert {e["source"] for e in graph["edges"]} | {e["target"] for e in graph["edges"]} <= set(kept)
    assert graph["shown"]["activities"] == len(kept) and graph["shown"]["arcs"] <= graph["shown"]["arcs_total"]
    demo_graph = demo.api("/api/map")
    assert demo_graph["notes"]["service_time"].startswith("not measurable")
    assert any(a["is_moment_of_truth"] for a in demo_graph["activities"])


def test_journey_events_equal_the_events_table(bpic):
    case_id = bpic.con.execute(
        "SELECT case_id FROM case_scores WHERE process = $p AND n_moments > 3 ORDER BY case_id LIMIT 1",
        {"p": bpic.process},
    ).fetchone()[0]
    journey = bpic.api("/api/case", {"case_id": case_id})
    rows = bpic.con.execute(
        "SELECT activity, resource, lifecycle FROM events WHERE process = $p AND case_id = $c ORDER BY ts, seq",
        {"p": bpic.process, "c": case_id},
    ).fetchall()
    assert [(e["activity"], e["resource"], e["lifecycle"]) for e in journey["events"]] == [tuple(r) for r in rows]
    moments = [e for e in journey["events"] if e["is_moment_of_truth"]]
    assert len(moments) == journey["case"]["n_moments"] == journey["moments"]
    assert moments[-1]["running_score"] == pytest.approx(journey["case"]["final_score"])
    assert all(m["wait_status"] for m in moments) and journey["case"]["outcome"]
    bpic.get("/api/case", {"case_id": "no-such-case"}, status=404)


def test_what_if_moves_the_figures_the_right_way(bpic, demo):
    filters = {"outcome": "success"}
    found = bpic.api("/api/whatif", [*filters.items(), ("remove", "W_Completeren aanvraag")])["figures"]
    removed = bpic.scalar(
        "SELECT count(*) FROM events WHERE process = $p AND activity = 'W_Completeren aanvraag' AND case_id IN "
        "(SELECT case_id FROM case_outcomes WHERE process = $p AND outcome = 'success')"
    )
    assert found["events"]["before"] - found["events"]["after"] == removed > 0
    assert found["median_throughput_s"]["after"] < found["median_throughput_s"]["before"]
    assert found["variants"]["after"] <= found["variants"]["before"]
    mot = demo.scalar(
        "SELECT activity FROM mot_activities WHERE process = $p AND is_moment_of_truth ORDER BY n_moments DESC LIMIT 1"
    )
    moved = demo.api("/api/whatif", [("remove", mot)])
    assert moved["figures"]["moments_per_case"]["after"] < moved["figures"]["moments_per_case"]["before"]
    assert moved["figures"]["median_throughput_s"]["after"] == moved["figures"]["median_throughput_s"]["before"]
    assert "waiting time before it is kept" in moved["assumption"]
    assert [w["activity"] for w in moved["waste_whatif"]] == [mot] * len(moved["waste_whatif"]) != []


def test_exports_reload(bpic, tmp_path):
    params = {"outcome": "declined", "min_duration": "1d"}
    events = bpic.api("/api/overview", params)["filtered"]["events"]
    text = bpic.get("/api/export.csv", params)
    assert 'filename="bpic2012-filtered.csv"' in text.headers["content-disposition"]
    assert len(list(csv.DictReader(io.StringIO(text.text)))) == events
    (tmp_path / "f.parquet").write_bytes(bpic.get("/api/export.parquet", params).content)
    assert duckdb.sql(f"SELECT count(*) FROM '{tmp_path / 'f.parquet'}'").fetchall()[0][0] == events
    (tmp_path / "f.xes").write_bytes(bpic.get("/api/export.xes", params).content)
    import pm4py

    log = pm4py.read_xes(str(tmp_path / "f.xes"))
    assert len(log) == events and log["time:timestamp"].min().year == 2011
    # The case attributes come back as trace attributes, with the values the snapshot holds.
    amounts = dict(zip(log["case:concept:name"], log["case:AMOUNT_REQ"], strict=True))
    stored = dict(
        bpic.con.execute(
            "SELECT DISTINCT case_id, attrs->>'case:AMOUNT_REQ' FROM events WHERE process = $p AND case_id IN $ids",
            {"p": bpic.process, "ids": sorted(amounts)},
        ).fetchall()
    )
    assert {k: str(v) for k, v in amounts.items()} == stored
    tree = ET.fromstring(bpic.get("/api/export.bpmn", params).content)
    assert len(tree.findall(".//{http://www.omg.org/spec/BPMN/20100524/MODEL}task")) > 5


def run_sql_text(run: Run, text: str) -> list[tuple]:
    """Run the statements of /api/sql's answer on a fresh cursor; the rows of the last one."""
    cursor = run.con.cursor()
    *setup, last = [s for s in text.split(";\n") if s.strip()]
    for statement in setup:
        cursor.execute(statement)
    return cursor.execute(last).fetchall()


def test_sql_of_a_figure_reproduces_it(bpic):
    params = [("case.AMOUNT_REQ", "5000"), ("without", "A_DECLINED"), ("since", "2011-12-01T00:00:00Z")]
    shown = bpic.api("/api/overview", params)["filtered"]
    found = run_sql_text(bpic, bpic.get("/api/sql", [*params, ("figure", "overview")]).text)
    assert found[0][:3] == (shown["cases"], shown["events"], shown["variants"])
    arc = [("source", "A_SUBMITTED"), ("target", "A_PARTLYSUBMITTED"), ("limit", "500")]
    page = bpic.api("/api/cases", [*params, *arc])
    found = run_sql_text(bpic, bpic.get("/api/sql", [*params, *arc, ("figure", "cases")]).text)
    assert [r[0] for r in found] == [c["case_id"] for c in page["cases"]]
    remove = [("remove", "W_Completeren aanvraag")]
    shown = bpic.api("/api/whatif", [*params, *remove])["figures"]["events"]
    found = run_sql_text(bpic, bpic.get("/api/sql", [*params, *remove, ("figure", "whatif")]).text)
    assert found[0][2:4] == (shown["before"], shown["after"])
    graph = bpic.api("/api/map", params)
    found = run_sql_text(bpic, bpic.get("/api/sql", [*params, ("figure", "map_edges")]).text)
    arrows = [(r[0], r[1], r[2]) for r in found if r[1] is not None]  # target NULL: the arrows to the end
    assert arrows == [(e["source"], e["target"], e["frequency"]) for e in graph["edges"]]
    assert {r[0]: r[2] for r in found if r[1] is None} == graph["ends"]


MALFORMED = [
    ({"since": "2012-13-45"}, "since", 400),
    ({"until": "yesterday"}, "until", 400),
    ({"since": "x' OR 1=1 --"}, "since", 400),
    ({"timeframe": "sometimes"}, "timeframe", 400),
    ({"since": "2012-01-01", "until": "2011-12-31T23:00:00"}, "until", 400),
    ({"min_duration": "2d", "max_duration": "1d"}, "max_duration", 400),
    ({"since": "2012-01-01", "since ": "2012-01-02"}, "since ", 400),
    ({"case.NOPE": "1"}, "case.NOPE", 400),
    ({"event.x' OR 1=1 --": "1"}, "event.x' OR 1=1 --", 400),
    ({"min_duration": "-5"}, "min_duration", 400),
    ({"max_duration": "3 fortnights"}, "max_duration", 400),
    ({"variant": "0"}, "variant", 400),
    ({"variant": "1; DROP TABLE cases"}, "variant", 400),
    ({"outcome": "x' OR 1=1 --"}, "outcome", 400),
    ({"with": "No such step"}, "with", 400),
    ({"sql": "SELECT 1"}, "sql", 400),
    ({"select": "*"}, "select", 400),
]


@pytest.mark.parametrize("params,key,status", MALFORMED, ids=[m[1] for m in MALFORMED])
def test_malformed_values_get_a_4xx_naming_the_key(bpic, params, key, status):
    for path in ("/api/overview", "/api/map", "/api/cases", "/api/export.csv"):
        found = bpic.get(path, params, status=status).json()
        assert found["key"] == key and "Error" not in found["error"] and "SELECT" not in found["error"]


def test_bad_endpoint_parameters_and_sql_looking_values(bpic):
    for path, params, key in [
        ("/api/cases", {"limit": "1000000"}, "limit"),
        ("/api/cases", {"offset": "-1"}, "offset"),
        ("/api/cases", {"source": "A_SUBMITTED"}, "target"),
        ("/api/map", {"view": "3d"}, "view"),
        ("/api/map", {"activities": "101"}, "activities"),
        ("/api/whatif", {}, "remove"),
        ("/api/sql", {"figure": "DROP TABLE cases"}, "figure"),
        ("/api/case", {}, "case_id"),
    ]:
        assert bpic.get(path, params, status=400).json()["key"] == key
    injected = bpic.api("/api/overview", {"case.AMOUNT_REQ": "x' OR 1=1 --"})
    assert injected["filtered"]["cases"] == 0 and injected["chips"][0]["value"] == "x' OR 1=1 --"
    assert bpic.client.get("/api/overview?process=nope").status_code == 404
    assert bpic.client.get("/api/overview").json()["key"] == "process"
    assert bpic.client.get("/static/../app.py").status_code == 404
    assert bpic.client.get("/api/nothing").json()["error"] == "no endpoint /api/nothing"
    empty = bpic.api("/api/whatif", {"case.AMOUNT_REQ": "zzz", "remove": "A_DECLINED"})["figures"]
    assert empty["cases"] == {"before": 0, "after": 0} and empty["events"] == {"before": 0, "after": 0}
    page = bpic.client.get("/").text
    assert "/static/app.js" in page and bpic.client.get("/static/app.js").status_code == 200


def test_lists_attributes_variants_findings(bpic, demo):
    attrs = bpic.api("/api/attributes", {"top": "5"})
    assert list(attrs["case"]) == ["AMOUNT_REQ", "REG_DATE"] and len(attrs["case"]["AMOUNT_REQ"]) == 5
    assert {o["value"] for o in attrs["outcomes"]} == {"success", "declined", "dropout", "other"}
    variants = bpic.api("/api/variants", {"outcome": "success", "limit": "3"})
    assert variants["total"] == bpic.api("/api/overview", {"outcome": "success"})["filtered"]["variants"]
    assert {"product", "amount_requested"} <= set(demo.api("/api/attributes")["case"])
    assert "channel" in demo.api("/api/attributes")["event"]
    top = variants["variants"][0]
    page = bpic.api("/api/cases", {"outcome": "success", "of_variant": str(top["rank"]), "limit": "500"})
    assert {c["variant"] for c in page["cases"]} == {top["rank"]}
    assert (
        page["total"]
        == len(page["cases"])
        == top["cases"]
        == bpic.scalar(
            "SELECT count(*) FROM cases c JOIN variants v USING (process, variant_id) JOIN case_outcomes o USING (process, case_id) "
            "WHERE c.process = $p AND v.rank = $r AND o.outcome = 'success'",
            {"r": top["rank"]},
        )
    )
    findings = demo.api("/api/findings")
    assert findings["waste"] and all(w["evidence"] for w in findings["waste"]) and findings["funnel"]


def test_concurrent_requests_keep_their_own_case_sets(bpic):
    """Each request's filtered cases are a temp table of its own cursor: threads must not mix them."""
    queries = [{"outcome": o} for o in ("success", "declined", "dropout", "other")] * 4
    alone = [bpic.api("/api/overview", q)["filtered"] for q in queries[:4]] * 4
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda q: bpic.api("/api/overview", q)["filtered"], queries))
    assert together == alone


def test_a_new_snapshot_is_picked_up(demo, bpic, tmp_path):
    copy = tmp_path / "warehouse.snapshot.duckdb"
    shutil.copy(demo.snapshot, copy)
    client = TestClient(create_app(copy))
    assert [p["process"] for p in client.get("/api/processes").json()["processes"]] == ["loan_origination"]
    shutil.copy(bpic.snapshot, tmp_path / "next.duckdb")
    (tmp_path / "next.duckdb").replace(copy)  # as publish_snapshot does: a rename over the old file
    assert [p["process"] for p in client.get("/api/processes").json()["processes"]] == ["bpic2012"]


def test_mot_serve_starts_answers_and_stops(demo, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "mining.cli", "serve", str(demo.out), "--port", str(port)]
    server = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urlopen(f"http://127.0.0.1:{port}/api/processes", timeout=5) as r:
                    assert b"loan_origination" in r.read()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.3)
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in err
    empty = subprocess.run(
        [sys.executable, "-m", "mining.cli", "serve", str(tmp_path)], cwd=ROOT, capture_output=True, text=True
    )
    assert empty.returncode == 2 and "holds no warehouse" in empty.stderr
