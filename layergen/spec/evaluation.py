"""Evaluate a checked expression (a shape, a condition, a ``for_each``) on
concrete values, as Python would, for the values the generated tests use.

Only what the expression checker lets through is evaluated, and only within
limits: a number too large to be a size, or a sequence too long, is refused
before it is computed.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from typing import Any

from layergen.spec.expressions import ExpressionError, star_slice
from layergen.spec.model import Expr, LayerSpec, LayerValue

_BINOPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
    ast.LShift: lambda a, b: a << b,
    ast.RShift: lambda a, b: a >> b,
    ast.BitAnd: lambda a, b: a & b,
    ast.BitOr: lambda a, b: a | b,
    ast.BitXor: lambda a, b: a ^ b,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.Not: lambda v: not v,
    ast.USub: lambda v: -v,
    ast.UAdd: lambda v: +v,
    ast.Invert: lambda v: ~v,
}
_COMPARES: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: lambda a, b: a is b,
    ast.IsNot: lambda a, b: a is not b,
}
_CALLABLE_BUILTINS: dict[str, Callable[..., Any]] = {
    "min": min,
    "max": max,
    "abs": abs,
    "int": int,
    "float": float,
    "bool": bool,
    "len": len,
    "range": range,
    "list": list,
    "tuple": tuple,
}
# The largest int (in bits) and sequence (in items) evaluation makes.
MAX_EVALUATED_SIZE = 4096


class TooLargeError(ExpressionError):
    """A value evaluation refuses to make: Python would take unbounded time or
    memory to compute it (``10**10**10``, ``1 << 10**15``, ``'a' * 10**12``),
    and so would the generated code."""


def evaluate(node: ast.AST, env: Mapping[str, Any]) -> Any:
    """Evaluate a checked shape, condition or ``for_each`` expression on
    concrete values, as Python would. Anything it cannot or will not compute
    (a division by zero, a number too large to be a size) raises
    ExpressionError saying so."""
    try:
        return _evaluate(node, env)
    except ExpressionError:
        raise
    except (MemoryError, RecursionError):
        raise TooLargeError(f"`{ast.unparse(node)}` is too large to evaluate") from None
    except (ArithmeticError, TypeError, ValueError, LookupError) as exc:
        raise ExpressionError(
            f"`{ast.unparse(node)}` fails for the test values: "
            f"{type(exc).__name__}: {exc}"
        ) from None


def _evaluate(node: ast.AST, env: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.Attribute):
        value = _evaluate(node.value, env)
        if isinstance(value, LayerValue):  # a layer param: its spec's params
            return value.attribute(node.attr)
        raise ExpressionError(f"cannot evaluate `{ast.unparse(node)}`")
    if isinstance(node, ast.Subscript):
        value = _evaluate(node.value, env)
        if isinstance(node.slice, ast.Slice):
            parts = (node.slice.lower, node.slice.upper, node.slice.step)
            bounds = [None if p is None else _evaluate(p, env) for p in parts]
            return value[slice(*bounds)]
        index = _evaluate(node.slice, env)
        if (
            isinstance(value, list | tuple)
            and isinstance(index, int)
            and not -len(value) <= index < len(value)
        ):
            raise ExpressionError(
                f"`{ast.unparse(node)}`: index {index} is out of range for "
                f"`{ast.unparse(node.value)}` = {list(value)!r} in the test "
                f"values ({len(value)} item{'s' * (len(value) != 1)})"
            )
        return value[index]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = _evaluate(node.left, env), _evaluate(node.right, env)
        _check_size(node, left, right)
        return _bounded(_BINOPS[type(node.op)](left, right), node)
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_evaluate(node.operand, env))
    if isinstance(node, ast.BoolOp):
        for sub in node.values:
            value = _evaluate(sub, env)
            if bool(value) != isinstance(node.op, ast.And):
                break
        return value
    if isinstance(node, ast.Compare):
        left = _evaluate(node.left, env)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _evaluate(comparator, env)
            if not _COMPARES[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        chosen = node.body if _evaluate(node.test, env) else node.orelse
        return _evaluate(chosen, env)
    if isinstance(node, ast.List | ast.Tuple):
        return [_evaluate(e, env) for e in node.elts]
    if isinstance(node, ast.ListComp):
        (loop,) = node.generators
        assert isinstance(loop.target, ast.Name)
        items = _bounded(_evaluate(loop.iter, env), loop.iter)
        inner = dict(env)
        values = []
        for item in items:
            inner[loop.target.id] = item
            values.append(_evaluate(node.elt, inner))
        return values
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _CALLABLE_BUILTINS
    ):
        args = [_evaluate(a, env) for a in node.args]
        if node.func.id in ("list", "tuple") and args:
            _bounded(args[0], node)
        kwargs = {k.arg: _evaluate(k.value, env) for k in node.keywords if k.arg}
        return _bounded(_CALLABLE_BUILTINS[node.func.id](*args, **kwargs), node)
    raise ExpressionError(f"cannot evaluate `{ast.unparse(node)}`")


def _check_size(node: ast.BinOp, left: Any, right: Any) -> None:
    """Refuse, before computing it, a power, shift, repetition or string
    formatting too large."""
    op, too_large = node.op, False
    if isinstance(op, ast.Pow) and isinstance(right, int):
        too_large = right > MAX_EVALUATED_SIZE // 16 and abs(left) > 1
    if isinstance(op, ast.LShift) and isinstance(right, int):
        too_large = right > MAX_EVALUATED_SIZE // 16 and left != 0
    if isinstance(op, ast.Mod) and isinstance(left, str):
        # `'%0999999999d' % 1` is a gigabyte: the width is not bounded.
        raise TooLargeError(
            f"`{ast.unparse(node)}`: `%` formatting of a string is not evaluated "
            "(its size has no bound)"
        )
    if isinstance(op, ast.Mult) and isinstance(left, int) != isinstance(right, int):
        sequence, count = (right, left) if isinstance(left, int) else (left, right)
        if hasattr(sequence, "__len__") and isinstance(count, int):
            too_large = len(sequence) * count > MAX_EVALUATED_SIZE
    if too_large:
        raise TooLargeError(f"`{ast.unparse(node)}` is too large to evaluate")


def _bounded(value: Any, node: ast.AST) -> Any:
    if isinstance(value, int) and value.bit_length() > MAX_EVALUATED_SIZE:
        raise TooLargeError(f"`{ast.unparse(node)}` is too large to evaluate")
    if hasattr(value, "__len__") and (
        len(value) > MAX_EVALUATED_SIZE or _items(value, {}) > MAX_EVALUATED_SIZE
    ):
        raise TooLargeError(f"`{ast.unparse(node)}` is too long to evaluate")
    return value


def _items(value: Any, seen: dict[int, int]) -> int:
    """How many items a list or tuple holds, counting those of nested ones
    each time they appear: ``[[0] * 4096] * 4096`` is 4096 lists but 16
    million items to compare. Each distinct list is counted once (``seen``)."""
    if not isinstance(value, list | tuple):
        return 0
    if id(value) not in seen:
        seen[id(value)] = 0  # a list that holds itself cannot be built here
        seen[id(value)] = len(value) + sum(_items(v, seen) for v in value)
    return seen[id(value)]


def test_output_shape(spec: LayerSpec) -> tuple[int, ...] | None:
    """The output shape ``[output]`` gives for the ``[test]`` values, or None
    where it is not known before the layer runs (no ``[output]``, ``None``)."""
    if spec.output_shape is None:
        return None
    return output_shape(spec, spec.output_shape)


def output_shape(
    spec: LayerSpec,
    shape: tuple[Expr, ...],
    input_shapes: Mapping[str, Any] | None = None,
) -> tuple[int, ...] | None:
    """A declared output shape for the ``[test]`` values (``input_shapes``:
    inputs of a call that differ), or None where it is not known before the
    layer runs (``None`` dims)."""
    if spec.test is None:
        return None
    env: dict[str, Any] = {
        **spec.test.params,
        **spec.test.input_shapes,
        **(input_shapes or {}),
    }
    dims: list[Any] = []
    for dim in shape:
        if isinstance(dim.node, ast.Starred):
            name, lower, upper = star_slice(dim.node)
            dims.extend(env[name][lower:upper])
        else:
            dims.append(evaluate(dim.node, env))
    if any(not isinstance(d, int) or isinstance(d, bool) for d in dims):
        return None
    return tuple(dims)
