"""Examples against the Keras layers they mirror, with the same weights (their
specs use Keras's argument names): MultiHeadAttention's outputs and attention
scores, with and without an attention mask and a causal mask; TokenEmbedding's
vectors and its `mask_zero` mask."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from .conftest import EXAMPLES

keras = pytest.importorskip("keras")

from layergen import testing  # noqa: E402


def _layers() -> tuple:
    testing.reset_keras_state()
    generated_class = testing.load_layer(
        str(EXAMPLES / "test_x.py"), "multi_head_attention.py", "MultiHeadAttention"
    )
    generated = generated_class(num_heads=2, key_dim=4)
    builtin = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    query = np.random.default_rng(0).standard_normal((2, 3, 6)).astype("float32")
    value = np.random.default_rng(1).standard_normal((2, 5, 6)).astype("float32")
    generated(query, value)
    builtin(query, value)
    w = {v.name: testing.to_numpy(v) for v in generated.weights}
    no_bias = np.zeros((2, 4), "float32")  # no key bias: softmax cancels it
    copied = {
        builtin._query_dense: (w["query_kernel"], w["query_bias"]),
        builtin._key_dense: (w["key_kernel"], no_bias),
        builtin._value_dense: (w["value_kernel"], w["value_bias"]),
        builtin._output_dense: (w["output_kernel"], w["output_bias"]),
    }
    for dense, (kernel, bias) in copied.items():
        dense.kernel.assign(kernel)
        dense.bias.assign(bias)
    return generated, builtin, query, value


@pytest.mark.parametrize(
    ("masked", "causal"), list(itertools.product([False, True], repeat=2))
)
def test_matches_keras_multi_head_attention(masked: bool, causal: bool) -> None:
    generated, builtin, query, value = _layers()
    mask = None
    if masked:
        mask = np.random.default_rng(2).random((2, 3, 5)) < 0.6
    kwargs = {"attention_mask": mask, "use_causal_mask": causal}
    ours, our_scores = generated(query, value, return_attention_scores=True, **kwargs)
    theirs, their_scores = builtin(query, value, return_attention_scores=True, **kwargs)
    np.testing.assert_allclose(
        testing.to_numpy(ours), testing.to_numpy(theirs), rtol=1e-5, atol=1e-5
    )
    np.testing.assert_allclose(
        testing.to_numpy(our_scores),
        testing.to_numpy(their_scores),
        rtol=1e-5,
        atol=1e-5,
    )
    alone = generated(query, value, **kwargs)
    np.testing.assert_allclose(
        testing.to_numpy(alone), testing.to_numpy(ours), rtol=1e-6, atol=1e-6
    )


@pytest.mark.parametrize("mask_zero", [False, True])
def test_matches_keras_embedding(mask_zero: bool) -> None:
    testing.reset_keras_state()
    generated_class = testing.load_layer(
        str(EXAMPLES / "test_x.py"), "token_embedding.py", "TokenEmbedding"
    )
    ids = np.array([[3, 0, 7, 9, 0], [0, 1, 2, 0, 5]], dtype="int32")
    generated = generated_class(input_dim=10, output_dim=4, mask_zero=mask_zero)
    builtin = keras.layers.Embedding(input_dim=10, output_dim=4, mask_zero=mask_zero)
    generated(ids)
    builtin(ids)
    builtin.embeddings.assign(testing.to_numpy(generated.embeddings))
    np.testing.assert_array_equal(
        testing.to_numpy(generated(ids)), testing.to_numpy(builtin(ids))
    )
    ours, theirs = generated.compute_mask(ids), builtin.compute_mask(ids)
    if not mask_zero:
        assert ours is None and theirs is None
        return
    np.testing.assert_array_equal(testing.to_numpy(ours), testing.to_numpy(theirs))
    np.testing.assert_array_equal(testing.to_numpy(ours), ids != 0)
    # The mask reaches the next layer, as Keras's Embedding's does.
    inputs = keras.Input((None,), dtype="int32")
    model = keras.Model(inputs, keras.layers.LSTM(3)(generated(inputs)))
    padded = np.array([[3, 7, 0, 0, 0]], dtype="int32")
    np.testing.assert_allclose(
        testing.to_numpy(model(padded)),
        testing.to_numpy(model(padded[:, :2])),
        rtol=1e-5,
        atol=1e-6,
    )
