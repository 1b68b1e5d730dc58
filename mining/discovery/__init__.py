"""Process discovery: DFG and variants from the warehouse (SQL), models and conformance via pm4py.

Modules: ``inputs`` (the compact inputs read from the prepared tables), ``imf`` (Inductive Miner
infrequent), ``heuristics`` (Heuristics Miner), ``conformance`` (token replay, precision),
``nets`` (deterministic Petri nets and PNML), ``models`` (the model, its id, its tree as data) and
``store`` (discover, store and read back models). The prepared tables themselves are built by
``mining.warehouse.prepare``. This file only re-exports the public names.
"""

from mining.discovery.conformance import TokenReplay, evaluate, replay_fitness
from mining.discovery.heuristics import discover_heuristics
from mining.discovery.imf import discover_imf, imf_parameters, variants_dfg
from mining.discovery.inputs import Variants, activity_counts, dfg, variant_log, variants, window_two
from mining.discovery.models import Model, model_id, tree_data, tree_json
from mining.discovery.nets import canonical_names, pnml, stable_net
from mining.discovery.store import StoredTree, discover, store_model, stored_tree

__all__ = [
    "Model",
    "StoredTree",
    "TokenReplay",
    "Variants",
    "activity_counts",
    "canonical_names",
    "dfg",
    "discover",
    "discover_heuristics",
    "discover_imf",
    "evaluate",
    "imf_parameters",
    "model_id",
    "pnml",
    "replay_fitness",
    "stable_net",
    "store_model",
    "stored_tree",
    "tree_data",
    "tree_json",
    "variant_log",
    "variants",
    "variants_dfg",
    "window_two",
]
