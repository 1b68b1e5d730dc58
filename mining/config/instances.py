"""The ``instances`` section: how events become activity instances (docs/instances.md).

An activity instance is one occurrence of an activity with its lifecycle events merged (schedule,
start, complete), or one interval event with its start in an attribute. Moments of truth, rework
and waits are counted on instances; the raw event DFG and variants stay pm4py's.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from mining.config.base import Strict

LIFECYCLE_FIELD = "lifecycle"


class Instances(Strict):
    """The classifier and the lifecycle transitions that open and close an instance."""

    # The fields whose values, joined with '+', name an activity (as XES classifiers do): 'activity',
    # 'lifecycle', 'resource' or any event attribute. With 'lifecycle' in it every event is its own
    # instance (each transition is then an activity of its own).
    classifier: list[str] = Field(default_factory=lambda: ["activity"], min_length=1)
    # Lifecycle transitions (case-insensitive) that come before the work and after it. Every other
    # transition, and none, closes an instance: 'complete', and events without a lifecycle.
    schedule: list[str] = Field(default_factory=lambda: ["schedule", "assign", "reassign"])
    start: list[str] = Field(default_factory=lambda: ["start", "resume"])
    # The attribute that holds an interval event's start (its timestamp is the end); None: none.
    start_timestamp: str | None = "start_timestamp"

    @field_validator("classifier")
    @classmethod
    def _no_repeats(cls, value: list[str]) -> list[str]:
        if len(value) != len(set(value)):
            raise ValueError(f"the classifier names a field twice: {value}")
        return value

    @field_validator("schedule", "start")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [v.lower() for v in value]

    @property
    def pairs_lifecycle(self) -> bool:
        """Whether lifecycle events merge into instances (not when the classifier names the lifecycle)."""
        return LIFECYCLE_FIELD not in self.classifier
