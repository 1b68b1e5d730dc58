"""From journeys to the rows of ``dropout_removal``: evidence rules, the chain, effects, the lift beside.

``attribute(journeys, factors, settings, level)`` is a pure function (no warehouse): the step reads
the journeys and the lift ranking with SQL and writes what this returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mining.attribution.chain import Journey, build_chain, group_journeys, support
from mining.attribution.removal import MOMENT, POOR_VARIANT, Target, bootstrap, effects, passes, targets_of
from mining.config.attribution_markov import AttributionMarkov
from mining.warehouse.figures import stable_figure


@dataclass(frozen=True)
class Factor:
    """One row of the lift ranking (dropout_attribution)."""

    kind: str  # poor_score | repeated | long_wait | attribute
    activity: str
    lift: float
    ci_low: float
    rank: int
    echo_of: str | None


def evidence(groups: Sequence[Journey], weights: np.ndarray, settings: AttributionMarkov) -> str | None:
    """'not measurable: <reason>' for the whole process, or None when the chain may speak."""
    ends = {}
    for j, w in zip(groups, weights, strict=True):
        ends[j.end] = ends.get(j.end, 0) + int(w)
    n_dropout = ends.get("dropout", 0)
    if not groups:
        return "not measurable: no cases"
    if not any(j.moments for j in groups):
        return "not measurable: no moments of truth in the journeys"
    if n_dropout == 0:
        if set(ends) == {"other"}:
            return "not measurable: no outcome events (every case ends 'other' or 'open'); define outcome rules"
        return "not measurable: no drop-out cases (no event matched a drop-out rule)"
    if len(ends) == 1:
        return "not measurable: one outcome class only (every case is a drop-out)"
    if n_dropout < settings.min_dropout_cases:
        return f"not measurable: {n_dropout} drop-out cases, at least {settings.min_dropout_cases} needed"
    return None


def choose_chain(groups: list[Journey], weights: np.ndarray, settings: AttributionMarkov):
    """The richest chain the data support, from the configured one down to order 1 without memory."""
    wanted = [(settings.order, settings.memory == "poor_moments")]
    if settings.order == 2:
        wanted.append((1, wanted[0][1]))
    if wanted[-1] != (1, False):
        wanted.append((1, False))
    notes = []
    for order, memory in wanted:
        chain = build_chain(groups, weights, order, memory)
        share = support(chain, settings.min_state_cases)
        if share >= settings.min_supported_share or (order, memory) == (1, False):
            return chain, "; ".join(notes) or None
        notes.append(
            f"{describe(order, memory)} not used: {share:.0%} of state visits are at states with at least "
            f"{settings.min_state_cases} cases (needs {settings.min_supported_share:.0%})"
        )
    raise AssertionError("unreachable")


def describe(order: int, memory: bool, n_states: int | None = None) -> str:
    text = f"order {order}, " + ("memory of poor moments" if memory else "no memory")
    return text if n_states is None else f"{text}, {n_states} states"


def matching_factor(target: Target, factors: Sequence[Factor]) -> Factor | None:
    """Poor variant of X <-> the best 'poor_score' or 'long_wait' factor at X; moment X <-> the best factor at X."""
    kinds = {"poor_score", "long_wait"} if target.kind == POOR_VARIANT else None
    found = [f for f in factors if f.activity == target.activity and (kinds is None or f.kind in kinds)]
    return min(found, key=lambda f: f.rank) if found else None


def agreement(row: dict, factor: Factor | None, min_share: float) -> str | None:
    """A short note where the two methods disagree (or agree that there is an effect)."""
    if not row["measurable"]:
        return None
    effect = row["ci_low"] is not None and row["ci_low"] > 0 and row["share_of_dropouts"] >= min_share
    through = row["n_dropout_through"] / row["n_dropout"]
    lifted = factor is not None and factor.ci_low > 1
    echo = f" (the lift ranking calls it an echo of {factor.echo_of})" if lifted and factor.echo_of else ""
    if effect and lifted:
        return "agree: over-represented in drop-outs, and drop-outs fall without it" + echo
    if lifted and through < min_share:
        return "high lift but few drop-outs pass through it: over-represented, small effect" + echo
    if lifted:
        return (
            "high lift but no clear removal effect in the chain: the journeys after it end alike without it "
            "(exposure or an upstream cause explains the lift)" + echo
        )
    if effect and factor is None:
        return "drop-outs fall without it, but the lift ranking has no factor here (too few cases, or not tested)"
    if effect:
        return "drop-outs fall without it, but the lift is ~1: its effect runs along the journeys after it"
    if through >= 0.5:
        return "many drop-outs pass through it but the lift is ~1 and the removal effect is not clearly above 0: on the main path, not a cause"
    return None


def attribute(
    journeys: Sequence[Journey], factors: Sequence[Factor], settings: AttributionMarkov, level: float
) -> list[dict]:
    """The rows of dropout_removal for one process (without the process column), sorted."""
    groups, weights = group_journeys(journeys)
    n_cases = int(weights.sum())
    n_dropout = int(sum(w for j, w in zip(groups, weights, strict=True) if j.end == "dropout"))
    reason = evidence(groups, weights, settings)
    if not any(j.moments for j in groups):
        return [_empty_row(Target(MOMENT, "(none)"), reason, n_cases, n_dropout, "no chain", None)]
    chain, note = choose_chain(groups, weights, settings) if reason is None else (None, None)
    if chain is None:
        chain = build_chain(groups, weights, 1, False)
    name = describe(chain.order, chain.memory, chain.n_states)
    targets = targets_of(chain)
    through = passes(chain, targets)
    if reason is not None:
        found = effects(chain, weights, targets, through)
        return [
            _empty_row(t, reason, n_cases, n_dropout, name, None, found, k, matching_factor(t, factors))
            for k, t in enumerate(targets)
        ]
    found = effects(chain, weights, targets, through)
    low, high = bootstrap(chain, targets, through, settings.resamples, settings.seed, level)
    rows = []
    for k, t in enumerate(targets):
        factor = matching_factor(t, factors)
        if t.kind == MOMENT and chain.order == 1 and not chain.memory:
            why = (
                "not measurable: a first-order chain without memory keeps every absorption probability when a "
                "state is skipped (state elimination); see the poor variants"
            )
            rows.append(_empty_row(t, why, n_cases, n_dropout, name, note, found, k, factor))
            continue
        avoided = float(found.avoided[k])
        row = _base_row(t, n_cases, n_dropout, name, note, found, k, factor) | {
            "measurable": True,
            "reason": None,
            "dropouts_avoided": avoided,
            "ci_low": None if np.isnan(low[k]) else float(low[k]),
            "ci_high": None if np.isnan(high[k]) else float(high[k]),
            "share_of_dropouts": avoided / n_dropout,
            "p_dropout_without": float(found.p_without[k]),
        }
        row["agreement"] = agreement(row, factor, settings.min_share)
        rows.append(row)
    for kind in (MOMENT, POOR_VARIANT):
        ranked = [r for r in rows if r["kind"] == kind and r["measurable"]]
        # Ties broken by the figure as stored (12 significant digits), then the name: deterministic.
        ranked.sort(key=lambda r: (-stable_figure(r["dropouts_avoided"]), r["activity"]))
        for i, r in enumerate(ranked, 1):
            r["rank"] = i
    return sorted(rows, key=lambda r: (r["kind"], r["activity"]))


def _base_row(t, n_cases, n_dropout, chain, note, found=None, k=None, factor=None) -> dict:
    return {
        "kind": t.kind,
        "activity": t.activity,
        "state": t.state,
        "rank": None,
        "measurable": False,
        "reason": None,
        "dropouts_avoided": None,
        "ci_low": None,
        "ci_high": None,
        "share_of_dropouts": None,
        "p_dropout": None if found is None else float(found.p_dropout),
        "p_dropout_without": None,
        "n_cases": n_cases,
        "n_dropout": n_dropout,
        "n_cases_through": 0 if found is None else int(found.n_cases_through[k]),
        "n_dropout_through": 0 if found is None else int(found.n_dropout_through[k]),
        "lift_factor": None if factor is None else f"{factor.kind} at {factor.activity}",
        "lift_rank": None if factor is None else factor.rank,
        "lift": None if factor is None else factor.lift,
        "lift_ci_low": None if factor is None else factor.ci_low,
        "echo_of": None if factor is None else factor.echo_of,
        "agreement": None,
        "chain": chain,
        "chain_note": note,
    }


def _empty_row(t, reason, n_cases, n_dropout, chain, note, found=None, k=None, factor=None) -> dict:
    """A row without figures: 'not measurable: <reason>' (never a default number)."""
    return _base_row(t, n_cases, n_dropout, chain, note, found, k, factor) | {"reason": reason, "p_dropout": None}
