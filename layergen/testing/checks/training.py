"""Training: gradients reach weights, the training flag, state updates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from layergen.testing.case import LayerCase, is_own_weight
from layergen.testing.inputs import all_close, outputs_of, to_numpy
from layergen.testing.variants import for_each_call

# Steps of check_fit_step: a weight behind a zero-initialized one moves in the second.
FIT_STEPS = 3


def fit_targets(model: Any, inputs: Sequence[np.ndarray]) -> Any:
    """Random targets for each of the model's outputs (a list for several)."""
    rng = np.random.default_rng(1)
    targets = [
        rng.standard_normal((len(inputs[0]), *tuple(output.shape)[1:]))
        for output in model.outputs
    ]
    return targets[0] if len(targets) == 1 else targets


@for_each_call(every=False)
def check_fit_step(case: LayerCase) -> None:
    """Compiled ``fit`` steps change every trainable weight of the layer's
    own (a gradient reaches it) and at least one of each sublayer's, and none
    of the layer's own non-trainable weights that ``updated_weights`` omits.

    ``FIT_STEPS`` steps, not one: a weight behind a zero-initialized one (LoRA's
    ``A`` behind ``B = 0``, a block behind an adaLN-Zero gate) gets its first
    gradient in the second step. A Keras sublayer may hold weights no gradient
    reaches by design (``MultiHeadAttention``'s key bias: softmax cancels it)
    and update its own statistics (``BatchNormalization``); neither is the
    spec's bug."""
    layer = case.make_layer()
    model = case.make_model(layer)
    inputs = case.make_inputs()
    before = {w.path: to_numpy(w) for w in layer.trainable_weights}
    frozen = {
        w.path: to_numpy(w)
        for w in layer.non_trainable_weights
        if w.name not in case.updated_weights and is_own_weight(layer, w)
    }
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    model.fit(
        inputs,
        fit_targets(model, inputs),
        batch_size=len(inputs[0]),
        epochs=FIT_STEPS,
        verbose=0,
    )
    assert before, "the layer has no trainable weights"
    trained: dict[str, bool] = {}
    for weight in layer.trainable_weights:
        changed = not np.allclose(to_numpy(weight), before[weight.path])
        if is_own_weight(layer, weight):
            assert (
                changed
            ), f"trainable weight {weight.path} did not change: no gradient reaches it"
        else:
            owner = weight.path.rsplit("/", 1)[0]
            trained[owner] = trained.get(owner, False) or changed
    for owner, changed in trained.items():
        assert (
            changed
        ), f"no trainable weight of {owner} changed: no gradient reaches it"
    for weight in layer.non_trainable_weights:
        if weight.path in frozen:
            np.testing.assert_array_equal(
                to_numpy(weight), frozen[weight.path], err_msg=f"{weight.path} changed"
            )


@for_each_call
def check_no_trainable_weights(case: LayerCase) -> None:
    layer = case.make_layer()
    case.run(layer, case.make_inputs(), **case.inference())
    assert layer.trainable_weights == []


@for_each_call
def check_inference_is_deterministic(case: LayerCase) -> None:
    layer = case.make_layer()
    inputs = case.make_inputs()
    first = to_numpy(case.run(layer, inputs, training=False))
    second = to_numpy(case.run(layer, inputs, training=False))
    for a, b in zip(outputs_of(first), outputs_of(second), strict=True):
        np.testing.assert_array_equal(a, b)


@for_each_call
def check_training_changes_output(case: LayerCase) -> None:
    layer = case.make_layer()
    inputs = case.make_inputs()
    inference = to_numpy(case.run(layer, inputs, training=False))
    training = to_numpy(case.run(layer, inputs, training=True))
    assert not all_close(inference, training), "training=True is ignored"


@for_each_call
def check_updates_only_in_training(case: LayerCase) -> None:
    """Non-trainable state changes in training calls only (``None`` is inference)."""
    layer = case.make_layer()
    inputs = case.make_inputs()
    case.run(layer, inputs, training=False)
    initial = {name: to_numpy(getattr(layer, name)) for name in case.updated_weights}
    case.run(layer, inputs, training=False)
    case.run(layer, inputs)
    for name in case.updated_weights:
        np.testing.assert_array_equal(
            to_numpy(getattr(layer, name)),
            initial[name],
            err_msg=f"{name} was updated at inference",
        )
    case.run(layer, inputs, training=True)
    for name in case.updated_weights:
        assert not np.array_equal(
            to_numpy(getattr(layer, name)), initial[name]
        ), f"{name} was not updated in training"
