"""Which parts of a checked expression may take Python unbounded time or
memory to compute (``10**10**10``, ``1 << 10**15``, ``'a' * 10**12``), and
whether a part can be computed at all from constants and given names: what
:mod:`layergen.spec.limits` evaluates before it computes anything."""

from __future__ import annotations

import ast
from typing import Any

from layergen.spec import expressions as ex
from layergen.spec.evaluation import TooLargeError, evaluate

# Builtins the evaluator computes, as expressions may call them.
BUILTINS = ex.SAFE_BUILTINS


def oversized_constants(
    node: ast.AST, params: dict[str, Any]
) -> tuple[str | None, str | None]:
    """Why a part of a checked expression would take Python unbounded time or
    memory to compute (``10**10**10``, ``1 << 10**15``, ``'a' * 10**12``), or
    None: first for the parts made of constants alone, whether or not the
    test's values reach them; then for the parts made of constants and
    params, for the test's ``params`` (meaningful once they are valid). The
    generated layer or test would compute them on import, construction or
    call, or hang trying."""
    constant, with_params = _risky_parts(node, params)
    return _too_large(constant, {}, ""), _too_large(
        with_params, params, " for the test's params"
    )


def _too_large(parts: list[ast.AST], env: dict[str, Any], where: str) -> str | None:
    for sub in parts:
        try:
            evaluate(sub, env)
        except TooLargeError as exc:
            return f"{exc}{where}"
        except ex.ExpressionError:
            pass
    return None


_GROWING = (ast.Pow, ast.LShift, ast.Mult, ast.Mod)
# The fields holding the sub-expressions of the nodes expressions are made of
# (operators and contexts left out), read faster than ast.iter_child_nodes.
_EXPRESSION_FIELDS: dict[type, tuple[str, ...]] = {
    ast.Constant: (),
    ast.Name: (),
    ast.BinOp: ("left", "right"),
    ast.UnaryOp: ("operand",),
    ast.Attribute: ("value",),
    ast.Subscript: ("value", "slice"),
    ast.Call: ("func", "args", "keywords"),
    ast.keyword: ("value",),
    ast.Compare: ("left", "comparators"),
    ast.BoolOp: ("values",),
    ast.IfExp: ("test", "body", "orelse"),
    ast.List: ("elts",),
    ast.Tuple: ("elts",),
    ast.Slice: ("lower", "upper", "step"),
}


def _children(node: ast.AST) -> list[ast.AST]:
    fields = _EXPRESSION_FIELDS.get(type(node))
    if fields is None:
        return list(ast.iter_child_nodes(node))
    kids: list[ast.AST] = []
    for field in fields:
        value = getattr(node, field)
        if isinstance(value, list):
            kids.extend(value)
        elif value is not None:
            kids.append(value)
    return kids


_COMPUTABLE_NODES = (
    ast.Constant,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.Subscript,
    ast.Slice,
    ast.List,
    ast.Tuple,
    ast.Call,
    ast.keyword,
    ast.expr_context,
    ast.operator,
    ast.unaryop,
    ast.boolop,
    ast.cmpop,
)


def _computable_ids(root: ast.AST, env: dict[str, Any]) -> set[int]:
    """The ids of the nodes under ``root`` that ``evaluate`` can compute from
    constants and the names in ``env``."""
    order, stack = [], [root]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(_children(node))
    found: set[int] = set()
    for node in reversed(order):
        if isinstance(node, ast.Name):
            ok = node.id in env or node.id in BUILTINS
        elif isinstance(node, ast.Call):
            ok = isinstance(node.func, ast.Name) and node.func.id in BUILTINS
        else:
            ok = isinstance(node, _COMPUTABLE_NODES)
        if ok and all(id(kid) in found for kid in _children(node)):
            found.add(id(node))
    return found


def _risky_parts(
    root: ast.AST, params: dict[str, Any]
) -> tuple[list[ast.AST], list[ast.AST]]:
    """The largest parts of ``root`` that ``evaluate`` can compute from
    constants alone, and from constants and ``params``, that may grow without
    bound: those with a ``**``, ``<<``, ``*`` or ``%`` (string formatting), or
    a call (of the evaluated builtins). Sums and comparisons of bounded values
    stay bounded. One pass over the tree, children before parents."""
    order, children, stack = [], {}, [root]
    while stack:
        node = stack.pop()
        order.append(node)
        kids = children[id(node)] = _children(node)
        stack.extend(kids)
    constant: set[int] = set()
    computable: set[int] = set()
    risky: set[int] = set()
    for node in reversed(order):
        kids = children[id(node)]
        is_param = False
        if isinstance(node, ast.Name):
            ok, is_param = node.id in BUILTINS, node.id in params
        elif isinstance(node, ast.Call):
            ok = isinstance(node.func, ast.Name) and node.func.id in BUILTINS
        else:
            ok = isinstance(node, _COMPUTABLE_NODES)
        if ok and all(id(kid) in constant for kid in kids):
            constant.add(id(node))
        if (ok or is_param) and all(id(kid) in computable for kid in kids):
            computable.add(id(node))
        if (
            isinstance(node, ast.Call)
            or (isinstance(node, ast.BinOp) and isinstance(node.op, _GROWING))
            or any(id(kid) in risky for kid in kids)
        ):
            risky.add(id(node))

    def largest(found: set[int]) -> list[ast.AST]:
        parts, stack = [], [root]
        while stack:
            node = stack.pop()
            if id(node) not in risky:
                continue
            if id(node) in found:
                parts.append(node)
            else:
                stack.extend(children[id(node)])
        return parts

    return largest(constant), largest(computable)


def evaluable(node: ast.AST, env: dict[str, Any]) -> bool:
    """Whether ``evaluate`` can compute ``node`` from constants and ``env``."""
    return id(node) in _computable_ids(node, env)
