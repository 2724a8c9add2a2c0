"""Two devices for the distribution check, simulated on the CPU: a single GPU
is split into two logical TensorFlow GPUs, and a machine with one device
skips saying what was not checked."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

keras = pytest.importorskip("keras")
if keras.backend.backend() != "tensorflow":
    pytest.skip("simulates TensorFlow's device configuration", allow_module_level=True)

import tensorflow as tf  # noqa: E402

from layergen import testing  # noqa: E402
from layergen.testing import devices  # noqa: E402


def test_one_gpu_is_split_into_two_logical_gpus(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gpu = SimpleNamespace(name="/physical_device:GPU:0", device_type="GPU")
    calls: list[tuple[Any, list]] = []
    monkeypatch.setattr(
        tf.config,
        "list_physical_devices",
        lambda kind=None: [gpu] if kind == "GPU" else [],
    )
    monkeypatch.setattr(
        tf.config,
        "set_logical_device_configuration",
        lambda device, configs: calls.append((device, configs)),
    )
    monkeypatch.setattr(devices, "configure_logical_cpus", lambda count: False)
    monkeypatch.setattr(
        tf.config, "list_logical_devices", lambda kind=None: ["gpu:0", "gpu:1"]
    )
    assert devices.configure_logical_devices(2)
    ((device, configs),) = calls
    assert device is gpu and len(configs) == 2
    assert all(c.memory_limit == devices.LOGICAL_GPU_MEMORY_MB for c in configs)


def test_two_gpus_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    gpus = [SimpleNamespace(name=f"GPU:{i}") for i in range(2)]
    monkeypatch.setattr(
        tf.config,
        "list_physical_devices",
        lambda kind=None: gpus if kind == "GPU" else [],
    )
    monkeypatch.setattr(
        tf.config,
        "set_logical_device_configuration",
        lambda *args: pytest.fail("a second GPU needs no split"),
    )
    monkeypatch.setattr(devices, "configure_logical_cpus", lambda count: True)
    assert devices.configure_logical_devices(2)


def test_one_device_skips_saying_what_was_not_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    one = [SimpleNamespace(name="/device:ONE:0")]
    monkeypatch.setattr(tf.config, "list_logical_devices", lambda kind=None: one)
    case = testing.LayerCase(keras.layers.Dense, {"units": 2}, {"x": (2, 3)})
    with pytest.raises(pytest.skip.Exception) as info:
        testing.check_distribution(case)
    assert "needs two devices (found 1 GPU, 1 CPU)" in info.value.msg
    assert (
        "not checked: that one training step spread over two replicas" in info.value.msg
    )
