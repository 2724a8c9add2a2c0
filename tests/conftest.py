"""Shared fixtures: paths, a spec-writing helper, and an in-process CLI runner.

Tests that use Keras get two devices for the distribution checks, configured
lazily: layergen's own suite must collect and run where Keras is absent.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from layergen.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "generated_examples"
EXAMPLE_SPECS = sorted((EXAMPLES / "specs").glob("*.toml"))

MINIMAL_SPEC = """
[layer]
name = "Scale"

[params]
factor = { type = "float", default = 2.0 }

[inputs]
x = { min_rank = 2 }

[call]
expr = "x * factor"
"""


def pytest_configure(config: pytest.Config) -> None:
    """Under JAX, ask for two host devices before JAX starts (no import)."""
    if os.environ.get("KERAS_BACKEND") == "jax":
        from layergen.run.pytest_plugin import request_host_devices

        request_host_devices(2)


@pytest.fixture(autouse=True, scope="session")
def _two_logical_devices() -> None:
    """Split TensorFlow's devices in two before the first test runs, when a
    collected test module imported Keras (TensorFlow starts its devices at the
    first operation, not at import, so collection has not started them)."""
    if "keras" in sys.modules:
        from layergen.testing.devices import configure_logical_devices

        configure_logical_devices(2)


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests (and the commands they start) never touch ~/.cache/layergen."""
    os.environ["LAYERGEN_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture
def write_spec(tmp_path: Path) -> Callable[..., Path]:
    """Write a spec (dedented) into tmp_path and return its path."""

    def write(text: str = MINIMAL_SPEC, name: str = "spec.toml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip())
        return path

    return write


@pytest.fixture
def cli() -> Callable[..., Result]:
    """Run ``layergen`` in-process; returns click's Result (exit_code, output)."""
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(main, [str(a) for a in args])

    return invoke


def check_on_backend(
    directory: Path, backend: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``layergen check --format json --backend BACKEND DIRECTORY`` in a
    subprocess (its own Keras backend), skipping where that backend is not
    installed."""
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"the {backend} backend is not installed")
    command = [sys.executable, "-m", "layergen", "check", "--format", "json"]
    command += ["--backend", backend, str(directory)]
    return subprocess.run(command, capture_output=True, text=True, env=env)
