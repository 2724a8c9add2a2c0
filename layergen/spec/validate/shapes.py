"""Shape arrays (``[weights]``, ``[states]``, ``[output]``): each dimension an
int, an expression of int params, items of ``list[int]`` params and input
dimensions, or ``a if condition else b`` of those."""

from __future__ import annotations

import ast
from typing import Any

from layergen.spec import expressions as ex
from layergen.spec.model import Expr
from layergen.spec.validate.reporting import Report, kind
from layergen.spec.validate.schema import KeyPath
from layergen.spec.validate.scopes import ShapeScope


def validate_shape(
    report: Report,
    names: ShapeScope,
    raw: Any,
    path: KeyPath,
    *,
    allow_star: bool = False,
    guard: ast.AST | None = None,
) -> tuple[Expr, ...] | None:
    """The shape, or None where a dimension is wrong (each one reported).
    ``guard``: a condition that holds wherever the shape is made (a weight's
    ``if``), so the optional params it rules None out for are dimensions."""
    if not isinstance(raw, list):
        report.error(path, f"expected an array of dimensions, found {kind(raw)}")
        return None
    int_params, ranks, params, optional, optional_inputs, int_lists = names[:6]
    if guard is not None:
        guarded = ex.not_none_when(guard, optional, names.implied)
        int_params = int_params | {name for name, when in guarded if when}
    dims: list[Expr] = []
    for index, dim in enumerate(raw):
        source = str(dim) if isinstance(dim, int) and not isinstance(dim, bool) else dim
        if not isinstance(source, str):
            report.error(
                (*path, index), f"expected an int or a string, found {kind(dim)}"
            )
            continue
        try:
            if allow_star and source.lstrip().startswith("*"):
                node = ex.parse_expression(f"({source},)").elts[0]
            else:
                node = ex.parse_expression(source)
            absent = sorted(ex.names_in(node) & optional_inputs)
            if absent:
                raise ex.ExpressionError(
                    f"optional input `{absent[0]}` may be absent (None): a "
                    "shape reads the dimensions of the required inputs only"
                )
            ex.check_shape_dim(
                node,
                int_params,
                ranks,
                allow_star=allow_star,
                suggest=report.suggesting,
                params=params,
                optional=optional,
                int_lists=int_lists,
                layers=names.layers,
                implied=names.implied,
            )
        except ex.ExpressionError as exc:
            report.error((*path, index), f"{exc} (in `{source}`)")
            continue
        dims.append(report.expr(source, node, (*path, index)))
    return tuple(dims) if len(dims) == len(raw) else None
