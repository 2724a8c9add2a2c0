"""Which checks apply to a layer, decided once: the generated test files hold
one test function per check this module names for the spec's case
(:mod:`layergen.codegen.test_view`), and the run-time suite runs the same
list (:func:`layergen.testing.applicable_checks`). Imports no Keras."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

MIXED_PRECISION_POLICIES = ("mixed_float16", "mixed_bfloat16")


class CaseFacts(Protocol):
    """What the choice reads: fields of ``testing.LayerCase``, which the
    generated test file's ``CASE`` states."""

    is_cell: bool
    mask_mode: str | None
    differentiable: bool
    uses_training: bool
    training_changes_output: bool
    random_in_training: bool
    unbiased_in_training: bool
    updated_weights: Sequence[str]
    computes_in_float32: bool


@dataclass(frozen=True)
class Check:
    """One check: its name(s) in ``applicable_checks`` (one per policy for
    mixed precision), the generated test function that runs it, the
    ``layergen.testing`` function it calls and that test's parameters
    (``built``: the module's shared model; ``policy``: parametrized)."""

    name: str
    test: str
    function: str
    args: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return MIXED_PRECISION_POLICIES if self.args == "policy" else (self.name,)


# In the order the generated tests list them and check_layer runs them.
CHECKS = (
    Check("build_and_weights", "test_build_creates_expected_weights",
          "check_build_and_weights"),
    Check("output_shapes", "test_symbolic_and_eager_output_shapes_agree",
          "check_output_shapes", "built"),
    Check("batch_polymorphism", "test_shape_polymorphism", "check_batch_polymorphism"),
    Check("config_round_trip", "test_config_round_trip", "check_config_round_trip"),
    Check("save_and_load", "test_save_and_load_keras_format", "check_save_and_load",
          "built"),
    Check("fit_step", "test_fit_step_trains_every_trainable_weight", "check_fit_step"),
    Check("no_trainable_weights", "test_has_no_trainable_weights",
          "check_no_trainable_weights"),
    Check("inference_is_deterministic", "test_inference_is_deterministic",
          "check_inference_is_deterministic"),
    Check("training_changes_output", "test_training_flag_changes_output",
          "check_training_changes_output"),
    Check("training_is_unbiased", "test_training_mean_matches_inference",
          "check_training_is_unbiased"),
    Check("inference_leaves_state_alone", "test_inference_changes_no_state",
          "check_inference_leaves_state_alone"),
    Check("initial_weights_differ", "test_initial_weights_are_distinct",
          "check_initial_weights_differ"),
    Check("updates_only_in_training", "test_updates_run_only_in_training",
          "check_updates_only_in_training"),
    Check("mask", "test_mask", "check_mask"),
    Check("xla_matches_eager", "test_xla_matches_eager", "check_xla_matches_eager"),
    Check("mixed_precision", "test_mixed_precision", "check_mixed_precision",
          "policy"),
    Check("computes_in_float32", "test_computes_in_float32_under_mixed_precision",
          "check_computes_in_float32"),
    Check("input_gradient", "test_input_gradient_matches_finite_differences",
          "check_input_gradient"),
    Check("distribution", "test_distributed_training_step", "check_distribution"),
    Check("runs_on_gpu", "test_runs_on_gpu_and_matches_cpu", "check_runs_on_gpu"),
    Check("backend_neutral_source", "test_uses_only_backend_neutral_ops",
          "check_backend_neutral_source"),
    Check("same_numbers_across_backends", "test_same_numbers_on_every_backend",
          "check_same_numbers_across_backends"),
)  # fmt: skip


def applicable(case: CaseFacts, *, trainable: bool) -> list[Check]:
    """The checks that apply to ``case``, in order; ``trainable``: whether the
    layer has trainable weights once called (``fit_step``, else
    ``no_trainable_weights``). A check may still skip itself at run time (no
    GPU, one device, a backend without XLA)."""
    return [check for check in CHECKS if _applies(check.name, case, trainable)]


def _applies(name: str, case: CaseFacts, trainable: bool) -> bool:
    training = case.uses_training
    return {
        "batch_polymorphism": not case.is_cell,
        "fit_step": trainable,
        "no_trainable_weights": not trainable,
        "inference_is_deterministic": training,
        "training_changes_output": training and case.training_changes_output,
        "training_is_unbiased": training
        and case.random_in_training
        and case.unbiased_in_training,
        "updates_only_in_training": bool(case.updated_weights),
        "mask": case.mask_mode is not None,
        "computes_in_float32": case.computes_in_float32,
        "input_gradient": case.differentiable,
    }.get(name, True)
