"""Random layers: unbiased in training, no random draws at inference."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from layergen.testing.case import LayerCase
from layergen.testing.inputs import to_numpy
from layergen.testing.variants import for_each_call

# Training calls averaged, and how many standard errors the mean may stray
# from the inference output: 6 makes a chance failure of a correct layer
# (~2e-9 per comparison) far rarer than any real bug.
DRAWS = 256
STANDARD_ERRORS = 6.0


@for_each_call
def check_training_is_unbiased(case: LayerCase, draws: int = DRAWS) -> None:
    """A random layer that is the identity at inference (Dropout, DropPath,
    noise) is unbiased in training: the mean of many training outputs equals
    the inference output (a DropPath that forgets to rescale by ``1/keep``
    fails). Compared along a few fixed projections of the output, each within
    :data:`STANDARD_ERRORS` standard errors estimated from the draws."""
    if not (case.uses_training and case.random_in_training):
        pytest.skip("the layer draws no random numbers in training")
    if not case.unbiased_in_training:
        pytest.skip("declared biased in training (unbiased_in_training=False)")
    layer = case.make_layer()
    inputs = case.make_inputs()
    inference = to_numpy(case.run(layer, inputs, training=False))
    if isinstance(inference, tuple):
        pytest.skip("several outputs: not the identity at inference")
    inference = inference.astype(np.float64)
    if inference.shape != inputs[0].shape or not np.allclose(inference, inputs[0]):
        pytest.skip(
            "not the identity at inference: the mean of its training outputs "
            "need not equal the inference output (noise before a nonlinearity)"
        )
    samples = np.stack(
        [to_numpy(case.run(layer, inputs, training=True)) for _ in range(draws)]
    ).astype(np.float64)
    rng = np.random.default_rng(4)
    projections = {
        "the inference output": inference,
        "ones": np.ones_like(inference),
        "a random projection": rng.standard_normal(inference.shape),
        "another random projection": rng.standard_normal(inference.shape),
    }
    for name, weights in projections.items():
        _assert_mean_matches(samples, inference, weights, name)


def _assert_mean_matches(
    samples: np.ndarray, inference: np.ndarray, weights: np.ndarray, name: str
) -> None:
    per_draw = (samples * weights).reshape(len(samples), -1).sum(axis=1)
    expected = float((inference * weights).sum())
    mean = float(per_draw.mean())
    error = float(per_draw.std(ddof=1)) / math.sqrt(len(samples))
    allowed = STANDARD_ERRORS * error + 1e-5 * max(1.0, abs(expected))
    assert abs(mean - expected) <= allowed, (
        f"biased in training: projected on {name}, the mean of {len(samples)} "
        f"training outputs is {mean:.4g}, the inference output {expected:.4g} "
        f"(standard error {error:.2g}); rescale kept values by 1/keep, or set "
        "unbiased_in_training=False if the bias is meant"
    )


@for_each_call
def check_inference_leaves_state_alone(case: LayerCase) -> None:
    """An inference call changes no variable of the layer: no seed generator
    advances (random numbers drawn and thrown away at inference shift every
    later training draw) and no weight is updated."""
    layer = case.make_layer()
    inputs = case.make_inputs()
    case.run(layer, inputs, **case.inference())  # builds it
    calls = [case.inference()] + ([{}] if case.uses_training else [])
    for kwargs in calls:
        before = _values(layer)
        case.run(layer, inputs, **kwargs)
        for variable, value in zip(layer.variables, before, strict=True):
            changed = not np.array_equal(to_numpy(variable), value)
            what = "training=False" if kwargs else "no training argument"
            assert not changed or not _is_seed_state(variable), (
                f"inference ({what}) draws random numbers: {variable.path} "
                "advanced; draw them inside the training branch only"
            )
            assert not changed, f"inference ({what}) changes {variable.path}"


def _values(layer: Any) -> list[np.ndarray]:
    return [to_numpy(variable) for variable in layer.variables]


def _is_seed_state(variable: Any) -> bool:
    return variable.name == "seed_generator_state"
