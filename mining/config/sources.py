"""The ``sources`` section: where events come from (event-log files, business databases with mappings)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator

from mining.config.alerts import Alerts
from mining.config.base import DURATION, Name, Strict, identifier


class ColumnMap(Strict):
    """Which source columns hold the standard event fields (CSV, Parquet, SQL results).

    ``None`` means: recognise the column by its common names (see ``mining.sources.files``).
    """

    case_id: str | None = None
    activity: str | None = None
    ts: str | None = None
    resource: str | None = None
    lifecycle: str | None = None


class Mapping(Strict):
    """One extraction mapping: SQL over business tables that yields one event type.

    The query must return the columns ``case_id``, ``activity`` and ``ts``; ``resource`` and
    ``lifecycle`` are optional; every other column becomes an event attribute.
    """

    name: Name
    sql: str = Field(min_length=1)
    incremental_column: str | None = None
    # Change semantics (docs/airflow.md, "Change semantics"). ``key``: the result columns that
    # identify an event (default: case, activity and timestamp). ``deleted_column``: a column whose
    # true value marks a soft-deleted row. ``reconcile: full``: a full read of the mapping is the
    # truth, its events missing from it are removed. ``lookback``: how far behind the watermark an
    # incremental read starts ('2 days', '6 hours'; a number for a numeric column).
    key: list[str] | None = Field(default=None, min_length=1)
    deleted_column: str | None = None
    reconcile: Literal["full"] | None = None
    lookback: str | int | float | None = None

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        return identifier(value)

    @field_validator("lookback")
    @classmethod
    def _check_lookback(cls, value: str | int | float | None) -> str | int | float | None:
        if value is None or isinstance(value, int | float) and value >= 0:
            return value
        if isinstance(value, str) and LOOKBACK.fullmatch(value.strip()):
            return value.strip()
        raise ValueError(f"lookback {value!r}: write a duration such as '2 days' or '6 hours', or a number >= 0")

    @model_validator(mode="after")
    def _lookback_needs_watermark(self) -> Mapping:
        if self.lookback is not None and not self.incremental_column:
            raise ValueError(f"mapping {self.name!r}: lookback needs an incremental_column (it widens its read)")
        return self


LOOKBACK = DURATION  # a look-back duration: a number and a unit ('2 days', '90 minutes')


SourceKind = Literal["xes", "csv", "parquet", "sqlite", "postgres", "mysql", "ocel"]


class Source(Strict):
    """Where events come from: an event-log file or a business database with mappings."""

    name: Name
    kind: SourceKind
    process: Name = "default"
    path: str | None = None
    conn_id: str | None = None
    mappings: list[Mapping] = Field(default_factory=list)
    columns: ColumnMap = Field(default_factory=ColumnMap)
    delimiter: str | None = None
    timestamp_format: str | None = None
    ocel_object_type: str | None = None
    schedule: str | None = "@daily"  # cron or preset of the extraction DAG; null = manual runs only
    alerts: Alerts | None = None  # this source's own alert keys, replacing the project's one by one
    # A file source's ``path`` may also be a drop folder or a glob ('drops/*.csv'): each new or
    # changed file is loaded once (mining.sources.work_items).

    # The folders a path read from a config file must lie in (its folder and allowed_roots), set by
    # mining.config.project.resolve_paths, and the path they were set for. Private: no YAML key
    # can set them. A path put in place by code (the log given to `mot run LOG`, the demo's
    # generated database) is a different path, and is not confined.
    _roots: tuple[str, ...] | None = PrivateAttr(default=None)
    _roots_for: str | None = PrivateAttr(default=None)

    def confined_to(self, roots: tuple[str, ...]) -> Source:
        """A copy of this source whose files must lie in ``roots`` (resolved folders)."""
        copy = self.model_copy()
        copy._roots, copy._roots_for = roots, self.path
        return copy

    def outside_roots(self, path: str | Path) -> str | None:
        """Why ``path`` (a file of this source) may not be read, or None when it may.

        Symlinks are resolved first, so a link inside the folder that points outside it is outside.
        """
        if self._roots is None or self.path != self._roots_for:
            return None
        return outside(path, self._roots)

    @field_validator("name", "process")
    @classmethod
    def _check_names(cls, value: str) -> str:
        return identifier(value)

    @field_validator("conn_id")
    @classmethod
    def _check_conn_id(cls, value: str | None) -> str | None:
        # A URI here would put a password in the config (and in messages that name the id);
        # the message does not repeat the value for that reason.
        if value is None or re.fullmatch(r"[A-Za-z0-9_.-]{1,250}", value):
            return value
        raise ValueError(
            "not a connection id (use letters, digits, '_', '-' and '.'): credentials belong in the "
            "Airflow connection or the environment variable MOT_CONN_<ID>, never in the config"
        )

    @field_validator("schedule")
    @classmethod
    def _check_schedule(cls, value: str | None) -> str | None:
        presets = ("@once", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly")
        if value is None or value in presets or (not value.startswith("@") and len(value.split()) in (5, 6)):
            return value
        raise ValueError(
            f"{value!r} is not a schedule: use a cron expression such as '0 6 * * *', "
            f"one of {', '.join(presets)}, or null for manual runs only"
        )

    @model_validator(mode="after")
    def _kind_needs(self) -> Source:
        if self.kind in ("xes", "csv", "parquet", "sqlite", "ocel") and not self.path:
            raise ValueError(f"source {self.name!r} of kind {self.kind!r} needs 'path'")
        if self.kind in ("postgres", "mysql") and not self.conn_id:
            raise ValueError(f"source {self.name!r} of kind {self.kind!r} needs 'conn_id'")
        if self.kind in ("sqlite", "postgres", "mysql") and not self.mappings:
            raise ValueError(f"source {self.name!r} of kind {self.kind!r} needs 'mappings'")
        if self.kind == "ocel" and not self.ocel_object_type:
            raise ValueError(f"source {self.name!r} of kind 'ocel' needs 'ocel_object_type'")
        names = [m.name for m in self.mappings]
        if len(names) != len(set(names)):
            raise ValueError(f"source {self.name!r} has duplicate mapping names")
        return self


def outside(path: str | Path, roots: tuple[str, ...]) -> str | None:
    """A message when ``path``, symlinks resolved, lies in none of ``roots``; else None."""
    real = Path(path).resolve()
    if any(real.is_relative_to(root) for root in roots):
        return None
    return (
        f"{path} is outside the config's folder and its allowed_roots ({', '.join(roots)}); "
        "list its folder under the config key allowed_roots to read it"
    )
