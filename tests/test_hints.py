"""Performance hints: attention and normalizations written out by hand get a
warning naming the fused ``keras.ops`` form; the fused forms and unrelated
layers (every example and corpus spec that is not one of these) get none."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from layergen.spec.hints import fused_op_hints
from layergen.spec.validate import load_spec

from .conftest import EXAMPLE_SPECS, ROOT

CORPUS = sorted((ROOT / "tests" / "corpus").glob("*.toml"))


def spec_text(steps: list[str], expr: str, sublayers: str = "") -> str:
    return f"""
[layer]
name = "Probe"

[params]
epsilon = {{ type = "float", default = 1e-3 }}
heads = {{ type = "int", default = 2 }}

[inputs]
x = {{ rank = 3 }}

[weights.gamma]
shape = ["x[-1]"]

[weights.beta]
shape = ["x[-1]"]

[weights.w]
shape = ["x[-1]", "x[-1]"]
{sublayers}
[call]
steps = {json.dumps(steps)}
expr = {json.dumps(expr)}
"""


def kinds(write_spec: Callable[..., Path], steps: list[str], expr: str) -> list[str]:
    spec = load_spec(write_spec(spec_text(steps, expr)))
    return [hint.kind for hint in fused_op_hints(spec)]


PROJECT = [
    "q = ops.matmul(x, w)",
    "k = ops.matmul(x, w)",
    "v = ops.matmul(x, w)",
]

WRITTEN_OUT = {
    "attention": [
        # matmul with a transposed key, scaled after
        (
            PROJECT
            + [
                "s = ops.matmul(q, ops.transpose(k, (0, 2, 1))) / float(x.shape[-1]) ** 0.5",
                "a = ops.softmax(s, axis=-1)",
            ],
            "ops.matmul(a, v) * gamma + beta",
        ),
        # einsum, scaled before (the query), in one expression
        (
            PROJECT + ["q = ops.multiply(q, 0.125)"],
            "ops.einsum('bts,bsd->btd', ops.softmax(ops.einsum('btd,bsd->bts', q, k)), v) + beta",
        ),
        # the @ operator with .T-free swapaxes, a mask added, dropout of the weights
        (
            PROJECT
            + [
                "scores = q @ ops.swapaxes(k, -1, -2) * 0.125 + ops.cast(x[..., :1] > 0, x.dtype)",
                "weights = random.dropout(ops.nn.softmax(scores), 0.1)",
            ],
            "weights @ v + beta",
        ),
    ],
    "layer": [
        (
            [
                "mean, variance = ops.moments(x, axes=[-1], keepdims=True)",
                "normalized = (x - mean) * ops.rsqrt(variance + epsilon)",
            ],
            "normalized * gamma + beta",
        ),
        (
            [
                "mean = ops.mean(x, axis=-1, keepdims=True)",
                "variance = ops.var(x, axis=-1, keepdims=True)",
            ],
            "gamma * ops.divide(x - mean, ops.sqrt(variance + epsilon)) + beta",
        ),
        (
            [
                "centered = x - ops.mean(x, axis=-1, keepdims=True)",
                "variance = ops.mean(ops.square(centered), axis=-1, keepdims=True)",
            ],
            "centered * (1.0 / ops.sqrt(variance + epsilon)) * gamma + beta",
        ),
    ],
    "rms": [
        (
            ["ms = ops.mean(ops.square(x), axis=-1, keepdims=True)"],
            "x * ops.rsqrt(ms + epsilon) * gamma",
        ),
        ([], "gamma * x / ops.sqrt(ops.mean(x * x, axis=-1, keepdims=True) + epsilon)"),
        ([], "x * ops.rsqrt(ops.mean(x ** 2, axis=-1, keepdims=True)) * gamma + beta"),
    ],
    "batch": [
        (
            ["mean, variance = ops.moments(x, axes=[0, 1])"],
            "(x - mean) * ops.rsqrt(variance + epsilon) * gamma + beta",
        ),
    ],
    "bias_add": [
        ([], "ops.conv(x, w[None], padding='same') + beta + ops.sum(gamma)"),
        (["h = ops.conv(x, w[None])"], "beta + h + ops.sum(gamma)"),
        (
            ["h = ops.depthwise_conv(x, w[None, :, :1])"],
            "ops.add(beta, h) if epsilon > 0 else h + ops.sum(gamma)",
        ),
    ],
}


@pytest.mark.parametrize(
    "kind, steps, expr",
    [(kind, s, e) for kind, cases in WRITTEN_OUT.items() for s, e in cases],
)
def test_written_out_forms_get_a_hint(write_spec, kind, steps, expr) -> None:
    assert kinds(write_spec, steps, expr) == [kind]


FUSED = [
    (
        PROJECT,
        "ops.dot_product_attention(q[:, :, None, :], k[:, :, None, :], v[:, :, None, :])[:, :, 0, :] + beta",
    ),
    ([], "ops.layer_normalization(x, gamma, beta, axis=-1, epsilon=epsilon)"),
    ([], "ops.rms_normalization(x, scale=gamma, axis=-1, epsilon=epsilon)"),
    (
        ["mean, variance = ops.moments(x, axes=[0, 1])"],
        "ops.batch_normalization(x, mean, variance, axis=-1, offset=beta, scale=gamma)",
    ),
    (
        ["h = ops.conv(x, w[None], padding='same')"],
        "ops.add(h, beta) + ops.sum(gamma)",
    ),
    # near misses: a softmax over one tensor, centered without scaling, an L2 norm
    (PROJECT, "ops.matmul(ops.softmax(q), v) + gamma + beta"),
    (
        ["m = ops.mean(x, axis=-1, keepdims=True)"],
        "(x - m) * gamma + beta + ops.sum(w)",
    ),
    (
        [],
        "x / ops.sqrt(ops.sum(ops.square(x), axis=-1, keepdims=True)) * gamma + beta + ops.sum(w)",
    ),
]


@pytest.mark.parametrize("steps, expr", FUSED)
def test_fused_forms_and_near_misses_get_none(write_spec, steps, expr) -> None:
    assert kinds(write_spec, steps, expr) == []


def test_a_causal_mask_maps_to_is_causal(write_spec) -> None:
    steps = PROJECT + [
        "causal = ops.tril(ops.ones((x.shape[1], x.shape[1]), dtype='bool'))",
        "s = ops.where(causal, ops.einsum('btd,bsd->bts', q, k), -1e4)",
    ]
    spec = load_spec(write_spec(spec_text(steps, "ops.softmax(s) @ v + gamma + beta")))
    (hint,) = fused_op_hints(spec)
    assert "is_causal=True)` (for the tril mask)" in hint.message
    plain = load_spec(write_spec(spec_text(*WRITTEN_OUT["attention"][0])))
    assert "is_causal=...)`" in fused_op_hints(plain)[0].message


def test_hint_is_a_warning_at_the_step_with_the_fused_form(write_spec) -> None:
    steps, expr = WRITTEN_OUT["layer"][0]
    spec = load_spec(write_spec(spec_text(steps, expr)))
    (warning,) = [str(w) for w in spec.warnings if "fused" in str(w)]
    assert "call.steps[1]" in warning
    assert "`ops.layer_normalization(x, gamma, beta" in warning
    assert "2.27x" in warning and not warning.endswith("...")


# The example and corpus layers that are one of these, written out (by their
# authors, on purpose): each gets its hint; every other spec gets none.
WRITTEN_OUT_IN_CORPUS = {
    "causal_self_attention.toml": ["attention"],
    "cross_attention.toml": ["attention"],
    "depthwise_conv1d.toml": ["bias_add"],
    "rms_norm.toml": ["rms"],
}


@pytest.mark.parametrize("path", EXAMPLE_SPECS + CORPUS, ids=lambda p: p.name)
def test_no_false_positives_on_examples_and_corpus(path: Path) -> None:
    """Every other example and corpus spec (a GroupNorm's statistics over
    groups, an attention pooling's learned query, an L2 normalization...)."""
    spec = load_spec(path)
    found = [hint.kind for hint in fused_op_hints(spec)]
    assert found == WRITTEN_OUT_IN_CORPUS.get(path.name, []), path.name
