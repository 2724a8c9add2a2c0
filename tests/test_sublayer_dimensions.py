"""Sublayer arguments computed from input dimensions (``units = "x[-1]"``:
the sublayer is made in build(), as keras-hub's encoders make theirs), and
``[test] reference`` over sublayers' weights (``proj.kernel``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import pytest

from layergen import testing
from layergen.codegen.render import render_layer
from layergen.errors import SpecError
from layergen.spec.validate import load_spec

from .test_compose import NORM

PROJECT = """
[layer]
name = "Project"
[params]
hidden = { type = "int", default = 8, min = 1 }
[inputs]
x = { rank = 3 }
[sublayers.expand]
layer = "Dense"
args = { units = "hidden", activation = "'relu'" }
[sublayers.back]
layer = "Dense"
args = { units = "x[-1]", bias_initializer = "'ones'" }
[call]
expr = "x + back(expand(x))"
[test]
params = { hidden = 4 }
input_shapes = { x = [2, 3, 5] }
reference = "x + np.maximum(x @ expand.kernel + expand.bias, 0) @ back.kernel + back.bias"
"""


def _load(write_spec: Callable[..., Path], text: str, tmp_path: Path) -> type:
    spec = load_spec(write_spec(text))
    module = tmp_path / f"{spec.module}.py"
    module.write_text(render_layer(spec))
    return testing.load_layer(str(tmp_path / "test_x.py"), module.name, spec.name)


def _errors(write_spec: Callable[..., Path], text: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_spec(write_spec(text))
    return [f"{d.key}: {d.message}" for d in caught.value.diagnostics]


def test_the_sublayer_is_made_in_build_from_the_input_shape(write_spec) -> None:
    source = render_layer(load_spec(write_spec(PROJECT)))
    init, build = source.split("def build(")[0], source.split("def build(")[1]
    assert "self.expand = keras.layers.Dense(" in init
    assert "self.back" not in init
    assert "self.back = keras.layers.Dense(units=input_shape[-1]," in build
    assert "(sublayer `back` depends on it)" in build
    # Not config: get_config has the params only.
    assert "units" not in source.split("def get_config")[1]


def test_the_layer_builds_saves_and_reloads(write_spec, tmp_path: Path) -> None:
    cls = _load(write_spec, PROJECT, tmp_path)
    layer = cls(hidden=4)
    x = np.random.default_rng(0).normal(size=(2, 3, 5)).astype("float32")
    y = keras.ops.convert_to_numpy(layer(x))
    assert layer.back.kernel.shape == (4, 5)
    assert layer.get_config().keys() >= {"hidden"}
    model = keras.Sequential([keras.Input((3, 5)), layer])
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.layers[0].back.kernel.shape == (4, 5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x)), y, atol=1e-6)


def test_an_unknown_dimension_is_an_error_in_build(write_spec, tmp_path) -> None:
    cls = _load(write_spec, PROJECT, tmp_path)
    with pytest.raises(ValueError, match=r"needs dimension x\[-1\] .*`back`"):
        cls().build((None, 3, None))


def test_the_reference_reads_the_sublayers_weights(write_spec, tmp_path) -> None:
    cls = _load(write_spec, PROJECT, tmp_path)
    built = testing.build_model(testing.LayerCase(cls, {"hidden": 4}, {"x": (2, 3, 5)}))
    x = built.inputs[0]
    expand = testing.sublayer_weights(built.layer, "expand")
    back = testing.sublayer_weights(built.layer, "back")
    expected = x + np.maximum(x @ expand.kernel + expand.bias, 0) @ back.kernel
    testing.check_reference(built, expected + back.bias)
    with pytest.raises(AssertionError):  # the bias is ones: leaving it out fails
        testing.check_reference(built, expected)
    with pytest.raises(AttributeError, match=r"no weight `kernal` .*`kernel`"):
        back.kernal  # noqa: B018


def test_misuse_of_input_dimensions_is_reported(write_spec) -> None:
    wrong = PROJECT.replace('units = "x[-1]"', 'units = "x.shape[-1]"')
    assert _errors(write_spec, wrong) == [
        "sublayers.back.args.units: a sublayer argument reads inputs only through "
        "their dimensions, like `x[-1]` (in `x.shape[-1]`)"
    ]
    wrong = PROJECT.replace('units = "x[-1]"', 'units = "x[3]"')
    assert (
        "axis 3 is out of range for input `x` of rank 3"
        in _errors(write_spec, wrong)[0]
    )


def test_a_reference_names_weights_a_spec_sublayer_has(write_spec) -> None:
    write_spec(NORM, "norm.toml")
    block = """
[layer]
name = "Block"
[inputs]
x = { rank = 3 }
[sublayers.norm]
spec = "norm.toml"
[sublayers.proj]
layer = "Dense"
args = { units = "x[-1]" }
[call]
expr = "proj(norm(x))"
[test]
input_shapes = { x = [2, 3, 4] }
reference = "REFERENCE"
"""
    good = "x / np.sqrt(np.mean(x**2, -1, keepdims=True) + 1e-6) * norm.scale"
    load_spec(write_spec(block.replace("REFERENCE", f"({good}) @ proj.kernel")))
    for wrong, message in [
        ("norm.gain", "sublayer `norm` has no weight `gain` (its weights: `scale`)"),
        ("norm", "`norm` is a sublayer: use one of its weights, like `norm.scale`"),
        ("norm.scale.sum", "attribute `.sum` is not allowed on weight `norm.scale`"),
        ("proj._kernel", "private attribute `._kernel` is not allowed"),
        ("norm(x)", "sublayer's weights `norm` cannot be called"),
    ]:
        found = _errors(write_spec, block.replace("REFERENCE", wrong))
        assert len(found) == 1 and message in found[0], found


def test_a_sublayer_list_is_made_in_build_too(write_spec) -> None:
    stack = PROJECT.replace(
        '[sublayers.back]\nlayer = "Dense"\n',
        '[sublayers.back]\nlayer = "Dense"\nfor_each = "range(2)"\n',
    ).replace(
        'expr = "x + back(expand(x))"',
        'steps = ["h = x", "for block in back: h = block(h)"]\nexpr = "x + h"',
    )
    stack = stack.split("reference =")[0]
    source = render_layer(load_spec(write_spec(stack)))
    init, build = source.split("def build(")
    assert "self.back" not in init
    assert "self.back = [keras.layers.Dense(units=input_shape[-1]," in build
