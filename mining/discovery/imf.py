"""Inductive Miner infrequent (pm4py's, on activity codes, with three hot spots made cheaper).

``discover_imf`` returns exactly pm4py's tree (tests compare them on real logs). pm4py's miner runs
inside ``_fast_inductive_miner``, which swaps in ``variants_dfg``, ``_without_activity`` and
``_project_sequence`` for one discovery.
"""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager
from itertools import chain

import numpy as np

from mining.discovery.inputs import Variants
from mining.discovery.models import Model

# pm4py is imported inside the functions that use it: importing it takes seconds, and the CLI,
# the DAGs and every other step import this package without mining anything.


def imf_parameters(noise_threshold: float) -> dict:
    """The parameters an IMf model is mined (and its model id computed) with."""
    return {"noise_threshold": noise_threshold}


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
    params = imf_parameters(noise_threshold)
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
