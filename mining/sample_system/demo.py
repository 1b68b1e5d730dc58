"""The demo project: the packaged extraction config (demo.yaml) pointed at a sample-system database."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from mining.config import ProjectConfig, parse_config, parse_yaml

DEMO_DATABASE = "sample_system.sqlite"


def demo_project(database: str | Path) -> ProjectConfig:
    """The packaged demo config with every source reading the sample system at ``database``."""
    text = resources.files("mining.sample_system").joinpath("demo.yaml").read_text("utf-8")
    origin = "mining/sample_system/demo.yaml"
    config = parse_config(parse_yaml(text, origin), origin)
    path = str(Path(database).resolve())
    return config.model_copy(update={"sources": [s.model_copy(update={"path": path}) for s in config.sources]})
