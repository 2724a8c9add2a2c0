"""``[weights]``: shapes, initializers, regularizers, constraints (see
:mod:`.keras_objects`), dtypes and ``if`` conditions."""

from __future__ import annotations

import ast
from typing import Any

from layergen.spec import expressions as ex
from layergen.spec.model import Expr, LayerSpec, Weight
from layergen.spec.validate.keras_objects import keras_object
from layergen.spec.validate.reporting import Declarations, Report, article, hint
from layergen.spec.validate.schema import DTYPES, KeyPath
from layergen.spec.validate.scopes import ShapeScope, param_scope
from layergen.spec.validate.shapes import validate_shape


def validate_weights(
    report: Report,
    spec: LayerSpec,
    raw: Any,
    declared: Declarations,
    shape_names: ShapeScope,
) -> list[Weight]:
    weights = []
    scope = param_scope(spec)
    params = {p.name: p for p in spec.params}  # looked up once per weight
    for name, entry_raw in report.table(raw, ("weights",), None).items():
        path: KeyPath = ("weights", name)
        entry = report.table(entry_raw, path, "weight")
        if not declared.claim(name, path, "weight"):
            continue
        if "shape" not in entry:
            report.error(path, "missing required key `shape`")
            continue
        condition = None
        if "if" in entry:
            condition = weight_condition(
                report, spec, entry["if"], (*path, "if"), scope
            )
        shape = validate_shape(
            report,
            shape_names,
            entry["shape"],
            (*path, "shape"),
            guard=None if condition is None else condition.node,
        )
        initializer = keras_object(
            report,
            spec,
            params,
            entry.get("initializer", "glorot_uniform"),
            (*path, "initializer"),
            "initializer",
            "initializers",
        )
        extras = {}
        for key, namespace in (
            ("regularizer", "regularizers"),
            ("constraint", "constraints"),
        ):
            if key in entry:
                extras[key] = keras_object(
                    report, spec, params, entry[key], (*path, key), key, namespace
                )
        trainable = report.typed(entry, "trainable", path, (bool,), "true or false")
        dtype = report.typed(entry, "dtype", path, (str,), "a string")
        if dtype is not None and dtype not in DTYPES:
            report.error(
                (*path, "dtype"), f"unknown dtype `{dtype}`{hint(dtype, DTYPES)}"
            )
        if shape is None or initializer is None:
            continue
        weights.append(
            Weight(
                name,
                shape,
                initializer,
                True if trainable is None else trainable,
                dtype,
                extras.get("regularizer"),
                extras.get("constraint"),
                condition,
            )
        )
    return weights


def weight_condition(
    report: Report, spec: LayerSpec, raw: Any, path: KeyPath, scope: ex.Scope
) -> Expr | None:
    """A weight's ``if``: a bool param, or a condition over params."""
    expr = report.expression(raw, path, scope, "`if` expression")
    if expr is None:
        return None
    node = expr.node
    if isinstance(node, ast.Name) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Name)
    ):
        name = node.id if isinstance(node, ast.Name) else node.operand.id
        param = spec.param(name)
        if param is not None and param.type != "bool":
            report.error(
                path,
                f"param `{name}` is {article(param.type)} {param.type}, "
                f"not a bool: compare it, like `{name} > 0`",
            )
            return None
    return expr
