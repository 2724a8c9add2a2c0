"""Inputs, masks and values for the checks, on any backend."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np


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


def reset_keras_state(seed: int = 1234) -> None:
    """Start a test from a clean Keras session with fixed random seeds.

    Python's full garbage collection, which clear_session runs by default, is
    skipped: it takes ~0.2 s with TensorFlow loaded, most of a small test, and
    no check depends on it (the collector still runs on its own schedule).
    """
    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(seed)
