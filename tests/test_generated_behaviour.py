"""Behaviour of generated layers beyond their own generated tests (imports Keras)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from layergen.files.writer import write_plan
from layergen.run.runner import run_tests

from .conftest import EXAMPLES

keras = pytest.importorskip("keras")
sys.path.insert(0, str(EXAMPLES))

from self_attention import SelfAttention  # noqa: E402
from simple_dense import SimpleDense  # noqa: E402


def test_unknown_dimension_a_weight_needs_names_the_weight() -> None:
    with pytest.raises(ValueError, match=r"x\[-1\].*weight `kernel`"):
        SimpleDense(4).build((None, None))


def test_rank_and_built_dims_are_checked_by_input_spec() -> None:
    layer = SimpleDense(4)
    with pytest.raises(ValueError, match="expected min_ndim=2, found ndim=1"):
        layer(keras.ops.ones((3,)))
    layer(keras.ops.ones((2, 3)))
    # Built on 3 features, as Dense, it refuses another number.
    with pytest.raises(
        ValueError, match="expected axis -1 of input shape to have value 3"
    ):
        layer(keras.ops.ones((2, 5)))


def test_inputs_input_spec_cannot_check_are_checked_in_build(tmp_path: Path) -> None:
    """Keras checks input_spec against the first input only: the second
    input's rank is checked in build(), the first's is not repeated there."""
    from layergen.codegen.generate import generate

    spec = tmp_path / "pair.toml"
    spec.write_text(PAIR_POOL)
    (layer,) = generate([spec], tmp_path / "out")
    code = layer.layer_file.content
    assert "self.input_spec = keras.InputSpec(ndim=3)" in code
    build = code[code.index("def build(") : code.index("def call(")]
    assert "if len(value_shape) != 3:" in build
    assert "len(query_shape)" not in build
    assert "axes={-1: query_shape[-1]}" in build


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


PAIR_POOL = """
[layer]
name = "PairPool"
[inputs]
query = { rank = 3 }
value = { rank = 3 }
[weights.w]
shape = ["query[-1]", "value[-1]"]
[call]
steps = [
  "mq = ops.ones(ops.shape(query)[:2], dtype=query.dtype) if query_mask is None else ops.cast(query_mask, query.dtype)",
  "mv = ops.ones(ops.shape(value)[:2], dtype=value.dtype) if value_mask is None else ops.cast(value_mask, value.dtype)",
  "pooled = ops.sum(query * ops.expand_dims(mq, -1), axis=1) / ops.maximum(ops.sum(mq, axis=1, keepdims=True), 1.0)",
  "context = ops.sum(value * ops.expand_dims(mv, -1), axis=1) / ops.maximum(ops.sum(mv, axis=1, keepdims=True), 1.0)",
]
expr = "ops.matmul(pooled, w) + context"
[mask]
mode = "consume"
[output]
shape = ["query[0]", "value[-1]"]
[test]
input_shapes = { query = [2, 5, 3], value = [2, 4, 6] }
"""


@pytest.mark.slow
def test_two_input_layer_checks_each_consumed_mask(tmp_path: Path) -> None:
    from layergen.codegen.generate import generate

    spec = tmp_path / "pair.toml"
    spec.write_text(PAIR_POOL)
    (layer,) = generate([spec], tmp_path / "out")
    write_plan(layer.files)
    code = layer.layer_file.content
    assert "def call(self, query, value, query_mask=None, value_mask=None):" in code
    assert 'mask_arguments=["query_mask", "value_mask"]' in layer.test_file.content
    run = run_tests([layer.test_file.path])
    assert run.exit_code == 0, run.output
    # A layer that ignores its second input's mask fails the mask test.
    path = layer.layer_file.path
    path.write_text(path.read_text().replace("if value_mask is None", "if True"))
    run = run_tests([layer.test_file.path])
    failed = [r.name for r in run.results if r.outcome == "failed"]
    assert failed == ["test_mask_consume"], run.output
    assert "values masked by value_mask reach the output" in run.output
