"""The shipped examples: in step with their specs, lint-clean, and passing.

Also proves the generated suites have teeth: each hand-made bug below, planted
in a generated layer, must make its generated test file fail.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from layergen.codegen.generate import generate
from layergen.files.plan import IDENTICAL
from layergen.run.runner import run_tests

from .conftest import EXAMPLE_SPECS, EXAMPLES, check_on_backend

TUTORIAL_LAYERS = {
    "SimpleDense",
    "DenseWithActivation",
    "MyReLU",
    "AddParam",
    "DropoutLayer",
    "LayerNormalization",
    "CustomConv2D",
    "SelfAttention",
    "MLPBlock",
    "MaskedMeanPooling",
    "DecayingDropout",
    "MinimalRNNCell",
}


# Layers whose inputs must meet a dimension constraint (`[checks]` over x[-1]).
CONSTRAINED_LAYERS = {"GLU", "RotaryEmbedding"}
# Layers of current models that show a part of the spec language (issue 13):
# Highway's gate bias starts at an initializer with arguments; Conv1D's output
# shape depends on its padding and strides, and its activation may be None.
# MultiHeadAttention has call arguments that are not its inputs (an optional
# tensor, flags) and several outputs; TokenEmbedding takes integer ids and
# computes a mask; ArgMax's output is an int32 index; ResidualFeedForward
# makes its output projection in build() from the input's last axis, and its
# reference reads its sublayers' weights; SequenceSummary's first output keeps
# the input's mask; ScoredPooling has two flags adding outputs.
LANGUAGE_LAYERS = {
    "Highway",
    "Conv1D",
    "MultiHeadAttention",
    "TokenEmbedding",
    "ArgMax",
    "ResidualFeedForward",
    "SequenceSummary",
    "ScoredPooling",
}
# A TransformerBlock composed of the layers of three other example specs.
COMPOSED_LAYERS = {"TransformerBlock", "RMSNorm", "SwiGLUFeedForward"}


def test_every_tutorial_layer_has_an_example() -> None:
    layers = generate(EXAMPLE_SPECS, EXAMPLES)
    assert {layer.spec.name for layer in layers} == TUTORIAL_LAYERS | (
        CONSTRAINED_LAYERS | LANGUAGE_LAYERS | COMPOSED_LAYERS
    )


@pytest.mark.parametrize("spec", EXAMPLE_SPECS, ids=lambda p: p.stem)
def test_committed_example_matches_regeneration(spec: Path) -> None:
    # A composed layer's run also generates the specs its sublayers name.
    layer = generate([spec], EXAMPLES)[0]
    assert layer.spec.spec_path == spec
    for planned in layer.files:
        assert planned.status == IDENTICAL, (
            f"{planned.path} is out of step with {spec.name}: run `make examples`\n"
            + "".join(planned.diff())
        )


def test_generated_code_is_ruff_and_black_clean() -> None:
    files = sorted(str(p) for p in EXAMPLES.glob("*.py"))
    ruff = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--isolated",
            "--select",
            "E,F,W,B,UP,SIM",
            *files,
        ],
        capture_output=True,
        text=True,
    )
    assert ruff.returncode == 0, ruff.stdout
    black = subprocess.run(
        [sys.executable, "-m", "black", "--check", "--quiet", *files],
        capture_output=True,
        text=True,
    )
    assert black.returncode == 0, black.stderr


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_layergen_check_passes_on_the_examples(backend: str) -> None:
    result = check_on_backend(EXAMPLES, backend)
    assert result.returncode == 0, result.stdout + result.stderr
    records = json.loads(result.stdout)
    assert len(records) == len(
        TUTORIAL_LAYERS | CONSTRAINED_LAYERS | LANGUAGE_LAYERS | COMPOSED_LAYERS
    )
    for record in records:
        assert record["drift"] == "ok", record
        assert record["tests"]["passed"] >= 5 and not record["tests"]["failed"], record
        assert record["backend"] == backend
        assert f"({backend})" in record["device"]


# (module, planted bug as (old text, new text), the generated test that must fail)
MUTANTS = [
    ("simple_dense", ('"units": self.units,', ""), "test_config_round_trip"),
    (
        "simple_dense",
        ("h = h + self.bias if self.use_bias else h", "h = h"),
        "test_fit_step_trains_every_trainable_weight",
    ),
    (
        "decaying_dropout",
        (
            "if training:\n            self.iterations",
            "if True:\n            self.iterations",
        ),
        "test_updates_run_only_in_training",
    ),
    (
        "dropout_layer",
        (
            "seed=self.seed_generator)\n            if training\n",
            "seed=self.seed_generator)\n            if True\n",
        ),
        "test_inference_is_deterministic",
    ),
    (
        "dropout_layer",
        ("            if training\n", "            if False\n"),
        "test_training_flag_changes_output",
    ),
    ("my_relu", ("self.supports_masking = True", "pass"), "test_mask_propagate"),
    # Each of two flags alone adds its own output (not only both together).
    (
        "scored_pooling",
        (
            "else (pooled, scores) if return_scores else pooled",
            "else (pooled, attention) if return_scores else pooled",
        ),
        "test_matches_numpy_reference",
    ),
    # The summary, returned only with return_summary=True, must carry no mask.
    (
        "sequence_summary",
        ("return [mask, None]", "return [mask, mask]"),
        "test_mask_propagate",
    ),
    (
        "sequence_summary",
        ("return [mask, None]", "return [None, None]"),
        "test_mask_propagate",
    ),
    (
        "masked_mean_pooling",
        ("if mask is None", "if True"),
        "test_mask_consume",
    ),
    (
        "layer_normalization",
        ("epsilon=self.epsilon", "epsilon=0.1"),
        "test_matches_numpy_reference",
    ),
    (
        "minimal_rnn_cell",
        ("return output, [output]", "return output, [h]"),
        "test_fit_step_trains_every_trainable_weight",
    ),
    # Only the other calls pass the mask or set the flags: each is checked.
    (
        "multi_head_attention",
        ("if not use_causal_mask", "if True"),
        "test_matches_numpy_reference",
    ),
    (
        "multi_head_attention",
        ("logits\n            if allowed is None", "logits\n            if True"),
        "test_matches_numpy_reference",
    ),
    (  # right when the mask is given, wrong for the causal mask alone
        "multi_head_attention",
        (
            "ops.expand_dims(allowed, -3), logits",
            "ops.expand_dims(allowed, 1), logits",
        ),
        "test_matches_numpy_reference",
    ),
    (  # the scores' shape, symbolic only when the flag asks for them
        "multi_head_attention",
        (
            "            query_shape[1],\n            value_shape[1],\n",
            "            query_shape[1],\n            query_shape[1],\n",
        ),
        "test_symbolic_and_eager_output_shapes_agree",
    ),
    (
        "multi_head_attention",
        (
            "return (\n                keras.KerasTensor(attention_output_shape, "
            "dtype=self.compute_dtype),\n",
            "return (\n                keras.KerasTensor(attention_output_shape, "
            'dtype="float32"),\n',
        ),
        "test_mixed_precision",
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("module", "bug", "catcher"), MUTANTS, ids=[f"{m[0]}-{m[2]}" for m in MUTANTS]
)
def test_generated_suite_catches_planted_bug(
    tmp_path: Path, module: str, bug: tuple[str, str], catcher: str
) -> None:
    for name in (f"{module}.py", f"test_{module}.py"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    layer = tmp_path / f"{module}.py"
    source = layer.read_text()
    old, new = bug
    assert old in source, f"the planted bug no longer applies to {module}.py"
    layer.write_text(source.replace(old, new))
    run = run_tests([tmp_path / f"test_{module}.py"])
    assert run.exit_code == 1, run.output
    failed = [line for line in run.output.splitlines() if line.startswith("FAILED")]
    assert any(catcher in line for line in failed), run.output
