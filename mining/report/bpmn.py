"""The as-is and to-be BPMN files in the report: where they are, bpmn-js to show them, a fallback.

The ``bpmn`` step writes ``as-is.bpmn`` and ``to-be.bpmn`` (mining/bpmn/step.py decides the
folder). The report embeds each file's XML and inlines the bpmn-js navigated viewer with its
styles, so the diagrams render, zoom and pan offline. The viewer ships inside this package
(``vendor/bpmn-js``: the script, its two style sheets and its licence), copied from the bpmn-js
version that tools/bpmn-check/package-lock.json pins (tests/test_report_vendor.py keeps the two
equal); so the report's bytes do not depend on what is installed on the machine. A report
rendered without the viewer draws the diagram interchange (the shapes and waypoints in the
file) as a static SVG and says so.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from functools import cache
from html import escape
from importlib import resources
from xml.etree import ElementTree as ET

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
BIOC = "http://bpmn.io/schema/bpmn/biocolor/1.0"
MOT = "urn:mot-mining:bpmn:1.0"
# The navigated viewer, not the plain one: it can zoom and pan.
VIEWER_SCRIPT = "bpmn-navigated-viewer.production.min.js"
VIEWER_STYLES = ("diagram-js.css", "bpmn-js.css")
# The bundle's first line names its version: /*! bpmn-js - bpmn-navigated-viewer v18.31.1 | ...
_BANNER_VERSION = re.compile(r"/\*! bpmn-js - [\w-]+ v(\d+\.\d+\.\d+\S*) ")


@dataclass(frozen=True)
class Viewer:
    """The bpmn-js viewer to inline: its script and styles, and which file they came from."""

    script: str
    styles: str
    origin: str  # e.g. 'bpmn-js 18.31.1 (bpmn-navigated-viewer.production.min.js)'


def vendored_file(name: str) -> str:
    """The text of ``mining/report/vendor/bpmn-js/<name>`` (package data, read with importlib.resources)."""
    return resources.files("mining.report").joinpath("vendor", "bpmn-js", name).read_text("utf-8")


def viewer_version(script: str) -> str:
    """The bpmn-js version named in the banner of a viewer bundle."""
    match = _BANNER_VERSION.match(script)
    if not match:
        raise ValueError("the bpmn-js bundle does not start with its version banner")
    return match.group(1)


@cache
def find_viewer() -> Viewer:
    """The bpmn-js navigated viewer shipped with the package (the same on every machine)."""
    script = vendored_file(VIEWER_SCRIPT)
    return Viewer(
        script=script,
        styles="\n".join(vendored_file(name) for name in VIEWER_STYLES),
        origin=f"bpmn-js {viewer_version(script)} ({VIEWER_SCRIPT})",
    )


def script_safe(text: str) -> str:
    """Text that can sit inside an inline <script> or <style> element (no early end tag)."""
    return re.sub(r"</(script|style)", r"<\\/\1", text, flags=re.I)


@dataclass(frozen=True)
class Comparison:
    """One as-is vs to-be figure from the to-be file's process attributes."""

    key: str
    label: str
    as_is: float
    to_be: float


def comparison(to_be_xml: bytes) -> tuple[list[Comparison], list[str]]:
    """The as-is vs to-be figures and the removed activities recorded in a to-be file."""
    root = ET.fromstring(to_be_xml)
    process = root.find(f"{{{BPMN}}}process")
    if process is None:
        return [], []
    attrs = {k[len(MOT) + 2 :]: v for k, v in process.attrib.items() if k.startswith(f"{{{MOT}}}")}
    rows = []
    for key in sorted(k[4:] for k in attrs if k.startswith("asIs")):
        if f"toBe{key}" in attrs:
            try:
                rows.append(Comparison(key, _words(key), float(attrs[f"asIs{key}"]), float(attrs[f"toBe{key}"])))
            except ValueError:
                continue
    removed = [a for a in attrs.get("removed", "").split("|") if a]
    return rows, removed


def to_be_notice(to_be_xml: bytes) -> str | None:
    """Why the to-be model is not simply the as-is without the removals (mining.bpmn's ``notice``), or None."""
    process = ET.fromstring(to_be_xml).find(f"{{{BPMN}}}process")
    return None if process is None else process.get(f"{{{MOT}}}notice")


def _words(key: str) -> str:
    """'MomentsPerCase' -> 'moments per case'."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", key).lower()


# --- static fallback ------------------------------------------------------------------------------


def static_svg(xml: bytes, key: str) -> str:
    """The diagram interchange of a BPMN file drawn as SVG (shapes, flows, names, bpmn.io colours).

    ``key`` makes the arrow marker's id unique on the page.
    """
    root = ET.fromstring(xml)
    elements = {el.get("id"): el for el in root.iter() if el.get("id")}
    shapes, edges = [], []
    xs, ys = [], []
    for shape in root.iter(f"{{{BPMNDI}}}BPMNShape"):
        b = shape.find(f"{{{DC}}}Bounds")
        if b is None:
            continue
        x, y, w, h = (float(b.get(k)) for k in ("x", "y", "width", "height"))
        xs += [x, x + w]
        ys += [y, y + h]
        el = elements.get(shape.get("bpmnElement"))
        shapes.append((el, x, y, w, h))
    for edge in root.iter(f"{{{BPMNDI}}}BPMNEdge"):
        pts = [(float(p.get("x")), float(p.get("y"))) for p in edge.findall(f"{{{DI}}}waypoint")]
        xs += [p[0] for p in pts]
        ys += [p[1] for p in pts]
        el = elements.get(edge.get("bpmnElement"))
        edges.append((el, pts))
    if not xs:
        return '<p class="missing">The BPMN file has no diagram interchange to draw.</p>'
    x0, y0 = min(xs) - 20, min(ys) - 20
    width, height = max(xs) - x0 + 20, max(ys) - y0 + 20
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bpmn-static" viewBox="{x0:g} {y0:g} {width:g} {height:g}" '
        f'width="{width:g}" height="{height:g}" role="img" aria-label="BPMN diagram">',
        f'<defs><marker id="bpmn-arrow-{key}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
        'markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#222"/></marker></defs>',
    ]
    for el, pts in edges:
        kind = _local(el.tag) if el is not None else ""
        d = " ".join(f"{'M' if i == 0 else 'L'}{x:g},{y:g}" for i, (x, y) in enumerate(pts))
        if kind == "association":
            out.append(f'<path d="{d}" fill="none" stroke="#555" stroke-dasharray="2 3"/>')
        else:
            out.append(
                f'<path d="{d}" fill="none" stroke="#222" stroke-width="1.5" marker-end="url(#bpmn-arrow-{key})"/>'
            )
    for el, x, y, w, h in shapes:
        out.append(_shape(el, x, y, w, h))
    out.append("</svg>")
    return "\n".join(out)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _shape(el: ET.Element | None, x: float, y: float, w: float, h: float) -> str:
    kind = _local(el.tag) if el is not None else ""
    fill = (el.get(f"{{{BIOC}}}fill") if el is not None else None) or "#FFFFFF"
    stroke = (el.get(f"{{{BIOC}}}stroke") if el is not None else None) or "#222222"
    name = (el.get("name") if el is not None else None) or ""
    cx, cy = x + w / 2, y + h / 2
    if kind.endswith("Event"):
        sw = 3 if kind == "endEvent" else 1.5
        return f'<circle cx="{cx:g}" cy="{cy:g}" r="{w / 2:g}" fill="{fill}" stroke="{stroke}" stroke-width="{sw}"/>'
    if kind.endswith("Gateway"):
        mark = {"parallelGateway": "+", "exclusiveGateway": "×", "inclusiveGateway": "○"}.get(kind, "")
        return (
            f'<path d="M{cx:g},{y:g} L{x + w:g},{cy:g} L{cx:g},{y + h:g} L{x:g},{cy:g} z" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>'
            f'<text x="{cx:g}" y="{cy + 6:g}" text-anchor="middle" font-size="18">{mark}</text>'
        )
    if kind == "textAnnotation":
        text = "".join(el.itertext()).strip() if el is not None else ""
        lines = [line for part in text.split("\n") for line in (textwrap.wrap(part, 30) or [""])]
        body = "".join(
            f'<tspan x="{x + 6:g}" dy="{14 if i else 14}">{escape(line)}</tspan>' for i, line in enumerate(lines)
        )
        return (
            f'<path d="M{x + 12:g},{y:g} L{x:g},{y:g} L{x:g},{y + h:g} L{x + 12:g},{y + h:g}" fill="none" stroke="#555"/>'
            f'<text x="{x + 6:g}" y="{y:g}" font-size="11">{body}</text>'
        )
    lines = textwrap.wrap(name, 16)[:4]
    first = cy - (len(lines) - 1) * 7 + 4
    label = "".join(
        f'<text x="{cx:g}" y="{first + i * 14:g}" text-anchor="middle" font-size="12">{escape(line)}</text>'
        for i, line in enumerate(lines)
    )
    return f'<g><title>{escape(name)}</title><rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" rx="10" fill="{fill}" stroke="{stroke}" stroke-width="2"/>{label}</g>'
