"""One layer, the same numbers on every backend.

A run over several backends (``layergen new/check --backend all``) names a
directory in ``LAYERGEN_CROSS_BACKEND_DIR``. The first backend to run a layer
records its output for fixed weights and inputs there; each later backend
computes the same and compares. This catches backend quirks a one-backend
suite cannot see (an op returning another dtype, a different default axis).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from layergen.run.runner import CROSS_BACKEND_ENV
from layergen.testing.case import LayerCase
from layergen.testing.checks.gradients import input_gradient, projected
from layergen.testing.inputs import outputs_of, to_numpy
from layergen.testing.numerics import full_float32_matmuls
from layergen.testing.variants import for_each_call

# float32 on two backends: kernels may order sums differently (oneDNN, XLA,
# ATen), so results agree to a few units of float32 roundoff per step.
CROSS_BACKEND_TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}


def fixed_weights(layer: Any) -> None:
    """Give every weight a value that depends only on its place, name and
    shape: constant weights (zeros, ones; more than one element, all equal)
    keep their value, others (a scalar too) get a
    seeded normal draw scaled by ``1 / sqrt(fan_in)``, so every backend
    computes with the same numbers. (Nothing here may depend on the initial
    draw, which differs between backends: its signs chose the numbers once.)"""
    for index, weight in enumerate(layer.weights):
        if not keras.backend.is_float_dtype(weight.dtype):
            continue
        current = to_numpy(weight)
        if current.size > 1 and np.all(current == current.flat[0]):
            continue  # zeros, ones: no random draw gives equal elements
        key = f"{index}:{weight.name}:{current.shape}".encode()
        seed = int.from_bytes(hashlib.sha256(key).digest()[:4])
        fan_in = int(np.prod(current.shape[:-1])) if current.ndim > 1 else 4
        draw = np.random.default_rng(seed).standard_normal(current.shape)
        draw /= np.sqrt(fan_in)
        weight.assign(draw.astype(current.dtype))


@for_each_call
def check_same_numbers_across_backends(case: LayerCase) -> None:
    """The layer's inference output for fixed weights and inputs, and the
    gradient of a fixed projection of it with respect to the first (float)
    input, equal what the first backend of this run recorded."""
    directory = os.environ.get(CROSS_BACKEND_ENV)
    if not directory:
        pytest.skip(
            "compares backends only in a run over several "
            "(layergen new/check --backend all)"
        )
    layer = case.make_layer()
    inputs = case.make_inputs()
    case.run(layer, inputs, **case.inference())  # builds the layer
    fixed_weights(layer)
    with full_float32_matmuls():  # a GPU's TF32 is not another backend's number
        outputs = outputs_of(to_numpy(case.run(layer, inputs, **case.inference())))
        numbers = {
            "output" if len(outputs) == 1 else f"output {index}": output
            for index, output in enumerate(outputs)
        }
        if case.differentiable and inputs[0].dtype.kind == "f":
            numbers["input gradient"] = _input_gradient(case, layer, inputs)
    backend = keras.backend.backend()
    call = ""
    if case.keyword_inputs or case.call_arguments:  # a second call, recorded apart
        call = "." + hashlib.sha256(case.describe_call().encode()).hexdigest()[:12]
    record = (
        Path(directory) / f"{case.cls.__module__}.{case.cls.__qualname__}{call}.npz"
    )
    if not record.exists():
        np.savez(record, backend=np.array(backend), **numbers)
        return
    with np.load(record, allow_pickle=False) as saved:
        first = str(saved["backend"])
        recorded = {name: saved[name] for name in numbers if name in saved.files}
    for name, expected in recorded.items():
        actual = numbers[name]
        assert (
            actual.shape == expected.shape
        ), f"{name} shape {actual.shape} on {backend}, {expected.shape} on {first}"
        assert (
            actual.dtype == expected.dtype
        ), f"{name} dtype {actual.dtype} on {backend}, {expected.dtype} on {first}"
        np.testing.assert_allclose(
            actual,
            expected,
            **CROSS_BACKEND_TOLERANCE,
            err_msg=f"{backend} computes another {name} than {first}",
        )


def _input_gradient(case: LayerCase, layer: Any, inputs: list) -> np.ndarray:
    """d sum(output * P) / d first input, for a fixed random P (zeros where no
    gradient flows, so that "none" compares too)."""
    outputs = outputs_of(to_numpy(case.run(layer, inputs, **case.inference())))
    rng = np.random.default_rng(5)
    projections = [rng.standard_normal(o.shape).astype("float32") for o in outputs]

    def objective(first: Any) -> Any:
        output = case.run(layer, [first, *inputs[1:]], **case.inference())
        return projected(output, projections)

    gradient = input_gradient(objective, inputs[0])
    return np.zeros_like(inputs[0]) if gradient is None else np.asarray(gradient)
