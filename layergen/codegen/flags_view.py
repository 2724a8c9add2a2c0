"""What the layer template prints for call flags that change more than the
returned value, as keras-hub's ReversibleEmbedding does with ``reverse``:

- a mask that reads a flag (``[mask] expr``): Keras calls ``compute_mask``
  with the inputs and the incoming mask only, so call() computes the mask and
  sets it on its output (``set_keras_mask``, as Keras's own
  ReversibleEmbedding does), and ``compute_mask`` returns None, so that Keras
  neither propagates the incoming mask nor sets another;
- an output shape per flag (``[output] shape_if``): ``compute_output_shape``
  takes the flags, and ``compute_output_spec`` (which Keras calls with
  call()'s arguments) passes them on."""

from __future__ import annotations

from collections.abc import Callable

from layergen.codegen import literals as lit
from layergen.codegen.checks_view import shape_var
from layergen.codegen.literals import Code
from layergen.codegen.outputs_view import method_params
from layergen.spec import expressions as ex
from layergen.spec.model import LayerSpec

# Keras has no public function that sets a tensor's mask; its own layers
# (ReversibleEmbedding) and keras-hub's use this one.
SET_MASK_IMPORT = "from keras.src.backend import set_keras_mask"


def mask_comment(spec: LayerSpec) -> Code | str:
    """The comment of ``compute_mask`` where call() sets the mask."""
    if not spec.mask_flags:
        return ""
    flags = ", ".join(f"`{name}`" for name in spec.mask_flags)
    return Code(f"# call() sets the output's mask, which depends on {flags}.")


def call_tail(spec: LayerSpec, returned: Code, mask_code: Code | str) -> list[Code]:
    """The last lines of call(): ``return <value>``, or, where the mask reads
    a flag, the value kept in ``outputs``, its mask set, and returned."""
    if not spec.mask_flags or spec.mask_expr is None:
        return [Code(f"return {returned}")]
    lines = [] if returned == "outputs" else [f"outputs = {returned}"]
    set_mask = f"set_keras_mask(outputs, {mask_code})"
    if "mask" in ex.names_in(spec.mask_expr.node):
        lines += ["if mask is not None:", f"    {set_mask}"]
    else:
        lines.append(set_mask)
    lines.append("return outputs")
    return [Code(line) for line in lines]


def flag_shapes(
    spec: LayerSpec, shape_code: Callable[[tuple], Code]
) -> list[dict[str, Code]]:
    """``if reverse: return (...)`` in compute_output_shape, one per flag of
    ``[output] shape_if``, in order."""
    return [
        {"flag": Code(flag), "shape": shape_code(shape)}
        for flag, shape in spec.flag_shapes.items()
    ]


def output_shape_params(spec: LayerSpec) -> Code:
    """compute_output_shape's parameters: the input shapes, and the flags of
    ``shape_if`` with call()'s defaults (``reverse=False``)."""
    params = [shape_var(spec, i.name) for i in spec.main_inputs]
    for flag in spec.flag_shapes:
        arg = spec.call_arg(flag)
        params.append(f"{flag}={lit.value(arg.default if arg else False)}")
    return method_params("compute_output_shape", params)


def output_spec(spec: LayerSpec, call_params: list[Code]) -> dict[str, Code] | None:
    """``compute_output_spec`` for a declared output dtype (an index, a flag):
    the declared shape with that dtype; for shapes that depend on flags
    (``shape_if``), it takes call()'s parameters and passes the flags on."""
    if spec.output_dtype is None and not spec.flag_shapes:
        return None
    names = [i.name for i in spec.main_inputs]
    params = [*names, "**kwargs"]
    if spec.flag_shapes:
        params = [str(p) for p in call_params]
    shapes = [f"{name}.shape" for name in names]
    shapes += [f"{flag}={flag}" for flag in spec.flag_shapes]
    dtype = spec.output_dtype
    return {
        "params": method_params("compute_output_spec", params),
        "shapes": Code(", ".join(shapes)),
        "dtype": lit.value(dtype) if dtype else Code("self.compute_dtype"),
    }
