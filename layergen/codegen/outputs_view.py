"""What the layer template prints for several outputs (``[output.NAME]``):
``compute_output_shape`` returns a tuple of shapes and
``compute_output_spec`` a tuple of KerasTensors, with the outputs a flag adds
(``return_attention_scores``) only when it is true."""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

from layergen.codegen import literals as lit
from layergen.codegen.checks_view import shape_var
from layergen.codegen.literals import Code
from layergen.spec.model import LayerSpec, Output, output_flags
from layergen.spec.validate.output import float_places


def tuple_code(items: list[str]) -> Code:
    return Code(f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})")


def method_params(name: str, params: list[str]) -> Code:
    """A method's parameters after ``def name(``: on the ``def`` line where
    it fits in black's 88 columns, else one per line with a trailing comma,
    the layout black keeps (so the rendered code is already black's)."""
    one_line = ", ".join(["self", *params])
    if len(f"    def {name}({one_line}):") <= 88:
        return Code(one_line)
    return Code("".join(f"\n        {p}," for p in ["self", *params]) + "\n    ")


def outputs_view(
    spec: LayerSpec, dim_code: Callable[[ast.AST], str], call_args: list[str]
) -> dict[str, Any] | None:
    """The pieces of both methods, or None for a layer with one output;
    ``dim_code`` writes one output dimension (over the build shapes)."""
    outputs = spec.outputs
    if not outputs:
        return None
    flags = output_flags(outputs)
    flag = flags[0] if len(flags) == 1 else None
    always = [o for o in outputs if o.when is None]
    shape_args = [shape_var(spec, i.name) for i in spec.main_inputs]
    tensors = {
        o.name: f"keras.KerasTensor({o.name}_shape, dtype="
        + (lit.value(o.dtype) if o.dtype else "self.compute_dtype")
        + ")"
        for o in outputs
    }
    given = [f"{i.name}.shape" for i in spec.main_inputs]
    pieces = {
        "shape_params": method_params(
            "compute_output_shape", shape_args + [f"{f}=False" for f in flags]
        ),
        "spec_params": method_params("compute_output_spec", call_args),
        "flag": flag or "",
        "all_shapes": ", ".join(f"{o.name}_shape" for o in outputs),
        "always_shapes": ", ".join(f"{o.name}_shape" for o in always),
        "given_shapes": ", ".join(given + [f"{f}=True" for f in flags]),
        "all_tensors": tuple_code(list(tensors.values())),
        "always_tensors": (
            tuple_code([tensors[o.name] for o in always])
            if len(always) > 1
            else tensors[always[0].name]
        ),
    }
    shapes = [
        {
            "name": Code(f"{o.name}_shape"),
            "code": tuple_code([dim_code(d.node) for d in o.shape]),
        }
        for o in outputs
    ]
    return {
        "shapes": shapes,
        "groups": _groups(outputs, tensors) if len(flags) > 1 else [],
        **{key: Code(value) for key, value in pieces.items()},
    }


def _groups(outputs: list[Output], tensors: dict[str, str]) -> list[dict[str, Code]]:
    """With several flags, the runs of outputs in order that share a flag
    (or none): each appended to the returned list when its flag is true."""
    groups: list[dict[str, Any]] = []
    for output in outputs:
        if not groups or groups[-1]["flag"] != (output.when or ""):
            groups.append({"flag": output.when or "", "names": []})
        groups[-1]["names"].append(output.name)
    return [
        {
            "flag": Code(group["flag"]),
            "shapes": Code(", ".join(f"{name}_shape" for name in group["names"])),
            "tensors": Code(", ".join(tensors[name] for name in group["names"])),
        }
        for group in groups
    ]


def cast_returned(spec: LayerSpec, node: ast.expr) -> ast.expr:
    """``[call] expr`` with each float output cast to the compute dtype, for
    a layer with autocast off (it computes in float32): ``(ops.cast(x,
    self.compute_dtype), ops.cast(scores, self.compute_dtype)) if
    return_attention_scores else ops.cast(x, self.compute_dtype)``. An output
    of a declared int or bool dtype is left as it is."""
    return _cast(node, float_places(spec))


def _cast(node: ast.expr, places: dict[tuple[int, int], set[bool]]) -> ast.expr:
    """A copy of ``node``, each value at a float place cast."""
    if isinstance(node, ast.IfExp) and (id(node), 0) not in places:
        return ast.IfExp(
            node.test, _cast(node.body, places), _cast(node.orelse, places)
        )
    several = isinstance(node, ast.Tuple | ast.List)
    items = list(node.elts) if several else [node]
    cast = [
        _cast_call(item) if places.get((id(node), index)) == {True} else item
        for index, item in enumerate(items)
    ]
    return ast.Tuple(cast, ast.Load()) if several else cast[0]


def _cast_call(node: ast.expr) -> ast.expr:
    """``ops.cast(node, self.compute_dtype)``."""
    return ast.Call(
        ast.Attribute(ast.Name("ops", ast.Load()), "cast", ast.Load()),
        [node, ast.Attribute(ast.Name("self", ast.Load()), "compute_dtype")],
        [],
    )
