"""What every config section shares: strict models (unknown keys are errors), names, the error type."""

from __future__ import annotations

import re
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
