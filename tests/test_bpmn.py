"""BPMN export without external clients: tree translation, layout geometry, ids, texts, to-be.

Hand-built trees with exact expectations, hypothesis for the layout invariants on random trees,
pm4py's own BPMN importer for the behaviour, and a tiny warehouse for the figures and the step.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mining import discovery, exports
from mining.bpmn.diagram import Diagram
from mining.bpmn.export import export, first_clauses
from mining.bpmn.figures import ActivityFigures, ProcessFigures, duration, load_figures, number
from mining.bpmn.layout import layout
from mining.bpmn.serialize import BIOC, BPMN, BPMNDI, COLOR, MOT
from mining.bpmn.step import bpmn_step, stored_imf
from mining.bpmn.tobe import plan_removals, project
from mining.bpmn.tree import Tree, from_pm4py, from_stored
from mining.config import ConfigError, ProjectConfig, Source, parse_config
from mining.config.bpmn import Bpmn
from mining.sources.delimited import read_csv
from mining.warehouse import connect
from mining.warehouse.load import load_batch
from mining.warehouse.prepare import prepare

NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def leaf(label: str | None) -> Tree:
    return Tree(label=label)


def op(operator: str, *children: Tree) -> Tree:
    return Tree(operator, children=children)


A, B, C, D, E, F, G, H, J = (leaf(x) for x in "abcdefghj")
TAU = leaf(None)
# ->( a, X( b, tau ), +( c, ->( d, e ) ), *( f, g ), X( h, j ) )
EXAMPLE = op("seq", A, op("xor", B, TAU), op("and", C, op("seq", D, E)), op("loop", F, G), op("xor", H, J))


# --- translation ----------------------------------------------------------------------------------


def kinds(diagram: Diagram) -> Counter:
    return Counter(n.kind for n in diagram.nodes)


def test_example_translates_block_by_block():
    d = layout(EXAMPLE)
    assert kinds(d) == Counter({"task": 9, "exclusiveGateway": 6, "parallelGateway": 2, "startEvent": 1, "endEvent": 1})
    # start->a, a->X, X->b, b->X, X->X (skip), X->+, +->c, c->+, +->d, d->e, e->+, +->loop, loop->f,
    # f->redo, redo->g, g->loop, redo->X, X->h, h->X, X->i, i->X, X->end
    assert len(d.flows) == 22
    tasks = d.tasks()
    edges = {
        (d.node(f.source).name or d.node(f.source).kind, d.node(f.target).name or d.node(f.target).kind)
        for f in d.flows
    }
    assert ("d", "e") in edges and ("a", "exclusiveGateway") in edges and ("startEvent", "a") in edges
    for node in d.nodes:
        ins, outs = d.incoming(node.id), d.outgoing(node.id)
        if node.kind == "startEvent":
            assert (len(ins), len(outs)) == (0, 1)
        elif node.kind == "endEvent":
            assert (len(ins), len(outs)) == (1, 0)
        elif node.kind == "task":
            assert (len(ins), len(outs)) == (1, 1)
        elif node.direction == "Diverging":
            assert len(ins) == 1 and len(outs) >= 2
        else:
            assert node.direction == "Converging" and len(ins) >= 2 and len(outs) == 1
    assert set(tasks) == set("abcdefghj")


def test_silent_branches_of_a_parallel_block_disappear_and_single_children_need_no_gateway():
    assert kinds(layout(op("and", A, TAU))) == Counter({"task": 1, "startEvent": 1, "endEvent": 1})
    assert kinds(layout(op("seq", TAU, A, TAU))) == Counter({"task": 1, "startEvent": 1, "endEvent": 1})
    empty = layout(TAU)
    assert kinds(empty) == Counter({"startEvent": 1, "endEvent": 1}) and len(empty.flows) == 1
    # An inclusive choice keeps its own gateways.
    assert kinds(layout(op("or", A, B)))["inclusiveGateway"] == 2


def test_loop_with_several_redo_parts_gets_a_choice_on_the_way_back():
    d = layout(op("loop", A, B, C))
    assert kinds(d) == Counter({"task": 3, "exclusiveGateway": 4, "startEvent": 1, "endEvent": 1})


def test_invalid_trees_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="unknown process-tree operator"):
        Tree("sequence", children=(A, B))
    with pytest.raises(ValueError, match="loop needs a body"):
        Tree("loop", children=(A,))
    from pm4py.objects.process_tree.obj import Operator, ProcessTree

    interleaving = ProcessTree(operator=Operator.INTERLEAVING)
    interleaving.children = [ProcessTree(label="a", parent=interleaving), ProcessTree(label="b", parent=interleaving)]
    with pytest.raises(ValueError, match="no BPMN block translation"):
        from_pm4py(interleaving)


def test_pm4py_trees_translate_with_their_structure():
    from pm4py.objects.process_tree.utils.generic import parse

    text = "->( 'a', X( tau, 'b' ), *( 'c', tau ), +( 'd', 'e' ) )"
    assert str(from_pm4py(parse(text))) == text


# --- ids and determinism --------------------------------------------------------------------------


def test_ids_are_derived_from_content_and_unique():
    d = layout(op("seq", A, op("xor", leaf("a"), B), A))  # the label 'a' three times
    ids = [n.id for n in d.nodes] + [f.id for f in d.flows]
    assert len(ids) == len(set(ids))
    assert all(NCNAME.match(i) for i in ids)
    task_ids = sorted(n.id for n in d.nodes if n.name == "a")
    assert (
        task_ids[0].startswith("Activity_a_")
        and task_ids[1] == task_ids[0] + "_2"
        and task_ids[2] == task_ids[0] + "_3"
    )
    # The same activity keeps its id in another model (as-is and to-be files diff cleanly).
    assert layout(op("seq", B, A)).tasks()["a"].id == layout(op("xor", A, C)).tasks()["a"].id


def test_order_of_choice_children_does_not_change_the_diagram():
    first = layout(op("seq", A, op("xor", B, C, op("seq", D, E)), F))
    second = layout(op("seq", A, op("xor", op("seq", D, E), C, B), F))
    assert first == second


def test_weights_put_the_most_frequent_branch_on_the_main_line():
    tree = op("seq", A, op("xor", B, C), D)
    plain = layout(tree)
    weighted = layout(tree, weights={"a": 10, "b": 1, "c": 9, "d": 10})
    axis = plain.tasks()["a"].bounds.y
    assert plain.tasks()["b"].bounds.y == axis and plain.tasks()["c"].bounds.y > axis
    assert weighted.tasks()["c"].bounds.y == axis and weighted.tasks()["b"].bounds.y > axis


# --- geometry -------------------------------------------------------------------------------------


def on_border(point, b) -> bool:
    x, y = point
    inside_x = b.x <= x <= b.x + b.width
    inside_y = b.y <= y <= b.y + b.height
    return (inside_x and y in (b.y, b.y + b.height)) or (inside_y and x in (b.x, b.x + b.width))


def crosses_interior(p, q, b) -> bool:
    """Does the axis-parallel segment p-q run through the inside of box b?"""
    (x1, y1), (x2, y2) = p, q
    if y1 == y2:
        return b.y < y1 < b.y + b.height and min(x1, x2) < b.x + b.width and max(x1, x2) > b.x
    return b.x < x1 < b.x + b.width and min(y1, y2) < b.y + b.height and max(y1, y2) > b.y


def check_geometry(d: Diagram) -> None:
    boxes = {n.id: n.bounds for n in d.nodes} | {n.id: n.bounds for n in d.notes}
    for (i, a), (j, b) in itertools.combinations(boxes.items(), 2):
        assert not a.overlaps(b), f"{i} overlaps {j}"
    assert all(b.x >= 0 and b.y >= 0 for b in boxes.values())
    for f in d.flows:
        pts = f.waypoints
        assert len(pts) >= 2
        for p, q in itertools.pairwise(pts):
            assert p != q and (p[0] == q[0] or p[1] == q[1]), f"{f.id} is not orthogonal: {pts}"
        assert on_border(pts[0], boxes[f.source]), f"{f.id} does not leave {f.source} on its border"
        assert on_border(pts[-1], boxes[f.target]), f"{f.id} does not end on the border of {f.target}"
        for other, b in boxes.items():
            if other in (f.source, f.target):
                continue
            for p, q in itertools.pairwise(pts):
                assert not crosses_interior(p, q, b), f"{f.id} runs through {other}"
    for n in d.notes:
        assert on_border(n.waypoints[0], boxes[n.task]) and on_border(n.waypoints[-1], n.bounds)


def test_example_geometry():
    d = layout(EXAMPLE, notes={"b": "Removal candidate", "g": "a longer note " * 8})
    check_geometry(d)
    a, b = d.tasks()["a"].bounds, d.tasks()["b"].bounds
    assert a.y + a.height // 2 == b.y + b.height // 2  # one main line, left to right
    assert d.tasks()["g"].bounds.y > d.tasks()["f"].bounds.y  # the loop back runs underneath
    assert d.tasks()["g"].bounds.x >= d.tasks()["f"].bounds.x - 100


LABELS = st.sampled_from(list("abcdefgh"))
LEAVES = st.one_of(LABELS.map(leaf), st.just(TAU))


def _extend(children):
    blocks = st.tuples(st.sampled_from(["seq", "xor", "and", "or"]), st.lists(children, min_size=2, max_size=3))
    loops = st.tuples(children, children)
    return st.one_of(
        blocks.map(lambda t: Tree(t[0], children=tuple(t[1]))), loops.map(lambda t: Tree("loop", children=t))
    )


TREES = st.recursive(LEAVES, _extend, max_leaves=14)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=TREES, noted=st.sets(LABELS), weights=st.dictionaries(LABELS, st.integers(0, 100)))
def test_layout_invariants_on_random_trees(tree, noted, weights):
    d = layout(tree, weights, {a: f"note on {a} " * 5 for a in noted})
    check_geometry(d)
    ids = [n.id for n in d.nodes] + [f.id for f in d.flows] + [n.id for n in d.notes]
    assert len(ids) == len(set(ids)) and all(NCNAME.match(i) for i in ids)
    assert Counter(n.name for n in d.nodes if n.kind == "task") == Counter(tree.activities())
    assert layout(tree, weights, {a: f"note on {a} " * 5 for a in noted}) == d


# --- behaviour: pm4py reads our BPMN back ----------------------------------------------------


def language(t: Tree) -> set[tuple[str, ...]]:
    """The traces of a loop-free tree."""
    if t.operator is None:
        return {()} if t.label is None else {(t.label,)}
    parts = [language(c) for c in t.children]
    if t.operator == "xor":
        return set().union(*parts)
    if t.operator == "seq":
        out = {()}
        for p in parts:
            out = {x + y for x in out for y in p}
        return out
    assert t.operator == "and"
    out = {()}
    for p in parts:
        out = {s for x in out for y in p for s in shuffles(x, y)}
    return out


def shuffles(x: tuple, y: tuple) -> set[tuple]:
    if not x or not y:
        return {x + y}
    return {(x[0], *s) for s in shuffles(x[1:], y)} | {(y[0], *s) for s in shuffles(x, y[1:])}


def replay(xml: bytes, traces: list[tuple[str, ...]], tmp_path: Path) -> list[bool]:
    import pm4py
    from pm4py.objects.log.obj import Event, EventLog, Trace

    path = tmp_path / "model.bpmn"
    path.write_bytes(xml)
    net, im, fm = pm4py.convert_to_petri_net(pm4py.read_bpmn(str(path)))
    log = EventLog([Trace([Event({"concept:name": a}) for a in t]) for t in traces])
    return [r["trace_is_fit"] for r in pm4py.conformance_diagnostics_token_based_replay(log, net, im, fm)]


def plain_xml(tree: Tree) -> bytes:
    figures = ProcessFigures("p", 1, {a: ActivityFigures(a, 1, 1) for a in tree.activities()})
    plan = plan_removals(figures, [])
    return export("p", tree, Counter(), tree, figures, plan, Bpmn(), None, None, 0.2).as_is


def test_pm4py_replays_exactly_the_language_of_a_loop_free_tree(tmp_path):
    tree = op("seq", A, op("xor", B, TAU), op("and", C, op("seq", D, E)), op("xor", H, J))
    traces = sorted(language(tree))
    assert len(traces) == 2 * 3 * 2
    assert all(replay(plain_xml(tree), traces, tmp_path))
    wrong = [
        ("a", "c", "d", "e"),
        ("a", "b", "b", "c", "d", "e", "h"),
        ("a", "e", "d", "c", "j"),
        ("a", "c", "d", "e", "h", "j"),
    ]
    assert not any(replay(plain_xml(tree), wrong, tmp_path))


def test_pm4py_replays_loops_round_and_round(tmp_path):
    fitting = [("a", "c", "d", "e", "f", "h"), ("a", "b", "d", "c", "e", "f", "g", "f", "g", "f", "j")]
    wrong = [("a", "c", "d", "e", "h"), ("a", "c", "d", "e", "f", "g", "h"), ("a", "f", "c", "d", "e", "f", "h")]
    assert replay(plain_xml(EXAMPLE), fitting + wrong, tmp_path) == [True, True, False, False, False]


# --- figures, texts and the to-be model --------------------------------------------------------------


def figures_with_everything() -> ProcessFigures:
    def act(name, freq, **kw):
        return ActivityFigures(
            name, freq, freq, n_waits=freq, wait_mean_s=7200.0, wait_median_s=3600.0, wait_total_s=7200.0 * freq, **kw
        )

    return ProcessFigures(
        "loans",
        10,
        {
            "a": act("a", 10, is_mot=True, mot_share=1.0, channel="portal", mot_rule="r1", n_scored=10, score_mean=-0.5,
                     poor_share=0.2, n_moments=10, waste_score=0.1, waste_rank=4, recommendation="keep", explanation="needed"),
            "b": act("b", 6, is_mot=False, mot_share=0.0, n_scored=0, n_moments=0, waste_score=0.8, waste_rank=1,
                     recommendation="remove", explanation="no decision follows it; customers wait 2.0 days before it",
                     whatif_scope="all", whatif_hours_per_month=120.0, whatif_mots_per_case=0.0),
            "c": act("c", 4, is_mot=True, mot_share=0.9, channel="phone", mot_rule="r2", n_scored=4, score_mean=-1.25,
                     poor_share=0.5, n_moments=4, waste_score=0.7, waste_rank=2, recommendation="remove",
                     explanation="a courtesy call that changes no outcome"),
            "d": act("d", 10, is_mot=False, mot_share=0.0, n_scored=0, n_moments=0, waste_score=0.2, waste_rank=3,
                     recommendation="fix", explanation="slow"),
        },
        n_ranked=4,
    )  # fmt: skip


TREE4 = op("seq", A, op("xor", B, TAU), op("xor", C, TAU), D)
VARIANTS4 = Counter({("a", "b", "c", "d"): 4, ("a", "b", "d"): 2, ("a", "d"): 4})


def parse(xml: bytes):
    root = ET.fromstring(xml)
    process = root.find(f"{{{BPMN}}}process")
    tasks = {t.get("name"): t for t in process.findall(f"{{{BPMN}}}task")}
    shapes = {s.get("bpmnElement"): s for s in root.iter(f"{{{BPMNDI}}}BPMNShape")}
    return root, process, tasks, shapes


def test_annotated_as_is_has_figures_colours_and_notes():
    figures = figures_with_everything()
    plan = plan_removals(figures, None)
    assert plan.candidates == ("b", "c") and plan.removed == ("b", "c")
    to_be = op("seq", A, D)
    out = export("loans", TREE4, VARIANTS4, to_be, figures, plan, Bpmn(), 0.95, 1.0, 0.2)
    _, process, tasks, shapes = parse(out.as_is)
    doc = tasks["a"].find(f"{{{BPMN}}}documentation").text
    assert "Frequency: 10 events in 10 of 10 cases (100.0% of cases)." in doc
    assert "median 1.0 h, mean 2.0 h" in doc
    assert "Moment of truth: yes (100% of its events are customer-facing; channel: portal; rule: r1)." in doc
    assert "Running-score impact: -0.50 per occurrence" in doc and "20% of them poor" in doc
    assert "Waste score: 0.10, rank 4 of 4; recommendation: keep." in doc
    attrs = {k.split("}")[1]: v for k, v in tasks["c"].attrib.items() if k.startswith(f"{{{MOT}}}")}
    assert attrs["momentOfTruth"] == "true" and attrs["motShare"] == "0.9" and attrs["runningScoreImpact"] == "-1.25"
    assert attrs["wasteScore"] == "0.7" and attrs["wasteRank"] == "2" and attrs["recommendation"] == "remove"
    assert attrs["removalCandidate"] == "true" and attrs["removedInToBe"] == "true" and attrs["frequency"] == "4"

    def colour(name):
        s = shapes[tasks[name].get("id")]
        return (
            s.get(f"{{{BIOC}}}fill"),
            s.get(f"{{{BIOC}}}stroke"),
            s.get(f"{{{COLOR}}}background-color"),
            s.get(f"{{{COLOR}}}border-color"),
        )

    assert colour("a") == ("#BBDEFB", "#0D4372", "#BBDEFB", "#0D4372")  # moment of truth
    assert colour("b") == ("#FFCDD2", "#831311", "#FFCDD2", "#831311")  # removal candidate
    assert colour("c") == ("#BBDEFB", "#831311", "#BBDEFB", "#831311")  # both
    assert colour("d") == (None, None, None, None)
    notes = {a.get("sourceRef"): a.get("targetRef") for a in process.findall(f"{{{BPMN}}}association")}
    assert set(notes) == {tasks["b"].get("id"), tasks["c"].get("id")}
    texts = {t.get("id"): t.find(f"{{{BPMN}}}text").text for t in process.findall(f"{{{BPMN}}}textAnnotation")}
    assert texts[notes[tasks["b"].get("id")]].startswith(
        "Removal candidate: removed in the to-be model. Waste score 0.80, rank 1 of 4."
    )


def test_to_be_leaves_out_the_removed_steps_and_compares():
    figures = figures_with_everything()
    plan = plan_removals(figures, None)
    out = export("loans", TREE4, VARIANTS4, op("seq", A, D), figures, plan, Bpmn(), 0.95, 1.0, 0.2)
    _, process, tasks, _ = parse(out.to_be)
    assert set(tasks) == {"a", "d"}
    assert not process.findall(f"{{{BPMN}}}textAnnotation")
    doc = process.find(f"{{{BPMN}}}documentation").text
    assert "without 2 step(s): b, c." in doc
    assert "- activities: 4 -> 2" in doc
    assert "- events per case (mean): 3.00 -> 2.00" in doc
    assert "- moments of truth per case (mean): 1.40 -> 1.00" in doc
    assert "- cases that run a removed step: 6 -> 0" in doc
    assert "- fitness (token-based replay on its own log): 0.950 -> 1.000" in doc
    assert "the waste what-if saves 120 case-hours of throughput time a month" in doc
    attrs = {k.split("}")[1]: v for k, v in process.attrib.items() if k.startswith(f"{{{MOT}}}")}
    assert attrs["removed"] == "b|c" and attrs["asIsActivities"] == "4" and attrs["toBeActivities"] == "2"
    assert attrs["asIsMomentsPerCase"] == "1.4" and attrs["toBeMomentsPerCase"] == "1"
    assert out.summary["comparison"]["Variants"] == {"as_is": 3, "to_be": 1}


def test_config_list_overrides_the_candidates_and_kept_candidates_stay_marked():
    figures = figures_with_everything()
    plan = plan_removals(figures, ["b", "nope"])
    assert plan.removed == ("b",) and plan.unknown == ("nope",) and plan.chosen_by == "bpmn.remove in the config"
    out = export("loans", TREE4, VARIANTS4, op("seq", A, op("xor", C, TAU), D), figures, plan, Bpmn(), 0.95, 1.0, 0.2)
    _, process, tasks, shapes = parse(out.to_be)
    texts = [t.find(f"{{{BPMN}}}text").text for t in process.findall(f"{{{BPMN}}}textAnnotation")]
    assert texts == ["Removal candidate, kept in the to-be model by bpmn.remove. Waste score 0.70, rank 2 of 4. "
                     "A courtesy call that changes no outcome (all figures in the task's documentation)"]  # fmt: skip
    assert shapes[tasks["c"].get("id")].get(f"{{{BIOC}}}stroke") == "#831311"
    doc = process.find(f"{{{BPMN}}}documentation").text
    assert "bpmn.remove names activities that process loans does not have: nope." in doc
    assert plan_removals(figures, []).removed == ()


def test_missing_analyses_are_named_not_guessed():
    figures = ProcessFigures(
        "p", 5, {"a": ActivityFigures("a", 5, 5), "b": ActivityFigures("b", 3, 3, n_waits=3, wait_mean_s=60.0, wait_median_s=60.0)},
        moments_missing="not analysed: the warehouse has no mot_activities table (the moments-of-truth step did not run)",
        scores_missing="not analysed: the warehouse has no mot_activities table (the moments-of-truth step did not run)",
        waste_missing="not analysed: the warehouse has no waste_activities table (the waste step did not run)",
    )  # fmt: skip
    plan = plan_removals(figures, None)
    assert plan.removed == () and plan.chosen_by.startswith("nothing removed: bpmn.remove is not set")
    tree = op("seq", A, B)
    out = export("p", tree, Counter({("a", "b"): 3, ("a",): 2}), tree, figures, plan, Bpmn(), 1.0, 1.0, 0.2)
    _, _, tasks, shapes = parse(out.as_is)
    doc = tasks["b"].find(f"{{{BPMN}}}documentation").text
    assert "Moment of truth: not analysed: the warehouse has no mot_activities table" in doc
    assert "Waste score: not analysed: the warehouse has no waste_activities table" in doc
    assert "Waiting time before it (since the previous event of the case): median 1 min" in doc
    assert not any(s.get(f"{{{BIOC}}}fill") for s in shapes.values())
    assert {k.split("}")[1] for k in tasks["b"].attrib if k.startswith(f"{{{MOT}}}")} == {
        "frequency", "cases", "caseShare", "waitMedianSeconds", "waitMeanSeconds", "removalCandidate", "removedInToBe",
    }  # fmt: skip


def test_project_takes_every_occurrence_out_and_merges_variants():
    log = Counter({("a", "b", "c", "b"): 2, ("a", "c"): 3, ("b",): 1})
    assert project(log, ["b"]) == Counter({("a", "c"): 5, (): 1})
    assert project(log, []) == log


def test_small_helpers():
    assert [duration(s) for s in (5, 600, 5400, 172800, None)] == ["5 s", "10 min", "1.5 h", "2.0 d", "n/a"]
    assert [number(v) for v in (3, 0.1234567, 2.0, -0.0, True, 1e-9)] == ["3", "0.123457", "2", "0", "true", "0"]
    assert first_clauses("one; two; three", limit=8) == "One; two; ..."
    assert first_clauses("alone") == "Alone"


# --- settings ------------------------------------------------------------------------------------------


def test_settings_in_the_project_config():
    config = parse_config({"bpmn": {"remove": ["b", "a", "b"], "mot_fill": "#aabbcc"}})
    assert config.bpmn.remove == ["a", "b"] and config.bpmn.mot_fill == "#AABBCC"
    assert ProjectConfig().bpmn.remove is None
    with pytest.raises(ConfigError, match=r"bpmn\.mot_fill: Value error, 'blue' is not a colour"):
        parse_config({"bpmn": {"mot_fill": "blue"}})
    with pytest.raises(ConfigError, match=r"bpmn\.colour: Extra inputs are not permitted"):
        parse_config({"bpmn": {"colour": "#000000"}})
    with pytest.raises(ConfigError, match=r"bpmn\.remove: Value error, activity names must not be empty"):
        parse_config({"bpmn": {"remove": [" "]}})


# --- the step on a tiny warehouse -----------------------------------------------------------------------

TINY = """case_id,activity,timestamp,resource
c1,a,2024-01-01 10:00:00,r1
c1,b,2024-01-01 11:00:00,r2
c1,c,2024-01-01 13:00:00,r1
c2,a,2024-01-02 10:00:00,r1
c2,c,2024-01-02 10:30:00,r1
c3,a,2024-01-03 09:00:00,r3
c3,b,2024-01-03 09:10:00,r2
c3,b,2024-01-03 09:20:00,r2
c3,c,2024-01-03 09:50:00,r1
c4,a,2024-01-04 09:00:00,r3
c4,b,2024-01-04 10:00:00,r2
c4,c,2024-01-04 12:00:00,r1
"""


@pytest.fixture
def tiny(tmp_path):
    """A warehouse with the tiny log prepared and its IMf model stored, as the pipeline leaves it."""
    csv = tmp_path / "tiny.csv"
    csv.write_text(TINY, encoding="utf-8")
    warehouse = tmp_path / "warehouse.duckdb"
    config = ProjectConfig(sources=[Source(name="tiny", kind="csv", path=str(csv), process="p")])
    con = connect(warehouse)
    try:
        load_batch(con, read_csv(csv), process="p", source="tiny", location=str(csv), timezone="UTC")
        prepare(con, "p")
        discovery.discover(con, "p", config.discovery.model_copy(update={"algorithms": ["imf"]}))
    finally:
        con.close()
    return warehouse, config


def test_figures_from_the_warehouse(tiny):
    warehouse, _ = tiny
    con = connect(warehouse)
    try:
        figures = load_figures(con, "p")
        variants = discovery.variants(con, "p")
        stored = stored_imf(con, "p", variants, 0.2)
        stale = stored_imf(con, "p", variants, 0.3)
    finally:
        con.close()
    b = figures.activities["b"]
    assert (b.frequency, b.n_cases, b.n_waits) == (4, 3, 4)
    assert (b.wait_mean_s, b.wait_median_s, b.wait_total_s) == (2100.0, 2100.0, 8400.0)
    assert figures.activities["a"].n_waits == 0 and figures.n_cases == 4
    assert (
        figures.moments_missing
        == "not analysed: mot_activities has no rows for process 'p' (the moments-of-truth step did not run for it)"
    )
    assert figures.waste_missing.startswith("not analysed: waste_activities has no rows for process 'p'")
    tree = discovery.discover_imf(variants, 0.2).process_tree
    assert stored is not None and str(stored[0]) == str(from_pm4py(tree))
    assert stale is None  # mined with other settings than asked for: not reused


def write_bpmn_files(warehouse, config, out):
    """The files mining.exports writes from what the bpmn step stored (steps write tables only)."""
    with connect(warehouse) as con:
        exports.write_bpmn(con, config.processes, "p", out)


def test_step_writes_both_files_and_they_are_byte_identical_on_a_rerun(tiny, tmp_path):
    warehouse, config = tiny
    config = config.model_copy(update={"bpmn": Bpmn(remove=["b"])})
    first = bpmn_step(warehouse, config, "p", tmp_path / "one")
    write_bpmn_files(warehouse, config, tmp_path / "one")
    second = bpmn_step(warehouse, config, "p", tmp_path / "two")
    write_bpmn_files(warehouse, config, tmp_path / "two")
    for name in ("as-is.bpmn", "to-be.bpmn"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    assert first["bpmn"]["removed"] == ["b"] and first["bpmn"]["comparison"] == second["bpmn"]["comparison"]
    _, _, tasks, _ = parse((tmp_path / "one" / "to-be.bpmn").read_bytes())
    assert set(tasks) == {"a", "c"}
    _, _, tasks, _ = parse((tmp_path / "one" / "as-is.bpmn").read_bytes())
    assert set(tasks) == {"a", "b", "c"}
    assert "median 35 min, mean 35 min (4 occurrences)" in tasks["b"].find(f"{{{BPMN}}}documentation").text


def test_to_be_fitness_is_not_replayed_above_the_variant_limit(tiny, tmp_path):
    warehouse, config = tiny
    config = config.model_copy(update={"bpmn": Bpmn(remove=["b"], fitness_max_variants=0)})
    figures = bpmn_step(warehouse, config, "p", tmp_path)["bpmn"]
    write_bpmn_files(warehouse, config, tmp_path)
    assert figures["to_be"]["fitness"] is None and figures["as_is"]["fitness"] is not None  # as-is: stored
    doc = ET.parse(tmp_path / "to-be.bpmn").getroot().find(f"{{{BPMN}}}process").find(f"{{{BPMN}}}documentation").text
    assert "- fitness (token-based replay on its own log): 1.000 -> n/a" in doc
    assert "To-be fitness: not measured (1 variants, more than bpmn.fitness_max_variants = 0" in doc


def test_step_names_the_config_key_for_an_unknown_activity(tiny, tmp_path):
    warehouse, config = tiny
    config = config.model_copy(update={"bpmn": Bpmn(remove=["x"])})
    with pytest.raises(ValueError, match=r"bpmn\.remove: process 'p' has no activity 'x' \(known: a, b, c\)"):
        bpmn_step(warehouse, config, "p", tmp_path)
    # Removing every activity keeps the most frequent path instead of failing (tests/test_config_messages.py).
    config = config.model_copy(update={"bpmn": Bpmn(remove=["a", "b", "c"])})
    assert bpmn_step(warehouse, config, "p", tmp_path)["bpmn"]["removed"] == []


def test_the_stored_tree_reads_back_as_the_mined_one():
    from pm4py.objects.process_tree.obj import Operator, ProcessTree

    # Labels that pm4py's tree text cannot carry back: the stored data carries them unchanged.
    root = ProcessTree(operator=Operator.SEQUENCE)
    choice = ProcessTree(operator=Operator.XOR, parent=root)
    choice.children = [ProcessTree(parent=choice), ProcessTree(label="b, 'quoted' (x)", parent=choice)]
    loop = ProcessTree(operator=Operator.LOOP, parent=root)
    loop.children = [ProcessTree(label="c", parent=loop), ProcessTree(parent=loop)]
    both = ProcessTree(operator=Operator.PARALLEL, parent=root)
    both.children = [ProcessTree(label="d", parent=both), ProcessTree(label="é", parent=both)]
    root.children = [ProcessTree(label="a", parent=root), choice, loop, both]
    text = discovery.tree_json(root)
    assert text == discovery.tree_json(root) and json.loads(text) == discovery.tree_data(root)
    assert from_stored(json.loads(text)) == from_pm4py(root)
    with pytest.raises(ValueError, match="no BPMN block translation"):
        from_stored({"op": "interleaving", "children": [{"label": "a"}, {"label": "b"}]})


def test_the_step_needs_the_stored_imf_model(tiny, tmp_path):
    warehouse, config = tiny
    con = connect(warehouse)
    try:
        assert discovery.stored_tree(con, "p", "imf").model_id == discovery.model_id(
            "imf", discovery.imf_parameters(0.2), discovery.variants(con, "p")
        )
    finally:
        con.close()
    stale = config.model_copy(update={"discovery": config.discovery.model_copy(update={"imf_noise_threshold": 0.3})})
    with pytest.raises(ValueError, match="run the discover step again before the bpmn step"):
        bpmn_step(warehouse, stale, "p", tmp_path)
    con = connect(warehouse)
    try:
        con.execute("DELETE FROM model_runs").fetchall()
    finally:
        con.close()
    with pytest.raises(ValueError, match="run the discover step with imf among discovery.algorithms"):
        bpmn_step(warehouse, config, "p", tmp_path)
