"""Heuristics Miner (pm4py's) on the DFG and its window-2 statistics counted in the warehouse."""

from __future__ import annotations

from mining.config import Discovery
from mining.discovery.models import Model

# pm4py is imported inside the functions that use it: importing it takes seconds, and the CLI,
# the DAGs and every other step import this package without mining anything.


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
