"""Mining's errors in Airflow's terms."""

from __future__ import annotations

from airflow.sdk.exceptions import AirflowFailException

from mining import orchestration as mot


def fail_fast(call, *args, **kwargs):
    """``call``, with mining's PermanentError as Airflow's fail-now exception (no retries)."""
    try:
        return call(*args, **kwargs)
    except mot.PermanentError as exc:
        raise AirflowFailException(str(exc)) from exc
