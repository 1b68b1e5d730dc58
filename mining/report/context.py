"""What the section builders of the report share: the reader, the process, the results read so far."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mining.report.bpmn import Viewer
from mining.report.data import Reader, Result


@dataclass
class Context:
    """What the section builders share: the reader, the process and the results read so far."""

    reader: Reader
    process: str
    processes: list[str]
    out_dir: Path
    viewer: Viewer | None
    results: dict[str, Result] = field(default_factory=dict)

    def get(self, name: str) -> Result:
        """The result of report query ``name`` (read once)."""
        if name not in self.results:
            self.results[name] = self.reader.fetch(name, self.process)
        return self.results[name]
