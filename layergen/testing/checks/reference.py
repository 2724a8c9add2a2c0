"""The layer's output, and the losses it adds, against a numpy reference the
spec states."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from layergen.testing.case import BuiltModel
from layergen.testing.inputs import assert_close, to_numpy
from layergen.testing.numerics import (
    comparison_tolerance,
    full_float32_matmuls,
    matmul_precision,
    reduction_length,
)
from layergen.testing.tolerances import TOLERANCE


class SublayerWeights:
    """A sublayer's weights as numpy arrays, for a reference: an attribute per
    part of their path below the layer (``proj.kernel``; Keras's
    MultiHeadAttention's ``attention.query.kernel``)."""

    def __init__(self, where: str, arrays: dict[str, np.ndarray]) -> None:
        self._where = where
        self._arrays = arrays

    def __getattr__(self, part: str) -> Any:
        if part.startswith("_"):
            raise AttributeError(part)
        if part in self._arrays:
            return self._arrays[part]
        below = {
            path.partition("/")[2]: array
            for path, array in self._arrays.items()
            if path.partition("/")[0] == part
        }
        if below:
            return SublayerWeights(f"{self._where}.{part}", below)
        known = ", ".join(f"`{p.replace('/', '.')}`" for p in self._arrays) or "none"
        raise AttributeError(
            f"sublayer `{self._where}` has no weight `{part}` (its weights: {known})"
        )


def sublayer_weights(layer: Any, name: str) -> SublayerWeights:
    """The weights of ``layer``'s sublayer ``name``, by their paths below it
    (paths, not attributes: a Keras layer may keep its sublayers private)."""
    prefix = f"{layer.path or layer.name}/{name}/"
    arrays = {
        weight.path.removeprefix(prefix): to_numpy(weight)
        for weight in layer.weights
        if weight.path.startswith(prefix)
    }
    return SublayerWeights(name, arrays)


def check_reference(built: BuiltModel, expected: Any) -> None:
    """The inference output equals ``expected`` (numpy, float64) within float32
    roundoff. The output is computed with TF32 switched off, as on a GPU
    float32 matrix products run in TF32 by default (~1e-3 off); where the
    switch cannot hold, the tolerance follows the precision that ran."""
    with full_float32_matmuls() as how:
        precision = matmul_precision()
        actual = to_numpy(built.model(built.inputs, training=False))
    if precision == "float32":
        tolerance = TOLERANCE
    else:
        shapes = [x.shape for x in built.inputs]
        tolerance = comparison_tolerance(
            precision, reduction_length(shapes, built.layer.weights)
        )
    assert_close(
        actual,
        expected,
        **tolerance,
        err_msg=f"output vs the numpy reference, products in {precision} ({how})",
    )


def check_losses(
    built: BuiltModel,
    expected: list[np.ndarray | None],
    training_changes: Sequence[bool] = (),
) -> None:
    """An inference call, then a training call, each adds one finite scalar
    loss per entry of ``expected`` (``layer.losses``, in order). At inference
    each equals its numpy value where one is given (None: finite only); in
    training too, except those ``training_changes`` marks (a dropout before an
    activity penalty: finite only). A loss that is no scalar would be summed
    silently by ``fit``. The training call's state changes (moving
    statistics, seeds) are undone: other checks share ``built``."""
    changes = list(training_changes) or [False] * len(expected)
    for training in (False, True):
        with full_float32_matmuls():
            losses = _losses(built, training)
        when = "a training call" if training else "an inference call"
        assert len(losses) == len(expected), (
            f"the layer added {len(losses)} losses in {when}, the spec declares "
            f"{len(expected)}"
        )
        for index, (loss, value) in enumerate(zip(losses, expected, strict=True)):
            assert (
                loss.shape == ()
            ), f"loss {index} has shape {loss.shape} in {when}, not a scalar"
            assert np.isfinite(loss), f"loss {index} is {loss} in {when}"
            if value is not None and not (training and changes[index]):
                np.testing.assert_allclose(
                    loss,
                    value,
                    **TOLERANCE,
                    err_msg=f"loss {index} in {when} vs the numpy reference",
                )


def _losses(built: BuiltModel, training: bool) -> list[np.ndarray]:
    """The losses one call of ``built.model`` adds; a training call's changes
    to the model's variables are undone."""
    if not training:
        built.model(built.inputs, training=False)
        return [to_numpy(loss) for loss in built.layer.losses]
    variables = list(built.model.variables)
    saved = [to_numpy(v) for v in variables]
    try:
        built.model(built.inputs, training=True)
        return [to_numpy(loss) for loss in built.layer.losses]
    finally:
        for variable, value in zip(variables, saved, strict=True):
            variable.assign(value)
