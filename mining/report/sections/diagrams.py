"""The BPMN section: the as-is and to-be diagrams, the files behind them and what the to-be model removes."""

from __future__ import annotations

from pathlib import Path

from mining import outputs
from mining.report.bpmn import comparison, static_svg, to_be_notice
from mining.report.context import Context
from mining.report.page import Column, Figure, Section, table


def bpmn_section(ctx: Context) -> Section:
    """The as-is and to-be BPMN diagrams."""
    folder = outputs.bpmn_folder(ctx.processes, ctx.process, ctx.out_dir)
    stored = ctx.reader.fetch("bpmn_documents", ctx.process)
    figures = []
    for side, name, title in (("as-is", outputs.AS_IS_FILE, "As-is BPMN"), ("to-be", outputs.TO_BE_FILE, "To-be BPMN")):
        figure = Figure(f"bpmn-{side}", title)
        rel = _relative(folder / name, ctx.out_dir)
        figure.notes.append(f"File: {rel} (open it in Camunda Modeler or bpmn.io to edit).")
        if not stored.ok or not stored.rows:
            figure.missing.append(f"{rel} is not there: {_why_not_drawn(ctx)}")
        else:
            xml = bytes(stored.rows[0]["as_is" if side == "as-is" else "to_be"])
            figure.bpmn = {"side": side, "file": rel, "xml": xml.decode("utf-8"), "static_svg": None}
            if ctx.viewer is None:
                figure.bpmn["static_svg"] = static_svg(xml, side)
                figure.notes.append(
                    "This report was rendered without the bpmn-js viewer, so this is a static drawing of the file's diagram interchange."
                )
            if side == "to-be":
                rows, removed = comparison(xml)
                figure.notes.append(
                    "Removed in the to-be model: " + (", ".join(removed) if removed else "nothing") + "."
                )
                if notice := to_be_notice(xml):
                    figure.notes.append(notice)
                if rows:
                    figure.tables.append(
                        table(
                            "bpmn-comparison",
                            [{"label": r.label, "as_is": r.as_is, "to_be": r.to_be} for r in rows],
                            [
                                Column("label", "as-is vs to-be"),
                                Column("as_is", "as-is", "auto"),
                                Column("to_be", "to-be", "auto"),
                            ],
                        )
                    )
        figures.append(figure)
    viewer = f" Drawn with {ctx.viewer.origin}, inlined into this file." if ctx.viewer else ""
    return Section(
        "bpmn",
        "As-is and to-be BPMN",
        "The discovered model as BPMN, moments of truth in blue and removal candidates in red, and the model without the "
        "steps recommended for removal." + viewer,
        figures,
    )


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def _why_not_drawn(ctx: Context) -> str:
    """Why the process has no BPMN: a budget the bpmn step met (budget_skips), or the step did not run."""
    skips = ctx.reader.fetch("budget_skips", ctx.process)
    for row in skips.rows if skips.ok else []:
        if row["step"] == "bpmn":
            return f"{row['reason']}; see 'Skipped for a memory or time budget' under model quality"
    return "the bpmn step has not run for this process"
