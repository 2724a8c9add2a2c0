"""Composition (issue 13 item 7): a sublayer whose class is another spec's
layer (of the same run, beside the spec, or named by its file) or a class of
a module the project allows, validated without importing it; the emitted
imports; and a composed layer saved to `.keras` and loaded in a fresh
process."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from layergen.codegen.generate import generate, load_specs
from layergen.errors import SpecError

from .conftest import EXAMPLES

NORM = """
[layer]
name = "RMSNorm"
doc = "RMS normalization."
[params]
epsilon = { type = "float", default = 1e-6, min = 0.0 }
[inputs]
x = { min_rank = 2 }
[weights.scale]
shape = ["x[-1]"]
initializer = "ones"
[call]
expr = "x * ops.rsqrt(ops.mean(ops.square(x), axis=-1, keepdims=True) + epsilon) * scale"
[output]
shape = ["*x[:]"]
[test]
input_shapes = { x = [2, 3, 4] }
"""

BLOCK = """
[layer]
name = "Block"
doc = "A residual block around two normalizations."
[params]
epsilon = { type = "float", default = 1e-5, min = 0.0 }
[inputs]
x = { rank = 3 }
[sublayers.first]
layer = "FIRST"
args = { ARGS }
[sublayers.second]
spec = "norm.toml"
[call]
expr = "x + second(first(x))"
[output]
shape = ["*x[:]"]
[test]
input_shapes = { x = [2, 3, 4] }
"""


def block(first: str = "RMSNorm", args: str = 'epsilon = "epsilon"') -> str:
    return BLOCK.replace("FIRST", first).replace("ARGS", args)


def errors(paths: list[Path], **options: object) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_specs(paths, **options)  # type: ignore[arg-type]
    return [f"{d.key}: {d.message}" for d in caught.value.diagnostics]


def test_a_sublayer_is_a_layer_of_the_run_or_of_a_spec_file(write_spec) -> None:
    norm = write_spec(NORM, "norm.toml")
    composed = write_spec(block(), "block.toml")
    specs = load_specs([composed, norm])
    assert [s.name for s in specs] == ["Block", "RMSNorm"]
    first, second = specs[0].sublayers
    # By class and by file: one spec, loaded once.
    assert first.spec is second.spec is specs[1]
    assert first.constructor == second.constructor == "RMSNorm"


def test_a_spec_alone_finds_the_layers_beside_it_and_adds_them(write_spec) -> None:
    write_spec(NORM, "norm.toml")
    composed = write_spec(block(), "block.toml")
    specs = load_specs([composed])
    assert [s.name for s in specs] == ["Block", "RMSNorm"]


def test_an_unknown_class_suggests_the_runs_layers(write_spec) -> None:
    write_spec(NORM, "norm.toml")
    composed = write_spec(block(first="RMSNrom"), "block.toml")
    assert errors([composed]) == [
        "sublayers.first.layer: `RMSNrom` is neither a keras.layers class nor a "
        "layer of this run - did you mean `RMSNorm`?"
    ]


def test_a_keras_class_name_means_keras_with_a_warning(write_spec) -> None:
    write_spec(NORM.replace('"RMSNorm"', '"LayerNormalization"'), "norm.toml")
    composed = write_spec(block(first="LayerNormalization"), "block.toml")
    specs = load_specs([composed])
    first, second = specs[0].sublayers
    assert first.constructor == "keras.layers.LayerNormalization"
    assert second.constructor == "LayerNormalization"  # by its file: the spec's
    warning = specs[0].warnings[0]
    assert warning.key == "sublayers.first.layer"
    assert "this run's own LayerNormalization is used with `spec" in warning.message


def test_a_cycle_is_refused(write_spec) -> None:
    inner = write_spec(
        NORM.replace('"RMSNorm"', '"Inner"') + '[sublayers.outer]\nlayer = "Block"\n',
        "norm.toml",
    )
    composed = write_spec(block(first="Inner"), "block.toml")
    found = errors([composed, inner])
    cycle = [e for e in found if e.startswith("sublayers.outer.layer: `Block` (")]
    assert len(cycle) == 1, found
    assert cycle[0].endswith(
        "is built from this layer: a cycle (block.toml -> norm.toml -> block.toml)"
    )
    # Block names Inner twice (by class and by file): an error at each.
    others = [e for e in found if e not in cycle]
    assert len(others) == 2
    assert all("has errors (reported with its own file)" in e for e in others)


def test_arguments_are_checked_against_the_other_specs_params(write_spec) -> None:
    required = NORM.replace("[params]\n", '[params]\nunits = { type = "int" }\n')
    required = required.replace("[test]\n", "[test]\nparams = { units = 2 }\n")
    write_spec(required, "norm.toml")  # units has no default: required
    composed = write_spec(
        block(args='epsilom = "1e-3", trainable = "False"'), "block.toml"
    )
    found = errors([composed])
    assert found[0].startswith(
        "sublayers.first.args.epsilom: `RMSNorm` has no argument `epsilom` - did "
        "you mean `epsilon`?"
    )
    assert "sublayers.first: `RMSNorm` requires `units` (no default)" in found[1]
    composed.write_text(block(args='units = "2", epsilon = "\'small\'"'))
    assert any(
        "sublayers.first.args.epsilon: `RMSNorm`'s `epsilon`: 'small' is not a float"
        in e
        for e in errors([composed])
    )
    composed.write_text(block(args='units = "epsilon"'))
    assert any(
        "`units`: `epsilon` is a float param, expected an int" in e
        for e in errors([composed])
    )


def test_a_cell_or_a_class_hidden_by_a_param_is_refused(write_spec) -> None:
    write_spec(NORM, "norm.toml")
    composed = write_spec(
        block().replace(
            "[params]\n", '[params]\nRMSNorm = { type = "int", default = 1 }\n'
        ),
        "block.toml",
    )
    assert any("`RMSNorm` is also a param" in e for e in errors([composed]))


DROP = """
[layer]
name = "Drop"
doc = "Dropout by hand."
[params]
rate = { type = "float", default = 0.5, min = 0.0, max = 0.9 }
[inputs]
x = { min_rank = 2 }
[call]
training = true
expr = "x * ops.floor(1 - rate + random.uniform(ops.shape(x), dtype=x.dtype)) / (1 - rate) if training else x"
[output]
shape = ["*x[:]"]
[test]
input_shapes = { x = [2, 3] }
"""

DROPPING = """
[layer]
name = "Dropping"
doc = "Applies Drop."
[inputs]
x = { min_rank = 2 }
[sublayers.drop]
layer = "Drop"
[call]
training = true
expr = "drop(x, training=training)"
[output]
shape = ["*x[:]"]
[test]
input_shapes = { x = [2, 3] }
"""


def test_the_tests_know_what_another_specs_layer_holds(write_spec, tmp_path) -> None:
    write_spec(DROP, "drop.toml")
    composed = write_spec(DROPPING, "dropping.toml")
    test_file = generate([composed], tmp_path / "out")[0].test_file.content
    # Random in training, and no trainable weight: read from Drop's spec.
    assert "random_in_training=True," in test_file
    assert "def test_has_no_trainable_weights():" in test_file


KERAS_HUB_BLOCK = """
[layer]
name = "Positioned"
doc = "Adds a learned position embedding."
[inputs]
x = { rank = 3 }
[sublayers.position]
layer = "keras_hub.layers.PositionEmbedding"
args = { sequence_length = "3" }
[call]
expr = "x + position(x)"
[output]
shape = ["*x[:]"]
[test]
input_shapes = { x = [2, 3, 4] }
"""


def test_an_importable_class_needs_the_projects_allow_imports(write_spec) -> None:
    spec = write_spec(KERAS_HUB_BLOCK, "positioned.toml")
    assert "not one the project allows a spec to import" in errors([spec])[0]
    assert (
        "module `no_such_module_x` is not installed"
        in errors(
            [write_spec(KERAS_HUB_BLOCK.replace("keras_hub", "no_such_module_x"))],
            allow_imports=["no_such_module_x"],
        )[0]
    )
    if importlib.util.find_spec("keras_hub") is None:
        pytest.skip("keras_hub is not installed")
    (loaded,) = load_specs([spec], allow_imports=["keras_hub"])
    assert loaded.sublayers[0].constructor == "keras_hub.layers.PositionEmbedding"


def test_allow_imports_in_the_project_reaches_new(tmp_path, cli, monkeypatch) -> None:
    if importlib.util.find_spec("keras_hub") is None:
        pytest.skip("keras_hub is not installed")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.layergen]\nallow-imports = ["keras_hub"]\n'
    )
    (tmp_path / "positioned.toml").write_text(KERAS_HUB_BLOCK)
    monkeypatch.chdir(tmp_path)
    result = cli("new", "positioned.toml", "-o", "out", "--no-test")
    assert result.exit_code == 0, result.output
    source = (tmp_path / "out" / "positioned.py").read_text()
    assert "\nimport keras\nimport keras_hub\n" in source
    assert "keras_hub.layers.PositionEmbedding(\n" in source or (
        "keras_hub.layers.PositionEmbedding(sequence_length=3" in source
    )
    (tmp_path / "pyproject.toml").write_text(
        '[tool.layergen]\nallow-imports = ["keras_hub.layers"]\n'
    )
    result = cli("validate", "positioned.toml")
    assert result.exit_code == 2
    assert "expected a top-level module name (`keras_hub`, not" in result.output


def test_the_emitted_import_follows_the_tree(write_spec, tmp_path) -> None:
    write_spec(NORM, "norm.toml")
    composed = write_spec(block(), "block.toml")
    plain = generate([composed], tmp_path / "plain")
    assert "\nfrom rms_norm import RMSNorm\n" in plain[0].layer_file.content
    package = tmp_path / "pkg" / "layers"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package.parent / "__init__.py").write_text("")
    packaged = generate([composed], package)
    assert "\nfrom .rms_norm import RMSNorm\n" in packaged[0].layer_file.content
    assert "self.first = RMSNorm(\n" in plain[0].layer_file.content


def test_new_writes_the_layers_it_uses_and_check_finds_them_in_step(
    write_spec, tmp_path, cli
) -> None:
    write_spec(NORM, "norm.toml")
    composed = write_spec(block(), "block.toml")
    out = tmp_path / "out"
    result = cli("new", composed, "-o", out, "--no-test")
    assert result.exit_code == 0, result.output
    assert (out / "rms_norm.py").is_file() and (out / "block.py").is_file()
    checked = cli("check", "--no-run", out)
    assert checked.exit_code == 0, checked.output
    assert checked.output.count(" ok") == 2, checked.output


POSITIONED = """
[layer]
name = "Positioned"
doc = "Adds keras-hub's learned position embedding."
[params]
max_length = { type = "int", default = 16, min = 1 }
[checks]
# keras-hub's table has max_length rows: a constraint layergen cannot see.
fits_position_table = "x[1] is None or x[1] <= max_length"
[inputs]
x = { rank = 3 }
[sublayers.position]
layer = "keras_hub.layers.PositionEmbedding"
args = { sequence_length = "max_length" }
[call]
expr = "x + position(x)"
[output]
shape = ["*x[:]"]
[test]
params = { max_length = 8 }
input_shapes = { x = [2, 3, 4] }
"""


@pytest.mark.slow
def test_a_keras_hub_sublayer_passes_its_generated_suite(tmp_path: Path) -> None:
    if importlib.util.find_spec("keras_hub") is None:
        pytest.skip("keras_hub is not installed")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.layergen]\nallow-imports = ["keras_hub"]\n'
    )
    (tmp_path / "positioned.toml").write_text(POSITIONED)
    command = [sys.executable, "-m", "layergen", "new", "positioned.toml", "-o", "out"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok  Positioned" in result.stdout, result.stdout
    source = (tmp_path / "out" / "positioned.py").read_text()
    assert "\nimport keras_hub\n" in source
    assert "keras_hub.layers.PositionEmbedding(" in source


def test_explain_runs_the_modules_of_the_layers_a_spec_uses() -> None:
    if importlib.util.find_spec("jax") is None:
        pytest.skip("needs the JAX backend")
    spec = EXAMPLES / "specs" / "transformer_block.toml"
    command = [sys.executable, "-m", "layergen", "explain", str(spec)]
    command += ["--format", "json", "--backend", "jax"]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    explained = json.loads(result.stdout)
    assert explained["errors"] == []
    layers = {s["name"]: s["layer"] for s in explained["sublayers"]}
    assert layers["feed_forward_norm"] == "RMSNorm"
    assert layers["feed_forward"] == "SwiGLUFeedForward"


def test_transformer_block_computes_its_sublayers_composition() -> None:
    """The example against numpy: RMSNorm, multi-head attention and SwiGLU
    written out with the weights of the built block's sublayers."""
    import keras
    import numpy as np

    from layergen import testing

    cls = testing.load_layer(
        str(EXAMPLES / "test_transformer_block.py"),
        "transformer_block.py",
        "TransformerBlock",
    )
    block = cls(embed_dim=8, num_heads=2, hidden_dim=12, epsilon=1e-3)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, 8)).astype("float32")
    block.build(x.shape)
    block.set_weights([w + rng.normal(size=w.shape) for w in block.get_weights()])
    got = keras.ops.convert_to_numpy(block(x))

    def weights(layer):
        return [keras.ops.convert_to_numpy(w).astype(np.float64) for w in layer.weights]

    def norm(layer, h):
        (scale,) = weights(layer)
        return h / np.sqrt(np.mean(h**2, axis=-1, keepdims=True) + 1e-3) * scale

    def attention(layer, h):
        def heads(dense, bias=True):
            w = weights(dense)
            projected = h @ w[0] + (w[1] if bias else 0)
            return projected.reshape(2, 5, 2, 4).transpose(0, 2, 1, 3)

        q, k, v = heads(layer.query), heads(layer.key, False), heads(layer.value)
        scores = q @ k.transpose(0, 1, 3, 2) / 2.0
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        mixed = (probs @ v).transpose(0, 2, 1, 3).reshape(2, 5, 8)
        kernel, bias = weights(layer.combine)
        return mixed @ kernel + bias

    def swiglu(layer, h):
        w1, w3, w2 = weights(layer)
        gate = h @ w1
        return (gate / (1 + np.exp(-gate)) * (h @ w3)) @ w2

    h = x + attention(block.attention, norm(block.attention_norm, x))
    expected = h + swiglu(block.feed_forward, norm(block.feed_forward_norm, h))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_check_names_the_spec_a_stale_composed_layer_uses(
    write_spec, tmp_path, cli
) -> None:
    norm = write_spec(
        NORM.replace("[layer]\n", '[layer]\nmodule = "rms_norm"\n'), "norm.toml"
    )
    composed = write_spec(
        '[layer]\nname = "Wrapped"\n[inputs]\nx = { rank = 3 }\n'
        '[sublayers.norm]\nspec = "norm.toml"\n[call]\nexpr = "norm(x)"\n'
        '[output]\nshape = ["*x[:]"]\n[test]\ninput_shapes = { x = [2, 3, 4] }\n',
        "wrapped.toml",
    )
    out = tmp_path / "out"
    assert cli("new", composed, "-o", out, "--no-test").exit_code == 0
    norm.write_text(norm.read_text().replace('"RMSNorm"', '"RootMeanSquareNorm"'))
    result = cli("check", "--no-run", "--format", "json", out)
    drifts = {r["class"]: (r["drift"], r["detail"]) for r in json.loads(result.output)}
    assert drifts["RootMeanSquareNorm"][0] == "spec changed"
    drift, detail = drifts["Wrapped"]
    assert drift == "stale templates"
    assert detail.startswith("this layergen generates other code, or a spec its")
    assert detail.endswith(f"use changed ({norm})")


SAVE = """
import sys

import keras
import numpy as np

sys.path.append(sys.argv[1])
from transformer_block import TransformerBlock

inputs = keras.Input((5, 8))
block = TransformerBlock(embed_dim=8, num_heads=2, hidden_dim=12, epsilon=1e-5)
model = keras.Model(inputs, block(inputs))
rng = np.random.default_rng(0)
# Every weight moved off its initial value, so only loaded weights match.
block.set_weights([w + rng.normal(size=w.shape) for w in block.get_weights()])
x = rng.normal(size=(2, 5, 8)).astype("float32")
np.save(sys.argv[3], x)
np.save(sys.argv[4], keras.ops.convert_to_numpy(model(x)))
model.save(sys.argv[2])
"""

LOAD = """
import sys

import keras
import numpy as np

sys.path.append(sys.argv[1])
import transformer_block  # registers the layer; it imports its sublayers' modules

model = keras.saving.load_model(sys.argv[2])
block = model.layers[-1]
assert type(block) is transformer_block.TransformerBlock, type(block)
assert type(block.attention_norm).__name__ == "RMSNorm"
assert type(block.feed_forward).__name__ == "SwiGLUFeedForward"
assert block.epsilon == block.feed_forward_norm.epsilon == 1e-5
assert block.get_config()["hidden_dim"] == block.feed_forward.hidden_dim == 12
output = keras.ops.convert_to_numpy(model(np.load(sys.argv[3])))
np.testing.assert_allclose(output, np.load(sys.argv[4]), rtol=1e-5, atol=1e-5)
print("loaded", len(block.weights), "weights")
"""


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_transformer_block_reloads_from_keras_file_in_a_fresh_process(
    tmp_path: Path, backend: str
) -> None:
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"the {backend} backend is not installed")
    files = [tmp_path / n for n in ("block.keras", "x.npy", "y.npy")]
    env = {"KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    for script in (SAVE, LOAD):
        result = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(script), str(EXAMPLES)]
            + [str(f) for f in files],
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    # RMSNorm twice (scale), SelfAttention (7), SwiGLU (3).
    assert "loaded 12 weights" in result.stdout
