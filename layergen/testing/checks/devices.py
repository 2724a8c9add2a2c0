"""The layer on a GPU against its twin on the CPU."""

from __future__ import annotations

from typing import Any

import keras
import pytest

from layergen.testing.case import LayerCase
from layergen.testing.devices import is_gpu_device, no_gpu_reason, tensor_device
from layergen.testing.inputs import outputs_of, to_numpy
from layergen.testing.numerics import (
    assert_outputs_close,
    full_float32_matmuls,
    matmul_precision,
    reduction_length,
)
from layergen.testing.variants import for_each_call


@for_each_call(every=False)
def check_runs_on_gpu(case: LayerCase) -> None:
    """On a visible GPU the output is computed there and matches a CPU twin:
    a second layer built on the CPU with the GPU layer's weights copied in
    (PyTorch does not move a layer's weights to another device). TF32 is
    switched off while both run, and the tolerance follows the precision
    then in effect (see :mod:`layergen.testing.numerics`)."""
    reason = no_gpu_reason()
    if reason is not None:
        pytest.skip(reason)
    inputs = case.make_inputs()
    with full_float32_matmuls() as how:
        precision = matmul_precision()
        with keras.device("gpu:0"):
            layer = case.make_layer()
            on_gpu = case.run(layer, inputs, **case.inference())
        device = tensor_device(outputs_of(on_gpu)[0])
        assert is_gpu_device(device), device
        on_cpu = run_twin_on_cpu(case, layer, inputs)
    assert_outputs_close(
        to_numpy(on_gpu),
        on_cpu,
        precision,
        reduction_length(list(case.call_shapes().values()), layer.weights),
        f"GPU output vs CPU twin (TF32 off: {how})",
    )


def run_twin_on_cpu(case: LayerCase, layer: Any, inputs: list) -> Any:
    """The output of a fresh layer built on the CPU, with ``layer``'s weights
    (read as numpy, so from any device), called on ``inputs`` there."""
    weights = layer.get_weights()
    # "cpu", not "cpu:0": under "cpu:0" Keras's torch backend makes variables
    # plain tensors (torch's Parameter.to("cpu:0") copies), and an integer one
    # (a step counter, a seed state) then fails its layer's parameter tracking.
    with keras.device("cpu"):
        twin = case.make_layer()
        case.run(twin, inputs, **case.inference())  # builds it on the CPU
        assert len(twin.weights) == len(weights), "the twin has other weights"
        twin.set_weights(weights)
        output = case.run(twin, inputs, **case.inference())
        device = tensor_device(outputs_of(output)[0])
    assert not is_gpu_device(device), f"the CPU twin ran on {device}"
    return to_numpy(output)
