"""Graphviz ``dot`` as a layouter: DOT text in, SVG text out, the same bytes for the same input.

We shell out to the binary (as the ``graphviz`` Python package would) because dot is the layered
layouter process-mining tools use: it breaks cycles, orders ranks to avoid crossings and places
edge labels as nodes of their own, so labels do not sit on arcs or on each other.
"""

from __future__ import annotations

import shutil
import subprocess

TIMEOUT_S = 60


class DotError(RuntimeError):
    """dot is missing, failed or took too long."""


def quote(text: str) -> str:
    """A DOT double-quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def run_dot(source: str, fmt: str = "svg", timeout: float = TIMEOUT_S) -> str:
    """Lay out the DOT ``source`` with ``dot -T<fmt>``; raises DotError with what to do."""
    binary = shutil.which("dot")
    if binary is None:
        raise DotError(
            "Graphviz `dot` is not installed; it lays out the process map. Install it with "
            "`make setup` (its system-deps step runs `apt-get install graphviz`) or your package manager."
        )
    try:
        done = subprocess.run(
            [binary, f"-T{fmt}"],
            input=source.encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        raise DotError(f"dot took longer than {timeout:.0f} s to lay out the process map") from e
    if done.returncode != 0:
        raise DotError(f"dot failed (exit {done.returncode}): {done.stderr.decode('utf-8', 'replace').strip()[:500]}")
    return done.stdout.decode("utf-8")
