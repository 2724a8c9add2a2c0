"""Emit code for a checked tree: names renamed (``units`` ->
``self.units``), ``random`` calls seeded, conditions negated as a person
writes them. Nothing is pasted: the code is ``ast.unparse`` of the
rewritten tree."""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Mapping

from layergen.spec.expressions.symbols import dotted_chain

_NEGATED_COMPARES: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}


def negated(node: ast.expr) -> ast.expr:
    """The condition that is true when ``node`` is false, as a person writes it:
    ``a % b != 0`` for ``a % b == 0``, else ``not (...)``."""
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        flipped = _NEGATED_COMPARES[type(node.ops[0])]()
        return ast.Compare(copy.deepcopy(node.left), [flipped], node.comparators)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return node.operand
    return ast.UnaryOp(ast.Not(), node)


class _Rewriter(ast.NodeTransformer):
    def __init__(self, rename: Callable[[str], ast.expr | None]) -> None:
        self.rename = rename

    def visit_Name(self, node: ast.Name) -> ast.AST:
        replacement = self.rename(node.id)
        return ast.copy_location(replacement, node) if replacement else node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        chain = dotted_chain(node.func)
        self.generic_visit(node)
        seeded = any(k.arg == "seed" for k in node.keywords)
        if chain and chain[0] == "random" and len(chain) == 2 and not seeded:
            node.keywords.append(ast.keyword("seed", _attr("self.seed_generator")))
        return node


def _attr(dotted: str) -> ast.expr:
    root, *rest = dotted.split(".")
    node: ast.expr = ast.Name(root, ast.Load())
    for part in rest:
        node = ast.Attribute(node, part, ast.Load())
    return node


def to_code(node: ast.AST, rename: Mapping[str, str] | None = None) -> str:
    """Emit code for a checked tree, renaming names (``units`` -> ``self.units``).

    ``random.*`` calls get ``seed=self.seed_generator`` and ``random`` /
    ``activations`` become ``keras.random`` / ``keras.activations``.
    """
    table = {"random": "keras.random", "activations": "keras.activations"}
    table.update(rename or {})

    def lookup(name: str) -> ast.expr | None:
        return _attr(table[name]) if name in table else None

    tree = _Rewriter(lookup).visit(copy.deepcopy(node))
    return ast.unparse(ast.fix_missing_locations(tree))
