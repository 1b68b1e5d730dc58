"""The whole project config: one section per analysis, loaded from one YAML file.

Every key has a default, so ``ProjectConfig()`` is a valid configuration for any standard XES log.
Errors name the offending key (``sources.0.mappings.1.sql: Field required``) and the file.
"""

from __future__ import annotations

import io
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
from mining.config.sources import Source, outside
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
    # Folders outside the config's own folder whose files sources may read (relative ones are
    # taken from the config's folder). Paths anywhere else are refused when the config is loaded.
    allowed_roots: list[str] = Field(default_factory=list)
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

    Relative ``path`` values of sources are resolved against the config file's folder, and every
    source path must lie in that folder or in one of ``allowed_roots`` (``resolve_paths``).
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
    config = parse_config(parse_yaml(text, str(path)), str(path))
    return resolve_paths(config, path.parent, str(path))


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping (PyYAML keeps the last)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[object, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # '<<: *base' may be overridden by the keys beside it: that is its use
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key: SafeConstructor refuses it with its own message
                    continue
                if first is not None:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (first given on line {first})", key_node.start_mark
                    )
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str, origin: str) -> object:
    """The data of a YAML document; ConfigError naming ``origin`` (and line) when it is not valid YAML
    or gives a key twice in one mapping."""
    stream = io.StringIO(text)
    stream.name = origin  # PyYAML names the stream in its messages ('in "<unicode string>"' otherwise)
    try:
        return yaml.load(stream, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin}: not valid YAML: {exc}") from None
    except RecursionError:  # PyYAML's parser recurses once per level of nesting
        raise ConfigError(f"{origin}: not valid YAML: nested too deeply") from None


FILE_KINDS = ("xes", "csv", "parquet", "ocel", "sqlite")


def resolve_paths(config: ProjectConfig, base: Path, origin: str = "<config>") -> ProjectConfig:
    """Return ``config`` with relative source paths made absolute against ``base``, each confined
    to ``base`` and the config's ``allowed_roots`` (symlinks resolved).

    A path outside them is a ConfigError naming the key; at run time every file a source reads
    (a drop folder's, a glob's) is checked again (``Source.outside_roots``), so a link placed in a
    drop folder later cannot lead out either. Nothing of the file is read before that.
    """
    base = base.resolve()
    roots = (str(base), *(str((base / root).resolve()) for root in config.allowed_roots))
    sources = []
    for index, s in enumerate(config.sources):
        if s.path and s.kind in FILE_KINDS:
            if not Path(s.path).is_absolute():
                s = s.model_copy(update={"path": str((base / s.path).resolve())})
            # A glob is judged by its folder before the first wildcard; its matches one by one later.
            fixed = Path(*[part for part in _until_wildcard(Path(s.path).parts)])
            problem = outside(fixed, roots)
            if problem:
                raise ConfigError(f"{origin}: sources.{index}.path: {problem}")
            s = s.confined_to(roots)
        sources.append(s)
    return config.model_copy(update={"sources": sources})


def _until_wildcard(parts: tuple[str, ...]) -> list[str]:
    fixed = []
    for part in parts:
        if any(c in part for c in "*?["):
            break
        fixed.append(part)
    return fixed
