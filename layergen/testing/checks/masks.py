"""Masks: none, propagate, consume, compute."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from layergen.testing.case import LayerCase
from layergen.testing.checks.training import fit_targets
from layergen.testing.inputs import (
    all_close,
    apply_mask,
    assert_close,
    outputs_of,
    random_mask,
    to_numpy,
)
from layergen.testing.tolerances import TOLERANCE
from layergen.testing.variants import for_each_call


@for_each_call
def check_mask(case: LayerCase) -> None:
    """The mask behaves as ``mask_mode`` says: none, propagate, consume, compute."""
    layer = case.make_layer()
    if case.mask_mode == "none":
        assert not layer.supports_masking, "supports_masking without a mask mode"
        return
    inputs = case.make_inputs()
    mask = random_mask(inputs[0].shape[:-1])
    if case.mask_mode == "propagate":
        assert layer.supports_masking, "the mask is dropped: set supports_masking"
        output = case.call(layer, [apply_mask(inputs[0], mask), *inputs[1:]])
        others = [None] * (len(case.masked_outputs) - 1)
        _assert_output_masks(output, [mask, *others])
        _fit_masked_model(case, inputs, mask)
    elif case.mask_mode == "consume":
        _check_mask_consumed(case, layer, inputs, mask)
    elif case.mask_mode == "compute" and case.mask_in_call:
        _check_mask_set_in_call(case, layer, inputs, mask)
    elif case.mask_mode == "compute":
        masked = apply_mask(inputs[0], mask)
        output = case.call(layer, [masked, *inputs[1:]])
        computed = layer.compute_mask(masked, masked._keras_mask)
        expected = _computed_masks(case, computed)
        _assert_output_masks(output, expected)
        _fit_masked_model(case, inputs, mask)


def _check_mask_set_in_call(
    case: LayerCase, layer: Any, inputs: list, mask: np.ndarray
) -> None:
    """A mask that depends on call arguments: Keras's compute_mask cannot
    see them, so it must give None (else Keras would set its mask on every
    call), and the output carries a mask exactly where the spec says this
    call sets one, of the output's leading axes, and boolean."""
    masked = apply_mask(inputs[0], mask)
    assert layer.compute_mask(masked, masked._keras_mask) is None, (
        "compute_mask returned a mask, which Keras sets on calls whatever "
        "their arguments; call() sets this layer's mask"
    )
    output = case.call(layer, [masked, *inputs[1:]])
    own = getattr(output, "_keras_mask", None)
    if case.expects_mask is not None:
        assert (own is not None) == case.expects_mask, (
            "the output carries a mask, which this call should not set"
            if own is not None
            else "the output carries no mask, which this call should set"
        )
    if own is not None:
        _assert_mask_fits(output)
        assert to_numpy(own).dtype == bool


def _computed_masks(case: LayerCase, computed: Any) -> list:
    """compute_mask's result as one mask per output, checked against what the
    spec says: a boolean mask for each output that carries one, None for the
    others (with several outputs, a list aligned with them)."""
    carried = case.masked_outputs or [True]
    if case.masked_outputs:
        assert isinstance(computed, tuple | list) and len(computed) == len(
            carried
        ), f"compute_mask returned {computed!r}, not one mask per output"
    else:
        computed = [computed]
    expected = []
    for index, (mask, carries) in enumerate(zip(computed, carried, strict=True)):
        where = f" for output {index}" if case.masked_outputs else ""
        if not carries:
            assert mask is None, f"compute_mask returned a mask{where}, which has none"
            expected.append(None)
            continue
        assert mask is not None, f"compute_mask returned None{where}"
        assert to_numpy(mask).dtype == bool, f"compute_mask's mask{where} is not bool"
        expected.append(to_numpy(mask))
    return expected


def _assert_output_masks(output: Any, expected: list) -> None:
    """Each output the call returned carries the mask expected of it, in
    order (None: no mask; a call may return fewer outputs than listed, those
    a flag adds left out)."""
    outputs = outputs_of(output)
    for index, (item, want) in enumerate(zip(outputs, expected, strict=False)):
        where = f"output {index}" if len(outputs) > 1 else "the output"
        got = getattr(item, "_keras_mask", None)
        if want is None:
            assert got is None, (
                f"{where} carries a Keras mask, but the spec gives it none: "
                "Keras would apply it to that output's loss"
            )
            continue
        assert got is not None, f"{where} carries no Keras mask"
        _assert_mask_fits(item)
        np.testing.assert_array_equal(
            to_numpy(got), want, err_msg=f"the Keras mask of {where}"
        )


def _assert_mask_fits(output: Any) -> None:
    """The output's mask has the shape of the output's leading axes, as Keras's
    losses and the next layers expect (a pooling over time must not propagate
    the time mask)."""
    mask_shape = tuple(output._keras_mask.shape)
    assert tuple(output.shape)[: len(mask_shape)] == mask_shape, (
        f"the output's mask has shape {mask_shape}, not the leading axes of the "
        f"output {tuple(output.shape)}: a layer that removes the masked axis must "
        "consume the mask (mode consume), not propagate it"
    )


def _fit_masked_model(case: LayerCase, inputs: list, mask: np.ndarray) -> None:
    """A model whose first input goes through ``Masking`` trains one step:
    Keras applies the output's mask to the loss. (Not for an integer or
    boolean output, an index or a flag, which no model trains on.)"""
    probe = outputs_of(case.call(case.make_layer(), inputs))[0]
    if not keras.backend.is_float_dtype(keras.backend.standardize_dtype(probe.dtype)):
        return
    masked_input = keras.Input(shape=inputs[0].shape[1:], dtype=inputs[0].dtype)
    others = [keras.Input(shape=x.shape[1:], dtype=x.dtype) for x in inputs[1:]]
    output = case.call(
        case.make_layer(),
        [keras.layers.Masking(mask_value=0.0)(masked_input), *others],
    )
    model = keras.Model([masked_input, *others], output)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="mse")
    zeroed = np.where(mask[..., None], inputs[0], 0).astype(inputs[0].dtype)
    data = [zeroed, *inputs[1:]]
    model.fit(data, fit_targets(model, data), batch_size=len(zeroed), verbose=0)


def _check_mask_consumed(case: LayerCase, layer: Any, inputs: list, mask: Any) -> None:
    """Each mask argument in turn: the outputs keep no mask, values at the
    masked positions of its input do not reach the first output where it is
    not masked (all of it, when it dropped the masked axes; only its unmasked
    steps where it kept them: Keras reads no value at a masked step, which a
    residual sum may carry), and the mask changes the output."""
    names = list(case.input_shapes)
    for argument in case.mask_arguments:
        index = 0 if argument == "mask" else names.index(argument[: -len("_mask")])
        target = inputs[index]
        own = mask if index == 0 else random_mask(target.shape[:-1], seed=1 + index)
        output = case.call(layer, inputs, **{argument: own})
        assert all(
            getattr(o, "_keras_mask", None) is None for o in outputs_of(output)
        ), f"the output keeps a mask ({argument})"
        expand = (...,) + (None,) * (target.ndim - own.ndim)
        perturbed = list(inputs)
        perturbed[index] = np.where(own[expand], target, target + 100.0).astype(
            target.dtype
        )
        again = case.call(layer, perturbed, **{argument: own})
        first, first_again = to_numpy(outputs_of(output)[0]), to_numpy(
            outputs_of(again)[0]
        )
        kept = first.shape[: own.ndim] == own.shape
        assert_close(
            first_again[own] if kept else first_again,
            first[own] if kept else first,
            **TOLERANCE,
            err_msg=f"values masked by {argument} reach the "
            + ("output's unmasked steps" if kept else "output"),
        )
        unmasked = case.call(layer, inputs, **{argument: np.ones_like(own)})
        assert not all_close(
            to_numpy(unmasked), to_numpy(output)
        ), f"{argument} does not change the output"
