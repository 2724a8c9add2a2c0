"""Layers of a real library, written as specs, compute what the library does.

Each spec in ``tests/keras_hub/`` states one of keras-hub's modeling layers with
keras-hub's constructor and call signature. ``keras_hub/compare.py`` builds the
generated layer and keras-hub's with equal arguments, copies keras-hub's
weights in by path, and checks equal outputs and masks for each call (with
``start_index``, ``positions``, ``reverse=True``...), also after a ``.keras``
round trip, on each backend. ``keras_hub/README.md`` lists what the spec
language cannot say yet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

HUB = Path(__file__).resolve().parent / "keras_hub"
# One case per configuration: the keras-hub class (also the spec's class name),
# its generated module, constructor arguments (one that is a layer: {"layer",
# "module", "args"}, the generated class for ours, keras-hub's for theirs),
# the main inputs by argument name (a shape: float32 normal; or {"shape",
# "dtype", "high"}: integers below high; "mask": true: a padded batch, with
# its Keras mask), and the calls (default: one with the inputs alone), each
# giving call arguments or other inputs (compare.py).
IDS = {"shape": [2, 5], "dtype": "int32", "high": 11}
CASES = [
    {
        "class": "RMSNormalization",
        "module": "rms_normalization",
        "args": {"input_dim": 8},
        "inputs": {"x": [2, 5, 8]},
    },
    {
        "class": "AlibiBias",
        "module": "alibi_bias",
        "args": {"alibi_bias_max": 8},
        "inputs": {"attention_scores": [2, 6, 3, 5]},
    },
    {
        "class": "AlibiBias",
        "module": "alibi_bias",
        "args": {"alibi_bias_max": 4},
        "inputs": {"attention_scores": [1, 8, 4, 4]},
    },
    {
        "class": "SinePositionEncoding",
        "module": "sine_position_encoding",
        "args": {"max_wavelength": 100},
        "inputs": {"inputs": [2, 5, 6]},
        "calls": [{}, {"start_index": 3}, {"positions": [2, 5]}, {"positions": [5]}],
    },
    {
        "class": "PositionEmbedding",
        "module": "position_embedding",
        "args": {"sequence_length": 12},
        "inputs": {"inputs": [2, 5, 6]},
        "calls": [
            {},
            {"start_index": 3},
            {"positions": {"shape": [2, 5], "dtype": "int32", "high": 12}},
            {"positions": {"shape": [5], "dtype": "int32", "high": 12}},
        ],
    },
    {
        "class": "RotaryEmbedding",
        "module": "rotary_embedding",
        "args": {},
        "inputs": {"inputs": [2, 5, 8]},
        "calls": [
            {},
            {"start_index": 3},
            {"positions": {"shape": [2, 5], "dtype": "int32", "high": 50}},
            {"positions": {"shape": [5], "dtype": "int32", "high": 50}},
        ],
    },
    {
        "class": "RotaryEmbedding",
        "module": "rotary_embedding",
        "args": {"max_wavelength": 500, "scaling_factor": 4.0, "denominator_dim": 12},
        "inputs": {"inputs": [2, 5, 3, 8]},
        "calls": [{}, {"start_index": 7}],
    },
    {
        "class": "RotaryEmbedding",
        "module": "rotary_embedding",
        "args": {
            "rope_type": "dynamic",
            "scaling_factor": 3.0,
            "sequence_axis": 2,
            "feature_axis": 1,
        },
        "inputs": {"inputs": [2, 8, 5, 3]},
        "calls": [{}, {"start_index": 2}],
    },
    {
        "class": "RotaryEmbedding",
        "module": "rotary_embedding",
        "args": {
            "rope_type": "yarn",
            "scaling_factor": 8.0,
            "original_max_position_embeddings": 4096,
        },
        "inputs": {"inputs": [2, 6, 2, 32]},
        "calls": [{}, {"positions": {"shape": [2, 6], "dtype": "int32", "high": 200}}],
    },
    {
        "class": "RotaryEmbedding",
        "module": "rotary_embedding",
        "args": {
            "rope_type": "yarn",
            "scaling_factor": 8.0,
            "original_max_position_embeddings": 64,
            "truncate": False,
            "beta_fast": 16.0,
            "beta_slow": 2.0,
        },
        "inputs": {"inputs": [2, 6, 32]},
    },
    {
        "class": "RotaryEmbedding",
        "module": "rotary_embedding",
        "args": {"rope_type": "none", "scaling_factor": 8.0},
        "inputs": {"inputs": [2, 6, 4]},
    },
    {
        "class": "ReversibleEmbedding",
        "module": "reversible_embedding",
        "args": {"input_dim": 11, "output_dim": 4},
        "inputs": {"inputs": IDS},
        "calls": [{}, {"reverse": True, "inputs": [2, 5, 4]}],
    },
    {
        "class": "ReversibleEmbedding",
        "module": "reversible_embedding",
        "args": {
            "input_dim": 11,
            "output_dim": 4,
            "tie_weights": False,
            "logit_soft_cap": 0.5,
            "reverse_dtype": "float32",
        },
        "inputs": {"inputs": IDS},
        "calls": [{}, {"reverse": True, "inputs": [2, 5, 4]}],
    },
    # The ids' mask; the logits of reverse=True carry none.
    {
        "class": "ReversibleEmbedding",
        "module": "reversible_embedding",
        "args": {"input_dim": 11, "output_dim": 4, "mask_zero": True},
        "inputs": {"inputs": {"shape": [2, 7], "dtype": "int32", "high": 3}},
        "calls": [{}, {"reverse": True, "inputs": [2, 7, 4]}],
    },
    {
        "class": "TokenAndPositionEmbedding",
        "module": "token_and_position_embedding",
        "args": {"vocabulary_size": 11, "sequence_length": 9, "embedding_dim": 4},
        "inputs": {"inputs": IDS},
        "calls": [
            {},
            {"start_index": 4},
            {"positions": {"shape": [2, 5], "dtype": "int32", "high": 9}},
        ],
    },
    {
        "class": "TokenAndPositionEmbedding",
        "module": "token_and_position_embedding",
        "args": {
            "vocabulary_size": 11,
            "sequence_length": 9,
            "embedding_dim": 4,
            "tie_weights": False,
            "embeddings_initializer": "glorot_uniform",
            "mask_zero": True,
        },
        "inputs": {"inputs": {"shape": [2, 7], "dtype": "int32", "high": 3}},
        "calls": [{}, {"positions": {"shape": [7], "dtype": "int32", "high": 9}}],
    },
    {
        "class": "FNetEncoder",
        "module": "f_net_encoder",
        "args": {"intermediate_dim": 8},
        "inputs": {"inputs": [2, 5, 6]},
    },
    {
        "class": "FNetEncoder",
        "module": "f_net_encoder",
        "args": {
            "intermediate_dim": 12,
            "dropout": 0.2,
            "activation": "gelu",
            "layer_norm_epsilon": 1e-3,
        },
        "inputs": {"inputs": [3, 7, 4]},
    },
    {
        "class": "TransformerEncoder",
        "module": "transformer_encoder",
        "args": {"intermediate_dim": 8, "num_heads": 2},
        "inputs": {"inputs": [2, 5, 6]},
        "calls": [
            {},
            {"return_attention_scores": True},
            {"padding_mask": {"shape": [2, 5], "dtype": "bool"}},
            # A row of padding only: Keras's fused attention path (no dropout,
            # no scores) attends uniformly there.
            {
                "padding_mask": {
                    "value": [[True] * 3 + [False] * 2, [False] * 5],
                    "dtype": "bool",
                }
            },
            {
                "attention_mask": {"shape": [2, 5, 5], "dtype": "bool"},
                "padding_mask": {"shape": [2, 5], "dtype": "bool"},
                "return_attention_scores": True,
            },
            # Inputs carrying a Keras mask: read where no padding_mask is
            # given, and kept on the first output (not on the scores).
            {"inputs": {"shape": [2, 5, 6], "mask": True}},
            {
                "inputs": {"shape": [2, 5, 6], "mask": True},
                "return_attention_scores": True,
            },
            {
                "inputs": {"shape": [2, 5, 6], "mask": True},
                "attention_mask": {"shape": [2, 5, 5], "dtype": "bool"},
                "return_attention_scores": True,
            },
            {
                "inputs": {"shape": [2, 5, 6], "mask": True},
                "padding_mask": {"shape": [2, 5], "dtype": "bool"},
            },
        ],
    },
    {
        "class": "TransformerEncoder",
        "module": "transformer_encoder",
        "args": {
            "intermediate_dim": 12,
            "num_heads": 3,
            "normalize_first": True,
            "activation": "gelu",
            "layer_norm_epsilon": 1e-3,
            "dropout": 0.1,
        },
        "inputs": {"inputs": [2, 4, 7]},
        "calls": [
            {},
            {
                "return_attention_scores": True,
                "attention_mask": {"shape": [2, 4, 4], "dtype": "bool"},
            },
            {"inputs": {"shape": [2, 4, 7], "mask": True}},
        ],
    },
    {
        "class": "MaskedLMHead",
        "module": "masked_lm_head",
        "args": {"vocabulary_size": 11, "activation": "softmax"},
        "inputs": {
            "inputs": [2, 6, 4],
            "mask_positions": {"shape": [2, 3], "dtype": "int32", "high": 6},
        },
    },
    # Weight tying: the head's logits are the token embedding's reverse
    # projection, and the embedding's weights are the head's too.
    {
        "class": "MaskedLMHead",
        "module": "masked_lm_head",
        "args": {
            "token_embedding": {
                "layer": "ReversibleEmbedding",
                "module": "reversible_embedding",
                "args": {"input_dim": 11, "output_dim": 4, "name": "token_embedding"},
            },
            "intermediate_activation": "gelu",
            "layer_norm_epsilon": 1e-3,
            "kernel_initializer": "he_normal",
            "bias_initializer": "ones",
        },
        "inputs": {
            "inputs": [2, 6, 5],
            "mask_positions": {"shape": [2, 4], "dtype": "int32", "high": 6},
        },
    },
    {
        "class": "MaskedLMHead",
        "module": "masked_lm_head",
        "args": {
            "vocabulary_size": 11,
            "token_embedding": {
                "layer": "ReversibleEmbedding",
                "module": "reversible_embedding",
                "args": {
                    "input_dim": 11,
                    "output_dim": 4,
                    "tie_weights": False,
                    "name": "token_embedding",
                },
            },
        },
        "inputs": {
            "inputs": [2, 6, 4],
            "mask_positions": {"shape": [2, 2], "dtype": "int32", "high": 6},
        },
    },
]


def test_every_spec_has_a_case() -> None:
    assert {c["module"] for c in CASES} == {p.stem for p in HUB.glob("*.toml")}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("keras_hub_parity")
    specs = sorted(str(p) for p in HUB.glob("*.toml"))
    command = [sys.executable, "-m", "layergen", "new", "--no-test", "-o", str(out)]
    done = subprocess.run([*command, *specs], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_generated_layers_match_keras_hub(
    generated: Path, backend: str, tmp_path: Path
) -> None:
    pytest.importorskip("keras_hub", reason="keras-hub is a test dependency")
    cases = tmp_path / "cases.json"
    cases.write_text(json.dumps(CASES))
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(HUB / "compare.py"), str(generated), str(cases)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    records = [json.loads(line) for line in done.stdout.splitlines() if line[:1] == "{"]
    assert len(records) == len(CASES), done.stdout + done.stderr
    failures = [f"{r['case']}:\n{r['error']}" for r in records if not r["ok"]]
    assert not failures, "\n".join(failures)
