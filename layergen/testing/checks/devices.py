"""The layer on a GPU against the CPU."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from layergen.testing.case import LayerCase
from layergen.testing.devices import is_gpu_device, no_gpu_reason, tensor_device
from layergen.testing.inputs import to_numpy
from layergen.testing.tolerances import GPU_TOLERANCE


def check_runs_on_gpu(case: LayerCase) -> None:
    """On a visible GPU the output is computed there and matches the CPU."""
    reason = no_gpu_reason()
    if reason is not None:
        pytest.skip(reason)
    inputs = case.make_inputs()
    layer = case.make_layer()
    with keras.device("gpu:0"):
        on_gpu = case.run(layer, inputs, **case.inference())
    assert is_gpu_device(tensor_device(on_gpu)), tensor_device(on_gpu)
    with keras.device("cpu:0"):
        on_cpu = case.run(layer, inputs, **case.inference())
    np.testing.assert_allclose(to_numpy(on_gpu), to_numpy(on_cpu), **GPU_TOLERANCE)
