"""Settings of the customer-effort analysis: the ``effort`` section of a project config."""

from __future__ import annotations

from pydantic import Field

from mining.config.base import Strict


class Effort(Strict):
    """How much a journey asks of the customer (docs/contributing.md walks through this analysis).

    ``high_effort_actions``: a case is *high effort* when the customer had to act (moments whose
    ``effort`` mark is set: a form, a reply, a call back) at least this many times.
    """

    high_effort_actions: int = Field(3, ge=1)
