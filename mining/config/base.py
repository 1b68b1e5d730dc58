"""What every config section shares: strict models (unknown keys are errors), names, the error type."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class ConfigError(ValueError):
    """A configuration file or value is invalid; the message names the file and the key."""


class Strict(BaseModel):
    """Base for config sections: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def identifier(value: str) -> str:
    """``value`` if it is a valid source / process / mapping name, else ValueError saying why."""
    if not IDENTIFIER.match(value):
        raise ValueError(
            f"{value!r} is not a valid name: use letters, digits and underscores, "
            "starting with a letter (at most 63 characters)"
        )
    return value


Name = Annotated[str, Field(min_length=1, max_length=63)]


# A duration: a number and a unit ('2 hours', '90 minutes', '1.5 days'); look-backs and deadlines.
DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(second|minute|hour|day|week)s?", re.IGNORECASE)


def duration(text: str) -> timedelta:
    """The timedelta of a duration such as '2 hours'; ValueError saying the form otherwise."""
    match = DURATION.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a duration: write a number and a unit, such as '2 hours' or '30 minutes'")
    amount, unit = float(match.group(1)), match.group(2).lower()
    return timedelta(**{f"{unit}s": amount})
