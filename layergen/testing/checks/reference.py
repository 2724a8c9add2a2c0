"""The layer's output against a numpy reference the spec states."""

from __future__ import annotations

from typing import Any

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
