"""One training step over two devices against the same step on one."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import pytest

from layergen.testing.case import LayerCase
from layergen.testing.checks.training import fit_targets
from layergen.testing.inputs import to_numpy
from layergen.testing.numerics import (
    assert_outputs_close,
    full_float32_matmuls,
    matmul_precision,
    reduction_length,
)
from layergen.testing.variants import for_each_call

NOT_CHECKED = (
    "not checked: that one training step spread over two replicas matches the "
    "step on one device, and that non-trainable weights agree across replicas"
)


@for_each_call(every=False)
def check_distribution(case: LayerCase) -> None:
    """One training step spread over two devices matches the same step on one.

    ``tf.distribute.MirroredStrategy`` on TensorFlow runs each replica on its
    half of the batch, so a layer's batch statistics are per replica (as in
    Keras's BatchNormalization): the reference is the mean of the weights after
    one single-device step on each half, which for a layer without batch
    statistics equals the step on the whole batch; every non-trainable weight
    must also hold one value on all replicas. ``keras.distribution.DataParallel``
    on JAX computes over the global batch: the reference is the whole-batch
    step. Layers random in training are only run, not compared (replicas draw
    other random numbers)."""
    backend = keras.backend.backend()
    with full_float32_matmuls() as how:
        precision = matmul_precision()
        if backend == "tensorflow":
            spread, reference = _train_mirrored(case)
        elif backend == "jax":
            spread, reference = _train_data_parallel(case)
        else:
            pytest.skip(
                f"no multi-device training on the {backend} backend: {NOT_CHECKED}"
            )
    if case.random_in_training:
        return
    reduction = reduction_length(list(case.call_shapes().values()), spread)
    for name, expected, actual in zip(*reference, spread, strict=True):
        assert_outputs_close(
            actual.astype(np.float64),
            expected,
            precision,
            reduction,
            f"{name} after a step on two replicas vs one device (TF32 off: {how})",
        )


def _even_batch(case: LayerCase) -> list[np.ndarray]:
    """Inputs with a batch of 4, so that two replicas get equal halves (a
    bool one, a mask, as uint8: see :func:`_compiled_model`)."""
    shapes = {name: (4, *shape[1:]) for name, shape in case.call_shapes().items()}
    inputs = case.make_inputs(shapes=shapes)
    return [x.astype("uint8") if x.dtype == bool else x for x in inputs]


def _one_step(model: Any, inputs: list, targets: np.ndarray, weights: list) -> list:
    model.set_weights(weights)
    model.fit(inputs, targets, batch_size=len(inputs[0]), verbose=0)
    return model.get_weights()


def _compiled_model(case: LayerCase) -> tuple[Any, Any]:
    layer = case.make_layer()
    # tf.distribute cannot feed a bool input (it sums its replicas' copies,
    # and AddN has no bool kernel): a mask is fed as uint8 and cast back.
    model = case.make_model(layer, feed_bool_as="uint8")
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.1),
        loss="mse",
        jit_compile=False,  # XLA under MirroredStrategy fails even for Dense
    )
    return layer, model


def _single_device_steps(
    case: LayerCase, inputs: list, halves: bool
) -> tuple[list, np.ndarray, tuple[list[str], list[np.ndarray]]]:
    """The initial weights, the targets, and the weights (paths, values) after
    one step on one device: on the whole batch, or, with ``halves``, what two
    replicas make of a step on each half: the mean for trainable weights (their
    gradients are averaged) and for ``aggregation="mean"``, the first half's
    for a weight each replica keeps (``"none"``: read from the first replica,
    ``"only_first_replica"``), the sum of both updates for ``"sum"``."""
    _, model = _compiled_model(case)
    initial = model.get_weights()
    targets = fit_targets(model, inputs)
    paths = [w.path for w in model.weights]
    if not halves:
        return initial, targets, (paths, _one_step(model, inputs, targets, initial))
    half = len(inputs[0]) // 2
    first, second = (
        _one_step(model, [x[part] for x in inputs], _part(targets, part), initial)
        for part in (slice(0, half), slice(half, None))
    )
    combined = []
    for weight, start, a, b in zip(model.weights, initial, first, second, strict=True):
        if weight.trainable or weight.aggregation == "mean":
            combined.append((a + b) / 2)
        elif weight.aggregation == "sum":
            combined.append(a + b - start)
        else:
            combined.append(a)
    return initial, targets, (paths, combined)


def _part(targets: Any, part: slice) -> Any:
    """The targets of part of the batch (of each output, for several)."""
    if isinstance(targets, list):
        return [t[part] for t in targets]
    return targets[part]


def _train_mirrored(case: LayerCase) -> tuple[list, tuple]:
    import tensorflow as tf

    gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
    cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
    if len(gpus) < 2 and len(cpus) < 2:
        pytest.skip(
            f"needs two devices (found {len(gpus)} GPU, {len(cpus)} CPU): run through "
            "layergen, or call layergen.testing.configure_logical_devices() before "
            f"TensorFlow starts; {NOT_CHECKED}"
        )
    devices = gpus[:2] if len(gpus) >= 2 else cpus[:2]
    inputs = _even_batch(case)
    mirrored = tf.distribute.MirroredStrategy(
        devices, cross_device_ops=tf.distribute.ReductionToOneDevice()
    )
    with tf.distribute.get_strategy().scope():
        initial, targets, reference = _single_device_steps(case, inputs, halves=True)
    with mirrored.scope():
        layer, model = _compiled_model(case)
    spread = _one_step(model, inputs, targets, initial)
    for weight in _without_keras_sublayers(layer, layer.non_trainable_weights):
        copies = mirrored.experimental_local_results(weight.value)
        for copy in copies[1:]:
            np.testing.assert_array_equal(
                to_numpy(copy),
                to_numpy(copies[0]),
                err_msg=f"{weight.path} differs between replicas",
            )
    return spread, reference


def _without_keras_sublayers(layer: Any, weights: list) -> list:
    """``weights`` less those of Keras's own sublayers (found through the
    layer's attributes): Keras's BatchNormalization keeps its moving
    statistics per replica by design (no aggregation), which a layer using it
    cannot change."""
    builtin: set[int] = set()
    seen, pending = {id(layer)}, [layer]
    while pending:
        for value in vars(pending.pop()).values():
            for item in value if isinstance(value, list | tuple) else [value]:
                if not isinstance(item, keras.layers.Layer) or id(item) in seen:
                    continue
                seen.add(id(item))
                if type(item).__module__.startswith("keras."):
                    builtin.update(id(w) for w in item.weights)
                else:
                    pending.append(item)
    return [w for w in weights if id(w) not in builtin]


def _train_data_parallel(case: LayerCase) -> tuple[list, tuple]:
    import jax

    devices = jax.devices()
    if len(devices) < 2:  # one accelerator: the host's devices, if split
        devices = jax.devices("cpu")
    if len(devices) < 2:
        pytest.skip(
            "needs two devices (found one): run through layergen, or set "
            "XLA_FLAGS=--xla_force_host_platform_device_count=2 before JAX "
            f"starts; {NOT_CHECKED}"
        )
    inputs = _even_batch(case)
    initial, targets, reference = _single_device_steps(case, inputs, halves=False)
    previous = keras.distribution.distribution()
    keras.distribution.set_distribution(
        keras.distribution.DataParallel(devices=devices[:2])
    )
    try:
        _, model = _compiled_model(case)
        spread = _one_step(model, inputs, targets, initial)
    finally:
        keras.distribution.set_distribution(previous)
    return spread, reference
