"""The generated test files and ``testing.applicable_checks`` decide in two
places which checks apply to a layer (the template from the spec, the suite
from the LayerCase at run time): every example's test file must hold exactly
the checks ``applicable_checks`` names for its CASE."""

from __future__ import annotations

import importlib
import inspect
import sys

import pytest

from .conftest import EXAMPLE_SPECS, EXAMPLES

keras = pytest.importorskip("keras")

from layergen import testing  # noqa: E402

# Generated test function -> the check it runs (mixed precision: one per policy).
CHECK_OF_TEST = {
    "test_build_creates_expected_weights": ["build_and_weights"],
    "test_symbolic_and_eager_output_shapes_agree": ["output_shapes"],
    "test_shape_polymorphism": ["batch_polymorphism"],
    "test_config_round_trip": ["config_round_trip"],
    "test_save_and_load_keras_format": ["save_and_load"],
    "test_fit_step_trains_every_trainable_weight": ["fit_step"],
    "test_inference_is_deterministic": ["inference_is_deterministic"],
    "test_training_flag_changes_output": ["training_changes_output"],
    "test_training_mean_matches_inference": ["training_is_unbiased"],
    "test_inference_changes_no_state": ["inference_leaves_state_alone"],
    "test_initial_weights_are_distinct": ["initial_weights_differ"],
    "test_updates_run_only_in_training": ["updates_only_in_training"],
    "test_xla_matches_eager": ["xla_matches_eager"],
    "test_mixed_precision": list(testing.MIXED_PRECISION_POLICIES),
    "test_computes_in_float32_under_mixed_precision": ["computes_in_float32"],
    "test_input_gradient_matches_finite_differences": ["input_gradient"],
    "test_distributed_training_step": ["distribution"],
    "test_runs_on_gpu_and_matches_cpu": ["runs_on_gpu"],
    "test_uses_only_backend_neutral_ops": ["backend_neutral_source"],
    "test_same_numbers_on_every_backend": ["same_numbers_across_backends"],
}
# Tests that check what the spec states, or the absence of a check.
NOT_CHECKS = ("test_matches_numpy_reference", "test_property_", "test_has_no_")


@pytest.mark.parametrize("spec", EXAMPLE_SPECS, ids=lambda p: p.stem)
def test_generated_tests_are_the_applicable_checks(spec) -> None:
    sys.path.insert(0, str(EXAMPLES))
    try:
        module = importlib.import_module(f"test_{spec.stem}")
    finally:
        sys.path.remove(str(EXAMPLES))
    generated = set()
    for name, _ in inspect.getmembers(module, inspect.isfunction):
        if name.startswith("test_mask_"):
            generated.add("mask")
        elif name in CHECK_OF_TEST:
            generated.update(CHECK_OF_TEST[name])
        else:
            assert name.startswith(NOT_CHECKS) or not name.startswith("test_"), name
    testing.reset_keras_state()
    assert generated == set(testing.applicable_checks(module.CASE))
