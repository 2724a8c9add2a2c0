"""Precision-aware comparisons (layergen.testing.numerics) and the GPU check's
CPU twin, exercised on the CPU: TF32 is simulated by rounding the operands of
every matrix product to 10 mantissa bits, as the GPU does."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from layergen import testing  # noqa: E402
from layergen.testing.checks.devices import run_twin_on_cpu  # noqa: E402
from layergen.testing.numerics import (  # noqa: E402
    assert_outputs_close,
    comparison_tolerance,
    full_float32_matmuls,
    matmul_precision,
    reduction_length,
)

from .conftest import EXAMPLES, ROOT  # noqa: E402

SelfAttention = testing.load_layer(
    str(EXAMPLES / "test_self_attention.py"), "self_attention.py", "SelfAttention"
)
CASE = testing.LayerCase(
    SelfAttention, {"embed_dim": 8, "num_heads": 2}, {"x": (2, 5, 8)}
)


def round_mantissa(values: np.ndarray, bits: int) -> np.ndarray:
    """float32 ``values`` rounded to nearest with ``bits`` mantissa bits."""
    raw = np.asarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    drop = 23 - bits
    rounded = (raw + (1 << (drop - 1))) & ~np.uint64((1 << drop) - 1)
    return rounded.astype(np.uint32).view(np.float32)


@pytest.fixture
def tf32_matmuls(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every ``ops.matmul`` (the layer's and its Dense sublayers') rounds its
    operands to TF32 first and accumulates in float32, like an Ampere GPU."""
    exact = keras.ops.matmul

    def tf32_matmul(a, b):  # type: ignore[no-untyped-def]
        a, b = (round_mantissa(keras.ops.convert_to_numpy(t), 10) for t in (a, b))
        return exact(a, b)

    monkeypatch.setattr(keras.ops, "matmul", tf32_matmul)
    monkeypatch.setattr(keras.src.ops, "matmul", tf32_matmul)
    yield


def _attention_outputs(tf32: bool, request: pytest.FixtureRequest) -> tuple:
    testing.reset_keras_state()
    layer = CASE.make_layer()
    inputs = CASE.make_inputs()
    exact = testing.to_numpy(layer(*inputs))
    if tf32:
        request.getfixturevalue("tf32_matmuls")
    return layer, inputs, exact, testing.to_numpy(layer(*inputs))


def test_round_mantissa_keeps_ten_bits() -> None:
    values = np.array([1.0 + 2.0**-10, 1.0 + 2.0**-12, 3.0], dtype=np.float32)
    assert list(round_mantissa(values, 10)) == [1.0 + 2.0**-10, 1.0, 3.0]


def test_tf32_difference_fails_the_old_tolerance_and_passes_the_new(
    request: pytest.FixtureRequest,
) -> None:
    layer, inputs, exact, tf32 = _attention_outputs(True, request)
    reduction = reduction_length([(2, 5, 8)], layer.weights)
    assert reduction == 8
    with pytest.raises(AssertionError):  # the fixed 1e-4 of the H100 failure
        np.testing.assert_allclose(tf32, exact, **testing.GPU_TOLERANCE)
    assert_outputs_close(tf32, exact, "tf32", reduction, "simulated TF32")
    with pytest.raises(AssertionError, match="products computed in float32"):
        assert_outputs_close(tf32, exact, "float32", reduction, "simulated TF32")


def test_a_wrong_layer_still_fails_the_tf32_tolerance(
    request: pytest.FixtureRequest,
) -> None:
    layer, inputs, exact, _ = _attention_outputs(False, request)
    kernel = layer.value.kernel
    kernel.assign(keras.ops.convert_to_numpy(kernel) * 1.05)  # a 5% error
    request.getfixturevalue("tf32_matmuls")
    wrong = testing.to_numpy(layer(*inputs))
    with pytest.raises(AssertionError, match="products computed in tf32"):
        assert_outputs_close(wrong, exact, "tf32", 8, "wrong layer under TF32")


def test_tolerance_grows_with_roundoff_and_reduction_length() -> None:
    assert comparison_tolerance("float32", 8)["rtol"] == 1e-4
    assert comparison_tolerance("float32", 10**4)["rtol"] == 1e-4
    tf32_short, tf32_long = (comparison_tolerance("tf32", n)["rtol"] for n in (8, 800))
    assert 1e-3 < tf32_short < tf32_long == pytest.approx(tf32_short * 10)


def test_reduction_length_counts_a_convolution_fan_in() -> None:
    conv = keras.layers.Conv2D(4, 3)
    conv.build((2, 6, 6, 5))
    assert reduction_length([(2, 6, 6, 5)], conv.weights) == 3 * 3 * 5


@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_full_float32_matmuls_switches_tf32_off_and_restores_it(backend: str) -> None:
    pytest.importorskip(backend)
    assert matmul_precision(backend, on_gpu=False) == "float32"
    before = matmul_precision(backend, on_gpu=True)
    with full_float32_matmuls(backend) as how:
        assert matmul_precision(backend, on_gpu=True) == "float32", how
    assert matmul_precision(backend, on_gpu=True) == before


def test_default_gpu_settings_read_as_tf32() -> None:
    """TensorFlow and JAX use TF32 on a GPU unless told otherwise."""
    pytest.importorskip("jax")
    assert matmul_precision("tensorflow", on_gpu=True) == "tf32"
    assert matmul_precision("jax", on_gpu=True) == "tf32"


def test_cpu_twin_has_the_same_weights() -> None:
    testing.reset_keras_state()
    layer = CASE.make_layer()
    inputs = CASE.make_inputs()
    output = testing.to_numpy(layer(*inputs))
    np.testing.assert_array_equal(run_twin_on_cpu(CASE, layer, inputs), output)
    fresh = testing.to_numpy(CASE.make_layer()(*inputs))
    assert not np.allclose(fresh, output)  # so equality above is the copy's doing


def test_cpu_twin_of_a_cell_runs_inside_rnn() -> None:
    cell = testing.load_layer(
        str(EXAMPLES / "test_minimal_rnn_cell.py"),
        "minimal_rnn_cell.py",
        "MinimalRNNCell",
    )
    case = testing.LayerCase(cell, {"units": 3}, {"x": (2, 4)}, is_cell=True)
    testing.reset_keras_state()
    layer = case.make_layer()
    inputs = case.make_inputs()
    output = testing.to_numpy(case.run(layer, inputs))
    np.testing.assert_array_equal(run_twin_on_cpu(case, layer, inputs), output)


TWIN_SCRIPT = """
import numpy as np
from layergen import testing
from layergen.testing.checks.devices import run_twin_on_cpu

cls = testing.load_layer(
    "generated_examples/test_decaying_dropout.py", "decaying_dropout.py",
    "DecayingDropout",
)
case = testing.LayerCase(cls, {"rate": 0.5}, {"x": (4, 8)}, uses_training=True)
layer = case.make_layer()
inputs = case.make_inputs()
output = testing.to_numpy(case.run(layer, inputs, training=False))
np.testing.assert_array_equal(run_twin_on_cpu(case, layer, inputs), output)
print("twin ok")
"""


@pytest.mark.slow
def test_cpu_twin_of_a_layer_with_an_integer_weight_on_torch() -> None:
    """Under ``keras.device("cpu:0")`` Keras's torch backend stores variables
    as plain tensors, and an integer one (DecayingDropout's step counter)
    breaks the layer on a GPU machine; the twin is built under "cpu"."""
    pytest.importorskip("torch")
    result = subprocess.run(
        [sys.executable, "-c", TWIN_SCRIPT],
        cwd=ROOT,
        env={**os.environ, "KERAS_BACKEND": "torch"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "twin ok" in result.stdout, result.stderr[-2000:]
