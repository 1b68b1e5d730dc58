"""Typed project configuration, loaded from one YAML file.

Every key has a default, so ``ProjectConfig()`` is a valid configuration for any standard XES log.
Errors name the offending key (``sources.0.mappings.1.sql: Field required``) and the file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mining.bpmn.settings import Bpmn
from mining.moments.settings import Moments
from mining.waste.settings import Waste

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class ConfigError(ValueError):
    """A configuration file or value is invalid; the message names the file and the key."""


class Strict(BaseModel):
    """Base for config sections: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _identifier(value: str) -> str:
    if not IDENTIFIER.match(value):
        raise ValueError(
            f"{value!r} is not a valid name: use letters, digits and underscores, "
            "starting with a letter (at most 63 characters)"
        )
    return value


Name = Annotated[str, Field(min_length=1, max_length=63)]


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

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        return _identifier(value)


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
    # A file source's ``path`` may also be a drop folder or a glob ('drops/*.csv'): each new or
    # changed file is loaded once (mining.sources.work_items).

    @field_validator("name", "process")
    @classmethod
    def _check_names(cls, value: str) -> str:
        return _identifier(value)

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


class Discovery(Strict):
    """Process discovery settings (pm4py's Inductive Miner infrequent and Heuristics Miner)."""

    imf_noise_threshold: float = Field(0.2, ge=0.0, le=1.0)
    heuristics_dependency_threshold: float = Field(0.5, ge=0.0, le=1.0)
    heuristics_and_threshold: float = Field(0.65, ge=0.0, le=1.0)
    heuristics_loop_two_threshold: float = Field(0.5, ge=0.0, le=1.0)
    algorithms: list[Literal["imf", "heuristics"]] = Field(default_factory=lambda: ["imf", "heuristics"])
    # ETConformance precision replays every distinct prefix of the log: minutes on logs with
    # thousands of variants. Above this many variants it is skipped and the reason recorded.
    precision_max_variants: int = Field(1000, ge=0)


class ProjectConfig(Strict):
    """The whole project: sources, time zone for naive timestamps, discovery settings."""

    project: Name = "mot"
    timezone: str = "UTC"
    sources: list[Source] = Field(default_factory=list)
    discovery: Discovery = Field(default_factory=Discovery)
    moments: Moments = Field(default_factory=Moments)
    bpmn: Bpmn = Field(default_factory=Bpmn)
    waste: Waste = Field(default_factory=Waste)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as 'Europe/Amsterdam')") from exc
        return value

    @model_validator(mode="after")
    def _unique_sources(self) -> ProjectConfig:
        names = [s.name for s in self.sources]
        if len(names) != len(set(names)):
            raise ValueError("duplicate source names: " + ", ".join(sorted({n for n in names if names.count(n) > 1})))
        return self

    def source(self, name: str) -> Source:
        """The source called ``name``; KeyError names the known sources."""
        for s in self.sources:
            if s.name == name:
                return s
        raise KeyError(f"no source {name!r} in config (known: {', '.join(s.name for s in self.sources)})")

    @property
    def processes(self) -> list[str]:
        """Process names in config order, each once."""
        return list(dict.fromkeys(s.process for s in self.sources)) or ["default"]


def _format_errors(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"  {key}: {err['msg']}")
    return "\n".join(lines)


def parse_config(data: dict | None, origin: str = "<config>") -> ProjectConfig:
    """Validate a config mapping; ConfigError names ``origin`` and every bad key."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: the top level must be a mapping of keys, got {type(data).__name__}")
    try:
        return ProjectConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{origin}: invalid configuration\n{_format_errors(exc)}") from None


def load_config(path: str | Path | None) -> ProjectConfig:
    """Load and validate a YAML config file; ``None`` gives the defaults.

    Relative ``path`` values of sources are resolved against the config file's folder.
    """
    if path is None:
        return ProjectConfig()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except RecursionError:  # PyYAML's parser recurses once per level of nesting
        raise ConfigError(f"{path}: not valid YAML: nested too deeply") from None
    config = parse_config(data, str(path))
    return resolve_paths(config, path.parent)


def resolve_paths(config: ProjectConfig, base: Path) -> ProjectConfig:
    """Return ``config`` with relative source paths made absolute against ``base``."""
    sources = []
    for s in config.sources:
        if s.path and "://" not in s.path and not Path(s.path).is_absolute():
            s = s.model_copy(update={"path": str((base / s.path).resolve())})
        sources.append(s)
    return config.model_copy(update={"sources": sources})
