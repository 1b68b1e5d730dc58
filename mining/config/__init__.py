"""The typed project config: one module per section, assembled in ``project``.

``sources`` (extraction), ``discovery``, ``moments``, ``waste`` and ``bpmn`` each hold one
section; ``project`` holds ``ProjectConfig`` and loading. Analyses import their own section from
here; this package imports nothing from the analyses, so it sits below all of them.
"""

from mining.config.base import ConfigError, Strict
from mining.config.discovery import Discovery
from mining.config.project import ProjectConfig, load_config, parse_config, parse_yaml, resolve_paths
from mining.config.sources import ColumnMap, Mapping, Source

__all__ = [
    "ColumnMap",
    "ConfigError",
    "Discovery",
    "Mapping",
    "ProjectConfig",
    "Source",
    "Strict",
    "load_config",
    "parse_config",
    "parse_yaml",
    "resolve_paths",
]
