"""layergen's own suite does not need Keras for its Keras-free tests: the
runtime pytest plugin (which imports Keras) is loaded only by the runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT


def test_spec_tests_collect_and_run_where_keras_is_missing(tmp_path: Path) -> None:
    blocker = tmp_path / "keras"
    blocker.mkdir()
    (blocker / "__init__.py").write_text('raise ImportError("no Keras here")\n')
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        + ["tests/test_spec.py", "-k", "not slow"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
