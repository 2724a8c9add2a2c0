"""Dimensions: shape entries (int arithmetic over int params and input
dimensions like ``x[-1]``), checks that read inputs only through their
dimensions, and the input axes an expression reads."""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterable, Mapping

from layergen.spec.expressions.symbols import ExpressionError, did_you_mean

SHAPE_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod)


def check_shape_dim(
    node: ast.AST,
    int_params: Iterable[str],
    input_ranks: Mapping[str, tuple[int | None, int | None]],
    *,
    allow_star: bool = False,
    suggest: bool = True,
) -> None:
    """Check a weight/state/output shape entry: integer arithmetic over params and
    input dimensions (``x[-1]``); ``*x[:-1]`` and ``None`` only when ``allow_star``."""
    int_params = frozenset(int_params)  # no copy when it is one already
    if allow_star and isinstance(node, ast.Starred):
        sub = node.value
        if not (
            isinstance(sub, ast.Subscript)
            and isinstance(sub.value, ast.Name)
            and sub.value.id in input_ranks
            and isinstance(sub.slice, ast.Slice)
        ):
            raise ExpressionError("`*` must unpack a slice of an input, like `*x[:-1]`")
        bounds = (sub.slice.lower, sub.slice.upper)
        if sub.slice.step is not None or not all(
            bound is None or _int_literal(bound) for bound in bounds
        ):
            raise ExpressionError(
                "`*` unpacks a slice with int literal bounds and no step, "
                "like `*x[1:-1]`"
            )
        return
    if allow_star and isinstance(node, ast.Constant) and node.value is None:
        return
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
    ):
        raise ExpressionError(f"a dimension cannot be negative ({ast.unparse(node)})")
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int):
            raise ExpressionError(f"expected an integer, found {node.value!r}")
        if node.value < 0:
            raise ExpressionError(f"a dimension cannot be negative ({node.value})")
        return
    if isinstance(node, ast.Name):
        if node.id in input_ranks:
            raise ExpressionError(
                f"`{node.id}` is an input: use one of its dimensions, like "
                f"`{node.id}[-1]`"
            )
        if node.id not in int_params:
            raise ExpressionError(
                f"unknown name `{node.id}`: a dimension may use int params "
                "and input dimensions"
                + did_you_mean(node.id, int_params | set(input_ranks), suggest)
            )
        return
    if isinstance(node, ast.Subscript):
        _check_input_axis(node, input_ranks)
        return
    if isinstance(node, ast.BinOp) and isinstance(node.op, SHAPE_OPERATORS):
        check_shape_dim(node.left, int_params, input_ranks, suggest=suggest)
        check_shape_dim(node.right, int_params, input_ranks, suggest=suggest)
        return
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        raise ExpressionError("`/` gives a float: use `//` for dimensions")
    raise ExpressionError(
        "a dimension must be an int, an int param, an input dimension like "
        "`x[-1]`, or `+ - * // %` of those"
    )


def star_slice(node: ast.Starred) -> tuple[str, int | None, int | None]:
    """The input and the bounds of a checked ``*x[a:b]`` shape entry."""
    sub = node.value
    assert isinstance(sub, ast.Subscript) and isinstance(sub.value, ast.Name)
    assert isinstance(sub.slice, ast.Slice)
    lower, upper = (
        None if bound is None else ast.literal_eval(bound)
        for bound in (sub.slice.lower, sub.slice.upper)
    )
    return sub.value.id, lower, upper


def _int_literal(node: ast.AST) -> bool:
    """``3`` or ``-1``: an int written as a literal."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int)
        and not isinstance(node.value, bool)
    )


def _check_input_axis(
    node: ast.Subscript, input_ranks: Mapping[str, tuple[int | None, int | None]]
) -> None:
    if not isinstance(node.value, ast.Name) or node.value.id not in input_ranks:
        raise ExpressionError(
            f"`{ast.unparse(node)}` does not index an input"
            + (
                did_you_mean(node.value.id, input_ranks)
                if isinstance(node.value, ast.Name)
                else ""
            )
        )
    try:
        axis = ast.literal_eval(node.slice)
    except ValueError:
        axis = None
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise ExpressionError(f"`{ast.unparse(node)}`: the axis must be an int literal")
    rank, min_rank = input_ranks[node.value.id]
    if rank is not None and not -rank <= axis < rank:
        raise ExpressionError(
            f"axis {axis} is out of range for input `{node.value.id}` of rank {rank}"
        )
    if rank is None and min_rank is not None and not -min_rank <= axis < min_rank:
        raise ExpressionError(
            f"axis {axis} may not exist: input `{node.value.id}` "
            f"has min_rank {min_rank}"
        )


def check_input_dims_only(
    node: ast.AST, input_ranks: Mapping[str, tuple[int | None, int | None]]
) -> None:
    """Inputs may appear in a check only as dimensions, like ``x[-1]``."""
    dims = {
        id(sub.value)
        for sub in ast.walk(node)
        if isinstance(sub, ast.Subscript)
        and isinstance(sub.value, ast.Name)
        and sub.value.id in input_ranks
    }
    for sub in ast.walk(node):
        if isinstance(sub, ast.Subscript) and id(sub.value) in dims:
            _check_input_axis(sub, input_ranks)
        elif (
            isinstance(sub, ast.Name) and sub.id in input_ranks and id(sub) not in dims
        ):
            raise ExpressionError(
                f"a check reads inputs only through their dimensions, like "
                f"`{sub.id}[-1]`"
            )


def input_axes(
    node: ast.AST, inputs: Collection[str] | None = None
) -> list[tuple[str, int]]:
    """Every ``(input, axis)`` an expression reads, like ``("x", -1)``, in
    order. Only subscripts of ``inputs`` count (pass them wherever a param
    may be subscripted too: ``sizes[0]`` of a list param is no input
    dimension); ``None`` counts any name's int subscript."""
    found: list[tuple[str, int]] = []
    for sub in ast.walk(node):
        if (
            isinstance(sub, ast.Subscript)
            and isinstance(sub.value, ast.Name)
            and (inputs is None or sub.value.id in inputs)
            and _int_literal(sub.slice)
        ):
            axis = ast.literal_eval(sub.slice)
            if (sub.value.id, axis) not in found:
                found.append((sub.value.id, axis))
    return found
