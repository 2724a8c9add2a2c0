"""The benchmark against Keras's built-ins keeps running: its small
configuration runs on every installed backend (figures printed, never judged:
no timing is asserted), and its check of equal outputs can fail."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / "benchmarks" / "backend_parity.py"
CASES = sorted(path.stem for path in (ROOT / "benchmarks" / "specs").glob("*.toml"))


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_small_benchmark_runs_and_checks_outputs(backend: str) -> None:
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"the {backend} backend is not installed")
    command = [sys.executable, str(SCRIPT), "--small", "--backend", backend]
    result = subprocess.run(
        [*command, "--rounds", "1"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    rows = [line.split() for line in result.stdout.splitlines()]
    measured = {(row[1], row[2], row[3]) for row in rows if row and row[0] == backend}
    assert measured == {
        (case, policy, step)
        for case in CASES
        for policy in ("float32", "mixed_bfloat16")
        for step in ("fwd", "fwd+bwd")
    }
    assert f"{backend}: geometric mean " in result.stdout


def test_unequal_outputs_stop_the_benchmark() -> None:
    keras = pytest.importorskip("keras")
    import numpy as np

    from benchmarks.builtin_cases import assert_same_output

    x = np.ones((2, 3), "float32")
    first, second = keras.layers.Dense(4), keras.layers.Dense(4)
    first(x), second(x)
    with pytest.raises(AssertionError):
        assert_same_output(first, second, x)
    second.set_weights(first.get_weights())
    assert_same_output(first, second, x)
