"""Hand-written layers for the precision-aware checks: correct layers that
compute partly in float32 whatever their input dtype (which a float64
tolerance wrongly failed), and one with a wrong gradient. No backend import,
so they load under any ``KERAS_BACKEND``."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="numeric")
class RMSNorm(keras.layers.Layer):
    """Root-mean-square normalization with a learned scale."""

    def build(self, input_shape):
        self.scale = self.add_weight(
            name="scale", shape=(input_shape[-1],), initializer="ones"
        )

    def call(self, x):
        mean_square = ops.mean(ops.square(x), -1, keepdims=True)
        return x * ops.rsqrt(mean_square + 1e-6) * self.scale


@keras.saving.register_keras_serializable(package="numeric")
class ScaleNorm(keras.layers.Layer):
    """Divides by the L2 norm: ``ops.norm`` is float32 on JAX for float64 input."""

    def call(self, x):
        return x / ops.norm(x, axis=-1, keepdims=True)


@keras.saving.register_keras_serializable(package="numeric")
class Float32Inside(keras.layers.Layer):
    """Rounds through float32 on every backend, then back to the input dtype."""

    def call(self, x):
        return ops.cast(ops.tanh(ops.cast(x, "float32")), x.dtype)


@keras.saving.register_keras_serializable(package="numeric")
class HalfGradientSquare(keras.layers.Layer):
    """x * stop_gradient(x): its value is x**2, its gradient x instead of 2x."""

    def call(self, x):
        return x * ops.stop_gradient(x)


@keras.saving.register_keras_serializable(package="numeric")
class Staircase(keras.layers.Layer):
    """x plus a staircase with a stair every 1e-4 (the float64 difference
    step): its backprop gradient is 1, its values rise ~1e4 times faster."""

    def call(self, x):
        return x + ops.round(x * 1e4)
