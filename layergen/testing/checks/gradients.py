"""Input gradients against finite differences, in the precision that ran."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import keras
import numpy as np
import pytest

from layergen.testing.case import LayerCase
from layergen.testing.inputs import outputs_of, to_numpy
from layergen.testing.numerics import MANTISSA_BITS
from layergen.testing.variants import for_each_call

# Central-difference step and relative tolerance by the lowest float dtype
# that took part: truncation error ~step**2, rounding error ~roundoff/step.
GRADIENT_STEPS = {
    "float64": (1e-4, 1e-4),
    "float32": (1e-2, 2e-2),
    "float16": (1e-1, 1e-1),
    "bfloat16": (1e-1, 1e-1),
}
# One-sided differences further apart than this fraction: a kink between
# them; such a point is replaced by another, up to KINK_RETRIES times over.
KINK = 0.05
KINK_RETRIES = 4


@for_each_call(every=False)
def check_input_gradient(case: LayerCase, points: int = 6) -> None:
    """The gradient w.r.t. the first input matches central finite differences
    at a few points (catches non-differentiable outputs and wrong gradients).

    The layer runs in float64, but some Keras ops compute in float32 whatever
    their inputs (``ops.norm`` on JAX, ``ops.matmul`` on torch): the step and
    tolerance follow the lowest float dtype that actually took part, read off
    the traced computation, the output and the gradient."""
    name = next(iter(case.input_shapes))
    if "int" in case.dtype(name):
        pytest.skip(f"input {name} is an integer input")
    # On JAX, Keras's RNN loop fails in float64 (its own SimpleRNN does too).
    jax_cell = keras.backend.backend() == "jax" and case.is_cell
    with _float64_enabled():
        _check_input_gradient(case, points, "float32" if jax_cell else "float64")


@contextlib.contextmanager
def _float64_enabled() -> Iterator[None]:
    """JAX computes in float64 only with ``jax_enable_x64``: on for the block."""
    if keras.backend.backend() != "jax":
        yield
        return
    import jax

    x64 = jax.config.read("jax_enable_x64")
    jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", x64)


def _check_input_gradient(case: LayerCase, points: int, dtype: str) -> None:
    layer = case.make_layer(dtype=dtype)
    inputs = [x.astype(dtype) if x.dtype.kind == "f" else x for x in case.make_inputs()]
    outputs = outputs_of(case.run(layer, inputs, **case.inference()))
    rng = np.random.default_rng(2)
    projections = [rng.standard_normal(tuple(output.shape)) for output in outputs]

    def objective(first: Any) -> Any:
        first = keras.ops.convert_to_tensor(first, dtype=dtype)  # not floatx
        result = case.run(layer, [first, *inputs[1:]], **case.inference())
        return projected(result, projections)

    gradient = input_gradient(objective, inputs[0])
    assert gradient is not None, (
        "no gradient flows from the output to the input; if the output is meant "
        "to be non-differentiable, set `[test] differentiable = false`"
    )
    with _restoring(layer.variables):  # a trace may leave tracers in them
        traced = dtypes_that_ran(objective, inputs[0])
    ran = lowest_float_dtype(
        {keras.backend.standardize_dtype(o.dtype) for o in outputs}
        | {str(gradient.dtype), *traced}
    )
    eps, rtol = GRADIENT_STEPS[ran]
    at_input = _value(objective(inputs[0]))
    rng = np.random.default_rng(3)
    candidates = rng.permutation(inputs[0].size)[: KINK_RETRIES * points]
    checked = 0
    for flat in candidates:
        index = np.unravel_index(flat, inputs[0].shape)
        up, down = inputs[0].copy(), inputs[0].copy()
        up[index] += eps
        down[index] -= eps
        forward = (_value(objective(up)) - at_input) / eps
        backward = (at_input - _value(objective(down))) / eps
        if _straddles_kink(forward, backward):
            continue  # a relu's kink within one step: no difference is right
        numeric = (forward + backward) / 2
        assert np.isclose(gradient[index], numeric, rtol=rtol, atol=rtol / 100), (
            f"gradient at {index}: {gradient[index]} by backprop, {numeric} by "
            f"finite differences (asked for {dtype}, computed in {ran}: step "
            f"{eps:g}, rtol {rtol:g})"
        )
        checked += 1
        if checked == points:
            return
    assert checked, (
        f"each of {len(candidates)} probed inputs lies within a step ({eps:g}) "
        "of a kink: the one-sided differences disagree everywhere"
    )


def projected(result: Any, projections: list[np.ndarray]) -> Any:
    """sum(output * P) over a layer's float outputs (one, or each of several),
    for fixed random projections P: a scalar whose gradient is checked."""
    total = 0.0
    for output, projection in zip(outputs_of(result), projections, strict=True):
        if keras.backend.is_float_dtype(keras.backend.standardize_dtype(output.dtype)):
            weights = keras.ops.convert_to_tensor(projection, dtype=output.dtype)
            total = total + keras.ops.sum(keras.ops.multiply(output, weights))
    return total


def _straddles_kink(forward: float, backward: float) -> bool:
    """Whether one-sided differences disagree by more than a smooth function's
    curvature over one step explains: a kink (relu, abs, max) lies between."""
    return abs(forward - backward) > KINK * max(abs(forward), abs(backward), 1e-3)


@contextlib.contextmanager
def _restoring(variables: Sequence[Any]) -> Iterator[None]:
    """Put the variables' values back after the block (seed states included)."""
    saved = [to_numpy(v) for v in variables]
    try:
        yield
    finally:
        for variable, value in zip(variables, saved, strict=True):
            variable.assign(value)


def lowest_float_dtype(dtypes: set[str]) -> str:
    """The float dtype with the fewest mantissa bits among ``dtypes``."""
    floats = [d for d in dtypes if d in GRADIENT_STEPS]
    return min(floats, key=MANTISSA_BITS.__getitem__, default="float32")


def dtypes_that_ran(objective: Callable[[Any], Any], value: np.ndarray) -> set[str]:
    """The float dtypes of every intermediate result of ``objective(value)``,
    read off the backend's trace of it (a jaxpr, a TensorFlow graph, or the
    torch functions called)."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        text = str(jax.make_jaxpr(objective)(value))
        names = {"f64[": "float64", "f32[": "float32", "f16[": "float16"}
        found = {dtype for token, dtype in names.items() if token in text}
        return found | ({"bfloat16"} if "bf16[" in text else set())
    if backend == "tensorflow":
        import tensorflow as tf

        spec = tf.TensorSpec(value.shape, tf.as_dtype(value.dtype))
        graph = tf.function(objective).get_concrete_function(spec).graph
        return {
            tensor.dtype.name
            for op in graph.get_operations()
            for tensor in op.outputs
            if tensor.dtype.is_floating
        }
    if backend == "torch":
        return _torch_dtypes_that_ran(objective, value)
    return set()


def _torch_dtypes_that_ran(
    objective: Callable[[Any], Any], value: np.ndarray
) -> set[str]:
    import torch
    from torch.overrides import TorchFunctionMode

    found: set[str] = set()

    class Record(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
            result = func(*args, **(kwargs or {}))
            for item in result if isinstance(result, (tuple, list)) else [result]:
                if isinstance(item, torch.Tensor) and item.is_floating_point():
                    found.add(str(item.dtype).removeprefix("torch."))
            return result

    with Record():
        objective(value)
    return found


def _value(tensor: Any) -> float:
    return float(to_numpy(keras.ops.stop_gradient(tensor)))


def input_gradient(objective: Callable[[Any], Any], value: np.ndarray) -> Any:
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
