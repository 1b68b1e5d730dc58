"""Real logs from ../shared/data/logs: counts from its README, DFG equal to pm4py's, IMf fitness."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import shared_run

from mining import pipeline
from mining.warehouse import connect

LOGS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "logs"

# (file, cases, events, activities, variants) as measured in ../shared/data/README.md
README_FIGURES = [
    ("running-example.xes.gz", 6, 42, 8, 6),
    ("receipt.xes.gz", 1434, 8577, 27, 116),
    ("bpic2012.xes.gz", 13087, 262200, 24, 4366),
]


def log_path(name: str) -> Path:
    path = LOGS / name
    if not path.exists():
        pytest.skip(f"{path} is not on this machine (see ../shared/data/README.md)")
    return path


@pytest.fixture(scope="module", params=README_FIGURES, ids=[f[0] for f in README_FIGURES])
def mined(request, tmp_path_factory):
    name, *figures = request.param
    path = log_path(name)
    out = tmp_path_factory.mktemp(name.split(".")[0])
    config = pipeline.config_for_log(path)
    if name == "bpic2012.xes.gz":  # the session's shared run of it (tests/shared_run.py)
        run = request.getfixturevalue("bpic2012_run")
        summary = shared_run.summary(run)
        shared_run.copy(run, out / "run")
        out = out / "run"
    else:
        summary = pipeline.run(config, out)
    process = config.sources[-1].process
    return path, out, process, summary, figures


@pytest.fixture(scope="module")
def pm4py_logs():
    """pm4py's own reading of each log (its default parser), cached across tests."""
    import pm4py

    cache = {}

    def get(path: Path):
        if path not in cache:
            cache[path] = pm4py.read_xes(str(path))
        return cache[path]

    return get


@pytest.fixture(scope="module")
def pm4py_trees(pm4py_logs):
    """pm4py's own Inductive Miner tree of each log at a noise threshold, cached across tests (on
    BPIC2012 one discovery takes half a minute)."""
    import pm4py

    cache = {}

    def get(path: Path, noise: float):
        if (path, noise) not in cache:
            cache[path, noise] = pm4py.discover_process_tree_inductive(pm4py_logs(path), noise_threshold=noise)
        return cache[path, noise]

    return get


def test_counts_equal_the_readme(mined):
    _path, _out, process, summary, (cases, events, activities, variants) = mined
    assert summary.processes[process]["cases"] == cases
    assert summary.processes[process]["events"] == events
    assert summary.processes[process]["activities"] == activities
    assert summary.processes[process]["variants"] == variants
    loads = summary.loads
    assert sum(r.rows_read for r in loads) == events and sum(r.rows_quarantined for r in loads) == 0


def test_dfg_and_variants_equal_pm4py(mined, pm4py_logs):
    import pm4py

    path, out, process, _summary, _ = mined
    log = pm4py_logs(path)
    dfg, starts, ends = pm4py.discover_dfg(log)
    con = connect(out / "warehouse.duckdb", read_only=True)
    ours = {
        (a, b): n
        for a, b, n in con.execute(
            "SELECT source_activity, target_activity, frequency FROM dfg_edges WHERE process = $p", {"p": process}
        ).fetchall()
    }
    stats = con.execute(
        "SELECT activity, n_start, n_end FROM activity_stats WHERE process = $p", {"p": process}
    ).fetchall()
    variants = con.execute("SELECT activities, n_cases FROM variants WHERE process = $p", {"p": process}).fetchall()
    con.close()
    assert ours == dict(dfg)
    assert {a: s for a, s, _ in stats if s} == dict(starts)
    assert {a: e for a, _, e in stats if e} == dict(ends)
    pm4py_variants = {tuple(v): n for v, n in pm4py.get_variants(log).items()}
    assert Counter({tuple(a): n for a, n in variants}) == Counter(pm4py_variants)


def test_imf_fitness_is_at_least_pm4pys_own(mined, pm4py_logs, pm4py_trees):
    import pm4py

    path, out, process, summary, _ = mined
    ours = next(m for m in summary.processes[process]["models"] if m["algorithm"] == "imf")
    log = pm4py_logs(path)
    # what pm4py.discover_petri_net_inductive(log, noise_threshold=0.2) does, with the tree cached
    net, im, fm = pm4py.convert_to_petri_net(pm4py_trees(path, 0.2))
    theirs = pm4py.fitness_token_based_replay(log, net, im, fm)["log_fitness"]
    assert ours["fitness"] >= theirs - 0.01
    assert 0.0 < ours["fitness"] <= 1.0


def test_imf_tree_is_pm4pys_own(mined, pm4py_trees):
    """discover_imf swaps pm4py's DFG and fall-through internals for faster ones and mines on
    activity codes; the tree must stay exactly the one pm4py's own Inductive Miner finds.

    Without noise filtering pm4py's IM takes minutes on BPIC2012, so that log is checked at 0.2 only.
    """
    from mining import discovery

    path, out, process, _summary, _ = mined
    con = connect(out / "warehouse.duckdb", read_only=True)
    try:
        log_variants = discovery.variants(con, process)
        stored = con.execute(
            "SELECT process_tree FROM model_runs WHERE process = $p AND algorithm = 'imf'", {"p": process}
        ).fetchall()[0][0]
    finally:
        con.close()
    noises = (0.2,) if path.name == "bpic2012.xes.gz" else (0.0, 0.2)
    for noise in noises:
        theirs = str(pm4py_trees(path, noise))
        assert str(discovery.discover_imf(log_variants, noise).process_tree) == theirs, noise
    assert stored == theirs


def test_models_are_stored_and_written(mined):
    import pm4py

    _path, out, process, _summary, _ = mined
    con = connect(out / "warehouse.duckdb", read_only=True)
    rows = con.execute(
        "SELECT algorithm, fitness, n_transitions FROM model_runs WHERE process = $p ORDER BY algorithm", {"p": process}
    ).fetchall()
    con.close()
    assert [r[0] for r in rows] == ["heuristics", "imf"]
    assert all(r[1] is not None and r[2] > 0 for r in rows)
    net, im, fm = pm4py.read_pnml(str(out / "models" / process / "imf.pnml"))
    assert len(im) == 1 and len(fm) == 1 and len(net.transitions) == rows[1][2]
    assert (out / "models" / process / "dfg.csv").read_text().startswith("source_activity,target_activity,frequency")


def test_stored_models_are_the_ones_their_children_mined(mined):
    """discover's children hand back PNML text, and fitness is replayed on the net read back from it:
    the net read back writes the same PNML, and replays to the stored figures, as the model mined here."""
    from mining import discovery
    from mining.discovery.nets import mined_model, model_from_pnml

    _path, out, process, _summary, _ = mined
    con = connect(out / "warehouse.duckdb", read_only=True)
    try:
        log_variants = discovery.variants(con, process)
        rows = con.execute(
            "SELECT pnml, fitness, avg_trace_fitness, fit_cases_share, n_places, n_transitions, n_arcs,"
            " process_tree, tree FROM model_runs WHERE process = $p AND algorithm = 'imf'",
            {"p": process},
        ).fetchall()
    finally:
        con.close()
    text, *figures, n_places, n_transitions, n_arcs, tree_text, tree = rows[0]
    model = discovery.discover_imf(log_variants, 0.2)
    mined_here = mined_model(model)
    assert (mined_here.pnml, mined_here.process_tree, mined_here.tree) == (text, tree_text, tree)
    assert (mined_here.n_places, mined_here.n_transitions, mined_here.n_arcs) == (n_places, n_transitions, n_arcs)
    read_back = model_from_pnml(mined_here)
    assert discovery.pnml(read_back) == text
    here = discovery.evaluate(model, log_variants, with_precision=False)
    back = discovery.evaluate(read_back, log_variants, with_precision=False)
    assert back == here
    assert [back["fitness"], back["avg_trace_fitness"], back["fit_cases_share"]] == figures


def test_loading_the_same_xes_again_in_another_process_adds_nothing(tmp_path):
    """rustxes hands the columns over in a different order on every read; the event keys must not
    depend on that order, or a re-run would load every event a second time."""
    import subprocess
    import sys

    warehouse = tmp_path / "warehouse.duckdb"
    log = LOGS / "roadtraffic100traces.xes"
    script = (
        "import sys; from mining.pipeline import config_for_log, ingest_source\n"
        "config = config_for_log(sys.argv[1])\n"
        "[r] = ingest_source(sys.argv[2], config, config.sources[0])\n"
        "print(r.rows_read, r.rows_new)\n"
    )
    runs = [
        subprocess.run([sys.executable, "-c", script, str(log), str(warehouse)], capture_output=True, text=True)
        for _ in range(3)
    ]
    assert [r.returncode for r in runs] == [0, 0, 0], runs[-1].stderr[-2000:]
    assert [r.stdout.split() for r in runs] == [["390", "390"], ["390", "0"], ["390", "0"]]
