"""Numerics: XLA against eager, mixed precision."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import pytest

from layergen.testing.case import LayerCase
from layergen.testing.devices import visible_gpus
from layergen.testing.inputs import outputs_of, to_numpy
from layergen.testing.numerics import (
    assert_outputs_close,
    full_float32_matmuls,
    matmul_precision,
    reduction_length,
)
from layergen.testing.variants import for_each_call


@for_each_call(every=False)
def check_xla_matches_eager(case: LayerCase) -> None:
    """``compile(jit_compile=True)`` predictions equal eager outputs, both
    computed with TF32 off and compared within the tolerance of the precision
    then in effect (see :mod:`layergen.testing.numerics`)."""
    if keras.backend.backend() == "torch":
        pytest.skip("XLA compilation is not available on the torch backend")
    layer = case.make_layer()
    model = case.make_model(layer)
    inputs = case.make_inputs()
    with full_float32_matmuls() as how:
        precision = matmul_precision()
        eager = to_numpy(model(inputs, training=False))
        model.compile(jit_compile=True)
        compiled = model.predict(inputs, batch_size=len(inputs[0]), verbose=0)
    assert_outputs_close(
        compiled,
        eager,
        precision,
        reduction_length(list(case.call_shapes().values()), layer.weights),
        f"XLA vs eager (TF32 off: {how})",
    )


@for_each_call(every=False)
def check_mixed_precision(case: LayerCase, policy: str) -> None:
    """Under a mixed policy the layer builds (called, and by ``build`` alone as
    ``load_model`` does it, outside Keras's autocast scope), keeps float32
    variables, outputs the compute dtype without NaN/Inf (an integer or
    boolean output, such as an argmax, keeps its dtype); the global policy is
    restored after."""
    if keras.backend.backend() == "torch" and not visible_gpus():
        pytest.skip("torch on the CPU lacks half-precision kernels")
    inputs = case.make_inputs()
    plain = outputs_of(case.run(case.make_layer(), inputs, **case.inference()))
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        case.make_layer().build(*case.positional_shapes())
        layer = case.make_layer()
        outputs = outputs_of(case.run(layer, inputs, **case.inference()))
        symbolics = case.make_model(case.make_layer()).outputs
    finally:
        keras.mixed_precision.set_global_policy(previous)
    for first, output, symbolic in zip(plain, outputs, symbolics, strict=True):
        _check_output_dtype(layer, first, output, symbolic)
    for weight in layer.weights:
        if keras.backend.is_float_dtype(weight.dtype):
            assert weight.dtype == "float32", f"{weight.path} is {weight.dtype}"


def _check_output_dtype(layer: Any, plain: Any, output: Any, symbolic: Any) -> None:
    """One output under the policy: the compute dtype (an integer or boolean
    output keeps its dtype), eager and symbolic, without NaN or Inf."""
    compute = layer.compute_dtype
    plain_dtype = keras.backend.standardize_dtype(plain.dtype)
    if not keras.backend.is_float_dtype(plain_dtype):
        compute = plain_dtype  # an index or a flag is not a float to downcast
    assert keras.backend.standardize_dtype(output.dtype) == compute, (
        f"output is {keras.backend.standardize_dtype(output.dtype)}, not {compute}: "
        "a constant or cast in call() is float32; make constants Python numbers "
        "or cast them to the input's dtype"
    )
    assert symbolic.dtype == compute, (
        f"symbolic output is {symbolic.dtype}, eager {compute}: Keras takes the "
        "compute dtype from compute_output_shape; an integer or boolean output "
        "needs compute_output_spec (in a spec: `[output] dtype`)"
    )
    values = to_numpy(keras.ops.cast(output, "float32"))
    assert np.isfinite(values).all(), "NaN or Inf under mixed precision"


@for_each_call
def check_computes_in_float32(case: LayerCase, policy: str = "mixed_bfloat16") -> None:
    """A layer with autocast off (``case.computes_in_float32``, as Keras's
    LayerNormalization) computes in float32 under a mixed policy and returns
    the compute dtype: on the same half-precision input, its output is a
    float32 twin's output (same weights) rounded once to the compute dtype.
    A layer computing in half precision misses by a unit in the last place
    or more."""
    inputs = case.make_inputs()
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        layer = case.make_layer()
        compute = layer.compute_dtype
        half = [
            keras.ops.cast(x, compute) if np.issubdtype(x.dtype, np.floating) else x
            for x in inputs
        ]
        outputs = outputs_of(case.run(layer, half, **case.inference()))
    finally:
        keras.mixed_precision.set_global_policy(previous)
    twin = case.make_layer()
    widened = [to_numpy(keras.ops.cast(x, "float32")) for x in half]
    case.run(twin, widened, **case.inference())
    twin.set_weights(layer.get_weights())
    twins = outputs_of(case.run(twin, widened, **case.inference()))
    for index, (output, wide) in enumerate(zip(outputs, twins, strict=True)):
        where = f"output {index}" if len(outputs) > 1 else "output"
        dtype = keras.backend.standardize_dtype(output.dtype)
        if not keras.backend.is_float_dtype(
            keras.backend.standardize_dtype(wide.dtype)
        ):
            # An index or a flag: the same values, in its own dtype.
            assert dtype == keras.backend.standardize_dtype(wide.dtype), where
            np.testing.assert_array_equal(to_numpy(output), to_numpy(wide), where)
            continue
        assert dtype == compute, f"{where} is {dtype}, not the compute dtype {compute}"
        np.testing.assert_allclose(
            to_numpy(keras.ops.cast(output, "float32")),
            to_numpy(keras.ops.cast(keras.ops.cast(wide, compute), "float32")),
            rtol=2**-9,
            atol=0,
            err_msg=f"under {policy}, call() did not compute {where} in float32",
        )
