"""The explorer's filters: parsed from a query string, validated, turned into SQL with bound values.

Keys (values of one key are OR-ed, different keys AND-ed):

- ``since``, ``until``: an ISO date or datetime (naive means UTC); ``since`` is inclusive, ``until``
  exclusive, and a date ``until`` includes its whole day. ``timeframe`` says what must fall in the
  window (Disco's semantics): ``intersecting`` (default: the case overlaps it), ``contained`` (starts
  and ends in it), ``started`` (starts in it), ``completed`` (ends in it).
- ``case.<attribute>=value``, ``event.<attribute>=value``: cases with an event holding the value.
- ``variant=N``: the N-th variant of the process's unfiltered variant list (1 = most frequent).
- ``outcome=value``: the case outcome the moments analysis recorded (``case_outcomes.outcome``).
- ``with=Activity`` (cases with every listed activity), ``without=Activity`` (with none of them).
- ``min_duration``, ``max_duration``: throughput time, in seconds or as ``2d``, ``3h``, ``90m``, ``30s``.

A malformed or unknown parameter raises ``FilterError(key, message)``; names (attributes,
activities, outcomes) must exist in the warehouse (``Catalog``), so they are checked, never trusted.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Literal
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field

from mining.explore.catalog import COLUMNS, Catalog, json_path
from mining.warehouse.sqlfiles import sections, sql_file

TIMEFRAMES = ("intersecting", "contained", "started", "completed")
# Which case timestamp each bound of the window is held against, per time frame.
WINDOW = {
    "intersecting": ("since_end", "until_start"),
    "contained": ("since_start", "until_end"),
    "started": ("since_start", "until_start"),
    "completed": ("since_end", "until_end"),
}
SINGLE = ("since", "until", "timeframe", "min_duration", "max_duration")
REPEATABLE = ("variant", "outcome", "with", "without")
MAX_VALUES = 200  # values of one key: a longer list is a mistake or an attack, not a filter
MAX_TEXT = 500  # characters of one value
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw]?)")


class FilterError(ValueError):
    """A parameter the explorer cannot accept: ``key`` names it, ``message`` says why."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key, self.message = key, message


class Filters(BaseModel):
    """A validated set of filters (empty: every case of the process)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    since: dt.datetime | dt.date | None = None
    until: dt.datetime | dt.date | None = None
    timeframe: Literal["intersecting", "contained", "started", "completed"] = "intersecting"
    case: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    event: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    variant: tuple[int, ...] = ()
    outcome: tuple[str, ...] = ()
    with_: tuple[str, ...] = Field((), alias="with")
    without: tuple[str, ...] = ()
    min_duration: float | None = Field(None, ge=0)
    max_duration: float | None = Field(None, ge=0)

    def to_query(self) -> str:
        """The canonical query string of these filters (sorted, defaults left out), for shareable URLs."""
        return urlencode([(k, v) for k, v, _ in self._pairs()])

    def chips(self) -> list[dict]:
        """One chip per key and value: ``{"key", "value", "label"}`` (removing a chip drops that value)."""
        return [{"key": k, "value": v, "label": label} for k, v, label in self._pairs()]

    def _pairs(self) -> list[tuple[str, str, str]]:
        found = []
        if self.since is not None:
            found.append(("since", _iso(self.since), f"From {_iso(self.since)} ({self.timeframe})"))
        if self.until is not None:
            found.append(("until", _iso(self.until), f"Until {_iso(self.until)} ({self.timeframe})"))
        if self.timeframe != "intersecting" and (self.since or self.until):
            found.append(("timeframe", self.timeframe, f"Cases {self.timeframe}"))
        for kind, attrs in (("case", self.case), ("event", self.event)):
            for name in sorted(attrs):
                found += [(f"{kind}.{name}", v, f"{name} = {v}") for v in sorted(attrs[name])]
        found += [("variant", str(n), f"Variant {n}") for n in sorted(self.variant)]
        found += [("outcome", o, f"Outcome {o}") for o in sorted(self.outcome)]
        found += [("with", a, f"With {a}") for a in sorted(self.with_)]
        found += [("without", a, f"Without {a}") for a in sorted(self.without)]
        if self.min_duration is not None:
            found.append(("min_duration", _num(self.min_duration), f"Throughput ≥ {duration_text(self.min_duration)}"))
        if self.max_duration is not None:
            found.append(("max_duration", _num(self.max_duration), f"Throughput ≤ {duration_text(self.max_duration)}"))
        return found


def parse_filters(items: Iterable[tuple[str, str]], catalog: Catalog, other_keys: Iterable[str] = ()) -> Filters:
    """The filters of a query string's ``(key, value)`` pairs, checked against ``catalog``.

    ``other_keys`` are the endpoint's own parameters (validated by the endpoint); any other key
    that is not a filter raises ``FilterError``.
    """
    other = set(other_keys)
    single: dict[str, str] = {}
    lists: dict[str, list[str]] = {k: [] for k in REPEATABLE}
    attrs: dict[str, dict[str, list[str]]] = {"case": {}, "event": {}}
    for key, value in items:
        if key in other:
            continue
        if len(value) > MAX_TEXT:
            raise FilterError(key, f"a value may have at most {MAX_TEXT} characters")
        kind, dot, name = key.partition(".")
        if dot and kind in attrs:
            attrs[kind].setdefault(_attribute(key, kind, name, catalog), []).append(value)
        elif key in SINGLE:
            if key in single:
                raise FilterError(key, "may be given once")
            single[key] = value
        elif key in lists:
            lists[key].append(value)
        else:
            raise FilterError(key, "unknown parameter")
    for key, values in [*lists.items(), *((f"{k}.{n}", v) for k in attrs for n, v in attrs[k].items())]:
        if len(values) > MAX_VALUES:
            raise FilterError(key, f"at most {MAX_VALUES} values")
    since, until = _when("since", single.get("since")), _when("until", single.get("until"))
    if since is not None and until is not None and _instant(until, end=True) <= _instant(since):
        raise FilterError("until", "must be later than since")
    low, high = (
        _duration("min_duration", single.get("min_duration")),
        _duration("max_duration", single.get("max_duration")),
    )
    if low is not None and high is not None and high < low:
        raise FilterError("max_duration", "must not be less than min_duration")
    return Filters(
        since=since,
        until=until,
        timeframe=_choice("timeframe", single.get("timeframe", "intersecting"), TIMEFRAMES),
        case={n: tuple(sorted(set(v))) for n, v in attrs["case"].items()},
        event={n: tuple(sorted(set(v))) for n, v in attrs["event"].items()},
        variant=tuple(sorted({_rank(v, catalog.n_variants) for v in lists["variant"]})),
        outcome=_known("outcome", lists["outcome"], catalog.outcomes, "outcome recorded for this process"),
        with_=_known("with", lists["with"], catalog.activities, "activity of this process"),
        without=_known("without", lists["without"], catalog.activities, "activity of this process"),
        min_duration=low,
        max_duration=high,
    )


def case_set_sql(filters: Filters, catalog: Catalog) -> tuple[str, dict]:
    """The SELECT of the filtered case ids of ``catalog.process`` and its bound parameters."""
    parts = code_sections("filters")
    sql, params = [parts["base"]], {"process": catalog.process}
    since_part, until_part = WINDOW[filters.timeframe]
    if filters.since is not None:
        sql.append(parts[since_part])
        params["since"] = _instant(filters.since)
    if filters.until is not None:
        sql.append(parts[until_part])
        params["until"] = _instant(filters.until, end=True)
    n = 0
    for kind, attrs, names in (
        ("case", filters.case, catalog.case_attributes),
        ("event", filters.event, catalog.event_attributes),
    ):
        for name, values in sorted(attrs.items()):
            key = names[name]
            part = f"attribute_{key}" if kind == "event" and key in COLUMNS else "attribute_json"
            sql.append(_numbered(parts[part], n))
            params[f"values_{n}"] = list(values)
            if part == "attribute_json":
                params[f"key_{n}"] = json_path(key)
            n += 1
    for part, value in (("variant", filters.variant), ("outcome", filters.outcome)):
        if value:
            sql.append(parts[part])
            params["ranks" if part == "variant" else "outcomes"] = list(value)
    for part, value in (("with", filters.with_), ("without", filters.without)):
        if value:
            sql.append(parts[part])
            params[part] = list(value)
    for part in ("min_duration", "max_duration"):
        if getattr(filters, part) is not None:
            sql.append(parts[part])
            params[part] = getattr(filters, part)
    return "\n".join(sql), params


def materialise_sql() -> str:
    """The statement head that stores the case set as the temp table ``explore_cases``."""
    return code_sections("filters")["materialise"]


def code_sections(name: str) -> dict[str, str]:
    """The ``-- @section`` parts of ``mining/explore/sql/<name>.sql`` without their comment lines:
    parts are put together into one statement, and a comment ending a part would swallow what follows."""
    return {
        part: "\n".join(line for line in text.splitlines() if line.strip() and not line.strip().startswith("--"))
        for part, text in sections(sql_file("mining.explore", name)).items()
    }


def _numbered(sql: str, n: int) -> str:
    """An attribute part with its parameters numbered (``$key`` -> ``$key_3``), one set per key."""
    return re.sub(r"\$(key|values)\b", lambda m: f"${m.group(1)}_{n}", sql)


def _attribute(key: str, kind: str, name: str, catalog: Catalog) -> str:
    known = catalog.case_attributes if kind == "case" else catalog.event_attributes
    if name not in known:
        listed = ", ".join(sorted(known)[:30]) or "none"
        raise FilterError(key, f"no {kind} attribute {name!r} in this process (known: {listed})")
    return name


def _when(key: str, text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return dt.date.fromisoformat(text)
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise FilterError(key, "expected an ISO date (2012-01-31) or datetime (2012-01-31T12:00:00Z)") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _instant(value: dt.date, end: bool = False) -> dt.datetime:
    """A date or datetime as an instant in UTC; a date ``until`` is the start of the next day."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC)
    day = value + dt.timedelta(days=1) if end else value
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _choice(key: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise FilterError(key, f"expected one of {', '.join(allowed)}")
    return value


def _rank(text: str, n_variants: int) -> int:
    if not text.isdigit() or not 1 <= int(text) <= n_variants:
        raise FilterError("variant", f"expected a variant rank from 1 to {n_variants}")
    return int(text)


def _known(key: str, values: list[str], known: tuple[str, ...], what: str) -> tuple[str, ...]:
    for value in values:
        if value not in known:
            raise FilterError(key, f"{value!r} is not an {what}")
    return tuple(sorted(set(values)))


def _duration(key: str, text: str | None) -> float | None:
    if text is None:
        return None
    match = _DURATION.fullmatch(text.strip().lower())
    if not match:
        raise FilterError(key, "expected a duration >= 0: seconds, or a number with s, m, h, d or w (2d, 3h, 90m)")
    return float(match.group(1)) * UNITS[match.group(2)]


def duration_text(seconds: float) -> str:
    """A duration for a label: the largest unit that divides it, else seconds."""
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def _iso(value: dt.date) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _num(value: float) -> str:
    return f"{value:g}" if value != int(value) else str(int(value))
