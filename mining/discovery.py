"""Process discovery: DFG and variants from the warehouse (SQL), models and conformance via pm4py.

pm4py gets compact inputs only: the variants with their counts (Inductive Miner, conformance) or
the DFG and its window-2 counts (Heuristics Miner), never the whole event log as a data frame.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
from xml.etree import ElementTree as ET

import duckdb
import numpy as np

from mining.config import Discovery
from mining.warehouse import run_sql, sql_text

Variants = Counter  # Counter[tuple[str, ...]]: activity sequence -> number of cases


@dataclass
class Model:
    """A discovered Petri net with its markings, quality figures and (for IMf) process tree."""

    algorithm: str
    parameters: dict
    net: object
    initial_marking: object
    final_marking: object
    process_tree: object | None = None
    quality: dict = field(default_factory=dict)


# --- compact inputs from the warehouse -------------------------------------------------------


def variants(con: duckdb.DuckDBPyConnection, process: str) -> Variants:
    """The variants of ``process`` with their case counts, from the prepared ``variants`` table."""
    rows = con.execute(
        "SELECT activities, n_cases FROM variants WHERE process = $p ORDER BY rank", {"p": process}
    ).fetchall()
    return Counter({tuple(acts): n for acts, n in rows})


def dfg(con: duckdb.DuckDBPyConnection, process: str) -> dict[tuple[str, str], int]:
    """Directly-follows counts ``{(a, b): n}`` of ``process``."""
    rows = con.execute(
        "SELECT source_activity, target_activity, frequency FROM dfg_edges WHERE process = $p",
        {"p": process},
    ).fetchall()
    return {(a, b): n for a, b, n in rows}


def activity_counts(con: duckdb.DuckDBPyConnection, process: str) -> tuple[dict, dict, dict]:
    """(occurrences, start activities, end activities) of ``process`` as ``{activity: n}``."""
    rows = con.execute(
        "SELECT activity, frequency, n_start, n_end FROM activity_stats WHERE process = $p ORDER BY activity",
        {"p": process},
    ).fetchall()
    occurrences = {a: f for a, f, _, _ in rows}
    starts = {a: s for a, _, s, _ in rows if s}
    ends = {a: e for a, _, _, e in rows if e}
    return occurrences, starts, ends


def window_two(con: duckdb.DuckDBPyConnection, process: str) -> tuple[dict, dict]:
    """Counts of (a, c) two steps apart and of the triples (a, b, a), for the Heuristics Miner."""
    run_sql(con, sql_text("window_two"), {"process": process})
    pairs = {(a, c): n for a, c, n in con.execute("SELECT a, c, n FROM window_two_pairs").fetchall()}
    triples = {(a, b, c): n for a, b, c, n in con.execute("SELECT a, b, c, n FROM window_two_triples").fetchall()}
    con.execute("DROP TABLE window_two_pairs").fetchall()
    con.execute("DROP TABLE window_two_triples").fetchall()
    return pairs, triples


# Events per range of cases that prepare orders in one go: bounds the memory of its window sort.
PREPARE_CHUNK_EVENTS = 2_000_000


def sql_sections(sql: str) -> dict[str, str]:
    """Split SQL text into its ``-- @section name`` parts (text before the first marker is dropped)."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in sql.splitlines():
        marker = re.fullmatch(r"--\s*@section\s+(\w+)\s*", line.strip())
        if marker:
            current = sections.setdefault(marker.group(1), [])
        elif current is not None:
            current.append(line)
    return {name: "\n".join(lines) for name, lines in sections.items()}


def case_ranges(
    con: duckdb.DuckDBPyConnection, process: str, chunk_events: int = PREPARE_CHUNK_EVENTS
) -> list[tuple[str | None, str | None]]:
    """Ranges ``[lo, hi)`` of the case ids of ``process`` (None: open), ascending, with about
    ``chunk_events`` events each (from the loaded events, which hold the same cases as event_log)."""
    n_events = con.execute("SELECT count(*) FROM events WHERE process = $p", {"p": process}).fetchall()[0][0]
    chunks = -(-n_events // chunk_events)
    if chunks <= 1:
        return [(None, None)]
    chunks_sql = sql_sections(sql_text("prepare"))["chunks"]
    starts = [row[0] for row in con.execute(chunks_sql, {"process": process, "chunks": chunks}).fetchall()]
    lows = [None, *starts[1:]]
    return list(zip(lows, [*starts[1:], None], strict=True))


def prepare(con: duckdb.DuckDBPyConnection, process: str) -> None:
    """Rebuild the prepared tables (event_log, cases, variants, dfg_edges, activity_stats)."""
    sections = sql_sections(sql_text("prepare"))
    con.execute("BEGIN TRANSACTION")
    try:
        run_sql(con, sections["clear"], {"process": process})
        for lo, hi in case_ranges(con, process):
            run_sql(con, sections["chunk"], {"process": process, "lo": lo, "hi": hi})
        run_sql(con, sections["finish"], {"process": process})
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


# --- discovery (pure functions of the compact inputs) -----------------------------------------


def discover_imf(log_variants: Variants, noise_threshold: float = 0.2) -> Model:
    """Inductive Miner infrequent on the variants; returns the tree and its Petri net.

    The tree is exactly pm4py's (tests compare them on real logs). The miner runs on activity codes
    1..n given in name order, so every sort and comparison inside it orders codes as it would order
    the names, and the leaves get their names back afterwards. Codes let ``variants_dfg`` count the
    DFG of every sub-log the miner tries in numpy.
    """
    from pm4py.algo.discovery.inductive.dtypes.im_ds import IMDataStructureUVCL
    from pm4py.algo.discovery.inductive.variants.im import IMUVCL
    from pm4py.algo.discovery.inductive.variants.imf import IMFUVCL
    from pm4py.objects.conversion.process_tree import converter as tree_to_net
    from pm4py.objects.process_tree.utils.generic import fold, tree_sort

    names = sorted({activity for trace in log_variants for activity in trace})
    # Codes start at 1: a leaf labelled 0 would read as a silent step wherever pm4py tests `if label`.
    code = {activity: i for i, activity in enumerate(names, 1)}
    coded = Counter({tuple(map(code.__getitem__, trace)): n for trace, n in log_variants.items()})
    params = {"noise_threshold": noise_threshold}
    miner = IMFUVCL(params) if noise_threshold > 0 else IMUVCL(params)
    with _fast_inductive_miner():
        tree = miner.apply(IMDataStructureUVCL(coded), params)
    _name_leaves(tree, names)
    tree = fold(tree)
    tree_sort(tree)
    net, im, fm = tree_to_net.apply(tree)
    return Model("imf", params, net, im, fm, process_tree=tree)


def _name_leaves(tree, names: list[str]) -> None:
    """Replace the activity codes (1-based) on the leaves of ``tree`` by their names."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if node.label is not None:
            node.label = names[node.label - 1]
        stack.extend(node.children)


def variants_dfg(log_variants: Variants):
    """pm4py's ``discover_dfg_uvcl`` for a log of activity codes: the same counts, keys in the same order.

    The Inductive Miner calls this for every sub-log it tries (three quarters of its time on
    BPIC2012 with pm4py's version, which updates a Counter with a new dict per pair). Here the
    pairs are counted in numpy. The key order, which the miner's later steps can see, stays
    pm4py's: edges by first occurrence in log order, start and end activities in code order.
    """
    from pm4py.objects.dfg.obj import DFG

    dfg = DFG()
    traces = list(log_variants)
    lengths = np.fromiter(map(len, traces), np.int64, len(traces))
    n_events = int(lengths.sum())
    if n_events == 0:
        return dfg
    codes = np.fromiter(chain.from_iterable(traces), np.int64, n_events)
    counts = np.fromiter(log_variants.values(), np.int64, len(traces))
    width = int(codes.max()) + 1
    ends = np.cumsum(lengths)
    nonempty = lengths > 0
    last = ends[nonempty] - 1
    first = last - lengths[nonempty] + 1
    # A pair starts at every position except the last one of its trace.
    starts_pair = np.ones(n_events, dtype=bool)
    starts_pair[last] = False
    position = np.flatnonzero(starts_pair)
    pair = codes[position] * width + codes[position + 1]
    weight = np.repeat(counts, lengths)[position]
    totals = np.bincount(pair, weights=weight, minlength=width * width)
    first_seen = np.full(width * width, n_events, dtype=np.int64)
    np.minimum.at(first_seen, pair, position)
    present = np.flatnonzero(first_seen < n_events)
    graph = dfg.graph
    for key in present[np.argsort(first_seen[present], kind="stable")].tolist():
        graph[(key // width, key % width)] = int(totals[key])
    starts = np.bincount(codes[first], weights=counts[nonempty], minlength=width)
    finals = np.bincount(codes[last], weights=counts[nonempty], minlength=width)
    for activity in np.flatnonzero(starts).tolist():
        dfg.start_activities[activity] = int(starts[activity])
    for activity in np.flatnonzero(finals).tolist():
        dfg.end_activities[activity] = int(finals[activity])
    return dfg


def _without_activity(cls, c, log, queue=None, ev=None, parameters=None):
    """pm4py's ``ActivityConcurrentUVCL._process_candidate``, cheaper, with the same outcome.

    The Inductive Miner's activity-concurrent fall-through removes each activity in turn from every
    variant and takes the first activity whose removal leaves a cut. Its caller only asks whether
    there is one, and every cut of a variant log is decided on the DFG alone (``holds``), so the
    sub-logs are not projected here; pm4py filters with a Python lambda per event and projects.
    Later variants that collapse onto the same sequence overwrite earlier ones, as in pm4py.
    Returns the groups of the first cut that holds, or None.
    """
    from pm4py.algo.discovery.inductive.cuts.factory import CutFactory
    from pm4py.algo.discovery.inductive.dtypes.im_ds import IMDataStructureUVCL
    from pm4py.algo.discovery.inductive.variants.instances import IMInstance

    reduced = Counter()
    for trace, n in log.items():
        reduced[tuple([e for e in trace if e != c]) if c in trace else trace] = n
    obj = IMDataStructureUVCL(reduced)
    groups = None
    for cut in CutFactory.get_cuts(obj, IMInstance.IM, parameters=parameters):
        groups = cut.holds(obj, parameters)
        if groups is not None:
            break
    if queue is not None:
        queue.put((c, groups))
    return groups


def _project_sequence(cls, obj, groups, parameters=None):
    """pm4py's ``SequenceCutUVCL.project`` with its split-point search inlined, same result.

    Each trace is split, group by group, at the position of least cost (events of the group
    count -1, events of no earlier group +1), and keeps the group's events of its part.
    """
    from pm4py.algo.discovery.inductive.dtypes.im_ds import IMDataStructureUVCL

    members = [frozenset(group) for group in groups]
    logs = [Counter() for _ in groups]
    for trace, n in obj.data_structure.items():
        split = 0
        earlier: set = set()
        for group, log in zip(members, logs, strict=True):
            best, least, cost = split, 0, 0
            for j in range(split, len(trace)):
                activity = trace[j]
                if activity in group:
                    cost -= 1
                elif activity not in earlier:
                    cost += 1
                if cost < least:
                    least, best = cost, j + 1
            log[tuple([a for a in trace[split:best] if a in group])] += n
            split = best
            earlier |= group
    return [IMDataStructureUVCL(log) for log in logs]


@contextmanager
def _fast_inductive_miner():
    """Let pm4py's Inductive Miner use ``variants_dfg``, ``_without_activity`` and ``_project_sequence``
    for one discovery."""
    from pm4py.algo.discovery.inductive.cuts.sequence import SequenceCutUVCL
    from pm4py.algo.discovery.inductive.fall_through.activity_concurrent import ActivityConcurrentUVCL
    from pm4py.util.compression import util as compression

    original_dfg = compression.discover_dfg_uvcl
    original_candidate = ActivityConcurrentUVCL.__dict__["_process_candidate"]
    original_project = SequenceCutUVCL.__dict__["project"]
    compression.discover_dfg_uvcl = variants_dfg
    ActivityConcurrentUVCL._process_candidate = classmethod(_without_activity)
    SequenceCutUVCL.project = classmethod(_project_sequence)
    try:
        yield
    finally:
        compression.discover_dfg_uvcl = original_dfg
        ActivityConcurrentUVCL._process_candidate = original_candidate
        SequenceCutUVCL.project = original_project


def discover_heuristics(
    dfg_counts: dict,
    occurrences: dict,
    starts: dict,
    ends: dict,
    window2: dict,
    triples: dict,
    settings: Discovery,
) -> Model:
    """Heuristics Miner on the DFG and its window-2 statistics; returns its Petri net."""
    from pm4py.algo.discovery.heuristics.variants import classic
    from pm4py.objects.conversion.heuristics_net import converter as heu_to_net

    params = {
        "dependency_threshold": settings.heuristics_dependency_threshold,
        "and_measure_thresh": settings.heuristics_and_threshold,
        "loop_length_two_thresh": settings.heuristics_loop_two_threshold,
    }
    heu_net = classic.apply_heu_dfg(
        dfg_counts,
        activities=sorted(occurrences),
        activities_occurrences=occurrences,
        start_activities=starts,
        end_activities=ends,
        dfg_window_2=window2,
        freq_triples=triples,
        parameters={
            classic.Parameters.DEPENDENCY_THRESH: params["dependency_threshold"],
            classic.Parameters.AND_MEASURE_THRESH: params["and_measure_thresh"],
            classic.Parameters.LOOP_LENGTH_TWO_THRESH: params["loop_length_two_thresh"],
        },
    )
    net, im, fm = heu_to_net.apply(heu_net)
    return Model("heuristics", params, net, im, fm)


# --- conformance ---------------------------------------------------------------------------


def variant_log(log_variants: Variants):
    """A pm4py EventLog with one shared Trace object per variant, repeated by its count.

    Sharing the trace objects keeps memory at the size of the variants, while pm4py's replay and
    precision see the exact case frequencies.
    """
    from pm4py.objects.log.obj import Event, EventLog, Trace

    traces = []
    for sequence, count in sorted(log_variants.items(), key=lambda kv: (-kv[1], kv[0])):
        trace = Trace([Event({"concept:name": a}) for a in sequence])
        traces.extend([trace] * count)
    return EventLog(traces)


def stable_net(model: Model):
    """A copy of the model's net whose places and transitions hash to fixed integers.

    pm4py hashes net nodes by ``id()``, so set iteration order, and with it the choices token
    replay makes among silent transitions, changes from one process to the next: the same model
    got fitness 0.9439 in one run and 0.9427 in the next. Rebuilt in canonical order with stable
    hashes, replay gives the same figures every time.
    """
    from pm4py.objects.petri_net.obj import Marking, PetriNet
    from pm4py.objects.petri_net.utils import petri_utils

    class StablePlace(PetriNet.Place):
        __hash__ = lambda self: self.key  # noqa: E731
        __eq__ = lambda self, other: self is other  # noqa: E731

    class StableTransition(PetriNet.Transition):
        __hash__ = lambda self: self.key  # noqa: E731
        __eq__ = lambda self, other: self is other  # noqa: E731

    names = canonical_names(model.net, model.initial_marking, model.final_marking)
    net = PetriNet(model.algorithm)
    copies = {}
    for key, node in enumerate(sorted(names, key=lambda n: names[n])):
        is_place = node in model.net.places
        copy = StablePlace(names[node]) if is_place else StableTransition(names[node], node.label)
        copy.key = key  # before the node enters any set
        (net.places if is_place else net.transitions).add(copy)
        copies[node] = copy
    for arc in sorted(model.net.arcs, key=lambda a: (names[a.source], names[a.target])):
        petri_utils.add_arc_from_to(copies[arc.source], copies[arc.target], net)
    im = Marking({copies[p]: n for p, n in model.initial_marking.items()})
    fm = Marking({copies[p]: n for p, n in model.final_marking.items()})
    return net, im, fm


class TokenReplay:
    """pm4py's token-based replay (its default settings), with every replay step computed once.

    pm4py replays each variant from the start, although one replay step depends only on the
    current marking (with its insertion order, which pm4py's tie-breaks see) and the next
    activity, and the closing phase only on the last marking. Both are memoised here, so variants
    that share a prefix, or reach the same marking, share the work: on BPIC2012 this replays the
    4,366 variants in a small fraction of pm4py's time. The steps call pm4py's own functions in
    pm4py's order, so the token counts, and the fitness figures, are the ones pm4py reports.
    """

    def __init__(self, net, initial_marking, final_marking):
        from pm4py.algo.conformance.tokenreplay.variants import token_replay as tr

        self._tr = tr
        self.net, self.im, self.fm = net, initial_marking, final_marking
        self.paths = tr.get_places_shortest_path_by_hidden(net, tr.TechnicalParameters.MAX_REC_DEPTH.value)
        # As pm4py builds its map: one transition per label, the last one by name wins.
        self.by_label = {t.label: t for t in sorted(net.transitions, key=lambda t: t.name)}
        labels = Counter(t.label for t in net.transitions if t.label is not None)
        self.duplicated = {label for label, n in labels.items() if n > 1}
        self.tokens = {
            t: (sum(a.weight for a in t.in_arcs), sum(a.weight for a in t.out_arcs)) for t in net.transitions
        }
        # Markings are numbered as they are met; a replay step is memoised per (number, activity).
        # A marking's number follows its items in insertion order, which pm4py's tie-breaks see.
        self._numbers: dict = {}
        self._markings: list = []
        self._start = self._number(initial_marking)
        self._steps: dict = {}
        self._ends: dict = {}

    def _number(self, marking) -> int:
        key = tuple(marking.items())
        number = self._numbers.get(key)
        if number is None:
            number = self._numbers[key] = len(self._markings)
            self._markings.append(marking)
        return number

    def trace(self, activities: tuple[str, ...]) -> tuple[int, int, int, int]:
        """(missing, consumed, remaining, produced) tokens of one trace, as pm4py counts them."""
        state, steps = self._start, self._steps
        missing, consumed, produced = 0, 0, sum(self.im.values())
        for activity in activities:
            step = steps.get((state, activity))
            if step is None:
                marking, m, c, p = self._step(self._markings[state], activity)
                step = steps[(state, activity)] = (self._number(marking), m, c, p)
            state, m, c, p = step
            missing, consumed, produced = missing + m, consumed + c, produced + p
        end = self._ends.get(state)
        if end is None:
            end = self._ends[state] = self._close(self._markings[state])
        m, c, r, p = end
        return missing + m, consumed + c, r, produced + p

    def _step(self, marking, activity: str) -> tuple:
        """Fire ``activity`` from ``marking``: the body of pm4py's replay loop, default settings.

        Returns (next marking, missing, consumed, produced); ``marking`` itself is not changed.
        """
        from copy import copy

        from pm4py.objects.petri_net import semantics

        tr, net = self._tr, self.net
        if activity not in self.by_label:
            return marking, 0, 0, 0  # not in the model: pm4py skips it without counting tokens
        t = self.by_label[activity]
        if activity in self.duplicated:
            enabled = [x for x in semantics.enabled_transitions(net, marking) if x.label == activity]
            t = enabled[0] if enabled else t
        missing = consumed = produced = 0
        if not semantics.is_enabled(t, net, marking):
            _, marking, fired, _ = tr.apply_hidden_trans(t, net, copy(marking), self.paths, [], 0, set(), [], False)
            for hidden in fired:
                consumed += self.tokens[hidden][0]
                produced += self.tokens[hidden][1]
            if not semantics.is_enabled(t, net, marking):
                marking = copy(marking)
                missing, _ = tr.add_missing_tokens(t, marking)
        consumed += self.tokens[t][0]
        produced += self.tokens[t][1]
        return semantics.execute(t, net, marking), missing, consumed, produced

    def _close(self, marking) -> tuple[int, int, int, int]:
        """The end of pm4py's replay: reach the final marking through hidden transitions, count tokens.

        Returns (missing, consumed, remaining, produced) of this phase.
        """
        from pm4py.objects.petri_net import semantics

        tr, net, fm = self._tr, self.net, self.fm
        consumed = produced = 0

        def fire(t, marking):
            nonlocal consumed, produced
            consumed += self.tokens[t][0]
            produced += self.tokens[t][1]
            return semantics.execute(t, net, marking)

        for _ in range(tr.TechnicalParameters.MAX_IT_FINAL1.value):
            if tr.break_condition_final_marking(marking, fm):
                break
            for group in tr.get_req_transitions_for_final_marking(marking, fm, self.paths):
                for t in group:
                    if semantics.is_enabled(t, net, marking):
                        marking = fire(t, marking)
                if tr.break_condition_final_marking(marking, fm):
                    break
        if not tr.break_condition_final_marking(marking, fm) and len(fm) == 1:
            sink = next(iter(fm))
            # pm4py's order: the marking's order, then (stable sort) the shortest path first.
            paths = [self.paths[p][sink] for p in marking if p in self.paths and sink in self.paths[p]]
            paths.sort(key=len)
            for _ in range(tr.TechnicalParameters.MAX_IT_FINAL2.value):
                for path in paths:
                    for t in path:
                        if not semantics.is_enabled(t, net, marking):
                            break
                        marking = fire(t, marking)
        missing = sum(max(0, fm[p] - marking[p]) for p in fm)
        remaining = sum(max(0, n - fm[p]) if p in fm else n for p, n in marking.items())
        return missing, consumed + sum(fm.values()), remaining, produced


def replay_fitness(net, initial_marking, final_marking, log_variants: Variants) -> dict:
    """Token-based replay fitness of the variants: pm4py's figures under pm4py's keys.

    Equal to ``pm4py.fitness_token_based_replay`` on the log the variants stand for
    (``log_fitness``, ``average_trace_fitness``, ``perc_fit_traces``); see ``TokenReplay``.
    """
    import math

    replay = TokenReplay(net, initial_marking, final_marking)
    n_traces = n_fit = 0
    missing = consumed = remaining = produced = 0
    weighted = []
    for sequence, count in sorted(log_variants.items(), key=lambda kv: (-kv[1], kv[0])):
        m, c, r, p = replay.trace(sequence)
        n_traces += count
        n_fit += count if m == 0 and r == 0 else 0
        missing, consumed, remaining, produced = (
            missing + count * m,
            consumed + count * c,
            remaining + count * r,
            produced + count * p,
        )
        weighted.append(count * (0.5 * (1.0 - m / c) + 0.5 * (1.0 - r / p) if c > 0 and p > 0 else 1.0))
    if not (n_traces and consumed and produced):
        return {"log_fitness": 0.0, "average_trace_fitness": 0.0, "perc_fit_traces": 0.0}
    return {
        "log_fitness": 0.5 * (1 - missing / consumed) + 0.5 * (1 - remaining / produced),
        "average_trace_fitness": math.fsum(weighted) / n_traces,
        "perc_fit_traces": 100.0 * n_fit / n_traces,
    }


def evaluate(model: Model, log_variants: Variants, with_precision: bool = True) -> dict:
    """Token-based replay fitness (and ETConformance precision) of ``model`` on the variants."""
    net, im, fm = stable_net(model)
    fitness = replay_fitness(net, im, fm, log_variants)
    quality = {
        "fitness": round(float(fitness["log_fitness"]), 6),
        "avg_trace_fitness": round(float(fitness["average_trace_fitness"]), 6),
        "fit_cases_share": round(float(fitness["perc_fit_traces"]) / 100.0, 6),
        "precision": None,
    }
    if with_precision:
        import pm4py

        precision = pm4py.precision_token_based_replay(variant_log(log_variants), net, im, fm)
        quality["precision"] = round(float(precision), 6)
    model.quality = quality
    return quality


# --- deterministic serialization ---------------------------------------------------------------


def canonical_names(net, initial_marking, final_marking) -> dict:
    """Give places and transitions names derived from the net's structure, not from uuid4.

    Names come from a Weisfeiler-Lehman refinement of (kind, label, marking) over the arcs, so the
    same model always gets the same names and its serialization is byte-identical across runs.
    Returns ``{node: name}``.
    """
    nodes = list(net.places) + list(net.transitions)
    colour = {}
    for node in nodes:
        if node in net.places:
            colour[node] = f"p|{initial_marking.get(node, 0)}|{final_marking.get(node, 0)}"
        else:
            colour[node] = f"t|{node.label if node.label is not None else ''}"
    for _ in range(len(nodes)):
        refined = {}
        for node in nodes:
            ins = sorted(colour[a.source] for a in node.in_arcs)
            outs = sorted(colour[a.target] for a in node.out_arcs)
            refined[node] = hashlib.sha1(json.dumps([colour[node], ins, outs]).encode()).hexdigest()
        if len(set(refined.values())) == len(set(colour.values())):
            colour = refined
            break
        colour = refined
    ordered_places = sorted(net.places, key=lambda n: colour[n])
    ordered_transitions = sorted(net.transitions, key=lambda n: (n.label is None, n.label or "", colour[n]))
    names = {p: f"p{i}" for i, p in enumerate(ordered_places, 1)}
    names.update({t: f"t{i}" for i, t in enumerate(ordered_transitions, 1)})
    return names


def pnml(model: Model) -> str:
    """The model as PNML text with canonical ids and sorted elements (deterministic)."""
    net, im, fm = model.net, model.initial_marking, model.final_marking
    names = canonical_names(net, im, fm)
    root = ET.Element("pnml")
    net_el = ET.SubElement(
        root, "net", id=f"net_{model.algorithm}", type="http://www.pnml.org/version-2009/grammar/pnmlcoremodel"
    )
    ET.SubElement(ET.SubElement(net_el, "name"), "text").text = model.algorithm
    page = ET.SubElement(net_el, "page", id="n0")
    for place in sorted(net.places, key=names.get):
        el = ET.SubElement(page, "place", id=names[place])
        ET.SubElement(ET.SubElement(el, "name"), "text").text = names[place]
        if im.get(place):
            ET.SubElement(ET.SubElement(el, "initialMarking"), "text").text = str(im[place])
    for trans in sorted(net.transitions, key=names.get):
        el = ET.SubElement(page, "transition", id=names[trans])
        ET.SubElement(ET.SubElement(el, "name"), "text").text = trans.label if trans.label is not None else names[trans]
        if trans.label is None:
            ET.SubElement(
                el, "toolspecific", tool="ProM", version="6.4", activity="$invisible$", localNodeID=names[trans]
            )
    arcs = sorted(net.arcs, key=lambda a: (names[a.source], names[a.target]))
    for i, arc in enumerate(arcs, 1):
        ET.SubElement(page, "arc", id=f"a{i}", source=names[arc.source], target=names[arc.target])
    final = ET.SubElement(net_el, "finalmarkings")
    marking = ET.SubElement(final, "marking")
    for place in sorted(fm, key=names.get):
        el = ET.SubElement(marking, "place", idref=names[place])
        ET.SubElement(el, "text").text = str(fm[place])
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def model_id(model: Model, log_variants: Variants) -> str:
    """A stable id: hash of the algorithm, its parameters and the variants it was mined from."""
    digest = hashlib.sha256()
    digest.update(model.algorithm.encode())
    digest.update(json.dumps(model.parameters, sort_keys=True).encode())
    for sequence, count in sorted(log_variants.items()):
        digest.update(json.dumps([sequence, count]).encode())
    return digest.hexdigest()[:16]


def store_model(con: duckdb.DuckDBPyConnection, process: str, model: Model, log_variants: Variants) -> None:
    """Write the model and its quality figures to ``model_runs`` (one row per process and algorithm)."""
    q = model.quality
    con.execute("DELETE FROM model_runs WHERE process = ? AND algorithm = ?", [process, model.algorithm]).fetchall()
    con.execute(
        "INSERT INTO model_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            process,
            model_id(model, log_variants),
            model.algorithm,
            json.dumps(model.parameters, sort_keys=True),
            len(model.net.places),
            len(model.net.transitions),
            len(model.net.arcs),
            q.get("fitness"),
            q.get("avg_trace_fitness"),
            q.get("fit_cases_share"),
            q.get("precision"),
            str(model.process_tree) if model.process_tree is not None else None,
            pnml(model),
        ],
    ).fetchall()


def discover(con: duckdb.DuckDBPyConnection, process: str, settings: Discovery) -> list[Model]:
    """Discover, evaluate and store every configured model of ``process``."""
    log_variants = variants(con, process)
    if not log_variants:
        raise ValueError(f"process {process!r} has no events to mine")
    models = []
    for algorithm in settings.algorithms:
        if algorithm == "imf":
            model = discover_imf(log_variants, settings.imf_noise_threshold)
        else:
            occurrences, starts, ends = activity_counts(con, process)
            pairs, triples = window_two(con, process)
            model = discover_heuristics(dfg(con, process), occurrences, starts, ends, pairs, triples, settings)
        evaluate(model, log_variants, len(log_variants) <= settings.precision_max_variants)
        store_model(con, process, model, log_variants)
        models.append(model)
    return models
