"""Settings of the removal-effect attribution: the ``attribution_markov`` section of a project config.

Documented in docs/moments.md ("Removal effect: drop-outs that would not happen without a moment").
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mining.config.base import Strict


class AttributionMarkov(Strict):
    """An absorbing Markov chain over the journeys (moment states -> drop-out / success / other).

    ``order``: a state is the last 1 or 2 moment states. ``memory``: ``poor_moments`` = a state also
    remembers which activities were poor earlier in the journey (without it a chain forgets an
    upstream poor moment at the next step); ``none`` = the plain chain. A richer chain is used only
    when at least ``min_supported_share`` of the state visits are at states that at least
    ``min_state_cases`` cases pass; otherwise it falls back (order 2 -> order 1 -> no memory) and the
    reason is recorded. Figures need at least ``min_dropout_cases`` drop-out cases and a second
    outcome class. Intervals: ``resamples`` bootstrap resamples of the cases from ``seed``, at the
    confidence level of ``moments.confidence_level``. An effect counts in the agreement notes when
    its interval is above 0 and it is at least ``min_share`` of all drop-outs.
    """

    order: Literal[1, 2] = 1
    memory: Literal["poor_moments", "none"] = "poor_moments"
    min_state_cases: int = Field(20, ge=1)
    min_supported_share: float = Field(0.9, gt=0.0, le=1.0)
    min_dropout_cases: int = Field(20, ge=1)
    resamples: int = Field(200, ge=0, le=10000)
    seed: int = Field(16, ge=0)
    min_share: float = Field(0.05, ge=0.0, lt=1.0)
