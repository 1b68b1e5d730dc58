"""Airflow's side of the alerts (docs/airflow.md, "Alerts"): the notifiers of a task that failed for
good and the deadline callback of a late run.

The DAG files attach them from the settings ``mining.orchestration.alerts`` gives; what an alert
says comes from ``mining.alerts``. E-mail goes through the SMTP provider's notifier, the webhook
through ``WebhookNotifier`` (a JSON POST to the URL kept in an Airflow connection). Failure
notifiers run in the task's worker; the deadline callback runs in the triggerer, so this module is
part of the installed package, not of the DAG folder.
"""

from __future__ import annotations

import asyncio
import socket

from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.sdk import AsyncCallback, BaseNotifier, Connection, DeadlineAlert, DeadlineReference

from mining import alerts as words

# The alert settings a deadline callback gets (JSON-serialisable: they are stored with the DAG).
CALLBACK_KEYS = ("project", "what", "email", "email_from", "smtp_conn_id", "webhook_conn_id", "deadline")


def on_failure(settings: dict) -> list[BaseNotifier]:
    """The notifiers of a task that failed for good, for the alert settings of its DAG (an empty
    list when no channel is set)."""
    notifiers: list[BaseNotifier] = []
    if settings["email"]:
        notifiers.append(AlertEmail(settings))
    if settings["webhook_conn_id"]:
        notifiers.append(WebhookNotifier(settings))
    return notifiers


def deadline(settings: dict) -> DeadlineAlert | None:
    """The deadline alert of a DAG: a run not finished ``deadline`` after it was queued calls
    ``late_run`` in the triggerer; None without a deadline or a channel."""
    if not settings["deadline_delta"] or not (settings["email"] or settings["webhook_conn_id"]):
        return None
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=settings["deadline_delta"],
        callback=AsyncCallback(late_run, kwargs={key: settings[key] for key in CALLBACK_KEYS}),
        name="late extraction" if settings["what"] != "mining" else "late mining run",
    )


async def late_run(context: dict, **settings) -> None:
    """Deadline callback (triggerer): tell every channel of ``settings`` that the run is late."""
    run = context.get("dag_run") or {}
    alert = words.late(
        settings["project"],
        settings["what"],
        dag_id=run.get("dag_id", "?"),
        run_id=run.get("dag_run_id") or run.get("run_id", "?"),
        queued_at=run.get("queued_at"),
        deadline=settings["deadline"],
        due=str((context.get("deadline") or {}).get("deadline_time")),
    )
    if settings["email"]:
        email = AlertEmail(settings, alert=alert)
        await email.async_notify(context)
    if settings["webhook_conn_id"]:
        await asyncio.to_thread(words.post, webhook_url(settings["webhook_conn_id"]), alert)


def failure_alert(settings: dict, context) -> words.Alert:
    """The alert of a failed task from its Airflow context."""
    ti = context.get("ti") or context.get("task_instance")
    error = context.get("exception")
    return words.failed(
        settings["project"],
        settings["what"],
        dag_id=ti.dag_id,
        run_id=context.get("run_id") or ti.run_id,
        task_id=ti.task_id,
        map_index=getattr(ti, "map_index", None),
        try_number=getattr(ti, "try_number", None),
        error=str(error) if error is not None else None,
        log_url=getattr(ti, "log_url", None),
    )


def webhook_url(conn_id: str) -> str:
    """The URL kept in the Airflow connection ``conn_id`` (``mining.alerts.webhook_url``)."""
    conn = Connection.get(conn_id)
    return words.webhook_url(conn.conn_type, conn.host, conn.port, conn.schema, conn.extra_dejson)


class AlertEmail(SmtpNotifier):
    """An alert by e-mail through the SMTP provider: the failure of the task in the context, or the
    given ``alert``. The sender is ``email_from``, else the connection's ``from_email``, else
    ``mot-alerts@<this host>``."""

    def __init__(self, settings: dict, alert: words.Alert | None = None, **kwargs):
        super().__init__(
            to=list(settings["email"]),
            from_email=settings["email_from"],
            smtp_conn_id=settings["smtp_conn_id"],
            **kwargs,
        )
        self.settings, self.alert = settings, alert

    def notify(self, context) -> None:
        """Send the failure of the context's task (worker side)."""
        self._fill(self.alert or failure_alert(self.settings, context))
        super().notify(context)

    def _fill(self, alert: words.Alert) -> None:
        # Set after Airflow rendered the template fields: an error text with '{{' stays as it is.
        self.subject, self.html_content = alert.subject, alert.html

    async def async_notify(self, context) -> None:
        """Send ``alert`` (triggerer side, a deadline)."""
        self._fill(self.alert)
        await super().async_notify(context)

    def _build_email_content(self, smtp, context) -> None:
        if self.from_email is None and smtp.from_email is None:
            self.from_email = f"mot-alerts@{socket.getfqdn()}"
        super()._build_email_content(smtp, context)


class WebhookNotifier(BaseNotifier):
    """An alert as a JSON POST to the webhook kept in the connection ``webhook_conn_id``."""

    def __init__(self, settings: dict, **kwargs):
        super().__init__(**kwargs)
        self.settings = settings

    def notify(self, context) -> None:
        """POST the failure of the context's task."""
        words.post(webhook_url(self.settings["webhook_conn_id"]), failure_alert(self.settings, context))
