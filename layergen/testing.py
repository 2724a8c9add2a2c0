"""Helpers that generated test files import at run time (they import Keras).

Public: users may call these from tests of hand-written layers too. Only
public Keras API is used, so the helpers work on every Keras backend.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np


def load_layer(test_file: str, layer_file: str, class_name: str) -> type:
    """Import a layer class from a module file given relative to ``test_file``.

    Used by generated tests whose layer is not in an importable package; the
    module is registered in ``sys.modules`` (under its file name when free), so
    the layer's Keras registration runs once.
    """
    path = (Path(test_file).parent / layer_file).resolve()
    name = path.stem
    loaded = sys.modules.get(name)
    if loaded is not None and Path(getattr(loaded, "__file__", "")).resolve() == path:
        return getattr(loaded, class_name)
    if loaded is not None:
        name = f"layergen_loaded_{abs(hash(str(path)))}_{name}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import a layer from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return getattr(module, class_name)


def random_inputs(
    shapes: Mapping[str, Sequence[int]],
    dtypes: Mapping[str, str] | None = None,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Unit-scale random arrays for each input: normal floats, or ints in [0, 10)."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for name, shape in shapes.items():
        dtype = (dtypes or {}).get(name) or "float32"
        if "int" in dtype:
            arrays[name] = rng.integers(0, 10, size=shape).astype(dtype)
        elif dtype == "bool":
            arrays[name] = rng.random(size=shape) < 0.5
        else:
            arrays[name] = rng.standard_normal(size=shape).astype(dtype)
    return arrays


def random_mask(shape: Sequence[int], seed: int = 1) -> np.ndarray:
    """A boolean mask with at least one True and one False in every row."""
    rng = np.random.default_rng(seed)
    mask = rng.random(size=shape) < 0.6
    flat = mask.reshape(shape[0], -1)
    flat[:, 0] = True
    if flat.shape[1] > 1:
        flat[:, -1] = False
    return flat.reshape(shape)


def apply_mask(inputs: np.ndarray, mask: np.ndarray) -> Any:
    """``inputs`` with a Keras mask attached, through a ``keras.layers.Masking``.

    Masked-out steps are zeroed so that ``Masking(0.0)`` computes ``mask``.
    """
    zeroed = np.where(mask[..., None], inputs, 0).astype(inputs.dtype)
    return keras.layers.Masking(mask_value=0.0)(zeroed)


def to_numpy(value: Any) -> np.ndarray:
    """A tensor, variable or array as a numpy array, on any backend."""
    return keras.ops.convert_to_numpy(value)


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


def reset_keras_state(seed: int = 1234) -> None:
    """Start a test from a clean Keras session with fixed random seeds."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
