"""An integer output under mixed precision: its dtype is kept, not downcast,
and a layer that declares it only through compute_output_shape (so Keras
assumes the compute dtype symbolically) is caught."""

from __future__ import annotations

import pytest

keras = pytest.importorskip("keras")

from keras import ops  # noqa: E402

from layergen import testing  # noqa: E402


class ArgMax(keras.layers.Layer):
    """Index of the largest feature, with its dtype declared."""

    def call(self, x):
        return ops.argmax(x, axis=-1)

    def compute_output_spec(self, x):
        return keras.KerasTensor(x.shape[:-1], dtype="int32")


class ArgMaxShapeOnly(ArgMax):
    """The same, declaring only the shape: Keras assumes the compute dtype."""

    compute_output_spec = keras.layers.Layer.compute_output_spec

    def compute_output_shape(self, input_shape):
        return input_shape[:-1]


needs_half_kernels = pytest.mark.skipif(
    keras.backend.backend() == "torch", reason="torch on the CPU lacks half kernels"
)


@needs_half_kernels
@pytest.mark.parametrize("policy", testing.MIXED_PRECISION_POLICIES)
def test_an_integer_output_keeps_its_dtype(policy: str) -> None:
    testing.reset_keras_state()
    testing.check_mixed_precision(testing.LayerCase(ArgMax, {}, {"x": (2, 5)}), policy)


@needs_half_kernels
def test_an_integer_output_declared_by_shape_only_is_caught() -> None:
    testing.reset_keras_state()
    case = testing.LayerCase(ArgMaxShapeOnly, {}, {"x": (2, 5)})
    with pytest.raises(AssertionError, match="needs compute_output_spec"):
        testing.check_mixed_precision(case, "mixed_float16")
