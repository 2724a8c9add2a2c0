"""Hand-written layers with the bugs people ship; each must fail one check.

Not generated: layergen cannot emit these. tests/test_broken_layers.py runs
layergen.testing's checks on them.
"""

from __future__ import annotations

import keras
import tensorflow as tf  # deliberately: UsesTensorFlow below
from keras import ops


@keras.saving.register_keras_serializable(package="broken")
class WeightInInit(keras.layers.Layer):
    """Creates its kernel in __init__ with a fixed input size."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.kernel = self.add_weight(name="kernel", shape=(3, units))

    def call(self, x):
        return ops.matmul(x, self.kernel)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="broken")
class ConfigMissesParam(keras.layers.Layer):
    """get_config forgets `factor`: a reloaded layer silently uses the default."""

    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return super().get_config()


@keras.saving.register_keras_serializable(package="broken")
class DropsMask(keras.layers.Layer):
    """Elementwise, so the mask should pass through; it never says so."""

    def call(self, x):
        return ops.tanh(x)


@keras.saving.register_keras_serializable(package="broken")
class UpdatesAtInference(keras.layers.Layer):
    """Updates its running mean on every call, inference included."""

    def build(self, input_shape):
        self.moving_mean = self.add_weight(
            name="moving_mean",
            shape=(input_shape[-1],),
            initializer="zeros",
            trainable=False,
        )

    def call(self, x, training=None):
        self.moving_mean.assign(0.9 * self.moving_mean + 0.1 * ops.mean(x, axis=0))
        return x - self.moving_mean


@keras.saving.register_keras_serializable(package="broken")
class UsesTensorFlow(keras.layers.Layer):
    """Calls tf.* in call(): works on TensorFlow only."""

    def call(self, x):
        return tf.nn.relu(x)


@keras.saving.register_keras_serializable(package="broken")
class ArgmaxOutput(keras.layers.Layer):
    """Outputs one-hot argmax: no gradient reaches the input."""

    def call(self, x):
        return ops.one_hot(ops.argmax(x, axis=-1), ops.shape(x)[-1])


@keras.saving.register_keras_serializable(package="broken")
class PythonBranch(keras.layers.Layer):
    """Branches in Python on a tensor's value: not traceable, not XLA."""

    def call(self, x):
        if ops.mean(x) > 0:
            return x * 2.0
        return x


@keras.saving.register_keras_serializable(package="broken")
class Float32Constant(keras.layers.Layer):
    """Adds a float32 tensor: wrong (or failing) under mixed precision."""

    def call(self, x):
        return x + ops.ones(ops.shape(x))


@keras.saving.register_keras_serializable(package="broken")
class StaticReshape(keras.layers.Layer):
    """Reshapes with the static shape: breaks when a dimension is None."""

    def call(self, x):
        return ops.reshape(x, (-1, x.shape[1] * x.shape[2]))


@keras.saving.register_keras_serializable(package="broken")
class RunningMeanPerReplica(keras.layers.Layer):
    """Running statistic without aggregation="mean": replicas drift apart."""

    def build(self, input_shape):
        self.moving_mean = self.add_weight(
            name="moving_mean",
            shape=(input_shape[-1],),
            initializer="zeros",
            trainable=False,
        )
        self.scale = self.add_weight(name="scale", shape=(input_shape[-1],))

    def call(self, x, training=None):
        if training:
            self.moving_mean.assign(0.5 * self.moving_mean + 0.5 * ops.mean(x, axis=0))
        return x * self.scale


class _BatchStatistics(keras.layers.Layer):
    """Batch normalization written by hand: batch moments in training, moving
    statistics (momentum 0.5) at inference."""

    aggregation = "none"

    def build(self, input_shape):
        features = (input_shape[-1],)
        self.gamma = self.add_weight(name="gamma", shape=features, initializer="ones")
        self.beta = self.add_weight(name="beta", shape=features, initializer="zeros")
        self.moving_mean, self.moving_var = (
            self.add_weight(
                name=name,
                shape=features,
                initializer=initializer,
                trainable=False,
                aggregation=self.aggregation,
            )
            for name, initializer in (("moving_mean", "zeros"), ("moving_var", "ones"))
        )

    def call(self, x, training=None):
        if training:
            mean, var = ops.moments(x, axes=[0])
            self.moving_mean.assign(0.5 * self.moving_mean + 0.5 * mean)
            self.moving_var.assign(0.5 * self.moving_var + 0.5 * var)
        else:
            mean, var = self.moving_mean, self.moving_var
        return (x - mean) * ops.rsqrt(var + 1e-3) * self.gamma + self.beta


@keras.saving.register_keras_serializable(package="broken")
class BatchNormMoments(_BatchStatistics):
    """Correct: per-replica batch statistics, moving statistics averaged over
    replicas (aggregation="mean"), as Keras's BatchNormalization does."""

    aggregation = "mean"


@keras.saving.register_keras_serializable(package="broken")
class BatchNormNoAggregation(_BatchStatistics):
    """Forgets aggregation="mean": each replica keeps its own moving statistics."""
