"""What an alert says and how a webhook gets it, without Airflow (docs/airflow.md, "Alerts").

The Airflow side (``mot_airflow.alerts``) takes the values out of a task's or a deadline's context
and calls these. An alert names the project, the source (or the mining run), the DAG, the run, the
task and the error, and links to the task's log; the error is the task's own message, which
never holds a password (mining.sources redacts URIs). The webhook payload carries the same fields
and a ``text`` line, which chat webhooks (Slack, Mattermost, Teams workflows) show as it is.
"""

from __future__ import annotations

import html
import json
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

WEBHOOK_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Alert:
    """One alert: its subject line, its plain text and the fields a webhook gets."""

    event: str  # "failed" or "late"
    subject: str
    text: str
    fields: dict = field(default_factory=dict)

    @property
    def payload(self) -> dict:
        """The JSON body of the webhook POST."""
        return {"event": self.event, "text": f"{self.subject}\n{self.text}", **self.fields}

    @property
    def html(self) -> str:
        """The e-mail body: the text, escaped, line for line."""
        return "<pre>" + html.escape(self.text) + "</pre>"


def failed(
    project: str,
    what: str,
    *,
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int | None = None,
    try_number: int | None = None,
    error: str | None = None,
    log_url: str | None = None,
) -> Alert:
    """The alert for a task that failed for good (after its retries). ``what``: "source 'crm'" or
    "mining"."""
    task = task_id if map_index in (None, -1) else f"{task_id}[{map_index}]"
    fields = {
        "project": project,
        "what": what,
        "dag_id": dag_id,
        "run_id": run_id,
        "task_id": task_id,
        "map_index": map_index,
        "try_number": try_number,
        "error": error or "(no message)",
        "log_url": log_url,
    }
    lines = [
        f"Project {project}: {what}: task {task} of DAG {dag_id} failed (try {try_number}).",
        f"Run: {run_id}",
        f"Error: {fields['error']}",
    ]
    if log_url:
        lines.append(f"Log: {log_url}")
    return Alert("failed", f"[mot] {project}: {what} failed in {task}", "\n".join(lines), fields)


def late(project: str, what: str, *, dag_id: str, run_id: str, queued_at: str | None, deadline: str, due: str) -> Alert:
    """The alert for a run that has not finished by its deadline (``deadline``: '2 hours')."""
    fields = {
        "project": project,
        "what": what,
        "dag_id": dag_id,
        "run_id": run_id,
        "queued_at": queued_at,
        "deadline": deadline,
        "due": due,
    }
    text = (
        f"Project {project}: {what}: run {run_id} of DAG {dag_id} has not finished {deadline} after it was "
        f"queued ({queued_at}); it was due at {due}. The run goes on; this alert says it is late."
    )
    return Alert("late", f"[mot] {project}: {what} is late ({deadline})", text, fields)


def webhook_url(conn_type: str | None, host: str | None, port: int | None, schema: str | None, extra: dict) -> str:
    """The URL of a webhook kept in an Airflow connection: its extra ``url`` if given, else the
    connection's parts with the path as written (Airflow's own ``get_uri`` would escape its
    slashes) and the other extras as the query string."""
    if extra.get("url"):
        return str(extra["url"])
    if not host:
        raise ValueError("the webhook connection has neither a host nor an extra 'url'")
    if host.startswith(("http://", "https://")):
        return host
    scheme = conn_type if conn_type in ("http", "https") else "https"
    netloc = f"{host}:{port}" if port else host
    query = urllib.parse.urlencode({k: v for k, v in extra.items() if isinstance(v, str)})
    return urllib.parse.urlunsplit((scheme, netloc, "/" + (schema or "").lstrip("/"), query, ""))


def post(url: str, alert: Alert, timeout: float = WEBHOOK_TIMEOUT_S) -> int:
    """POST the alert's payload as JSON to ``url``; the HTTP status (an error status raises)."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ValueError("a webhook URL must be http or https")  # urlopen would also read file: URLs
    body = json.dumps(alert.payload, default=str).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) from a connection
        return response.status
