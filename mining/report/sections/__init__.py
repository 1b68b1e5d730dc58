"""The sections of the report, in page order, and ``build_sections`` that builds them all.

Each module builds one section of one process from the report's queries (read through
``Context``) into the plain page objects of ``mining.report.page`` that the template lays out.
Numbers are formatted there, and each figure keeps its raw values in ``data-value`` attributes.
"""

from __future__ import annotations

from pathlib import Path

from mining.report.bpmn import Viewer
from mining.report.context import Context
from mining.report.data import Reader
from mining.report.findings import key_findings
from mining.report.page import Section
from mining.report.sections.diagrams import bpmn_section
from mining.report.sections.dropout import dropout_section
from mining.report.sections.journey import journey_section
from mining.report.sections.knock_on import knock_on_section
from mining.report.sections.models import models_section
from mining.report.sections.process_map import map_section
from mining.report.sections.removal import removal_section
from mining.report.sections.review import review_section
from mining.report.sections.summary import summary_section
from mining.report.sections.waste import waste_section

SECTIONS = (
    summary_section,
    map_section,
    bpmn_section,
    journey_section,
    knock_on_section,
    dropout_section,
    removal_section,
    waste_section,
    models_section,
    review_section,
)


def build_sections(
    reader: Reader, process: str, processes: list[str], out_dir: Path, viewer: Viewer | None
) -> tuple[list[Section], list[str]]:
    """Every section of the report of ``process`` and the key findings."""
    ctx = Context(reader, process, processes, Path(out_dir), viewer)
    sections = [make(ctx) for make in SECTIONS]
    return sections, key_findings(ctx)
