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


class _DropPath(keras.layers.Layer):
    """Stochastic depth: drops whole examples with probability `rate` in training."""

    rescale = True

    def __init__(self, rate=0.5, seed=7, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x, training=None):
        if not training:
            return x
        keep = 1.0 - self.rate
        shape = (ops.shape(x)[0],) + (1,) * (len(x.shape) - 1)
        noise = keras.random.uniform(shape, dtype=x.dtype, seed=self.seed_generator)
        kept = ops.floor(keep + noise)
        return x * kept / keep if self.rescale else x * kept

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


@keras.saving.register_keras_serializable(package="broken")
class DropPath(_DropPath):
    """Correct: kept examples are scaled by 1/keep, so training is unbiased."""


@keras.saving.register_keras_serializable(package="broken")
class DropPathNoRescale(_DropPath):
    """Forgets the 1/keep rescale: its training outputs average to keep * x."""

    rescale = False


@keras.saving.register_keras_serializable(package="broken")
class DrawsAtInference(_DropPath):
    """Draws its keep mask on every call and uses it only in training: each
    inference call advances the seed generator."""

    def call(self, x, training=None):
        keep = 1.0 - self.rate
        shape = (ops.shape(x)[0],) + (1,) * (len(x.shape) - 1)
        noise = keras.random.uniform(shape, dtype=x.dtype, seed=self.seed_generator)
        kept = ops.floor(keep + noise)
        return x * kept / keep if training else x


@keras.saving.register_keras_serializable(package="broken")
class PoolingPropagatesMask(keras.layers.Layer):
    """Averages over time but says it propagates the time mask: the output
    (batch, features) gets a (batch, time) mask, and fit then crashes."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, x):
        return ops.mean(x, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])


@keras.saving.register_keras_serializable(package="broken")
class SummaryKeepsMask(keras.layers.Layer):
    """Returns the sequence and its mean over time, and gives both the time
    mask: the mean (batch, features) must carry none."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, x):
        return x * 2.0, ops.mean(x, axis=1)

    def compute_mask(self, x, mask=None):
        return [mask, mask]

    def compute_output_shape(self, input_shape):
        return input_shape, (input_shape[0], input_shape[2])


@keras.saving.register_keras_serializable(package="broken")
class SummaryMasksSequence(SummaryKeepsMask):
    """The mask of the sequence, as Keras aligns a list of masks with the
    outputs: right (and as keras-hub's encoders propagate theirs)."""

    def compute_mask(self, x, mask=None):
        return [mask, None]


@keras.saving.register_keras_serializable(package="broken")
class ComputesOneMask(SummaryKeepsMask):
    """Several outputs, the first with a computed mask, but compute_mask
    returns one mask where the spec says one per output."""

    def compute_mask(self, x, mask=None):
        return ops.any(ops.not_equal(x, 0.0), axis=-1)


class _Residual(keras.layers.Layer):
    """``x`` plus the mean of ``x`` over time, which reads the mask or not:
    masked steps reach their own output steps through the residual sum."""

    reads_mask = True

    def call(self, x, mask=None):
        if mask is None or not self.reads_mask:
            return x + ops.mean(x, axis=1, keepdims=True)
        kept = ops.expand_dims(ops.cast(mask, x.dtype), -1)
        mean = ops.sum(x * kept, axis=1, keepdims=True) / ops.maximum(
            ops.sum(kept, axis=1, keepdims=True), 1.0
        )
        return x + mean

    def compute_mask(self, x, mask=None):
        return None


@keras.saving.register_keras_serializable(package="broken")
class ResidualConsumesMask(_Residual):
    """Right: the values at masked steps reach only those steps' outputs."""


@keras.saving.register_keras_serializable(package="broken")
class ResidualLeaksMask(_Residual):
    """Takes the mask and ignores it: masked values reach every step."""

    reads_mask = False


class _ProjectQKV(keras.layers.Layer):
    """Three projections of its input, added: q, k and v kernels of one shape."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.kernel_initializer = keras.initializers.get("glorot_uniform")

    def initializer_for(self, name):
        return self.kernel_initializer

    def build(self, input_shape):
        for name in ("q_kernel", "k_kernel", "v_kernel"):
            kernel = self.add_weight(
                name=name,
                shape=(input_shape[-1], self.units),
                initializer=self.initializer_for(name),
            )
            setattr(self, name, kernel)

    def call(self, x):
        q, k, v = (
            ops.matmul(x, w) for w in (self.q_kernel, self.k_kernel, self.v_kernel)
        )
        return q * ops.sigmoid(k) + v

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="broken")
class SharedInitializer(_ProjectQKV):
    """One unseeded initializer instance for q, k and v: Keras returns the same
    values on each call, so the three kernels start identical."""


@keras.saving.register_keras_serializable(package="broken")
class ClonedInitializers(_ProjectQKV):
    """Correct: each kernel gets its own clone of the initializer."""

    def initializer_for(self, name):
        return self.kernel_initializer.clone()


@keras.saving.register_keras_serializable(package="broken")
class DenseKerasBatchNorm(keras.layers.Layer):
    """Correct: a Dense and Keras's own BatchNormalization as sublayers. Keras
    keeps that layer's moving statistics per replica (no aggregation)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(3, use_bias=False)  # BN cancels a bias
        self.norm = keras.layers.BatchNormalization()

    def call(self, x, training=None):
        return self.norm(self.dense(x), training=training)


class _LowRank(keras.layers.Layer):
    """``x @ a @ b`` with ``b`` starting at zero, as LoRA's update does: ``a``
    gets its first gradient once ``b`` has moved."""

    def build(self, input_shape):
        self.a = self.add_weight(name="a", shape=(input_shape[-1], 2))
        self.b = self.add_weight(name="b", shape=(2, 3), initializer="zeros")

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 3)


@keras.saving.register_keras_serializable(package="broken")
class LowRankUpdate(_LowRank):
    """Correct: LoRA's zero-initialized ``b`` in front of a trainable ``a``."""

    def call(self, x):
        return ops.matmul(ops.matmul(x, self.a), self.b)


@keras.saving.register_keras_serializable(package="broken")
class LowRankDetached(_LowRank):
    """``a`` behind ``stop_gradient``: no gradient ever reaches it."""

    def call(self, x):
        return ops.matmul(ops.stop_gradient(ops.matmul(x, self.a)), self.b)


@keras.saving.register_keras_serializable(package="broken")
class TimestepFeatures(keras.layers.Layer):
    """Correct: a rank-1 input (one scalar per example) made into features."""

    def call(self, t):
        return ops.stack([ops.cos(t), ops.sin(t)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape, 2)
