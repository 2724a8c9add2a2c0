"""Parse expressions and steps with ``ast``, within length and nesting
limits that keep parsing, checking and emitting far from Python's recursion
limit."""

from __future__ import annotations

import ast

from layergen.spec.expressions.symbols import ExpressionError

# Limits that keep parsing, checking and emitting an expression far from
# Python's recursion limit.
MAX_EXPRESSION_LENGTH = 2000
MAX_EXPRESSION_DEPTH = 60


def _parse(source: str, mode: str, what: str) -> ast.AST:
    """``ast.parse`` within the length and nesting limits."""
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError(f"expected a non-empty {what} string")
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(
            f"{what} of {len(source)} characters; the limit is "
            f"{MAX_EXPRESSION_LENGTH} (split it into steps)"
        )
    try:
        tree = ast.parse(source.strip(), mode=mode)
    except SyntaxError as exc:
        kind = "expression" if mode == "eval" else "statement"
        raise ExpressionError(f"invalid Python {kind}: {exc.msg}") from None
    except (RecursionError, MemoryError):
        tree = None
    if tree is None or _depth(tree) > MAX_EXPRESSION_DEPTH:
        raise ExpressionError(
            f"{what} nests more than {MAX_EXPRESSION_DEPTH} levels deep "
            "(split it into steps)"
        )
    return tree


def _depth(tree: ast.AST) -> int:
    """How deep the tree nests, counted without recursion."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth <= MAX_EXPRESSION_DEPTH:
            stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def parse_expression(source: str) -> ast.expr:
    """Parse one expression; statements, ``;`` and newlines are rejected."""
    return _parse(source, "eval", "expression").body


def parse_step(source: str) -> ast.stmt:
    """Parse one step: an assignment, augmented assignment or one-line ``for``."""
    tree = _parse(source, "exec", "step")
    if len(tree.body) != 1:
        raise ExpressionError("a step must be exactly one statement")
    stmt = tree.body[0]
    if isinstance(stmt, ast.For):
        if (
            not isinstance(stmt.target, ast.Name)
            or stmt.orelse
            or len(stmt.body) != 1
            or not isinstance(stmt.body[0], ast.Assign | ast.AugAssign)
        ):
            raise ExpressionError(
                "a `for` step must be `for NAME in SUBLAYERS: TARGET = EXPR`"
            )
        return stmt
    if isinstance(stmt, ast.Assign | ast.AugAssign):
        return stmt
    raise ExpressionError(
        "a step must be an assignment (`h = ...`, `a, b = ...`, `h += ...`) "
        "or a one-line `for layer in sublayers: h = layer(h)`"
    )


def assigned_names(stmt: ast.stmt) -> list[str]:
    """Names a step binds (assignment targets; not a ``for`` loop variable)."""
    if isinstance(stmt, ast.For):
        return assigned_names(stmt.body[0])
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
    names: list[str] = []
    for target in targets:
        elts = target.elts if isinstance(target, ast.Tuple | ast.List) else [target]
        for elt in elts:
            if not isinstance(elt, ast.Name):
                raise ExpressionError("assignment targets must be plain names")
            names.append(elt.id)
    return names
