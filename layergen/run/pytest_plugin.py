"""A pytest plugin the runner loads: streams each test's outcome and the device.

Gives the distribution check two devices (TensorFlow: one GPU split into two
logical GPUs, and two logical CPUs; JAX: two host devices), and writes JSON
lines to the file named by ``LAYERGEN_REPORT``: one ``{"test", "outcome",
"seconds"}`` per test as it finishes (so a progress bar can follow; seconds
cover its setup, call and teardown), and one ``{"device", "finished"}`` (a
Unix time) from every process that ran tests. Under pytest-xdist, outcomes
come from the controller and devices from workers.
"""

from __future__ import annotations

import json
import os
import sys
import time
from importlib.util import find_spec
from typing import Any

import pytest

from layergen.run.runner import REPORT_ENV

HOST_DEVICES_FLAG = "--xla_force_host_platform_device_count"
_state: dict[str, Any] = {"worker": False}
# Per test in progress: seconds so far (setup, call, teardown) and outcome.
_seconds: dict[str, float] = {}
_outcomes: dict[str, str] = {}


def _emit(record: dict[str, Any]) -> None:
    target = os.environ.get(REPORT_ENV)
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")


def pytest_configure(config: pytest.Config) -> None:
    _state["worker"] = hasattr(config, "workerinput")
    controller = not _state["worker"] and config.getoption("numprocesses", None)
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    # Two devices for the distribution check: only possible before the
    # backend initialises its devices, so here, before any test.
    if backend == "jax":
        request_host_devices(2)
    if backend == "tensorflow" and not controller and find_spec("keras") is not None:
        from layergen.testing.devices import configure_logical_devices

        configure_logical_devices(2)


def request_host_devices(count: int) -> None:
    """Ask JAX (through ``XLA_FLAGS``, before it starts) for ``count`` CPU
    devices, unless the flags already say how many."""
    flags = os.environ.get("XLA_FLAGS", "")
    if HOST_DEVICES_FLAG not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {HOST_DEVICES_FLAG}={count}".strip()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if _state["worker"]:
        return  # the xdist controller reports every worker's results
    test = report.nodeid
    _seconds[test] = _seconds.get(test, 0.0) + report.duration
    # A test's outcome is its call phase's, or a setup that failed or skipped,
    # or a teardown that failed.
    if report.when == "call" or report.outcome != "passed":
        failed = report.when != "call" and report.failed
        _outcomes[test] = "failed" if failed else report.outcome
    if report.when == "teardown":
        _emit(
            {
                "test": test,
                "outcome": _outcomes.pop(test, "passed"),
                "seconds": _seconds.pop(test),
            }
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _state["exitstatus"] = int(exitstatus)
    if session.config.pluginmanager.hasplugin("dsession"):
        return  # the xdist controller runs no tests; its workers report devices
    try:
        from layergen.testing import device_description

        device = device_description()
    except ImportError as exc:
        device = f"unknown ({exc})"
    _emit({"device": device, "finished": time.time()})


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """In a run started by layergen's runner (and not an xdist worker), end the
    process once pytest is done: tearing TensorFlow's objects down at
    interpreter exit takes over a second and serves a throwaway process
    nothing; the results and pytest's report are written and flushed first.
    A session that never finished exits the usual way, with pytest's status."""
    if os.environ.get(REPORT_ENV) and not _state["worker"] and "exitstatus" in _state:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_state["exitstatus"])
