"""check_input_gradient picks its finite-difference step and tolerance by the
dtype that actually ran: layers computing partly in float32 pass, wrong
gradients still fail, on every backend."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

keras = pytest.importorskip("keras")

from layergen import testing  # noqa: E402
from layergen.testing.checks.gradients import lowest_float_dtype  # noqa: E402

from . import numeric_layers as layers  # noqa: E402
from .conftest import ROOT  # noqa: E402

SHAPES = {"x": (2, 5, 6)}


@pytest.mark.parametrize("cls", [layers.RMSNorm, layers.ScaleNorm])
def test_normalizations_pass(cls: type) -> None:
    testing.reset_keras_state()
    testing.check_input_gradient(testing.LayerCase(cls, {}, SHAPES))


def test_float32_inside_passes() -> None:
    """Its float64 finite differences carry float32 rounding (~1e-3 relative)."""
    testing.reset_keras_state()
    testing.check_input_gradient(testing.LayerCase(layers.Float32Inside, {}, SHAPES))


def test_wrong_gradient_fails_in_float64() -> None:
    testing.reset_keras_state()
    case = testing.LayerCase(layers.HalfGradientSquare, {}, SHAPES)
    with pytest.raises(AssertionError, match="computed in float64"):
        testing.check_input_gradient(case)


def test_lowest_float_dtype() -> None:
    assert lowest_float_dtype({"float64", "float32", "int32"}) == "float32"
    assert lowest_float_dtype({"float64", "bool"}) == "float64"
    assert lowest_float_dtype({"float64", "bfloat16", "float16"}) == "bfloat16"


SCRIPT = """
from layergen import testing
from tests import numeric_layers as layers

for cls in (layers.RMSNorm, layers.ScaleNorm, layers.Float32Inside):
    testing.reset_keras_state()
    testing.check_input_gradient(testing.LayerCase(cls, {}, {"x": (2, 5, 6)}))
testing.reset_keras_state()
case = testing.LayerCase(layers.HalfGradientSquare, {}, {"x": (2, 5, 6)})
try:
    testing.check_input_gradient(case)
except AssertionError as exc:
    print("wrong gradient caught:", str(exc).splitlines()[0])
"""


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_other_backends(backend: str) -> None:
    """The issue's layers (float32 ``ops.norm`` under JAX's float64) pass, and
    a wrong gradient is still caught, in a process on that backend."""
    pytest.importorskip(backend)
    env = {**os.environ, "KERAS_BACKEND": backend}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "wrong gradient caught: gradient at" in result.stdout


def test_points_within_a_step_of_a_kink_are_replaced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a step as coarse as float32's relative to the inputs, some probed
    inputs of a relu lie within a step of its kink: central differences there
    average two slopes. Those points are replaced; without that, the check
    fails a correct layer (as it did for a Dense+relu under torch on a GPU)."""
    from layergen.testing.checks import gradients

    monkeypatch.setitem(gradients.GRADIENT_STEPS, "float64", (0.3, 1e-4))
    case = testing.LayerCase(keras.layers.ReLU, {}, SHAPES)
    testing.reset_keras_state()
    testing.check_input_gradient(case)
    monkeypatch.setattr(gradients, "KINK", float("inf"))
    with pytest.raises(AssertionError, match="by finite differences"):
        testing.check_input_gradient(case)


def test_replacing_kinks_does_not_hide_a_staircase() -> None:
    """Stairs on both sides of every point look smooth to the kink test, so
    the wrong gradient is reported, not skipped."""
    case = testing.LayerCase(layers.Staircase, {}, SHAPES)
    testing.reset_keras_state()
    with pytest.raises(AssertionError, match="by finite differences|a kink"):
        testing.check_input_gradient(case)
