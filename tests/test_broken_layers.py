"""Each check in layergen.testing fails on the bug it is meant to catch, with a
message that says what is wrong; check_layer reports it by name."""

from __future__ import annotations

import pytest

keras = pytest.importorskip("keras")
if keras.backend.backend() != "tensorflow":
    pytest.skip("the fixtures import tensorflow", allow_module_level=True)

from layergen import testing  # noqa: E402

from . import broken_layers as broken  # noqa: E402

SEQUENCE = {"x": (4, 5, 3)}
RANDOM = {"uses_training": True, "random_in_training": True}
BATCH_NORM = {
    "uses_training": True,
    "updated_weights": ["moving_mean", "moving_var"],
}
CASES = [
    # (layer class, input shapes, LayerCase fields, failing check, message part)
    (
        broken.WeightInInit,
        {"x": (2, 3)},
        {},
        "build_and_weights",
        "weights exist before build",
    ),
    (
        broken.ConfigMissesParam,
        {"x": (2, 3)},
        {"init_kwargs": {"factor": 3.0}},
        "config_round_trip",
        "misses constructor arguments: ['factor']",
    ),
    (
        broken.DropsMask,
        SEQUENCE,
        {"mask_mode": "propagate"},
        "mask",
        "the mask is dropped",
    ),
    (
        broken.UpdatesAtInference,
        {"x": (4, 3)},
        {
            "uses_training": True,
            "updated_weights": ["moving_mean"],
            "training_changes_output": False,
        },
        "updates_only_in_training",
        "moving_mean was updated at inference",
    ),
    (
        broken.UsesTensorFlow,
        {"x": (2, 3)},
        {},
        "backend_neutral_source",
        "imports tensorflow",
    ),
    (
        broken.ArgmaxOutput,
        {"x": (2, 3)},
        {},
        "input_gradient",
        "no gradient flows from the output to the input",
    ),
    (broken.PythonBranch, {"x": (2, 3)}, {}, "xla_matches_eager", ""),
    (broken.Float32Constant, {"x": (2, 3)}, {}, "mixed_float16", ""),
    (
        broken.StaticReshape,
        SEQUENCE,
        {"variable_axes": {"x": [1, 2]}},
        "batch_polymorphism",
        "",
    ),
    (
        broken.RunningMeanPerReplica,
        {"x": (4, 3)},
        {
            "uses_training": True,
            "updated_weights": ["moving_mean"],
            "training_changes_output": False,
        },
        "distribution",
        "differs between replicas",
    ),
    (broken.BatchNormNoAggregation, {"x": (4, 3)}, BATCH_NORM, "distribution", ""),
    (
        broken.RunningMeanPerReplica,
        {"x": (4, 3)},
        {"uses_training": True, "training_changes_output": False},
        "fit_step",
        "moving_mean changed",
    ),
    (
        broken.DropPathNoRescale,
        {"x": (8, 4)},
        RANDOM,
        "training_is_unbiased",
        "biased in training: projected on the inference output",
    ),
    (
        broken.DrawsAtInference,
        {"x": (8, 4)},
        RANDOM,
        "inference_leaves_state_alone",
        "inference (training=False) draws random numbers",
    ),
    (
        broken.PoolingPropagatesMask,
        SEQUENCE,
        {"mask_mode": "propagate"},
        "mask",
        "not the leading axes of the output (4, 3)",
    ),
    (
        broken.SummaryKeepsMask,
        SEQUENCE,
        {"mask_mode": "propagate", "masked_outputs": [True, False]},
        "mask",
        "output 1 carries a Keras mask, but the spec gives it none",
    ),
    (
        broken.ComputesOneMask,
        SEQUENCE,
        {"mask_mode": "compute", "masked_outputs": [True, False]},
        "mask",
        "not one mask per output",
    ),
    (
        broken.ResidualLeaksMask,
        SEQUENCE,
        {"mask_mode": "consume"},
        "mask",
        "values masked by mask reach the output's unmasked steps",
    ),
    (
        broken.SharedInitializer,
        {"x": (2, 3)},
        {},
        "initial_weights_differ",
        "q_kernel and shared_initializer/k_kernel start out identical",
    ),
    (
        broken.LowRankDetached,
        {"x": (4, 3)},
        {},
        "fit_step",
        "low_rank_detached/a did not change: no gradient reaches it",
    ),
]
# Correct layers, each with a check that must pass on it (the counterpart of
# a broken layer above, or a layer a check once failed wrongly).
CORRECT = [
    (broken.BatchNormMoments, {"x": (4, 3)}, BATCH_NORM, "distribution"),
    (
        broken.DenseKerasBatchNorm,
        {"x": (4, 3)},
        {"uses_training": True, "training_changes_output": False},
        "distribution",
    ),
    (
        broken.DenseKerasBatchNorm,
        {"x": (4, 3)},
        {"uses_training": True, "training_changes_output": False},
        "fit_step",
    ),
    (broken.DropPath, {"x": (8, 4)}, RANDOM, "training_is_unbiased"),
    (broken.DropPath, {"x": (8, 4)}, RANDOM, "inference_leaves_state_alone"),
    (
        keras.layers.Dense,
        SEQUENCE,
        {"init_kwargs": {"units": 2}, "mask_mode": "propagate"},
        "mask",
    ),
    (
        broken.SummaryMasksSequence,
        SEQUENCE,
        {"mask_mode": "propagate", "masked_outputs": [True, False]},
        "mask",
    ),
    (broken.ResidualConsumesMask, SEQUENCE, {"mask_mode": "consume"}, "mask"),
    (broken.ClonedInitializers, {"x": (2, 3)}, {}, "initial_weights_differ"),
    (
        broken.SharedInitializer,
        {"x": (2, 3)},
        {"tied_weights": [["q_kernel", "k_kernel", "v_kernel"]]},
        "initial_weights_differ",
    ),
    # LoRA's `a` gets no gradient in the first step (`b` is zero), only after.
    (broken.LowRankUpdate, {"x": (4, 3)}, {}, "fit_step"),
    # A rank-1 input has no axis for a Keras mask; mask_mode none needs none.
    (broken.TimestepFeatures, {"t": (4,)}, {"mask_mode": "none"}, "mask"),
]


@pytest.mark.parametrize(
    ("cls", "shapes", "fields", "check", "message"),
    CASES,
    ids=[case[0].__name__ for case in CASES],
)
def test_check_catches_broken_layer(cls, shapes, fields, check, message) -> None:
    fields = dict(fields)
    case = testing.LayerCase(cls, fields.pop("init_kwargs", {}), shapes, **fields)
    checks = testing.layer_checks(case)
    testing.reset_keras_state()
    if check == "distribution" and not testing.configure_logical_devices(2):
        pytest.skip("two logical devices could not be configured in this process")
    with pytest.raises(Exception) as info:
        checks[check]()
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("cls", "shapes", "fields", "check"),
    CORRECT,
    ids=[f"{case[0].__name__}-{case[3]}" for case in CORRECT],
)
def test_check_passes_correct_layer(cls, shapes, fields, check) -> None:
    fields = dict(fields)
    case = testing.LayerCase(cls, fields.pop("init_kwargs", {}), shapes, **fields)
    testing.reset_keras_state()
    if check == "distribution" and not testing.configure_logical_devices(2):
        pytest.skip("two logical devices could not be configured in this process")
    testing.layer_checks(case)[check]()


def test_check_layer_reports_each_check_by_name() -> None:
    outcomes = testing.check_layer(
        broken.ConfigMissesParam, {"factor": 3.0}, {"x": (2, 3)}
    )
    assert outcomes["config_round_trip"].startswith(
        "failed: AssertionError: get_config misses"
    )
    assert outcomes["build_and_weights"] == "passed"
    assert outcomes["runs_on_gpu"].startswith("skipped: no GPU visible to")


def test_check_layer_passes_a_correct_hand_written_layer() -> None:
    outcomes = testing.check_layer(
        keras.layers.Dense, {"units": 3}, {"x": (2, 4)}, mask_mode=None
    )
    failed = {
        name: outcome
        for name, outcome in outcomes.items()
        if outcome.startswith("failed")
    }
    # Dense's module imports nothing foreign either; every check passes or skips.
    assert failed == {}, failed


def test_readme_check_layer_example_runs() -> None:
    from .conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    blocks = readme.split("```python\n")[1:]
    (example,) = [b.split("```")[0] for b in blocks if "testing.check_layer(Scale" in b]
    exec(compile(example, "README.md", "exec"), {})


def test_applicable_checks_follow_the_case() -> None:
    dense = testing.LayerCase(keras.layers.Dense, {"units": 2}, {"x": (2, 3)})
    names = testing.applicable_checks(dense)
    assert "fit_step" in names and "batch_polymorphism" in names
    assert not {"mask", "training_is_unbiased", "inference_is_deterministic"} & set(
        names
    )
    drop_path = testing.LayerCase(broken.DropPath, {}, {"x": (8, 4)}, **RANDOM)
    names = testing.applicable_checks(drop_path)
    assert "training_is_unbiased" in names and "fit_step" not in names
    assert list(testing.layer_checks(drop_path)) == names
    drop_path.unbiased_in_training = False
    assert "training_is_unbiased" not in testing.applicable_checks(drop_path)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_unbiasedness_check_passes_correct_drop_path_for_any_seed(
    seed: int, rate: float
) -> None:
    """The statistical tolerance (6 standard errors) leaves a correct layer no
    realistic chance to fail, at any drop rate and seed; the layer without its
    rescale fails at each."""
    shapes = {"x": (8, 4)}
    kwargs = {"rate": rate, "seed": seed}
    testing.check_training_is_unbiased(
        testing.LayerCase(broken.DropPath, kwargs, shapes, **RANDOM)
    )
    with pytest.raises(AssertionError, match="biased in training"):
        testing.check_training_is_unbiased(
            testing.LayerCase(broken.DropPathNoRescale, kwargs, shapes, **RANDOM)
        )
