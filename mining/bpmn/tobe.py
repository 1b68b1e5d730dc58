"""The to-be side: which steps go, the projected log without them, and as-is vs to-be figures."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from mining.bpmn.figures import ProcessFigures, duration


@dataclass(frozen=True)
class RemovalPlan:
    """The removal candidates, the steps the to-be model leaves out, and who chose them."""

    candidates: tuple[str, ...]  # waste recommendation 'remove', in rank order
    removed: tuple[str, ...]  # left out of the to-be model, sorted
    unknown: tuple[str, ...]  # names in bpmn.remove that the process does not have
    chosen_by: str
    kept_path: tuple[str, ...] = ()  # the variant kept because the removals would empty the process
    notice: str | None = None  # why the to-be is not simply the as-is without the removals


def plan_removals(figures: ProcessFigures, remove: list[str] | None) -> RemovalPlan:
    """Resolve ``bpmn.remove`` (None = the waste analysis' candidates) against the process."""
    candidates = tuple(figures.removal_candidates())
    if remove is None:
        if figures.waste_missing:
            chosen_by = f"nothing removed: bpmn.remove is not set and the waste analysis is {figures.waste_missing}"
        else:
            chosen_by = "the waste analysis: every activity recommended for removal (bpmn.remove is not set)"
        return RemovalPlan(candidates, tuple(sorted(candidates)), (), chosen_by)
    known = [a for a in remove if a in figures.activities]
    unknown = tuple(sorted(a for a in remove if a not in figures.activities))
    chosen_by = "bpmn.remove in the config" if remove else "bpmn.remove in the config (an empty list: nothing removed)"
    return RemovalPlan(candidates, tuple(sorted(known)), unknown, chosen_by)


def keep_a_path(plan: RemovalPlan, log_variants: Counter, process: str) -> RemovalPlan:
    """``plan``, or, when it removes every activity of the log, a plan that keeps the most frequent path.

    A process without steps is no redesign: when every activity is a removal candidate (or named in
    bpmn.remove), the evidence did not tell the steps the customer needs from the ones that waste
    time. The to-be then keeps the activities of the most frequent variant (the path most cases
    take; among equally frequent ones the shortest) and removes the rest, and ``notice`` says so.
    """
    if not plan.removed or any(project(log_variants, plan.removed)):
        return plan
    cases = sum(log_variants.values())
    path, n = min(log_variants.items(), key=lambda item: (-item[1], len(item[0]), item[0]))
    kept = set(path)
    who = (
        "The waste analysis recommends removing every activity"
        if plan.chosen_by.startswith("the waste analysis")
        else "bpmn.remove names every activity"
    )
    notice = (
        f"{who} of {process} ({len(plan.removed)}), which would leave no process to run. "
        f"The to-be keeps the path of the most frequent variant ({n:,} of {cases:,} cases, "
        f"{100.0 * n / cases:.1f}%): {' -> '.join(path)}, and removes only the other candidates. "
        "The evidence does not separate the steps customers need from the wasteful ones here: "
        "review the candidates one by one, or set bpmn.remove to the steps to drop."
    )
    return RemovalPlan(
        plan.candidates,
        tuple(a for a in plan.removed if a not in kept),
        plan.unknown,
        plan.chosen_by,
        kept_path=path,
        notice=notice,
    )


def project(log_variants: Counter, removed: Iterable[str]) -> Counter:
    """The variants with every occurrence of the removed activities taken out (counts merged)."""
    drop = set(removed)
    out: Counter = Counter()
    for sequence, n in log_variants.items():
        out[tuple(a for a in sequence if a not in drop)] += n
    return out


@dataclass(frozen=True)
class ModelStats:
    """Size and fit of one BPMN model."""

    tasks: int
    gateways: int
    fitness: float | None


def _activities(log_variants: Counter) -> set[str]:
    return {a for sequence in log_variants for a in sequence}


def _per_case(log_variants: Counter) -> float:
    cases = sum(log_variants.values())
    return sum(len(s) * n for s, n in log_variants.items()) / cases if cases else 0.0


def compare(
    as_is_variants: Counter,
    to_be_variants: Counter,
    plan: RemovalPlan,
    figures: ProcessFigures,
    as_is: ModelStats,
    to_be: ModelStats,
) -> list[tuple[str, str, float | None, float | None, str, str]]:
    """As-is vs to-be rows: (key, label, as-is value, to-be value, as-is text, to-be text)."""
    cases = sum(as_is_variants.values())
    removed = set(plan.removed)
    touched = sum(n for s, n in as_is_variants.items() if removed.intersection(s))
    rows: list[tuple[str, str, float | None, float | None, str, str]] = []

    def add(key: str, label: str, before: float | None, after: float | None, fmt: str) -> None:
        def text(v: float | None) -> str:
            return "n/a" if v is None else format(v, fmt)

        rows.append((key, label, before, after, text(before), text(after)))

    add("Activities", "activities", len(_activities(as_is_variants)), len(_activities(to_be_variants)), ",d")
    add("Variants", "variants (distinct activity sequences)", len(as_is_variants), len(to_be_variants), ",d")
    add("EventsPerCase", "events per case (mean)", _per_case(as_is_variants), _per_case(to_be_variants), ".2f")
    if figures.scores_missing is None and cases:
        mots = sum(f.n_moments or 0 for f in figures.activities.values())
        kept = sum(f.n_moments or 0 for a, f in figures.activities.items() if a not in removed)
        add("MomentsPerCase", "moments of truth per case (mean)", mots / cases, kept / cases, ".2f")
    add("CasesWithRemovedStep", "cases that run a removed step", touched, 0, ",d")
    add("Tasks", "tasks in the model", as_is.tasks, to_be.tasks, ",d")
    add("Gateways", "gateways in the model", as_is.gateways, to_be.gateways, ",d")
    add("Fitness", "fitness (token-based replay on its own log)", as_is.fitness, to_be.fitness, ".3f")
    return rows


def to_be_documentation(
    process: str,
    plan: RemovalPlan,
    figures: ProcessFigures,
    rows: list[tuple[str, str, float | None, float | None, str, str]],
    noise_threshold: float,
) -> str:
    """The to-be process documentation: what was removed, why, how, and as-is vs to-be figures."""
    if plan.removed:
        head = f"To-be model of {process}: the as-is process without {len(plan.removed)} step(s): {', '.join(plan.removed)}."
    else:
        head = f"To-be model of {process}: no step removed, so it is the as-is model."
    if plan.removed:
        how = (
            "How: every case of the log with those steps taken out (the projected log), re-discovered with the "
            f"Inductive Miner infrequent (noise threshold {noise_threshold:g}), so the model is a sound block "
            "structure again rather than the as-is drawing with boxes deleted. Task figures are as measured in the as-is log."
        )
    else:
        how = f"How: nothing to take out, so the log is the as-is log (Inductive Miner infrequent, noise threshold {noise_threshold:g})."
    lines = [head, f"Chosen by: {plan.chosen_by}.", how, "", "As-is -> to-be:"]
    if plan.notice:
        lines[1:1] = [f"Notice: {plan.notice}"]
    lines += [f"- {label}: {before} -> {after}" for _, label, _, _, before, after in rows]
    cases = figures.n_cases
    if plan.removed:
        lines += ["", "Removed steps:"]
        for activity in plan.removed:
            f = figures.activities[activity]
            share = f"{100.0 * f.n_cases / cases:.1f}%" if cases else "n/a"
            text = f"- {activity}: {f.frequency:,} events in {f.n_cases:,} cases ({share})"
            if f.n_waits:
                text += (
                    f"; cases now wait {duration(f.wait_total_s)} in all before it (median {duration(f.wait_median_s)})"
                )
            if f.waste_score is not None:
                text += f"; waste score {f.waste_score:.2f}, recommendation {f.recommendation or 'none'}"
            if f.whatif_scope == "all" and f.whatif_hours_per_month is not None:
                text += (
                    f"; the waste what-if saves {f.whatif_hours_per_month:,.0f} case-hours of throughput time a month"
                )
                if f.whatif_mots_per_case is not None:
                    text += f" and {f.whatif_mots_per_case:.2f} moments of truth per case"
            lines.append(text + ".")
            if f.explanation:
                lines.append(f"  Why: {f.explanation}")
        lines.append(
            "Whether the waiting time before a removed step disappears with it depends on what that step waited for; "
            "the waste analysis' what-if figures estimate it."
        )
    kept = [a for a in plan.candidates if a not in plan.removed]
    if kept:
        why = "on the path of the most frequent variant" if plan.kept_path else "by bpmn.remove"
        lines += ["", f"Removal candidates kept {why} (marked with a note): {', '.join(kept)}."]
    if plan.unknown:
        lines += ["", f"bpmn.remove names activities that process {process} does not have: {', '.join(plan.unknown)}."]
    return "\n".join(lines)
