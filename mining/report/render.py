"""Render the report to self-contained HTML pages, and the pipeline step that writes them.

One process: ``DIR/report.html``. Several processes: ``DIR/report-<process>.html`` each, and
``DIR/report.html`` as an index that links them with their headline numbers (rewritten after each
process's report, so it lists the reports that exist). Everything the page needs is inside the
file: styles, the charts as SVG, the BPMN XML and the bpmn-js viewer (package data); nothing is
fetched, so the file works offline and can be mailed. No clock time goes into the file: the same
warehouse gives the same bytes.

``report_pages`` (and ``render_report``, ``render_index`` under it) only read: the warehouse and
the BPMN documents in the warehouse and, for the index, the reports already in the output folder.
``mining.exports`` writes the pages.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path

import duckdb
import jinja2
from markupsafe import Markup

from mining.outputs import REPORT_FILE, report_file
from mining.report.bpmn import Viewer, find_viewer, script_safe
from mining.report.data import Reader
from mining.report.formats import fmt_date, fmt_duration, fmt_int
from mining.report.sections import build_sections

# What the report reads: the warehouse file, or an open connection to it.
Warehouse = str | Path | duckdb.DuckDBPyConnection


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("mining.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["json_script"] = _json_script
    env.filters["trusted"] = Markup
    return env


def _json_script(value) -> Markup:
    """JSON for an inline <script type="application/json"> element (no early end tag, no comment start)."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _asset(name: str) -> str:
    return resources.files("mining.report").joinpath("templates", name).read_text("utf-8")


def report_pages(warehouse: Warehouse, config, process: str, out_dir: str | Path) -> dict[str, str]:
    """The pages the report step writes for ``process``, by file name; nothing is written.

    The process's report and, with several processes, the index ``report.html`` (which links the
    reports already in ``out_dir`` and this one). ``warehouse`` is the warehouse file or an open
    connection to it; ``out_dir`` is read for the BPMN files (and the reports already there).
    """
    processes = list(config.processes)
    name = report_file(processes, process)
    pages = {name: render_report(warehouse, process, out_dir, processes, project=config.project)}
    if len(processes) > 1:
        pages[REPORT_FILE] = render_index(warehouse, processes, out_dir, config.project, written=(name,))
    return pages


def render_report(
    warehouse: Warehouse,
    process: str,
    out_dir: str | Path,
    processes: list[str] | None = None,
    project: str = "",
    viewer: Viewer | None | bool = True,
) -> str:
    """The HTML report of ``process`` from ``warehouse`` (``out_dir`` holds the BPMN files).

    ``warehouse`` is the warehouse file or an open connection to it. ``processes`` are the
    processes of the config (default: the ones in the warehouse); they decide where the BPMN files
    are. ``viewer``: True inlines the bpmn-js viewer shipped with the package, None or False draws
    the BPMN statically.
    """
    out_dir = Path(out_dir)
    if viewer is True:
        viewer = find_viewer()
    elif viewer is False:
        viewer = None
    with Reader(warehouse) as reader:
        processes = list(processes) if processes is not None else reader.processes()
        sections, key_findings = build_sections(reader, process, processes, out_dir, viewer)
        warehouse_name = reader.name
    has_bpmn = any(f.bpmn for s in sections for f in s.figures)
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            process=process,
            project=project,
            sections=sections,
            findings=key_findings,
            styles=Markup(script_safe(_asset("report.css"))),
            script=Markup(script_safe(_asset("report.js"))),
            viewer_script=Markup(script_safe(viewer.script)) if viewer and has_bpmn else None,
            viewer_styles=Markup(script_safe(viewer.styles)) if viewer and has_bpmn else None,
            warehouse_name=warehouse_name,
            others=[p for p in processes if p != process and len(processes) > 1],
            index=REPORT_FILE if len(processes) > 1 else None,
            report_file=report_file,
            processes=processes,
        )
    )


def render_index(
    warehouse: Warehouse, processes: list[str], out_dir: str | Path, project: str = "", written: tuple[str, ...] = ()
) -> str:
    """The index page of a several-process run: one row per process with its report (if written).

    A report counts as written when its file is in ``out_dir`` or its name is in ``written``.
    """
    out_dir = Path(out_dir)
    rows = []
    with Reader(warehouse) as reader:
        for process in processes:
            result = reader.fetch("summary", process)
            s = result.rows[0] if result.ok and result.rows else {}
            name = report_file(processes, process)
            rows.append(
                {
                    "process": process,
                    "file": name if name in written or (out_dir / name).is_file() else None,
                    "cases": fmt_int(s.get("n_cases")),
                    "events": fmt_int(s.get("n_events")),
                    "period": f"{fmt_date(s.get('first_event_at'))} – {fmt_date(s.get('last_event_at'))}"
                    if s
                    else "n/a",
                    "median": fmt_duration(s.get("median_case_s")),
                    "missing": result.missing,
                }
            )
    return (
        _environment()
        .get_template("index.html.j2")
        .render(project=project, rows=rows, styles=Markup(script_safe(_asset("report.css"))))
    )
