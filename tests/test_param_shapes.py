"""Shapes that depend on params: conditional dimensions (``a if padding ==
'same' else b``), ``//`` for strides, unknown dimensions staying None; and
optional params (``optional = true``: None is a value, and the default)."""

from __future__ import annotations

import pytest

from layergen.codegen.render import render_layer
from layergen.spec.validate import load_spec

from .conftest import EXAMPLES, ROOT
from .test_spec_features import errors_of

POOL = """
[layer]
name = "Pool"
doc = "Sum pooling over windows of the steps."

[params]
pool_size = {{ type = "int", default = 2, min = 1 }}
padding = {{ type = "str", default = "valid", choices = ["valid", "same"] }}
units = {{ type = "int", optional = true, min = 1 }}

[inputs]
x = {{ rank = 3 }}

[weights.scale]
shape = [{scale}]
initializer = "ones"

[call]
expr = "x * ops.sum(scale)"

[output]
shape = [{output}]

[test]
reference = "x * np.sum(scale)"
"""
GUARDED = '"x[-1] if units is None else units"'
SAME = '"x[0]", "x[1]", "x[2]"'


def pool(scale: str = GUARDED, output: str = SAME) -> str:
    return POOL.format(scale=scale, output=output)


def test_an_optional_param_defaults_to_none_and_accepts_it(write_spec) -> None:
    spec = load_spec(write_spec(pool()))
    (units,) = [p for p in spec.params if p.name == "units"]
    assert units.optional and units.has_default and units.default is None
    source = render_layer(spec)
    assert "units=None," in source
    assert "if units is not None and (" in source  # None passes the check
    assert "An int >= 1, or `None`. Defaults to `None`." in source
    assert "input_shape[-1] if self.units is None else self.units" in source


@pytest.mark.parametrize(
    ("scale", "message"),
    [
        ('"units"', "`units` may be None: give the dimension it stands for then"),
        ('"x[-1] if units is not None else units"', "`units` may be None"),
        ('"units if units is not None else x[-1]"', None),
        ('"x[-1] if padding == 1.5 else 2"', None),
        ('"x[-1] if unit is None else 3"', "unknown name `unit`: a condition in a"),
        ('"x[-1] if ops.any(x) else 3"', "a condition in a shape compares params"),
        ('"x[-1] if units is None else units / 2"', "`/` gives a float"),
    ],
)
def test_a_shape_reads_an_optional_param_behind_a_condition(
    write_spec, scale: str, message: str | None
) -> None:
    if message is None:
        load_spec(write_spec(pool(scale=scale)))
        return
    errors = errors_of(write_spec, pool(scale=scale))
    assert message in errors and "weights.scale.shape[0]" in errors, errors


def test_default_none_as_text_points_to_optional(write_spec) -> None:
    text = pool().replace("optional = true, min = 1", 'default = "None"')
    errors = errors_of(write_spec, text)
    assert "default 'None' is not an int; TOML has no None: `optional = true`" in (
        errors
    )


def test_a_conditional_output_dimension_keeps_none_unknown(write_spec) -> None:
    output = (
        '"x[0]", "x[1] if padding == \'same\' else (x[1] - pool_size) // '
        'pool_size + 1", "x[2]"'
    )
    source = render_layer(load_spec(write_spec(pool(output=output))))
    assert (
        "None if input_shape[1] is None else (input_shape[1] if self.padding == "
        "'same' else (input_shape[1] - self.pool_size) // self.pool_size + 1)"
    ) in source


# -- the Conv1D example against keras.layers.Conv1D (imports Keras) ----------


@pytest.fixture(scope="module")
def conv1d() -> type:
    from layergen import testing

    return testing.load_layer(str(EXAMPLES / "x"), "conv1d.py", "Conv1D")


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("strides", [1, 2, 3])
@pytest.mark.parametrize("steps", [7, 8])
def test_conv1d_matches_keras_with_equal_weights(
    conv1d: type, padding: str, strides: int, steps: int
) -> None:
    import keras
    import numpy as np

    args = {"filters": 4, "kernel_size": 3, "strides": strides, "padding": padding}
    ours, theirs = conv1d(**args), keras.layers.Conv1D(**args)
    x = np.random.default_rng(steps).normal(size=(2, steps, 5)).astype("float32")
    theirs.build(x.shape)
    ours.build(x.shape)
    ours.kernel.assign(theirs.kernel)
    ours.bias.assign(np.linspace(-1, 1, 4).astype("float32"))
    theirs.bias.assign(ours.bias)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(ours(x)),
        keras.ops.convert_to_numpy(theirs(x)),
        rtol=1e-5,
        atol=1e-5,
    )
    for shape in [x.shape, (None, steps, 5), (2, None, 5)]:
        assert tuple(ours.compute_output_shape(shape)) == tuple(
            theirs.compute_output_shape(shape)
        )


CONV2D = """
[layer]
name = "ValidConv2D"

[params]
filters = { type = "int", default = 4, min = 1 }
kernel_size = { type = "list[int]", default = [3, 3] }

[inputs]
x = { rank = 4 }

[weights.kernel]
shape = ["kernel_size[0]", "kernel_size[1]", "x[-1]", "filters"]

[call]
expr = "ops.conv(x, kernel)"

[output]
shape = ["x[0]", "x[1] - kernel_size[0] + 1", "x[2] - kernel_size[1] + 1", "filters"]

[test]
input_shapes = { x = [2, 6, 6, 3] }
properties = { channels = "output.shape[-1] == filters" }
"""


def test_a_shape_reads_the_items_of_a_list_param(tmp_path, write_spec) -> None:
    from .test_spec_features import load_layer

    source = render_layer(load_spec(write_spec(CONV2D)))
    assert "shape=(self.kernel_size[0], self.kernel_size[1], input_shape[-1]" in source
    assert "input_shape[1] - self.kernel_size[0] + 1" in source
    layer = load_layer(tmp_path, write_spec, CONV2D)(kernel_size=(2, 3))
    assert layer.compute_output_shape((2, 6, 7, 3)) == (2, 5, 5, 4)
    layer.build((2, 6, 7, 3))
    assert tuple(layer.kernel.shape) == (2, 3, 3, 4)


def test_a_list_item_out_of_range_is_reported_at_the_dimension(write_spec) -> None:
    text = CONV2D.replace('"kernel_size[1]", "x[-1]"', '"kernel_size[2]", "x[-1]"')
    assert errors_of(write_spec, text).endswith(
        "weights.kernel.shape[1]: `kernel_size[2]`: index 2 is out of range for "
        "the default of `kernel_size`, which has 2 items (in `kernel_size[2]`)"
    )


PATCH_CONV = (ROOT / "tests" / "corpus" / "patch_conv2d.toml").read_text()


def test_an_optional_list_param_is_a_dimension_behind_a_condition(
    tmp_path, write_spec
) -> None:
    """corpus/patch_conv2d.toml: ``strides`` (an optional ``list[int]``)
    defaults to None; its items are dimensions where ``strides is None`` is
    ruled out, and the layer matches keras.layers.Conv2D either way."""
    import keras
    import numpy as np

    from .test_spec_features import load_layer

    source = render_layer(load_spec(write_spec(PATCH_CONV)))
    assert "strides=None," in source
    assert "A list of ints, or `None`. Defaults to `None`." in source
    assert "// self.kernel_size[0] + 1 if self.strides is None else" in source
    layer_class = load_layer(tmp_path, write_spec, PATCH_CONV)
    x = np.random.default_rng(0).normal(size=(2, 8, 9, 3)).astype("float32")
    for strides, keras_strides in [(None, (2, 3)), ([1, 2], (1, 2))]:
        ours = layer_class(filters=4, kernel_size=[2, 3], strides=strides)
        theirs = keras.layers.Conv2D(4, (2, 3), strides=keras_strides)
        theirs.build(x.shape)
        ours.build(x.shape)
        ours.set_weights(theirs.get_weights())
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(ours(x)),
            keras.ops.convert_to_numpy(theirs(x)),
            rtol=1e-5,
            atol=1e-5,
        )
        for shape in [x.shape, (None, 8, None, 3)]:
            assert tuple(ours.compute_output_shape(shape)) == tuple(
                theirs.compute_output_shape(shape)
            )
        assert ours.get_config()["strides"] == strides


@pytest.mark.parametrize(
    ("dim", "message"),
    [
        ('"strides[0]"', "`strides` may be None: give the dimension it stands for"),
        ('"1 if strides is not None else strides[0]"', "`strides` may be None"),
        ('"1 if strides is None else strides"', "`strides` is a list param: use"),
        ('"kernel_size"', "`kernel_size` is a list param: use one of its items"),
        ('"strides[0] if strides is not None else 1"', None),
    ],
)
def test_an_optional_list_item_needs_a_guard(write_spec, dim, message) -> None:
    text = PATCH_CONV.replace('shape = ["filters"]', f"shape = [{dim}]")
    if message is None:
        load_spec(write_spec(text))
        return
    errors = errors_of(write_spec, text)
    assert message in errors and "weights.bias.shape[0]" in errors, errors
