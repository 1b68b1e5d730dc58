"""The ``discovery`` section: pm4py's Inductive Miner infrequent and Heuristics Miner settings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mining.config.base import Strict


class Discovery(Strict):
    """Process discovery settings (pm4py's Inductive Miner infrequent and Heuristics Miner)."""

    imf_noise_threshold: float = Field(0.2, ge=0.0, le=1.0)
    heuristics_dependency_threshold: float = Field(0.5, ge=0.0, le=1.0)
    heuristics_and_threshold: float = Field(0.65, ge=0.0, le=1.0)
    heuristics_loop_two_threshold: float = Field(0.5, ge=0.0, le=1.0)
    algorithms: list[Literal["imf", "heuristics"]] = Field(default_factory=lambda: ["imf", "heuristics"])
    # ETConformance precision replays every distinct prefix of the log: minutes on logs with
    # thousands of variants. Above this many variants it is skipped and the reason recorded.
    precision_max_variants: int = Field(1000, ge=0)
