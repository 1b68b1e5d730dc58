"""Assemble the annotated as-is and to-be BPMN files from a tree, the figures and the settings.

Pure functions: data in, bytes out. The pipeline step (``mining.bpmn.step``) does the I/O.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from mining import __version__
from mining.bpmn.diagram import Diagram, digest, slug
from mining.bpmn.figures import ProcessFigures, number, task_attributes, task_documentation
from mining.bpmn.layout import layout
from mining.bpmn.serialize import MOT, Annotations, Colour, serialize
from mining.bpmn.tobe import ModelStats, RemovalPlan, compare, project, to_be_documentation
from mining.bpmn.tree import Tree
from mining.config.bpmn import Bpmn

# A note shows the start of the waste explanation; the task's documentation holds all of it.
NOTE_LIMIT = 140


@dataclass(frozen=True)
class Exported:
    """Both files and the figures the step reports."""

    as_is: bytes
    to_be: bytes
    summary: dict


def process_id(process: str, side: str) -> str:
    """A valid, stable XML id for the process of one side (as_is / to_be)."""
    return f"Process_{slug(process)}_{digest(process)}_{side}"


def stats(diagram: Diagram, fitness: float | None) -> ModelStats:
    """Task and gateway counts of a diagram, with the model's fitness."""
    kinds = Counter(n.kind for n in diagram.nodes)
    gateways = sum(v for k, v in kinds.items() if k.endswith("Gateway"))
    return ModelStats(tasks=kinds["task"], gateways=gateways, fitness=fitness)


def removal_note(activity: str, figures: ProcessFigures, plan: RemovalPlan) -> str | None:
    """The note of a removal candidate or removed step (None for other activities)."""
    f = figures.activities.get(activity)
    candidate = activity in plan.candidates
    removed = activity in plan.removed
    kept = activity in plan.kept_path  # only when the plan would have removed every activity
    if not (candidate or removed or kept):
        return None
    score = ""
    if f is not None and f.waste_score is not None:
        rank = f", rank {f.waste_rank} of {figures.n_ranked}" if f.waste_rank is not None else ""
        score = f" Waste score {f.waste_score:.2f}{rank}."
    if candidate and removed:
        head = "Removal candidate: removed in the to-be model."
    elif kept:
        head = "Kept in the to-be model on the most frequent path: removing every step would leave no process."
    elif candidate:
        head = "Removal candidate, kept in the to-be model by bpmn.remove."
    else:
        recommendation = f.recommendation if f is not None and f.recommendation else "none"
        head = f"Removed in the to-be model by bpmn.remove (waste recommendation: {recommendation})."
    text = head + score
    if f is not None and f.explanation:
        text += " " + first_clauses(f.explanation) + " (all figures in the task's documentation)"
    return text


def first_clauses(text: str, limit: int = NOTE_LIMIT) -> str:
    """The leading '; '-separated clauses of ``text`` that fit ``limit`` characters (at least one)."""
    clauses = text.split("; ")
    out = clauses[0][:1].upper() + clauses[0][1:]
    for clause in clauses[1:]:
        if len(out) + 2 + len(clause) > limit:
            return out + "; ..."
        out += "; " + clause
    return out


def fitness_text(fitness: float | None, n_variants: int, settings: Bpmn) -> str:
    """The fitness, or why it was not measured."""
    if fitness is not None:
        return f"{fitness:.3f}"
    return (
        f"not measured ({n_variants:,} variants, more than bpmn.fitness_max_variants = "
        f"{settings.fitness_max_variants:,}: token replay would take minutes)"
    )


def _colours(activities: list[str], figures: ProcessFigures, marked: set[str], settings: Bpmn) -> dict[str, Colour]:
    colours = {}
    for activity in activities:
        f = figures.activities.get(activity)
        mot = bool(f and f.is_mot)
        if mot:
            stroke = settings.removal_stroke if activity in marked else settings.mot_stroke
            colours[activity] = Colour(settings.mot_fill, stroke)
        elif activity in marked:
            colours[activity] = Colour(settings.removal_fill, settings.removal_stroke)
    return colours


def _annotations(
    name: str,
    doc: str,
    process_attrs: dict[str, str],
    activities: list[str],
    figures: ProcessFigures,
    plan: RemovalPlan,
    marked: set[str],
    settings: Bpmn,
) -> Annotations:
    docs, attrs = {}, {}
    for activity in activities:
        f = figures.activities.get(activity)
        if f is None:
            continue
        note = removal_note(activity, figures, plan)
        docs[activity] = task_documentation(f, figures, note)
        attrs[activity] = task_attributes(f, figures, activity in plan.candidates, activity in plan.removed)
    return Annotations(name, doc, process_attrs, docs, attrs, _colours(activities, figures, marked, settings))


def legend(settings: Bpmn, figures: ProcessFigures) -> str:
    """How to read the colours and notes of the diagram."""
    lines = [
        f"Tasks filled {settings.mot_fill} (blue by default) are moments of truth: customer-facing in their events.",
        f"Tasks outlined {settings.removal_stroke} (red by default) with a note are removal candidates "
        "(waste recommendation 'remove') or steps removed in the to-be model.",
        "Each task's documentation holds its frequency, waiting time, moment-of-truth share, running-score impact, "
        f"waste score and recommendation; the same figures are extension attributes in the namespace {MOT}.",
    ]
    if figures.moments_missing:
        lines.append(f"Moments of truth: {figures.moments_missing}.")
    if figures.waste_missing:
        lines.append(f"Waste: {figures.waste_missing}.")
    return "\n".join(lines)


def export(
    process: str,
    as_is_tree: Tree,
    as_is_variants: Counter,
    to_be_tree: Tree,
    figures: ProcessFigures,
    plan: RemovalPlan,
    settings: Bpmn,
    as_is_fitness: float | None,
    to_be_fitness: float | None,
    noise_threshold: float,
    to_be_noise_threshold: float | None = None,
) -> Exported:
    """The annotated as-is and to-be BPMN files of ``process``."""
    weights = {a: f.frequency for a, f in figures.activities.items()}
    marked = set(plan.candidates) | set(plan.removed) | set(plan.kept_path)
    as_is_notes = {a: t for a in as_is_tree.activities() if (t := removal_note(a, figures, plan))}
    kept_marked = marked - set(plan.removed)
    to_be_notes = {a: t for a in to_be_tree.activities() if a in kept_marked and (t := removal_note(a, figures, plan))}
    as_is_diagram = layout(as_is_tree, weights, as_is_notes)
    to_be_diagram = layout(to_be_tree, weights, to_be_notes)
    to_be_variants = project(as_is_variants, plan.removed)
    rows = compare(
        as_is_variants,
        to_be_variants,
        plan,
        figures,
        stats(as_is_diagram, as_is_fitness),
        stats(to_be_diagram, to_be_fitness),
    )
    n_events = sum(len(s) * n for s, n in as_is_variants.items())
    moments = figures.moments()
    as_is_doc = "\n".join(
        [
            f"As-is model of {process}, discovered with the Inductive Miner infrequent (noise threshold {noise_threshold:g}) "
            f"from {figures.n_cases:,} cases, {n_events:,} events and {len(as_is_variants):,} variants.",
            "Token-based replay fitness on the log: "
            + fitness_text(as_is_fitness, len(as_is_variants), settings)
            + ".",
            "Moments of truth: "
            + (
                f"{len(moments)} of {len(figures.activities)} activities."
                if not figures.moments_missing
                else figures.moments_missing + "."
            ),
            "Removal candidates: " + (", ".join(plan.candidates) if plan.candidates else "none") + ".",
            "",
            legend(settings, figures),
        ]
    )
    as_is_attrs = {
        "side": "as-is",
        "cases": number(figures.n_cases),
        "events": number(n_events),
        "variants": number(len(as_is_variants)),
        "noiseThreshold": number(noise_threshold),
    }
    if as_is_fitness is not None:
        as_is_attrs["fitness"] = number(as_is_fitness)
    to_be_noise = noise_threshold if to_be_noise_threshold is None else to_be_noise_threshold
    to_be_attrs = {"side": "to-be", "removed": "|".join(plan.removed), "noiseThreshold": number(to_be_noise)}
    if plan.notice:  # read by the report (mining.report.bpmn.comparison)
        to_be_attrs["notice"] = plan.notice
    for key, _, before, after, _, _ in rows:
        if before is not None:
            to_be_attrs[f"asIs{key}"] = number(before)
        if after is not None:
            to_be_attrs[f"toBe{key}"] = number(after)
    to_be_doc = to_be_documentation(process, plan, figures, rows, to_be_noise)
    if to_be_fitness is None:
        n_variants = len(project(as_is_variants, plan.removed))
        to_be_doc += "\nTo-be fitness: " + fitness_text(None, n_variants, settings) + "."
    to_be_doc += "\n\n" + legend(settings, figures)
    as_is_annotations = _annotations(
        f"{process} (as-is)", as_is_doc, as_is_attrs, as_is_tree.activities(), figures, plan, marked, settings
    )
    to_be_annotations = _annotations(
        f"{process} (to-be)", to_be_doc, to_be_attrs, to_be_tree.activities(), figures, plan, kept_marked, settings
    )
    as_is_bytes = serialize(as_is_diagram, process_id(process, "as_is"), as_is_annotations, __version__)
    to_be_bytes = serialize(to_be_diagram, process_id(process, "to_be"), to_be_annotations, __version__)
    summary = {
        "removal_candidates": list(plan.candidates),
        "removed": list(plan.removed),
        "unknown_removals": list(plan.unknown),
        "to_be_notice": plan.notice,
        "as_is": {"tasks": stats(as_is_diagram, None).tasks, "fitness": as_is_fitness},
        "to_be": {"tasks": stats(to_be_diagram, None).tasks, "fitness": to_be_fitness},
        "comparison": {key: {"as_is": before, "to_be": after} for key, _, before, after, _, _ in rows},
    }
    return Exported(as_is_bytes, to_be_bytes, summary)
