"""The layer's output, and the losses it adds, against a numpy reference the
spec states."""

from __future__ import annotations

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


def check_losses(built: BuiltModel, expected: list[np.ndarray | None]) -> None:
    """An inference call adds one finite scalar loss per entry of ``expected``
    (``layer.losses``, in order), each equal to its numpy value where one is
    given (None: finite only). A loss that is no scalar would be summed
    silently by ``fit``."""
    with full_float32_matmuls():
        built.model(built.inputs, training=False)
        losses = [to_numpy(loss) for loss in built.layer.losses]
    assert len(losses) == len(expected), (
        f"the layer added {len(losses)} losses in call(), the spec declares "
        f"{len(expected)}"
    )
    for index, (loss, value) in enumerate(zip(losses, expected, strict=True)):
        assert loss.shape == (), f"loss {index} has shape {loss.shape}, not a scalar"
        assert np.isfinite(loss), f"loss {index} is {loss}"
        if value is not None:
            np.testing.assert_allclose(
                loss, value, **TOLERANCE, err_msg=f"loss {index} vs the numpy reference"
            )
