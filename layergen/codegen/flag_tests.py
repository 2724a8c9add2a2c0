"""What the generated tests expect of a layer whose call flags change more
than the returned value, computed from the spec for the ``[test]`` values:
the output shape of each call (``[output] shape_if``), whether its output
carries a mask (a ``[mask] expr`` that reads a flag), and the inputs of the
second call (``[test] call_inputs``)."""

from __future__ import annotations

import ast
from typing import Any

from layergen.spec import expressions as ex
from layergen.spec.evaluation import evaluate, output_shape
from layergen.spec.model import Expr, LayerSpec


def _arguments(spec: LayerSpec, given: dict[str, Any]) -> dict[str, Any]:
    return {**{a.name: a.default for a in spec.call_args}, **given}


def call_shape(spec: LayerSpec, given: dict[str, Any]) -> tuple[Expr, ...] | None:
    """The declared output shape of a call with arguments ``given``: the
    first true flag's of ``shape_if``, else ``shape``."""
    arguments = _arguments(spec, given)
    for flag, shape in spec.flag_shapes.items():
        if arguments.get(flag):
            return shape
    return spec.output_shape


def given_shapes(spec: LayerSpec, given: dict[str, Any]) -> dict[str, Any]:
    """The main inputs' shapes where they differ in a call with ``given``
    arguments (the second call's ``call_inputs``)."""
    assert spec.test is not None
    if not given:
        return {}
    return {name: shape for name, (shape, _) in spec.test.call_inputs.items()}


def expected_shape(spec: LayerSpec, given: dict[str, Any]) -> tuple[int, ...] | None:
    """The output shape of a call with ``given`` arguments for the test's
    values, or None where it is not known before the layer runs."""
    shape = call_shape(spec, given)
    if shape is None:
        return None
    return output_shape(spec, shape, given_shapes(spec, given))


def expects_mask(spec: LayerSpec, given: dict[str, Any]) -> bool | None:
    """Whether a call with ``given`` arguments sets a mask that reads a flag:
    the branches of ``[mask] expr`` followed for the test's params and the
    call's flags to a value (True) or ``None`` (False); None where a branch
    reads a tensor (not known before the layer runs)."""
    if not spec.mask_flags or spec.mask_expr is None or spec.test is None:
        return None
    env = {**spec.test.params, **_arguments(spec, given)}
    node = spec.mask_expr.node
    while isinstance(node, ast.IfExp):
        try:
            node = node.body if evaluate(node.test, env) else node.orelse
        except ex.ExpressionError:
            return None
    return not (isinstance(node, ast.Constant) and node.value is None)
