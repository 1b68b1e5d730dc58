"""The bpmn-js viewer shipped inside mining.report is the one the Node tools pin.

The report inlines the viewer from package data (mining/report/vendor/bpmn-js), so its bytes do not
depend on the machine. An upgrade of tools/bpmn-check must bring a new copy along: these tests fail
until the vendored files match the lock file again (copy them from node_modules/bpmn-js/dist).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mining.report import bpmn as report_bpmn

TOOLS = Path(__file__).resolve().parents[1] / "tools" / "bpmn-check"
DIST = TOOLS / "node_modules" / "bpmn-js" / "dist"


def locked_version() -> str:
    lock = json.loads((TOOLS / "package-lock.json").read_text("utf-8"))
    return lock["packages"]["node_modules/bpmn-js"]["version"]


def test_vendored_viewer_is_the_locked_bpmn_js_version():
    script = report_bpmn.vendored_file(report_bpmn.VIEWER_SCRIPT)
    assert report_bpmn.viewer_version(script) == locked_version()
    assert report_bpmn.find_viewer().origin == f"bpmn-js {locked_version()} ({report_bpmn.VIEWER_SCRIPT})"


def test_vendored_viewer_carries_its_licence():
    licence = report_bpmn.vendored_file("LICENSE")
    assert "Camunda Services GmbH" in licence and "watermark" in licence


@pytest.mark.skipif(not DIST.is_dir(), reason="tools/bpmn-check/node_modules is not installed (make node-deps)")
def test_vendored_files_equal_the_installed_package():
    for name, installed in (
        (report_bpmn.VIEWER_SCRIPT, DIST / report_bpmn.VIEWER_SCRIPT),
        *((name, DIST / "assets" / name) for name in report_bpmn.VIEWER_STYLES),
        ("LICENSE", DIST.parent / "LICENSE"),
    ):
        assert report_bpmn.vendored_file(name) == installed.read_text("utf-8"), name
