"""What the benchmark ran on: CPU, cores, memory, OS, library versions and how busy the machine was."""

from __future__ import annotations

import os
import platform
from importlib import metadata

import psutil

PACKAGES = ("duckdb", "pm4py", "pandas", "pyarrow", "polars", "rustxes", "connectorx", "numpy", "psycopg2-binary")


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (falls back to platform.processor())."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions() -> dict[str, str]:
    """Installed versions of the libraries both ways use."""
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages (other work on the machine skews every timing)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def describe() -> dict:
    """The machine, as recorded with every result file."""
    memory = psutil.virtual_memory()
    return {
        "cpu_model": cpu_model(),
        "logical_cpus": psutil.cpu_count(logical=True),
        "physical_cores": psutil.cpu_count(logical=False),
        "memory_gb": round(memory.total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": versions(),
    }
