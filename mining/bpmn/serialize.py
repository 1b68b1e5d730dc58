"""BPMN 2.0 XML with diagram interchange from a laid-out ``Diagram`` (deterministic text).

Element order follows the BPMN 2.0 schema (documentation, extension elements, incoming,
outgoing; flow elements before artifacts); attributes keep their insertion order; nothing in the
output depends on the clock or on random ids, so the same input gives byte-identical files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

from mining.bpmn.diagram import Diagram, Node

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
# Colours: bpmn.io's own attributes and the OMG non-normative colour extension, which
# Camunda Modeler writes too; both are set so either reader paints the shape.
BIOC = "http://bpmn.io/schema/bpmn/biocolor/1.0"
COLOR = "http://www.omg.org/spec/BPMN/non-normative/color/1.0"
# Machine-readable figures of this project, as extension attributes on the tasks and the process.
MOT = "urn:mot-mining:bpmn:1.0"

PREFIXES = {"bpmn": BPMN, "bpmndi": BPMNDI, "dc": DC, "di": DI, "bioc": BIOC, "color": COLOR, "mot": MOT}
for _prefix, _uri in PREFIXES.items():
    ET.register_namespace(_prefix, _uri)


@dataclass(frozen=True)
class Colour:
    """Fill and stroke of a shape, as ``#RRGGBB``."""

    fill: str
    stroke: str


@dataclass(frozen=True)
class Annotations:
    """What goes into the file besides the model: texts, figures and colours.

    ``task_docs`` / ``task_attrs`` / ``colours`` are keyed by activity name; ``task_attrs`` values
    become ``mot:`` extension attributes (already formatted as text).
    """

    process_name: str
    process_doc: str = ""
    process_attrs: Mapping[str, str] = field(default_factory=dict)
    task_docs: Mapping[str, str] = field(default_factory=dict)
    task_attrs: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    colours: Mapping[str, Colour] = field(default_factory=dict)


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _documentation(parent: ET.Element, text: str) -> None:
    if text:
        ET.SubElement(parent, _q(BPMN, "documentation")).text = text


def serialize(diagram: Diagram, process_id: str, notes: Annotations, exporter_version: str) -> bytes:
    """The BPMN 2.0 XML of ``diagram`` as UTF-8 bytes, with shapes, edges, colours and figures."""
    definitions = ET.Element(
        _q(BPMN, "definitions"),
        {
            "id": f"Definitions_{process_id}",
            "targetNamespace": f"urn:mot-mining:process:{process_id}",
            "exporter": "mot-mining",
            "exporterVersion": exporter_version,
        },
    )
    process = ET.SubElement(
        definitions,
        _q(BPMN, "process"),
        {"id": process_id, "name": notes.process_name, "isExecutable": "false"}
        | {_q(MOT, k): v for k, v in notes.process_attrs.items()},
    )
    _documentation(process, notes.process_doc)
    nodes = sorted(diagram.nodes, key=lambda n: (n.bounds.x, n.bounds.y, n.id))
    for node in nodes:
        _flow_node(process, node, diagram, notes)
    for flow in diagram.flows:
        ET.SubElement(
            process, _q(BPMN, "sequenceFlow"), {"id": flow.id, "sourceRef": flow.source, "targetRef": flow.target}
        )
    for note in diagram.notes:
        annotation = ET.SubElement(process, _q(BPMN, "textAnnotation"), {"id": note.id})
        ET.SubElement(annotation, _q(BPMN, "text")).text = note.text
    for note in diagram.notes:
        ET.SubElement(
            process,
            _q(BPMN, "association"),
            {"id": note.association_id, "sourceRef": note.task, "targetRef": note.id, "associationDirection": "None"},
        )
    _diagram_interchange(definitions, diagram, process_id, notes, nodes)
    ET.indent(definitions, space="  ")
    text = ET.tostring(definitions, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n").encode("utf-8")


def _flow_node(process: ET.Element, node: Node, diagram: Diagram, notes: Annotations) -> None:
    attrs = {"id": node.id}
    if node.name:
        attrs["name"] = node.name
    if node.direction:
        attrs["gatewayDirection"] = node.direction
    if node.kind == "task":
        attrs |= {_q(MOT, k): v for k, v in notes.task_attrs.get(node.name, {}).items()}
    element = ET.SubElement(process, _q(BPMN, node.kind), attrs)
    if node.kind == "task":
        _documentation(element, notes.task_docs.get(node.name, ""))
    for flow_id in diagram.incoming(node.id):
        ET.SubElement(element, _q(BPMN, "incoming")).text = flow_id
    for flow_id in diagram.outgoing(node.id):
        ET.SubElement(element, _q(BPMN, "outgoing")).text = flow_id


def _bounds(parent: ET.Element, b) -> None:
    ET.SubElement(
        parent, _q(DC, "Bounds"), {"x": str(b.x), "y": str(b.y), "width": str(b.width), "height": str(b.height)}
    )


def _diagram_interchange(
    definitions: ET.Element, diagram: Diagram, process_id: str, notes: Annotations, nodes: list[Node]
) -> None:
    bpmn_diagram = ET.SubElement(definitions, _q(BPMNDI, "BPMNDiagram"), {"id": f"BPMNDiagram_{process_id}"})
    plane = ET.SubElement(
        bpmn_diagram, _q(BPMNDI, "BPMNPlane"), {"id": f"BPMNPlane_{process_id}", "bpmnElement": process_id}
    )
    for node in nodes:
        attrs = {"id": f"{node.id}_di", "bpmnElement": node.id}
        if node.kind == "exclusiveGateway":
            attrs["isMarkerVisible"] = "true"
        colour = notes.colours.get(node.name) if node.kind == "task" else None
        if colour:
            attrs |= {
                _q(BIOC, "stroke"): colour.stroke,
                _q(BIOC, "fill"): colour.fill,
                _q(COLOR, "background-color"): colour.fill,
                _q(COLOR, "border-color"): colour.stroke,
            }
        shape = ET.SubElement(plane, _q(BPMNDI, "BPMNShape"), attrs)
        _bounds(shape, node.bounds)
    for note in diagram.notes:
        shape = ET.SubElement(plane, _q(BPMNDI, "BPMNShape"), {"id": f"{note.id}_di", "bpmnElement": note.id})
        _bounds(shape, note.bounds)
    for flow in diagram.flows:
        edge = ET.SubElement(plane, _q(BPMNDI, "BPMNEdge"), {"id": f"{flow.id}_di", "bpmnElement": flow.id})
        for x, y in flow.waypoints:
            ET.SubElement(edge, _q(DI, "waypoint"), {"x": str(x), "y": str(y)})
    for note in diagram.notes:
        edge = ET.SubElement(
            plane, _q(BPMNDI, "BPMNEdge"), {"id": f"{note.association_id}_di", "bpmnElement": note.association_id}
        )
        for x, y in note.waypoints:
            ET.SubElement(edge, _q(DI, "waypoint"), {"x": str(x), "y": str(y)})
