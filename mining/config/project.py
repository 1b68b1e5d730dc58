"""The whole project config: one section per analysis, loaded from one YAML file, plus optionally
one YAML file per source in ``source_folder``.

Every key has a default, so ``ProjectConfig()`` is a valid configuration for any standard XES log.
Errors name the offending key (``sources.0.mappings.1.sql: Field required``) and the file.
Each source definition is validated on its own: ``load_config(path, isolate=True)`` (what the
Airflow DAGs use) leaves a broken source out, keeping why in ``broken_sources``, so one source's
typo does not take the other sources' DAGs down; without ``isolate`` any broken source is an error.
"""

from __future__ import annotations

import io
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from mining.config.alerts import Alerts, effective
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
    # A folder (relative to the config file) of one YAML file per source, besides ``sources``.
    source_folder: str | None = None
    alerts: Alerts = Field(default_factory=Alerts)

    # Sources whose definition is invalid, left out by ``load_config(..., isolate=True)``: name -> why.
    _broken: dict[str, str] = PrivateAttr(default_factory=dict)

    @property
    def broken_sources(self) -> dict[str, str]:
        """The source definitions left out because they are invalid: name (or file) -> the error."""
        return dict(self._broken)

    def alert_settings(self, source: Source | None = None) -> dict:
        """The alerts of a DAG as the DAG files need them: a source's (the project's keys, with the
        source's own replacing them) or, without ``source``, the mining DAG's (the project's). Keys:
        the ``Alerts`` fields, ``deadline_delta`` (a timedelta or None), and ``project`` and
        ``what``, the names an alert gives."""
        chosen = effective(self.alerts, source.alerts) if source else self.alerts
        return {
            **chosen.model_dump(),
            "deadline_delta": chosen.deadline_delta,
            "project": self.project,
            "what": f"source {source.name!r}" if source else "mining",
        }

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
        """The source called ``name``; ConfigError when its definition is broken, KeyError names the
        known sources when there is none."""
        for s in self.sources:
            if s.name == name:
                return s
        if name in self._broken:
            raise ConfigError(f"source {name!r} is left out: its definition is invalid: {self._broken[name]}")
        raise KeyError(f"no source {name!r} in config (known: {', '.join(s.name for s in self.sources)})")

    @property
    def processes(self) -> list[str]:
        """Process names in config order, each once."""
        return list(dict.fromkeys(s.process for s in self.sources)) or ["default"]


def _format_errors(exc: ValidationError, prefix: str = "") -> str:
    lines = []
    for err in exc.errors():
        key = prefix + ".".join(str(p) for p in err["loc"]) or "(top level)"
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


def load_config(path: str | Path | None, *, isolate: bool = False) -> ProjectConfig:
    """Load and validate a YAML config file (and its ``source_folder``); ``None`` gives the defaults.

    Relative ``path`` values of sources are resolved against the config file's folder, and every
    source path must lie in that folder or in one of ``allowed_roots`` (``resolve_paths``).
    Each source is validated on its own. With ``isolate``, an invalid one is left out and its error
    kept in ``broken_sources``; without, the ConfigError lists every invalid source. The keys shared
    by all sources (the rest of the file) are always an error for the whole config.
    """
    if path is None:
        return ProjectConfig()
    path = Path(path)
    data = parse_yaml(read_text(path), str(path))
    if data is None:
        data = {}
    if not isinstance(data, dict) or not isinstance(data.get("sources", []), list):
        parse_config(data, str(path))  # says what is wrong with the file's shape
    whole = None if isolate else _errors_of(data, str(path))  # every inline error at once, by key
    try:
        shared = parse_config({**data, "sources": []}, str(path))
    except ConfigError:
        if whole:
            raise ConfigError(whole) from None
        raise
    inline = [(f"sources.{i}.", str(path), entry) for i, entry in enumerate(data.get("sources") or [])]
    folder = _folder_entries(path.parent, shared, str(path)) if shared.source_folder else []
    good, broken = _validate_sources(inline + folder, shared, path.parent)
    if broken and not isolate:
        covered = f"{path}: invalid configuration"  # the inline validation errors, all in ``whole``
        others = [why for why in broken.values() if not (whole and why.startswith(covered))]
        raise ConfigError("\n".join([*([whole] if whole else []), *others]))
    config = shared.model_copy(update={"sources": good})
    config._broken = broken
    return config


def _errors_of(data: dict, origin: str) -> str | None:
    """The message of every error ``parse_config`` finds in ``data``, or None when it finds none."""
    try:
        parse_config(data, origin)
    except ConfigError as exc:
        return str(exc)
    return None


def read_text(path: Path) -> str:
    """The text of a config file; ConfigError naming it when it is missing or not UTF-8."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _folder_entries(base: Path, shared: ProjectConfig, origin: str) -> list[tuple[str, str, object]]:
    """(key prefix, file, data) of every ``*.yaml`` / ``*.yml`` file of the source folder, by name.

    A file without ``name`` is named by its file name; an unreadable file is an entry that fails.
    """
    folder = (base / shared.source_folder).resolve()
    roots = (str(base.resolve()), *(str((base / root).resolve()) for root in shared.allowed_roots))
    problem = outside(folder, roots)
    if problem:
        raise ConfigError(f"{origin}: source_folder: {problem}")
    if not folder.is_dir():
        raise ConfigError(f"{origin}: source_folder: {folder} is not a folder")
    entries = []
    for file in sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()):
        try:
            data = parse_yaml(read_text(file), str(file))
        except ConfigError as exc:
            data = exc  # validated (and reported) with the others
        if isinstance(data, dict):
            data = {"name": file.stem, **data}
        entries.append(("", str(file), data))
    return entries


def _validate_sources(entries, shared: ProjectConfig, base: Path) -> tuple[list[Source], dict[str, str]]:
    """The valid sources of ``entries`` (paths resolved and confined) and, by name, why the others
    are not: a validation error, a path outside the roots, a name already taken."""
    good: list[Source] = []
    broken: dict[str, str] = {}
    for prefix, origin, data in entries:
        name = data.get("name") if isinstance(data, dict) and isinstance(data.get("name"), str) else None
        label = name or (f"{origin}: {prefix.rstrip('.')}" if prefix else Path(origin).stem)
        if isinstance(data, ConfigError):
            broken[label] = str(data)
            continue
        if not isinstance(data, dict):
            broken[label] = f"{origin}: {prefix}(source): a source is a mapping of keys, got {type(data).__name__}"
            continue
        try:
            source = Source.model_validate(data)
            source = resolve_paths(shared.model_copy(update={"sources": [source]}), base, origin).sources[0]
        except ValidationError as exc:
            broken[label] = f"{origin}: invalid configuration\n{_format_errors(exc, prefix)}"
            continue
        except ConfigError as exc:
            broken[label] = str(exc).replace("sources.0.", prefix, 1)
            continue
        if any(s.name == source.name for s in good) or source.name in broken:
            broken[f"{source.name} ({origin})"] = f"{origin}: {prefix}name: duplicate source name {source.name!r}"
            continue
        good.append(source)
    return good, broken


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
