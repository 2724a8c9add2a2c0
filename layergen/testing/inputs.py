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


def to_numpy(value: Any) -> Any:
    """A tensor, variable or array as a numpy array, on any backend; the tuple
    or list a layer with several outputs returns as a tuple of arrays."""
    if isinstance(value, tuple | list):
        return tuple(to_numpy(item) for item in value)
    return keras.ops.convert_to_numpy(value)


def outputs_of(value: Any) -> list[Any]:
    """A layer's outputs as a list: its one tensor, or each of several."""
    return list(value) if isinstance(value, tuple | list) else [value]


def assert_close(
    actual: Any, expected: Any, err_msg: str = "", **tolerance: Any
) -> None:
    """``np.testing.assert_allclose`` for one output or each of several."""
    actual, expected = outputs_of(actual), outputs_of(expected)
    assert len(actual) == len(
        expected
    ), f"{len(actual)} outputs, expected {len(expected)}. {err_msg}".strip()
    for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
        where = f" (output {index})" if len(actual) > 1 else ""
        np.testing.assert_allclose(a, e, err_msg=err_msg + where, **tolerance)


def all_close(first: Any, second: Any) -> bool:
    """``np.allclose`` for one output or each of several (same structure)."""
    pairs = list(zip(outputs_of(first), outputs_of(second), strict=True))
    return all(np.allclose(a, b) for a, b in pairs)


def reset_keras_state(seed: int = 1234) -> None:
    """Start a test from a clean Keras session with fixed random seeds.

    Python's full garbage collection, which clear_session runs by default, is
    skipped: it takes ~0.2 s with TensorFlow loaded, most of a small test, and
    no check depends on it (the collector still runs on its own schedule).
    """
    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(seed)
