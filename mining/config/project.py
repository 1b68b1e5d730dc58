"""The whole project config: one section per analysis, loaded from one YAML file.

Every key has a default, so ``ProjectConfig()`` is a valid configuration for any standard XES log.
Errors name the offending key (``sources.0.mappings.1.sql: Field required``) and the file.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from mining.config.attribution_markov import AttributionMarkov
from mining.config.base import ConfigError, Name, Strict
from mining.config.bpmn import Bpmn
from mining.config.budgets import Budgets
from mining.config.discovery import Discovery
from mining.config.effort import Effort
from mining.config.instances import Instances
from mining.config.moments import Moments
from mining.config.sources import Source
from mining.config.waste import Waste


class ProjectConfig(Strict):
    """The whole project: sources, time zone for naive timestamps, discovery settings."""

    project: Name = "mot"
    timezone: str = "UTC"
    sources: list[Source] = Field(default_factory=list)
    instances: Instances = Field(default_factory=Instances)
    discovery: Discovery = Field(default_factory=Discovery)
    moments: Moments = Field(default_factory=Moments)
    bpmn: Bpmn = Field(default_factory=Bpmn)
    waste: Waste = Field(default_factory=Waste)
    effort: Effort = Field(default_factory=Effort)
    attribution_markov: AttributionMarkov = Field(default_factory=AttributionMarkov)
    budgets: Budgets = Field(default_factory=Budgets)

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
