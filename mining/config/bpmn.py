"""Settings of the BPMN export: the ``bpmn`` section of a project config."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from mining.config.base import Strict

HEX_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
# The characters the loader quarantines in an activity (mining/warehouse/sql/stage_events.sql).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class Bpmn(Strict):
    """How the as-is and to-be BPMN files are drawn and which steps the to-be model drops.

    ``remove``: activities to leave out of the to-be model. ``None`` (the default) takes the
    waste analysis' removal candidates, the activities whose recommendation is ``remove``; an
    empty list keeps every activity (the to-be model is then the as-is model re-discovered).
    Colours are the ``#rrggbb`` values that bpmn.io and Camunda Modeler paint (the pairs of the
    bpmn-js colour picker by default: blue for moments of truth, red for removal candidates).
    """

    remove: list[str] | None = None
    mot_fill: str = "#BBDEFB"
    mot_stroke: str = "#0D4372"
    removal_fill: str = "#FFCDD2"
    removal_stroke: str = "#831311"
    # Inductive Miner noise threshold of the to-be re-discovery; None = discovery.imf_noise_threshold.
    to_be_noise_threshold: float | None = Field(None, ge=0.0, le=1.0)
    # Token-based replay of a model on a log with thousands of variants takes minutes: the to-be
    # model's fitness (and the as-is one's when discovery did not store it) is measured only up to
    # this many variants, and reported as not measured above it.
    fitness_max_variants: int = Field(1000, ge=0)

    @field_validator("mot_fill", "mot_stroke", "removal_fill", "removal_stroke")
    @classmethod
    def _check_colour(cls, value: str) -> str:
        if not HEX_COLOUR.match(value):
            raise ValueError(f"{value!r} is not a colour: use '#rrggbb', for example '#BBDEFB'")
        return value.upper()

    @field_validator("remove")
    @classmethod
    def _check_remove(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        # What can be known before the log is read. Whether each name is an activity of the process
        # is checked right after the prepare step (mining.bpmn.step.check_remove).
        blank = [i for i, name in enumerate(value) if not name.strip()]
        if blank:
            raise ValueError(f"activity names must not be empty (item {blank[0]})")
        for i, name in enumerate(value):
            if CONTROL.search(name):
                raise ValueError(
                    f"item {i} ({name!r}) holds a control character: no activity can (such events are quarantined at load)"
                )
            if name != name.strip(" "):
                raise ValueError(
                    f"item {i} ({name!r}) starts or ends with a space, which no activity does (the loader trims "
                    "names): write it without the spaces"
                )
        return sorted(set(value))
