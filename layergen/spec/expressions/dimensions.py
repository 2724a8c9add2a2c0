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
    params: Collection[str] = (),
    optional: Collection[str] = (),
    int_lists: Mapping[str, int | None] | None = None,
    layers: Mapping[str, Collection[str] | None] | None = None,
    implied: Collection[tuple[str, str]] = (),
) -> None:
    """Check a weight/state/output shape entry: integer arithmetic over params,
    items of ``int_lists`` (``kernel_size[0]``; each maps to its default's
    length, None without one) and input dimensions (``x[-1]``), or ``a if
    condition else b`` of those with a
    condition over ``params`` and input dimensions; ``*x[:-1]`` and ``None``
    only when ``allow_star``. An ``optional`` int param (it may be None), or
    an optional list's item, is a dimension only where a condition rules None
    out: ``x[-1] if d is None else d``; ``int_params`` holds those it has.
    So is an int param of a ``layer`` param's spec (``layers`` maps each to
    them: ``emb.input_dim``). ``implied`` pairs ``(a, b)``: where ``a`` is
    None, ``b`` is not (a check ``a is not None or b is not None``)."""
    int_params = frozenset(int_params)  # no copy when it is one already
    if isinstance(node, ast.IfExp):
        _check_condition(node.test, params, input_ranks, suggest)
        guarded = not_none_when(node.test, optional, implied)
        for branch, holds in ((node.body, True), (node.orelse, False)):
            known = int_params | {name for name, when in guarded if when == holds}
            check_shape_dim(
                branch,
                known,
                input_ranks,
                allow_star=allow_star,
                suggest=suggest,
                params=params,
                optional=optional,
                int_lists=int_lists,
                layers=layers,
                implied=implied,
            )
        return
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        _check_layer_dim(node, node.value.id, int_params, optional, layers or {})
        return
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
        if node.id in (layers or {}):
            ints = sorted((layers or {})[node.id] or ["units"])
            raise ExpressionError(
                f"`{node.id}` is a layer, not a dimension: read one of its int "
                f"params, like `{node.id}.{ints[0]}`"
                + ("" if (layers or {})[node.id] else ' (with `spec = "..."`)')
            )
        if node.id in input_ranks:
            raise ExpressionError(
                f"`{node.id}` is an input: use one of its dimensions, like "
                f"`{node.id}[-1]`"
            )
        if node.id in (int_lists or {}):
            raise ExpressionError(
                f"`{node.id}` is a list param: use one of its items, like "
                f"`{node.id}[0]`"
            )
        if node.id in optional and node.id not in int_params:
            raise ExpressionError(
                f"`{node.id}` may be None: give the dimension it stands for "
                f"then, like `x[-1] if {node.id} is None else {node.id}`"
            )
        if node.id not in int_params:
            raise ExpressionError(
                f"unknown name `{node.id}`: a dimension may use int params "
                "and input dimensions"
                + did_you_mean(node.id, int_params | set(input_ranks), suggest)
            )
        return
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name)
        and node.value.id in (int_lists or {})
    ):
        name = node.value.id
        if name in optional and name not in int_params:
            raise ExpressionError(
                f"`{name}` may be None: give the dimension it stands for then, "
                f"like `1 if {name} is None else {ast.unparse(node)}`"
            )
        _check_list_item(node, name, (int_lists or {})[name])
        return
    if isinstance(node, ast.Subscript):
        _check_input_axis(node, input_ranks)
        return
    if isinstance(node, ast.BinOp) and isinstance(node.op, SHAPE_OPERATORS):
        for side in (node.left, node.right):
            check_shape_dim(
                side,
                int_params,
                input_ranks,
                suggest=suggest,
                params=params,
                optional=optional,
                int_lists=int_lists,
                layers=layers,
                implied=implied,
            )
        return
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        raise ExpressionError("`/` gives a float: use `//` for dimensions")
    raise ExpressionError(
        "a dimension must be an int, an int param, an input dimension like "
        "`x[-1]`, `+ - * // %` of those, or `a if condition else b`"
    )


_CONDITION_NODES = (ast.Compare, ast.BoolOp, ast.UnaryOp, ast.BinOp, ast.Subscript)
_COMPARISONS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Is, ast.IsNot)


def _check_condition(
    node: ast.AST,
    params: Collection[str],
    input_ranks: Mapping[str, tuple[int | None, int | None]],
    suggest: bool,
) -> None:
    """The condition of a conditional dimension: comparisons, ``and``, ``or``
    and ``not`` of params (any type: ``padding == 'same'``), constants, input
    dimensions and ``+ - * // %`` of those."""
    if isinstance(node, ast.Constant):
        if not isinstance(node.value, int | float | str | type(None)):
            raise ExpressionError(f"constant {node.value!r} is not allowed")
        return
    if isinstance(node, ast.Name):
        if node.id not in params:
            raise ExpressionError(
                f"unknown name `{node.id}`: a condition in a shape may use "
                "params and input dimensions"
                + did_you_mean(node.id, set(params) | set(input_ranks), suggest)
            )
        return
    if isinstance(node, ast.Subscript):
        _check_input_axis(node, input_ranks)
        return
    if not isinstance(node, _CONDITION_NODES) or (
        isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.Not | ast.USub)
    ):
        raise ExpressionError(
            "a condition in a shape compares params and input dimensions "
            "(`==`, `<`, `is None`, ...), with `and`, `or`, `not`"
        )
    if isinstance(node, ast.BinOp) and not isinstance(node.op, SHAPE_OPERATORS):
        raise ExpressionError("a condition's arithmetic is `+ - * // %`")
    if isinstance(node, ast.Compare) and not all(
        isinstance(op, _COMPARISONS) for op in node.ops
    ):
        raise ExpressionError("a condition in a shape compares with `==`, `<`, `is`...")
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.expr):
            _check_condition(child, params, input_ranks, suggest)


def _check_layer_dim(
    node: ast.Attribute,
    name: str,
    known: Collection[str],
    optional: Collection[str],
    layers: Mapping[str, Collection[str] | None],
) -> None:
    """``emb.input_dim``: an int param of layer param ``emb``'s spec, where
    ``emb`` is not None."""
    shown = ast.unparse(node)
    ints = layers.get(name)
    if ints is None:
        raise ExpressionError(
            f"`{shown}`: a dimension reads attributes only of a `layer` param "
            'with a `spec = "..."`, like `token_embedding.input_dim`'
        )
    if node.attr not in ints:
        ints = ", ".join(f"`{a}`" for a in sorted(ints)) or "none"
        raise ExpressionError(
            f"`{shown}`: `{node.attr}` is not a required int param of the "
            f"layer's spec (those are: {ints})"
        )
    if name in optional and name not in known:
        raise ExpressionError(
            f"`{name}` may be None: read `{shown}` where a condition rules it "
            f"out, like `{shown} if {name} is not None else ...`"
        )


def not_none_when(
    test: ast.AST,
    optional: Collection[str],
    implied: Collection[tuple[str, str]] = (),
) -> list[tuple[str, bool]]:
    """The optional params a condition rules None out for, each with the
    truth value of the condition where it does: ``d is None`` -> ``(d,
    False)``, ``d is not None`` -> ``(d, True)``; and, for each ``(d, e)``
    of ``implied`` (``e`` is not None where ``d`` is), ``(e, True)`` for
    ``d is None``."""
    found = _compared_to_none(test, optional)
    return found + [
        (other, not when) for name, when in found for a, other in implied if a == name
    ]


def _compared_to_none(
    test: ast.AST, optional: Collection[str]
) -> list[tuple[str, bool]]:
    if (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.Is | ast.IsNot)
        and isinstance(test.left, ast.Name)
        and test.left.id in optional
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value is None
    ):
        return [(test.left.id, isinstance(test.ops[0], ast.IsNot))]
    return []


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


def _check_list_item(node: ast.Subscript, name: str, length: int | None) -> None:
    """``kernel_size[0]``: an int literal index, within the default's length
    where there is one (the ``[test]`` values are checked when evaluated)."""
    if not _int_literal(node.slice):
        raise ExpressionError(
            f"`{ast.unparse(node)}`: the index of a list param must be an int "
            f"literal, like `{name}[0]`"
        )
    index = ast.literal_eval(node.slice)
    if length is not None and not -length <= index < length:
        raise ExpressionError(
            f"`{ast.unparse(node)}`: index {index} is out of range for the "
            f"default of `{name}`, which has {length} item{'s' * (length != 1)}"
        )


def _check_input_axis(
    node: ast.Subscript,
    input_ranks: Mapping[str, tuple[int | None, int | None]],
    axis_params: Collection[str] | None = None,
) -> None:
    """``x[-1]``: an input indexed by an int literal within its rank, or, where
    ``axis_params`` are given, by one of those int params (``x[feature_axis]``,
    whose value the ``[test]`` values check)."""
    if not isinstance(node.value, ast.Name) or node.value.id not in input_ranks:
        raise ExpressionError(
            f"`{ast.unparse(node)}` does not index an input"
            + (
                did_you_mean(node.value.id, input_ranks)
                if isinstance(node.value, ast.Name)
                else ""
            )
        )
    if isinstance(node.slice, ast.Name) and node.slice.id in (axis_params or ()):
        return
    try:
        axis = ast.literal_eval(node.slice)
    except ValueError:
        axis = None
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise ExpressionError(
            f"`{ast.unparse(node)}`: the axis must be an int literal"
            + ("" if axis_params is None else _axis_param_hint(node, axis_params))
        )
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


def _axis_param_hint(node: ast.Subscript, axis_params: Collection[str]) -> str:
    """`` or a required int param``, and why the name given is not one."""
    hint = " or a required int param"
    if isinstance(node.slice, ast.Name):
        suggestion = did_you_mean(node.slice.id, axis_params)
        hint += suggestion or f" (`{node.slice.id}` is not one)"
    return hint


def check_input_dims_only(
    node: ast.AST,
    input_ranks: Mapping[str, tuple[int | None, int | None]],
    axis_params: Collection[str] | None = None,
    what: str = "a check",
) -> None:
    """Inputs may appear in ``what`` only as dimensions, like ``x[-1]`` (or
    ``x[feature_axis]``, by one of ``axis_params``)."""
    dims = {
        id(sub.value)
        for sub in ast.walk(node)
        if isinstance(sub, ast.Subscript)
        and isinstance(sub.value, ast.Name)
        and sub.value.id in input_ranks
    }
    for sub in ast.walk(node):
        if isinstance(sub, ast.Subscript) and id(sub.value) in dims:
            _check_input_axis(sub, input_ranks, axis_params)
        elif (
            isinstance(sub, ast.Name) and sub.id in input_ranks and id(sub) not in dims
        ):
            raise ExpressionError(
                f"{what} reads inputs only through their dimensions, like "
                f"`{sub.id}[-1]`"
            )


def input_axes(
    node: ast.AST,
    inputs: Collection[str] | None = None,
    axis_values: Mapping[str, int] | None = None,
) -> list[tuple[str, int]]:
    """Every ``(input, axis)`` an expression reads, like ``("x", -1)``, in
    order. Only subscripts of ``inputs`` count (pass them wherever a param
    may be subscripted too: ``sizes[0]`` of a list param is no input
    dimension); ``None`` counts any name's int subscript. An axis given by a
    param (``x[feature_axis]``) counts where ``axis_values`` holds its value."""
    found: list[tuple[str, int]] = []
    for sub in ast.walk(node):
        if not (
            isinstance(sub, ast.Subscript)
            and isinstance(sub.value, ast.Name)
            and (inputs is None or sub.value.id in inputs)
        ):
            continue
        if _int_literal(sub.slice):
            axis = ast.literal_eval(sub.slice)
        elif isinstance(sub.slice, ast.Name) and sub.slice.id in (axis_values or {}):
            axis = (axis_values or {})[sub.slice.id]
        else:
            continue
        if (sub.value.id, axis) not in found:
            found.append((sub.value.id, axis))
    return found


def input_dims(node: ast.AST, inputs: Collection[str]) -> list[ast.Subscript]:
    """Every input dimension an expression reads, as written: ``x[-1]``, or
    ``x[feature_axis]`` (an axis given by a param), once each, in order."""
    found: dict[str, ast.Subscript] = {}
    for sub in ast.walk(node):
        if (
            isinstance(sub, ast.Subscript)
            and isinstance(sub.value, ast.Name)
            and sub.value.id in inputs
            and (_int_literal(sub.slice) or isinstance(sub.slice, ast.Name))
        ):
            found.setdefault(ast.unparse(sub), sub)
    return list(found.values())
