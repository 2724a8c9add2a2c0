"""What a bool ``[call.args]`` flag changes besides the returned value: the
output's shape (``[output] shape_if``) and the mask (``[mask] expr`` reading
the flag), as keras-hub's ReversibleEmbedding gives logits and no mask with
``reverse=True``."""

from __future__ import annotations

from typing import Any

from layergen.spec import expressions as ex
from layergen.spec.model import Expr, LayerSpec, ParamType
from layergen.spec.validate.reporting import Report, hint, kind
from layergen.spec.validate.schema import KeyPath
from layergen.spec.validate.scopes import ShapeScope
from layergen.spec.validate.shapes import validate_shape

SHAPE_IF = "shape_if"


def bool_flags(spec: LayerSpec) -> list[str]:
    return [a.name for a in spec.call_args if a.type == ParamType.BOOL]


def validate_flag_shapes(
    report: Report, spec: LayerSpec, table: dict[str, Any], shape_names: ShapeScope
) -> dict[str, tuple[Expr, ...]]:
    """``shape_if = { reverse = [...] }``: the output's shape when a bool
    call flag is true, next to ``shape`` (its shape otherwise)."""
    if SHAPE_IF not in table:
        return {}
    path: KeyPath = ("output", SHAPE_IF)
    raw = table[SHAPE_IF]
    if not isinstance(raw, dict):
        report.error(
            path,
            f"expected a table of bool flags and shapes, found {kind(raw)} "
            '(like `{ reverse = ["*x[:-1]", "units"] }`)',
        )
        return {}
    if "shape" not in table:
        report.error(
            path,
            "`shape_if` goes with `shape`, the output's shape when no flag it "
            "names is true",
        )
        return {}
    shapes = {}
    for flag, shape in raw.items():
        arg = spec.call_arg(flag)
        if arg is None or arg.type != ParamType.BOOL:
            report.error(
                (*path, flag),
                f"`{flag}` is not a bool argument of `[call.args]`; `shape_if` "
                "maps flags to the output's shape when they are true"
                + hint(flag, bool_flags(spec)),
            )
            continue
        found = validate_shape(
            report, shape_names, shape, (*path, flag), allow_star=True
        )
        if found is not None:
            shapes[flag] = found
    return shapes


def check_mask_flags(report: Report, spec: LayerSpec) -> None:
    """A mask that reads a call flag is computed by call() and set on its
    output (``[mask]`` mode "compute" has one); the incoming mask it may read
    is call()'s ``mask``, of one input. (Steps cannot rebind the inputs or
    masks it reads.)"""
    if not spec.mask_flags or spec.mask_expr is None:
        return
    read = ex.names_in(spec.mask_expr.node)
    if "mask" in read and len(spec.main_inputs) > 1:
        report.error(
            ("mask", "expr"),
            "a mask that reads a call flag is computed in call(), whose masks "
            "are `<input>_mask` for several inputs; read the flag and the "
            "first input only",
        )
