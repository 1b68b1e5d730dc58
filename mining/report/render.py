"""Render the report to one self-contained HTML file, and the pipeline step that writes it.

One process: ``DIR/report.html``. Several processes: ``DIR/report-<process>.html`` each, and
``DIR/report.html`` as an index that links them with their headline numbers (rewritten after each
process's report, so it lists the reports that exist). Everything the page needs is inside the
file: styles, the charts as SVG, the BPMN XML and, when installed, the bpmn-js viewer; nothing is
fetched, so the file works offline and can be mailed. No clock time goes into the file: the same
warehouse gives the same bytes.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from pathlib import Path

import jinja2
from markupsafe import Markup

from mining.report.bpmn import Viewer, find_viewer, script_safe
from mining.report.data import Reader
from mining.report.formats import fmt_date, fmt_duration, fmt_int
from mining.report.sections import build_sections

REPORT_FILE = "report.html"


def report_file(processes: list[str], process: str) -> str:
    """The report's file name: ``report.html`` for a one-process config, else ``report-<process>.html``."""
    if len(processes) <= 1:
        return REPORT_FILE
    return f"report-{re.sub(r'[^A-Za-z0-9_.-]', '_', process)}.html"


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


def render_report(
    warehouse: str | Path,
    process: str,
    out_dir: str | Path,
    processes: list[str] | None = None,
    project: str = "",
    viewer: Viewer | None | bool = True,
) -> str:
    """The HTML report of ``process`` from ``warehouse`` (``out_dir`` holds the BPMN files).

    ``processes`` are the processes of the config (default: the ones in the warehouse); they
    decide where the BPMN files are. ``viewer``: True finds the installed bpmn-js, None or False
    draws the BPMN statically.
    """
    out_dir = Path(out_dir)
    if viewer is True:
        viewer = find_viewer()
    elif viewer is False:
        viewer = None
    with Reader(warehouse) as reader:
        processes = list(processes) if processes is not None else reader.processes()
        sections, key_findings = build_sections(reader, process, processes, out_dir, viewer)
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
            warehouse_name=Path(warehouse).name,
            others=[p for p in processes if p != process and len(processes) > 1],
            index=REPORT_FILE if len(processes) > 1 else None,
            report_file=report_file,
            processes=processes,
        )
    )


def render_index(warehouse: str | Path, processes: list[str], out_dir: str | Path, project: str = "") -> str:
    """The index page of a several-process run: one row per process with its report (if written)."""
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
                    "file": name if (out_dir / name).is_file() else None,
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


def write_report(warehouse: str | Path, config, process: str, out_dir: str | Path) -> Path:
    """Write the report of ``process`` (and, with several processes, the index); return its path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    processes = list(config.processes)
    path = out_dir / report_file(processes, process)
    html = render_report(warehouse, process, out_dir, processes, project=config.project)
    path.write_text(html, encoding="utf-8")
    if len(processes) > 1:
        (out_dir / REPORT_FILE).write_text(
            render_index(warehouse, processes, out_dir, config.project), encoding="utf-8"
        )
    return path


def report_step(warehouse: Path, config, process: str, out_dir: Path) -> dict:
    """Pipeline step, kept last: the HTML report of ``process`` (DIR/report.html or DIR/report-<process>.html)."""
    path = write_report(warehouse, config, process, out_dir)
    return {"report": str(path)}
