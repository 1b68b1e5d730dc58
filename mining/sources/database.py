"""Connection URIs of business databases: where they come from, how they are shown, and whether
the server answers.

Credentials never live in the config: a source names a connection id, and the URI comes from the
Airflow connection of that id (the DAG resolves it and passes it in) or, for the command line, from
the environment variable ``MOT_CONN_<ID>`` (or Airflow's own ``AIRFLOW_CONN_<ID>``). A URI is never
written into an error message, an audit row or a log line as it is: ``redact`` drops the password.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Mapping
from typing import TypeVar
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from mining.config import Source
from mining.settings import MachineSettings, SettingsError, connection_variables
from mining.settings import settings as machine_settings
from mining.sources.files import SourceError

# Airflow connection types / URI schemes per source kind, and the scheme connectorx expects.
SCHEMES = {
    "postgres": ({"postgres", "postgresql"}, "postgresql"),
    "mysql": ({"mysql", "mariadb"}, "mysql"),
}
DEFAULT_PORTS = {"postgres": 5432, "mysql": 3306}
REACH_TIMEOUT_S = 10.0
# PostgreSQL's SSLRequest: the server answers it with one byte ('S' or 'N') before any login.
PG_SSL_REQUEST = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")
MAX_RETRY_DELAY_S = 300.0
log = logging.getLogger(__name__)
T = TypeVar("T")


class SourceUnavailable(SourceError):
    """The source's server cannot be reached: worth retrying later, unlike a bad mapping."""


def uri_from_env(source: Source, environ: Mapping[str, str] | None = None) -> str:
    """The URI of ``source``'s connection from the environment; SourceError names the variables."""
    uri = _machine(environ).connection_uri(source.conn_id or "")
    if uri:
        return uri
    names = connection_variables(source.conn_id or "")
    raise SourceError(
        f"source {source.name!r}: no connection {source.conn_id!r}; set the environment variable "
        f"{names[0]} (or {names[1]}) to its URI, e.g. postgresql://user:password@host:5432/database"
    )


def connectorx_uri(source: Source, uri: str) -> str:
    """Normalise an Airflow-style URI (``postgres://``, ``mysql://``) for connectorx.

    Airflow's ``__extra__`` query parameter and other extras are dropped, except the ones the
    drivers understand (``sslmode`` and friends are kept as they are).
    """
    accepted, scheme = SCHEMES[source.kind]
    parts = urlsplit(uri)
    if parts.scheme.lower() not in accepted:
        raise SourceError(
            f"source {source.name!r}: connection {source.conn_id!r} is of type {parts.scheme!r}, "
            f"expected one of {', '.join(sorted(accepted))}"
        )
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "__extra__"]
    # quote, not urlencode's default quote_plus: the drivers do not read '+' as a space, and
    # 'options=-c statement_timeout=5000' must arrive with its space.
    return urlunsplit((scheme, parts.netloc, parts.path, urlencode(query, quote_via=quote), ""))


def redact(uri: str) -> str:
    """``uri`` without its password (``postgresql://user:***@host:5432/db``), safe to show."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    user = quote(unquote(parts.username or ""), safe="")
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def scrub(message: str, uri: str) -> str:
    """``message`` with the URI and its password replaced, for errors raised by drivers."""
    parts = urlsplit(uri)
    message = message.replace(uri, redact(uri))
    if parts.password:
        message = message.replace(parts.password, "***").replace(unquote(parts.password), "***")
    return message


def check_reachable(source: Source, uri: str, timeout: float = REACH_TIMEOUT_S) -> None:
    """Fail fast, with a clear message, when the database server does not accept connections.

    connectorx waits 30 s in its connection pool before it gives up on a server that is down; a
    plain TCP connect says the same in milliseconds, so a retrying task does not hang.
    """
    parts = urlsplit(uri)
    if not parts.hostname:  # a Unix socket (``postgresql:///db?host=/run/postgresql``): no TCP
        return
    host = parts.hostname
    port = parts.port or DEFAULT_PORTS[source.kind]
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            # A server that accepts the connection but never speaks (hung, overloaded, a
            # half-open proxy) would hold connectorx for 30 s: ask for its first protocol bytes.
            if source.kind == "postgres":
                sock.sendall(PG_SSL_REQUEST)
            if not sock.recv(1):
                raise ConnectionResetError(0, "the server closed the connection at once")
    except TimeoutError:
        raise SourceUnavailable(
            f"source {source.name!r}: the {source.kind} server at {host}:{port} (connection "
            f"{source.conn_id!r}) does not answer: no reply within {timeout:g} s"
        ) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SourceUnavailable(
            f"source {source.name!r}: the {source.kind} server at {host}:{port} (connection "
            f"{source.conn_id!r}) does not answer: {reason}"
        ) from None


def retry_settings(environ: Mapping[str, str] | None = None) -> tuple[int, float]:
    """Retries after a first failed attempt, and the first delay in seconds (it doubles each time).

    From ``MOT_SOURCE_RETRIES`` (default 2) and ``MOT_SOURCE_RETRY_DELAY_SECONDS`` (default 5);
    a bad value is a SourceError naming the variable.
    """
    machine = _machine(environ)
    return machine.source_retries, machine.source_retry_delay_seconds


def _machine(environ: Mapping[str, str] | None) -> MachineSettings:
    """The machine settings (``mining.settings``); a bad one is a SourceError here, as it always was."""
    try:
        return machine_settings(environ)
    except SettingsError as exc:
        raise SourceError(str(exc)) from None


def with_retries(call: Callable[[], T], what: str, retries: int | None = None, delay_s: float | None = None) -> T:
    """``call()``, tried again after SourceUnavailable with exponential back-off (capped at 5 min).

    Other errors (a bad mapping, a missing table) are not retried: trying again cannot fix them.
    After the last attempt the error says how many attempts were made.
    """
    default_retries, default_delay = retry_settings()
    retries = default_retries if retries is None else retries
    delay = default_delay if delay_s is None else delay_s
    for attempt in range(1, retries + 2):
        try:
            return call()
        except SourceUnavailable as exc:
            if attempt > retries:
                raise SourceUnavailable(f"{exc} (gave up after {attempt} attempt{'s' * (attempt > 1)})") from None
            wait = min(delay * 2 ** (attempt - 1), MAX_RETRY_DELAY_S)
            log.warning("%s: attempt %d of %d failed: %s; trying again in %g s", what, attempt, retries + 1, exc, wait)
            time.sleep(wait)
    raise AssertionError("unreachable")  # the loop returns or raises
