"""A pytest plugin the runner loads: records outcomes and the device for the report."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPORT_ENV = "LAYERGEN_REPORT"
_outcomes: dict[str, str] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # A test's outcome is its call phase's, or the first failure/skip of setup.
    first_problem = report.outcome != "passed" and report.nodeid not in _outcomes
    if report.when == "call" or first_problem:
        _outcomes[report.nodeid] = report.outcome


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get(REPORT_ENV)
    if not target:
        return
    try:
        from layergen.testing import device_description

        device = device_description()
    except ImportError as exc:
        device = f"unknown ({exc})"
    Path(target).write_text(json.dumps({"device": device, "outcomes": _outcomes}))
