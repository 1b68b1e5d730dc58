"""What the `mot` command line loads before any step runs (issue 20: peak RSS of `mot run`).

The steps run in the main process, so every module it imports at start stays resident through
their peak. The report (altair) loads only when the export renders it; waste's chi-square test
uses scipy.special, not scipy.stats (about 46 MB).
"""

from __future__ import annotations

import subprocess
import sys

HEAVY_AT_RENDER_ONLY = ("altair", "scipy.stats", "mining.report.render", "pm4py")


def test_cli_import_leaves_heavy_modules_out():
    modules = repr(HEAVY_AT_RENDER_ONLY)
    code = f"import sys, mining.cli, mining.registry; print(' '.join(m for m in {modules} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert loaded == []
