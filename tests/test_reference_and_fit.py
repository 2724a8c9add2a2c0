"""Two false failures seen on a GPU run (H200, 2026-11-26), reproduced on CPU:
a numpy reference compared with TF32 products, and a fit check that counted a
Keras sublayer's own batch statistics as an unexpected change."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from keras import ops  # noqa: E402

from layergen import testing  # noqa: E402
from layergen.testing.checks import reference  # noqa: E402

FULL_PRECISION = {"on": False}


class Projection(keras.layers.Layer):
    """x @ kernel, as a GPU computes it: in TF32 unless switched off."""

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], 8), name="kernel")

    def call(self, x):
        exact = ops.matmul(x, self.kernel)
        # TF32 keeps 10 mantissa bits: results off by up to 2**-11, relatively.
        return exact if FULL_PRECISION["on"] else exact * (1.0 + 2.0**-11)


@contextlib.contextmanager
def simulated_switch() -> Iterator[str]:
    FULL_PRECISION["on"] = True
    try:
        yield "simulated"
    finally:
        FULL_PRECISION["on"] = False


def built_projection() -> testing.BuiltModel:
    case = testing.LayerCase(Projection, {}, {"x": (4, 64)})
    return testing.build_model(case)


def test_reference_is_compared_with_tf32_switched_off(monkeypatch) -> None:
    monkeypatch.setattr(reference, "full_float32_matmuls", simulated_switch)
    built = built_projection()
    kernel = testing.to_numpy(built.layer.kernel).astype(np.float64)
    expected = built.inputs[0].astype(np.float64) @ kernel
    with pytest.raises(AssertionError):  # what the old test compared: TF32 output
        np.testing.assert_allclose(built.output, expected, **testing.TOLERANCE)
    testing.check_reference(built, expected)


def test_a_wrong_layer_still_fails_the_reference(monkeypatch) -> None:
    monkeypatch.setattr(reference, "full_float32_matmuls", simulated_switch)
    built = built_projection()
    kernel = testing.to_numpy(built.layer.kernel).astype(np.float64)
    wrong = built.inputs[0].astype(np.float64) @ (kernel * 1.001)
    with pytest.raises(AssertionError, match="numpy reference"):
        testing.check_reference(built, wrong)


@pytest.mark.parametrize("precision", ["tf32", "bfloat16"])
def test_without_a_switch_the_tolerance_follows_the_precision(
    monkeypatch, precision: str
) -> None:
    monkeypatch.setattr(reference, "matmul_precision", lambda: precision)
    built = built_projection()  # FULL_PRECISION off: TF32 output throughout
    kernel = testing.to_numpy(built.layer.kernel).astype(np.float64)
    testing.check_reference(built, built.inputs[0].astype(np.float64) @ kernel)


class ConvBNReLU(keras.layers.Layer):
    """A convolution, Keras's BatchNormalization and a relu (its sublayer
    updates its own moving statistics in training)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv = keras.layers.Conv1D(4, 3, padding="same", use_bias=False)
        self.norm = keras.layers.BatchNormalization()

    def build(self, input_shape):
        self.conv.build(input_shape)
        self.norm.build((*input_shape[:-1], 4))

    def call(self, x, training=None):
        return ops.relu(self.norm(self.conv(x), training=training))


class CountsSecretly(keras.layers.Layer):
    """Changes a non-trainable weight of its own in training, undeclared."""

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], 2), name="kernel")
        self.calls = self.add_weight(
            shape=(), initializer="zeros", trainable=False, name="calls"
        )

    def call(self, x, training=None):
        if training:
            self.calls.assign(self.calls + 1.0)
        return ops.matmul(x, self.kernel)


def test_a_sublayers_own_statistics_may_change_in_fit() -> None:
    testing.reset_keras_state()
    case = testing.LayerCase(ConvBNReLU, {}, {"x": (4, 6, 3)}, uses_training=True)
    testing.check_fit_step(case)


def test_an_undeclared_update_of_the_layers_own_weight_still_fails() -> None:
    testing.reset_keras_state()
    case = testing.LayerCase(CountsSecretly, {}, {"x": (4, 3)}, uses_training=True)
    with pytest.raises(AssertionError, match="calls changed"):
        testing.check_fit_step(case)


class Attends(keras.layers.Layer):
    """Self-attention through Keras's MultiHeadAttention, whose key bias no
    gradient reaches (softmax cancels it): Keras's design, not a bug."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.attention = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)

    def build(self, input_shape):
        self.attention.build(input_shape, input_shape)

    def call(self, x):
        return self.attention(x, x)


class IgnoresItsSublayer(keras.layers.Layer):
    """Calls a Dense sublayer, then multiplies its output by zero."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(3)
        self.scale = None

    def build(self, input_shape):
        self.dense.build(input_shape)
        self.scale = self.add_weight(shape=(3,), name="scale")

    def call(self, x):
        return self.dense(x) * 0.0 + self.scale


def test_a_keras_sublayers_dead_weight_is_not_the_specs_bug() -> None:
    testing.reset_keras_state()
    testing.check_fit_step(testing.LayerCase(Attends, {}, {"x": (2, 5, 8)}))


def test_a_sublayer_no_gradient_reaches_still_fails() -> None:
    testing.reset_keras_state()
    case = testing.LayerCase(IgnoresItsSublayer, {}, {"x": (4, 3)})
    with pytest.raises(AssertionError, match="no trainable weight of .*dense changed"):
        testing.check_fit_step(case)
