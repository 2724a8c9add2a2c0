"""Initial weights: no two start out the same unless declared tied."""

from __future__ import annotations

import itertools
from typing import Any

import keras
import numpy as np
import pytest

from layergen.testing.case import LayerCase

# |cosine| above this: one weight is a multiple of the other.
PROPORTIONAL = 1 - 1e-6


def check_initial_weights_differ(case: LayerCase) -> None:
    """No two non-constant float weights start out identical or proportional,
    unless a group of ``tied_weights`` holds both (by name or path). An
    unseeded Keras initializer instance returns the same values on every
    call, so weights sharing one (q, k and v kernels from one
    ``kernel_initializer``) start equal and learn alike; constant weights
    (zeros, ones) are meant to be equal and are left out."""
    layer = case.make_layer()
    case.run(layer, case.make_inputs(), **case.inference())  # builds sublayers too
    varied = [
        (weight, np.ravel(keras.ops.convert_to_numpy(weight)).astype(np.float64))
        for weight in layer.weights
        if keras.backend.is_float_dtype(weight.dtype)
    ]
    varied = [(w, v) for w, v in varied if v.size > 1 and np.ptp(v) > 0]
    if len(varied) < 2:
        pytest.skip("fewer than two weights with varied initial values")
    for (first, a), (second, b) in itertools.combinations(varied, 2):
        if a.size != b.size or _tied(case, first, second):
            continue
        cosine = abs(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b))
        relation = "identical" if np.array_equal(a, b) else "proportional"
        assert cosine < PROPORTIONAL, (
            f"{first.path} and {second.path} start out {relation}: give each "
            "weight its own initializer (a clone, or its own seed), or declare "
            "them in tied_weights"
        )


def _tied(case: LayerCase, first: Any, second: Any) -> bool:
    return any(
        {first.name, first.path} & set(group)
        and {second.name, second.path} & set(group)
        for group in case.tied_weights
    )
