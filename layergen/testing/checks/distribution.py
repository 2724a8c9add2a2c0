"""One training step over two devices against the same step on one."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import pytest

from layergen.testing.case import LayerCase
from layergen.testing.checks.training import fit_targets
from layergen.testing.inputs import to_numpy
from layergen.testing.tolerances import XLA_TOLERANCE


def check_distribution(case: LayerCase) -> None:
    """One training step spread over two devices matches the same step on one:
    ``tf.distribute.MirroredStrategy`` on TensorFlow (where every non-trainable
    weight must also hold one value on all replicas afterwards),
    ``keras.distribution.DataParallel`` on JAX."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        results = _train_mirrored(case)
    elif backend == "jax":
        results = _train_data_parallel(case)
    else:
        pytest.skip(f"no multi-device training check on the {backend} backend")
    if not case.random_in_training:  # replicas draw other random numbers
        for plain, spread in zip(*results, strict=True):
            np.testing.assert_allclose(spread, plain, **XLA_TOLERANCE)


def _even_batch(case: LayerCase) -> list[np.ndarray]:
    """Inputs with a batch of 4, so that two replicas get equal halves."""
    shapes = {name: (4, *shape[1:]) for name, shape in case.call_shapes().items()}
    return case.make_inputs(shapes=shapes)


def _one_step(case: LayerCase, model: Any, inputs: list, weights: list | None) -> list:
    if weights is not None:
        model.set_weights(weights)
    model.fit(inputs, fit_targets(model, inputs), batch_size=len(inputs[0]), verbose=0)
    return model.get_weights()


def _compiled_model(case: LayerCase) -> tuple[Any, Any]:
    layer = case.make_layer()
    model = case.make_model(layer)
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.1),
        loss="mse",
        jit_compile=False,  # XLA under MirroredStrategy fails even for Dense
    )
    return layer, model


def _train_mirrored(case: LayerCase) -> list[list[np.ndarray]]:
    import tensorflow as tf

    devices = [d.name for d in tf.config.list_logical_devices("GPU")]
    if len(devices) < 2:
        devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    if len(devices) < 2:
        pytest.skip(
            "needs two devices: run through layergen, or call "
            "layergen.testing.configure_logical_cpus() before TensorFlow starts"
        )
    inputs = _even_batch(case)
    mirrored = tf.distribute.MirroredStrategy(
        devices[:2], cross_device_ops=tf.distribute.ReductionToOneDevice()
    )
    with tf.distribute.get_strategy().scope():
        _, model = _compiled_model(case)
    initial = model.get_weights()
    results = [_one_step(case, model, inputs, None)]
    with mirrored.scope():
        layer, model = _compiled_model(case)
    results.append(_one_step(case, model, inputs, initial))
    for weight in layer.non_trainable_weights:
        copies = mirrored.experimental_local_results(weight.value)
        for copy in copies[1:]:
            np.testing.assert_array_equal(
                to_numpy(copy),
                to_numpy(copies[0]),
                err_msg=f"{weight.path} differs between replicas",
            )
    return results


def _train_data_parallel(case: LayerCase) -> list[list[np.ndarray]]:
    import jax

    devices = jax.devices()
    if len(devices) < 2:
        pytest.skip(
            "needs two devices: run through layergen, or set "
            "XLA_FLAGS=--xla_force_host_platform_device_count=2 before JAX starts"
        )
    inputs = _even_batch(case)
    _, model = _compiled_model(case)
    initial = model.get_weights()
    results = [_one_step(case, model, inputs, None)]
    previous = keras.distribution.distribution()
    keras.distribution.set_distribution(
        keras.distribution.DataParallel(devices=devices[:2])
    )
    try:
        _, model = _compiled_model(case)
        results.append(_one_step(case, model, inputs, initial))
    finally:
        keras.distribution.set_distribution(previous)
    return results
