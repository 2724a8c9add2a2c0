"""Numerics: XLA against eager, mixed precision, input gradients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import pytest

from layergen.testing.case import LayerCase
from layergen.testing.devices import visible_gpus
from layergen.testing.inputs import to_numpy
from layergen.testing.tolerances import XLA_TOLERANCE


def check_xla_matches_eager(case: LayerCase) -> None:
    """``compile(jit_compile=True)`` predictions equal eager outputs."""
    if keras.backend.backend() == "torch":
        pytest.skip("XLA compilation is not available on the torch backend")
    layer = case.make_layer()
    model = case.make_model(layer)
    inputs = case.make_inputs()
    eager = to_numpy(model(inputs, training=False))
    model.compile(jit_compile=True)
    compiled = model.predict(inputs, batch_size=len(inputs[0]), verbose=0)
    np.testing.assert_allclose(compiled, eager, **XLA_TOLERANCE)


def check_mixed_precision(case: LayerCase, policy: str) -> None:
    """Under a mixed policy the layer builds, keeps float32 variables, outputs
    the compute dtype without NaN/Inf; the global policy is restored after."""
    if keras.backend.backend() == "torch" and not visible_gpus():
        pytest.skip("torch on the CPU lacks half-precision kernels")
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        layer = case.make_layer()
        compute = layer.compute_dtype
        output = case.run(layer, case.make_inputs(), **case.inference())
        symbolic = case.make_model(case.make_layer()).outputs[0]
    finally:
        keras.mixed_precision.set_global_policy(previous)
    assert keras.backend.standardize_dtype(output.dtype) == compute, (
        f"output is {keras.backend.standardize_dtype(output.dtype)}, not {compute}: "
        "a constant or cast in call() is float32; make constants Python numbers "
        "or cast them to the input's dtype"
    )
    assert symbolic.dtype == compute, "symbolic output dtype"
    for weight in layer.weights:
        if keras.backend.is_float_dtype(weight.dtype):
            assert weight.dtype == "float32", f"{weight.path} is {weight.dtype}"
    values = to_numpy(keras.ops.cast(output, "float32"))
    assert np.isfinite(values).all(), "NaN or Inf under mixed precision"


def check_input_gradient(case: LayerCase, points: int = 6, eps: float = 1e-4) -> None:
    """In float64, the gradient w.r.t. the first input matches central finite
    differences at a few points (catches non-differentiable outputs)."""
    name = next(iter(case.input_shapes))
    if "int" in case.dtype(name):
        pytest.skip(f"input {name} is an integer input")
    backend = keras.backend.backend()
    if backend == "tensorflow":
        _check_input_gradient(case, points, "float64", eps, 1e-4)
    elif backend == "torch" or case.is_cell:
        # Float32, with a step and tolerance to match: on torch some Keras ops
        # (ops.matmul, ops.maximum) return float32 for float64 inputs, and on
        # JAX Keras's RNN loop fails in float64 (its own SimpleRNN does too).
        _check_input_gradient(case, points, "float32", 1e-2, 2e-2)
    else:
        import jax

        x64 = jax.config.read("jax_enable_x64")
        jax.config.update("jax_enable_x64", True)  # float64, restored below
        try:
            _check_input_gradient(case, points, "float64", eps, 1e-4)
        finally:
            jax.config.update("jax_enable_x64", x64)


def _check_input_gradient(
    case: LayerCase, points: int, dtype: str, eps: float, rtol: float
) -> None:
    layer = case.make_layer(dtype=dtype)
    inputs = [x.astype(dtype) if x.dtype.kind == "f" else x for x in case.make_inputs()]
    projection = np.random.default_rng(2).standard_normal(
        tuple(to_numpy(case.run(layer, inputs, **case.inference())).shape)
    )

    def objective(first: Any) -> Any:
        first = keras.ops.convert_to_tensor(first, dtype=dtype)  # not floatx
        output = case.run(layer, [first, *inputs[1:]], **case.inference())
        weights = keras.ops.convert_to_tensor(projection, dtype=output.dtype)
        return keras.ops.sum(keras.ops.multiply(output, weights))

    gradient = _input_gradient(objective, inputs[0])
    assert gradient is not None, (
        "no gradient flows from the output to the input; if the output is meant "
        "to be non-differentiable, set `[test] differentiable = false`"
    )
    rng = np.random.default_rng(3)
    for flat in rng.choice(
        inputs[0].size, size=min(points, inputs[0].size), replace=False
    ):
        index = np.unravel_index(flat, inputs[0].shape)
        up, down = inputs[0].copy(), inputs[0].copy()
        up[index] += eps
        down[index] -= eps
        numeric = (_value(objective(up)) - _value(objective(down))) / (2 * eps)
        assert np.isclose(gradient[index], numeric, rtol=rtol, atol=rtol / 100), (
            f"gradient at {index}: {gradient[index]} by backprop, {numeric} by "
            "finite differences"
        )


def _value(tensor: Any) -> float:
    return float(to_numpy(keras.ops.stop_gradient(tensor)))


def _input_gradient(objective: Callable[[Any], Any], value: np.ndarray) -> Any:
    """d objective / d value on the active backend, or None when none flows."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tensor = tf.constant(value)
        with tf.GradientTape() as tape:
            tape.watch(tensor)
            result = objective(tensor)
        gradient = tape.gradient(result, tensor)
        return None if gradient is None else gradient.numpy()
    if backend == "jax":
        import jax

        gradient = np.asarray(jax.grad(lambda v: objective(v))(value))
        return None if not np.any(gradient) else gradient
    if backend == "torch":
        import torch

        tensor = torch.tensor(value, requires_grad=True)
        result = objective(tensor)
        if not result.requires_grad:
            return None
        result.backward()
        return None if tensor.grad is None else tensor.grad.numpy()
    pytest.skip(f"no gradients on the {backend} backend")
