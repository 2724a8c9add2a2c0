"""Mixed precision in a layer with sublayers and weights of its own.

build() traces call() on symbolic inputs to build the sublayers, outside
Keras's autocast scope: there the layer's own float weights used to read in
float32 while its sublayers computed in float16, and TensorFlow refused the sum
(``Input 'y' of 'AddV2' Op has type float32 that does not match type float16``).
Generated call() now reads those weights in the compute dtype.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from layergen import testing  # noqa: E402
from layergen.codegen.generate import generate  # noqa: E402
from layergen.files.writer import write_plan  # noqa: E402

TOKEN_AND_POSITION = """
[layer]
name = "TokenPositionSum"
package = "mixed_precision_sublayers"
doc = "An Embedding sublayer for the tokens plus a position table of its own."

[params]
vocab_size = { type = "int", default = 20, min = 1 }
max_length = { type = "int", default = 16, min = 1 }
embed_dim = { type = "int", default = 8, min = 1 }

[inputs]
ids = { rank = 2, dtype = "int32" }

[sublayers.tokens]
layer = "Embedding"
args = { input_dim = "vocab_size", output_dim = "embed_dim" }

[weights.positions]
shape = ["max_length", "embed_dim"]
initializer = "uniform"

[call]
expr = "tokens(ids) + ops.expand_dims(ops.take(positions, ops.arange(ops.shape(ids)[1], dtype='int32'), axis=0), 0)"

[output]
shape = ["ids[0]", "ids[1]", "embed_dim"]

[test]
params = { vocab_size = 10, max_length = 8, embed_dim = 4 }
input_shapes = { ids = [2, 5] }
differentiable = false
"""

IDS = np.array([[1, 2, 3], [4, 5, 6]], dtype="int32")


@pytest.fixture(scope="module")
def layer_class(tmp_path_factory: pytest.TempPathFactory) -> type:
    out = tmp_path_factory.mktemp("mixed")
    spec = out / "token_position_sum.toml"
    spec.write_text(TOKEN_AND_POSITION)
    (layer,) = generate([spec], out)
    write_plan(layer.files)
    return testing.load_layer(
        str(layer.test_file.path), "token_position_sum.py", "TokenPositionSum"
    )


@pytest.fixture
def mixed_float16():
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    yield
    keras.mixed_precision.set_global_policy(previous)


def test_call_builds_and_computes_in_float16(layer_class, mixed_float16) -> None:
    layer = layer_class()
    output = layer(IDS)
    assert keras.backend.standardize_dtype(output.dtype) == "float16"
    assert all(w.dtype == "float32" for w in layer.weights)
    assert layer.tokens.built
    expected = keras.ops.convert_to_numpy(layer.tokens.embeddings)[IDS]
    expected = expected + keras.ops.convert_to_numpy(layer.positions)[:3][None]
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(keras.ops.cast(output, "float32")),
        expected,
        rtol=1e-3,
        atol=1e-3,
    )


def test_build_alone_builds_the_sublayer(layer_class, mixed_float16) -> None:
    # load_model builds with build(), outside any call and its autocast scope.
    layer = layer_class()
    layer.build((None, 3))
    assert layer.tokens.built and len(layer.weights) == 2


def test_symbolic_model_and_saving(layer_class, mixed_float16, tmp_path: Path) -> None:
    inputs = keras.Input((3,), dtype="int32")
    model = keras.Model(inputs, layer_class()(inputs))
    assert model.outputs[0].dtype == "float16"
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(loaded(IDS)), keras.ops.convert_to_numpy(model(IDS))
    )


def test_generated_mixed_precision_check_passes(layer_class) -> None:
    if keras.backend.backend() == "torch":
        pytest.skip("torch on the CPU lacks half-precision kernels")
    case = testing.LayerCase(
        layer_class,
        {"vocab_size": 10, "max_length": 8, "embed_dim": 4},
        {"ids": (2, 5)},
        input_dtypes={"ids": "int32"},
    )
    testing.check_mixed_precision(case, "mixed_float16")


def test_compute_output_shape_leaves_an_unbuilt_layer_unbuilt() -> None:
    # MLPBlock has no [output] shape: compute_output_shape traces call().
    from .conftest import EXAMPLES

    block = testing.load_layer(
        str(EXAMPLES / "test_mlp_block.py"), "mlp_block.py", "MLPBlock"
    )(sizes=[8, 4])
    assert tuple(block.compute_output_shape((None, 6))) == (None, 4)
    assert not block.built and not block.weights
    assert not any(dense.built for dense in block.blocks)
    block.build((None, 6))
    assert tuple(block.compute_output_shape((3, 6))) == (3, 4)
