"""The ``alerts`` section: who hears of a failed or late extraction, project-wide and per source.

Failures go out through Airflow notifiers when a task has failed for good (after its retries): an
e-mail through Airflow's SMTP notifier (the SMTP connection ``smtp_conn_id``) and a JSON POST to a
webhook whose URL lives in an Airflow connection (``webhook_conn_id``), so no address with a token
in it sits in the config. ``deadline`` is Airflow's deadline alert: a run of a source's extraction
that has not finished that long after it was queued sends a "late" alert through the same channels.
A source's own ``alerts`` replace the project's keys one by one (``effective``).
"""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic import Field, field_validator

from mining.config.base import Strict, duration

CONN_ID = re.compile(r"[A-Za-z0-9_.-]{1,250}")
EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+")


def address(value: str) -> str:
    """``value`` if it looks like an e-mail address, else ValueError."""
    if not EMAIL.fullmatch(value):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value


class Alerts(Strict):
    """Alert channels and the extraction deadline (project defaults, or one source's own)."""

    email: list[str] = Field(default_factory=list)
    email_from: str | None = None  # None: the SMTP connection's from_email, else mot-alerts@<this host>
    smtp_conn_id: str = "smtp_default"
    webhook_conn_id: str | None = None
    deadline: str | None = None

    @field_validator("email")
    @classmethod
    def _check_email(cls, value: list[str]) -> list[str]:
        return [address(v) for v in value]

    @field_validator("email_from")
    @classmethod
    def _check_from(cls, value: str | None) -> str | None:
        return address(value) if value is not None else None

    @field_validator("smtp_conn_id", "webhook_conn_id")
    @classmethod
    def _check_conn_id(cls, value: str | None) -> str | None:
        # A URL here would put a webhook token in the config and in messages; the value is not repeated.
        if value is None or CONN_ID.fullmatch(value):
            return value
        raise ValueError("not a connection id (letters, digits, '_', '-', '.'): the URL belongs in the connection")

    @field_validator("deadline")
    @classmethod
    def _check_deadline(cls, value: str | None) -> str | None:
        if value is not None and duration(value) <= timedelta(0):
            raise ValueError(f"deadline {value!r} must be longer than zero")
        return value

    @property
    def deadline_delta(self) -> timedelta | None:
        """The deadline as a timedelta, or None when there is none."""
        return duration(self.deadline) if self.deadline else None

    @property
    def channels(self) -> bool:
        """Whether an alert has anywhere to go."""
        return bool(self.email or self.webhook_conn_id)


def effective(project: Alerts, own: Alerts | None) -> Alerts:
    """The alerts of a source: the project's, with the keys the source set itself replacing them."""
    if own is None:
        return project
    return project.model_copy(update={key: getattr(own, key) for key in own.model_fields_set})
