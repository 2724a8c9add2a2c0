"""``[output]``: the declared output shape, and whether a propagated mask
still fits it."""

from __future__ import annotations

import ast
from typing import Any

from layergen.spec.model import Expr, Input, LayerSpec, MaskMode
from layergen.spec.validate.reporting import Report, hint
from layergen.spec.validate.schema import DTYPES
from layergen.spec.validate.scopes import ShapeScope
from layergen.spec.validate.shapes import validate_shape


def validate_output(
    report: Report, spec: LayerSpec, table: dict[str, Any], shape_names: ShapeScope
) -> tuple[Expr, ...] | None:
    """The output shape, or None (not declared, a cell's, or wrong)."""
    if "shape" not in table:
        return None
    if spec.is_cell:
        report.error(("output", "shape"), "a cell's output shape comes from RNN")
        return None
    shape = validate_shape(
        report, shape_names, table["shape"], ("output", "shape"), allow_star=True
    )
    if spec.mask_mode != MaskMode.PROPAGATE or shape is None or not spec.inputs:
        return shape  # no inputs: reported at `[inputs]`
    if not _keeps_mask_axes(shape, spec.inputs[0]):
        name = spec.inputs[0].name
        report.error(
            ("mask", "mode"),
            f'mode "propagate" passes on the mask of `{name}`, shaped '
            f"like `{name}[:-1]`, but the output shape does not keep "
            'those axes; use "consume" (the output carries no mask) '
            'or "compute" (declare the output\'s mask)',
        )
    return shape


def validate_output_dtype(
    report: Report, spec: LayerSpec, table: dict[str, Any]
) -> str | None:
    """``[output] dtype``: an output that is not in the compute dtype (an
    index, a flag), declared with its shape so the symbolic output has it."""
    dtype = report.typed(table, "dtype", ("output",), (str,), "a string")
    if dtype is None:
        return None
    if dtype not in DTYPES:
        report.error(
            ("output", "dtype"), f"unknown dtype `{dtype}`{hint(dtype, DTYPES)}"
        )
        return None
    if "shape" not in table:
        report.error(
            ("output", "dtype"),
            "`dtype` goes with `shape`; without a shape the output's dtype is "
            "traced from call() and needs no declaring",
        )
        return None
    return dtype


def _keeps_mask_axes(shape: tuple[Expr, ...], item: Input) -> bool:
    """Whether an output shape starts with all but the last axis of ``item``
    (``*x[:-1]``, or ``x[0], x[1]`` for an input of rank 3), where Keras's
    masks live."""
    first = shape[0].node if shape else None
    if isinstance(first, ast.Starred):
        sub = first.value
        upper = sub.slice.upper
        whole = upper is None or ast.unparse(upper) == "-1"
        return sub.value.id == item.name and sub.slice.lower is None and whole
    if item.rank is None:
        return False
    kept = [ast.unparse(d.node).replace(" ", "") for d in shape[: item.rank - 1]]
    return len(kept) == item.rank - 1 and all(
        dim in (f"{item.name}[{axis}]", f"{item.name}[{axis - item.rank}]")
        for axis, dim in enumerate(kept)
    )
