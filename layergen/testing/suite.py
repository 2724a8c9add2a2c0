"""Every applicable check at once, for hand-written layers."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any

import pytest

from layergen.testing.case import LayerCase, build_model
from layergen.testing.checks.backends import check_same_numbers_across_backends
from layergen.testing.checks.devices import check_runs_on_gpu
from layergen.testing.checks.distribution import check_distribution
from layergen.testing.checks.gradients import check_input_gradient
from layergen.testing.checks.masks import check_mask
from layergen.testing.checks.precision import (
    check_computes_in_float32,
    check_mixed_precision,
    check_xla_matches_eager,
)
from layergen.testing.checks.randomness import (
    check_inference_leaves_state_alone,
    check_training_is_unbiased,
)
from layergen.testing.checks.serialization import (
    check_config_round_trip,
    check_save_and_load,
)
from layergen.testing.checks.shapes import (
    check_batch_polymorphism,
    check_build_and_weights,
    check_output_shapes,
)
from layergen.testing.checks.source import check_backend_neutral_source
from layergen.testing.checks.training import (
    check_fit_step,
    check_inference_is_deterministic,
    check_training_changes_output,
    check_updates_only_in_training,
)
from layergen.testing.checks.weights import check_initial_weights_differ
from layergen.testing.inputs import reset_keras_state
from layergen.testing.tolerances import MIXED_PRECISION_POLICIES


def applicable_checks(case: LayerCase) -> list[str]:
    """The names of the checks that apply to ``case``, in the order they run.

    Decided from the case's fields and, for ``fit_step``, from whether the
    layer has trainable weights once called (a check may still skip itself at
    run time: no GPU, one device, a backend without XLA)."""
    names = [
        "build_and_weights",
        "output_shapes",
        "config_round_trip",
        "save_and_load",
        "backend_neutral_source",
        "xla_matches_eager",
        "distribution",
        "runs_on_gpu",
        "same_numbers_across_backends",
        "initial_weights_differ",
        "inference_leaves_state_alone",
    ]
    if not case.is_cell:
        names.append("batch_polymorphism")
    if case.mask_mode is not None:
        names.append("mask")
    names.extend(MIXED_PRECISION_POLICIES)
    if case.computes_in_float32:
        names.append("computes_in_float32")
    if case.differentiable:
        names.append("input_gradient")
    if case.uses_training:
        names.append("inference_is_deterministic")
        if case.training_changes_output:
            names.append("training_changes_output")
        if case.random_in_training and case.unbiased_in_training:
            names.append("training_is_unbiased")
    if case.updated_weights:
        names.append("updates_only_in_training")
    probe = case.make_layer()
    case.run(probe, case.make_inputs(), **case.inference())
    if probe.trainable_weights:
        names.append("fit_step")
    return names


def layer_checks(case: LayerCase) -> dict[str, Callable[[], None]]:
    """The checks that apply to ``case`` (:func:`applicable_checks`), by name;
    those that only read a built model share one."""
    built = cache(lambda: build_model(case))
    every: dict[str, Callable[[], None]] = {
        "build_and_weights": lambda: check_build_and_weights(case),
        "output_shapes": lambda: check_output_shapes(case, built()),
        "config_round_trip": lambda: check_config_round_trip(case),
        "save_and_load": lambda: check_save_and_load(case, built()),
        "backend_neutral_source": lambda: check_backend_neutral_source(case),
        "xla_matches_eager": lambda: check_xla_matches_eager(case),
        "distribution": lambda: check_distribution(case),
        "runs_on_gpu": lambda: check_runs_on_gpu(case),
        "same_numbers_across_backends": lambda: check_same_numbers_across_backends(
            case
        ),
        "initial_weights_differ": lambda: check_initial_weights_differ(case),
        "inference_leaves_state_alone": lambda: check_inference_leaves_state_alone(
            case
        ),
        "batch_polymorphism": lambda: check_batch_polymorphism(case),
        "mask": lambda: check_mask(case),
        "input_gradient": lambda: check_input_gradient(case),
        "inference_is_deterministic": lambda: check_inference_is_deterministic(case),
        "training_changes_output": lambda: check_training_changes_output(case),
        "training_is_unbiased": lambda: check_training_is_unbiased(case),
        "updates_only_in_training": lambda: check_updates_only_in_training(case),
        "fit_step": lambda: check_fit_step(case),
        "computes_in_float32": lambda: check_computes_in_float32(case),
    }
    for policy in MIXED_PRECISION_POLICIES:
        every[policy] = lambda p=policy: check_mixed_precision(case, p)
    return {name: every[name] for name in applicable_checks(case)}


def check_layer(
    cls: type,
    init_kwargs: Mapping[str, Any],
    input_shapes: Mapping[str, Sequence[int]],
    **expectations: Any,
) -> dict[str, str]:
    """Run every applicable check on a layer; returns ``{check: outcome}`` where
    the outcome is ``"passed"``, ``"skipped: <reason>"`` or ``"failed: <why>"``.

    ``expectations`` are :class:`LayerCase` fields (``mask_mode="propagate"``,
    ``updated_weights=["moving_mean"]``, ``uses_training=True``, ...).
    """
    case = LayerCase(
        cls,
        dict(init_kwargs),
        {name: tuple(shape) for name, shape in input_shapes.items()},
        **expectations,
    )
    outcomes = {}
    for name, run in layer_checks(case).items():
        reset_keras_state()
        try:
            run()
        except pytest.skip.Exception as exc:
            outcomes[name] = f"skipped: {exc.msg}"
        except Exception as exc:  # a broken layer may raise anything
            first_line = (str(exc).strip().splitlines() or [""])[0]
            outcomes[name] = f"failed: {type(exc).__name__}: {first_line}"
        else:
            outcomes[name] = "passed"
    return outcomes
