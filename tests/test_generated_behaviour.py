"""Behaviour of generated layers beyond their own generated tests (imports Keras)."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from layergen.runner import run_tests
from layergen.writer import write_plan

from .conftest import EXAMPLES

keras = pytest.importorskip("keras")
sys.path.insert(0, str(EXAMPLES))

from self_attention import SelfAttention  # noqa: E402
from simple_dense import SimpleDense  # noqa: E402


def test_unknown_dimension_a_weight_needs_names_the_weight() -> None:
    with pytest.raises(ValueError, match=r"x\[-1\].*weight `kernel`"):
        SimpleDense(4).build((None, None))


def test_rank_is_checked_in_build() -> None:
    with pytest.raises(ValueError, match="expects input `x` of rank >= 2"):
        SimpleDense(4).build((3,))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: SimpleDense(units=0),
            r"`units` to be an int >= 1\. Received: units=0",
        ),
        (lambda: SimpleDense(units=2.5), "Received: units=2.5"),
        (lambda: SimpleDense(use_bias="yes"), "`use_bias` to be a bool"),
        (
            lambda: SelfAttention(embed_dim=10, num_heads=3),
            r"embed_dim % num_heads == 0.*heads_divide_embed_dim.*embed_dim=10",
        ),
    ],
)
def test_constructor_rejects_bad_arguments(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_base_layer_arguments_reach_keras() -> None:
    layer = SimpleDense(4, name="custom", dtype="float64", trainable=False)
    assert (layer.name, layer.dtype, layer.trainable) == ("custom", "float64", False)
    assert (
        keras.saving.get_registered_name(SimpleDense) == "layergen_examples>SimpleDense"
    )


@pytest.mark.slow
def test_two_input_layer_with_consumed_masks_passes_its_tests(tmp_path: Path) -> None:
    from layergen.pipeline import generate

    spec = tmp_path / "pair.toml"
    spec.write_text(textwrap.dedent("""
            [layer]
            name = "PairPool"
            [inputs]
            query = { rank = 3 }
            value = { rank = 3 }
            [weights.w]
            shape = ["query[-1]", "value[-1]"]
            [call]
            steps = [
              "m = ops.ones(ops.shape(query)[:2], dtype=query.dtype) if query_mask is None else ops.cast(query_mask, query.dtype)",
              "pooled = ops.sum(query * ops.expand_dims(m, -1), axis=1) / ops.maximum(ops.sum(m, axis=1, keepdims=True), 1.0)",
            ]
            expr = "ops.matmul(pooled, w) + ops.mean(value, axis=1)"
            [mask]
            mode = "consume"
            [output]
            shape = ["query[0]", "value[-1]"]
            [test]
            input_shapes = { query = [2, 5, 3], value = [2, 4, 6] }
            """))
    (layer,) = generate([spec], tmp_path / "out")
    write_plan(layer.files)
    code = layer.layer_file.content
    assert "def call(self, query, value, query_mask=None, value_mask=None):" in code
    run = run_tests([layer.test_file.path])
    assert run.exit_code == 0, run.output
