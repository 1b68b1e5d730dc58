"""Deterministic Petri nets: canonical node names, a net copy with stable hashes, PNML text."""

from __future__ import annotations

import hashlib
import json
from xml.etree import ElementTree as ET

from mining.discovery.models import MinedModel, Model, tree_json

# pm4py is imported inside the functions that use it: importing it takes seconds, and the CLI,
# the DAGs and every other step import this package without mining anything.


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


def mined_model(model: Model) -> MinedModel:
    """``model`` as plain data: its PNML text, its size and (IMf) its tree as text and as data."""
    tree = model.process_tree
    return MinedModel(
        algorithm=model.algorithm,
        parameters=model.parameters,
        pnml=pnml(model),
        n_places=len(model.net.places),
        n_transitions=len(model.net.transitions),
        n_arcs=len(model.net.arcs),
        process_tree=str(tree) if tree is not None else None,
        tree=tree_json(tree) if tree is not None else None,
    )


def model_from_pnml(mined: MinedModel) -> Model:
    """The Petri net of ``mined`` read back from its PNML text (``pnml`` writes it) by pm4py's importer.

    The same places, transitions, labels, arcs and markings as the net it was written from, so
    ``stable_net`` gives both the same canonical net, and replay the same figures.
    """
    from pm4py.objects.petri_net.importer.variants.pnml import import_net_from_string

    net, im, fm = import_net_from_string(mined.pnml)
    return Model(mined.algorithm, mined.parameters, net, im, fm)


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
