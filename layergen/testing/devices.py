"""Which devices the active backend sees, and how to get two for distribution."""

from __future__ import annotations

import contextlib
from typing import Any

import keras


def visible_gpus() -> list[str]:
    """Names of the GPUs the active Keras backend can use (empty when none)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return [d.name for d in tf.config.list_logical_devices("GPU")]
    if backend == "jax":
        import jax

        return [str(d) for d in jax.devices() if d.platform == "gpu"]
    if backend == "torch":
        import torch

        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        return [torch.cuda.get_device_name(i) for i in range(count)]
    return []


def tensor_device(tensor: Any) -> str:
    """Where a backend tensor lives, for example ``/device:GPU:0`` or ``cuda:0``."""
    if hasattr(tensor, "devices"):  # jax.Array
        return ",".join(str(d) for d in tensor.devices())
    return str(getattr(tensor, "device", "cpu"))


def is_gpu_device(device: str) -> bool:
    """Whether a device string from :func:`tensor_device` names a GPU."""
    lowered = device.lower()
    return "gpu" in lowered or "cuda" in lowered


def no_gpu_reason() -> str | None:
    """The skip reason for GPU tests, or None when a GPU is visible."""
    if visible_gpus():
        return None
    return f"no GPU visible to {keras.backend.backend()}"


def device_description() -> str:
    """One line for reports: the GPU used, or that the CPU ran the tests."""
    gpus = visible_gpus()
    backend = keras.backend.backend()
    if gpus:
        return f"GPU: {gpus[0]} ({backend})"
    return f"CPU: no GPU found ({backend})"


# Memory of each of the two logical GPUs one physical GPU is split into (MiB).
LOGICAL_GPU_MEMORY_MB = 4096


def configure_logical_devices(count: int = 2) -> bool:
    """Give TensorFlow ``count`` devices for tf.distribute: split a single GPU
    into ``count`` logical GPUs (of :data:`LOGICAL_GPU_MEMORY_MB` each), and
    the CPU into ``count`` logical CPUs.

    Must run before TensorFlow initialises its devices (layergen's pytest
    plugin does it at start-up); returns whether ``count`` devices of one kind
    exist.
    """
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) == 1:
        memory = tf.config.LogicalDeviceConfiguration(
            memory_limit=LOGICAL_GPU_MEMORY_MB
        )
        with contextlib.suppress(RuntimeError):  # already initialised: keep it
            tf.config.set_logical_device_configuration(gpus[0], [memory] * count)
    split_cpus = configure_logical_cpus(count)
    return split_cpus or len(tf.config.list_logical_devices("GPU")) >= count


def configure_logical_cpus(count: int = 2) -> bool:
    """Split TensorFlow's CPU into ``count`` logical devices for tf.distribute.

    Must run before TensorFlow initialises its devices (layergen's pytest
    plugin does it at start-up); returns whether the devices exist.
    """
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    with contextlib.suppress(RuntimeError):  # already initialised: keep it
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * count
        )
    return len(tf.config.list_logical_devices("CPU")) >= count
