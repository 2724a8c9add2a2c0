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
from layergen.spec.model import LayerSpec


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
    flag = next((o.when for o in outputs if o.when), None)
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
            "compute_output_shape", shape_args + ([f"{flag}=False"] if flag else [])
        ),
        "spec_params": method_params("compute_output_spec", call_args),
        "flag": flag or "",
        "all_shapes": ", ".join(f"{o.name}_shape" for o in outputs),
        "always_shapes": ", ".join(f"{o.name}_shape" for o in always),
        "given_shapes": ", ".join(given + ([f"{flag}=True"] if flag else [])),
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
    return {"shapes": shapes, **{key: Code(value) for key, value in pieces.items()}}
