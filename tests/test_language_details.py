"""Small parts of the spec language (issue 13, item 9): numpy scalars for
int and float params, did-you-mean for misspelled [test] params, no float32 warning
for an integer ``ops.arange``, a consumed mask that is never read, whole
output shapes, the known-dimension message's grammar, module names."""

from __future__ import annotations

import json

import pytest

from layergen.codegen.render import render_layer
from layergen.spec.validate import load_spec, snake_case

from .conftest import EXAMPLES

RANGE = """
[layer]
name = "AddPositions"

[params]
start = {{ type = "float", default = 0.0 }}

[inputs]
x = {{ rank = 3 }}

[call]
expr = "x + ops.cast({positions}, x.dtype)"

[output]
shape = ["*x[:]"]

[test]
reference = "x + np.arange(x.shape[1])"
"""


def warnings_of(write_spec, text: str) -> list[str]:
    return [d.message for d in load_spec(write_spec(text)).warnings]


def test_an_integer_arange_is_no_float32_constant(write_spec) -> None:
    text = RANGE.format(positions="ops.expand_dims(ops.arange(x.shape[1]), -1)")
    assert not [w for w in warnings_of(write_spec, text) if "float32" in w]
    floats = RANGE.format(positions="ops.expand_dims(ops.arange(0.0, 5.0), -1)")
    assert any("float32" in w for w in warnings_of(write_spec, floats))


def test_a_whole_input_shape_is_returned_as_it_is(write_spec) -> None:
    text = RANGE.format(positions="ops.expand_dims(ops.arange(x.shape[1]), -1)")
    source = render_layer(load_spec(write_spec(text)))
    assert "return input_shape\n" in source


def test_a_float_param_takes_a_numpy_scalar_and_stores_a_float() -> None:
    import numpy as np

    from layergen import testing

    layer_class = testing.load_layer(
        str(EXAMPLES / "x"), "layer_normalization.py", "LayerNormalization"
    )
    layer = layer_class(epsilon=np.float32(1e-5))
    assert type(layer.epsilon) is float
    config = layer.get_config()
    json.dumps(config)  # a numpy scalar would not serialise
    assert layer_class.from_config(config).epsilon == pytest.approx(1e-5)
    with pytest.raises(ValueError, match="Expected `epsilon` to be a number"):
        layer_class(epsilon="1e-5")


def test_an_int_param_takes_a_numpy_integer_and_stores_an_int() -> None:
    import numpy as np

    from layergen import testing

    layer_class = testing.load_layer(
        str(EXAMPLES / "x"), "simple_dense.py", "SimpleDense"
    )
    layer = layer_class(units=np.int64(4))
    assert type(layer.units) is int
    config = layer.get_config()
    json.dumps(config)  # a numpy scalar would not serialise
    assert layer_class.from_config(config).units == 4
    for wrong in (True, 4.0, np.float32(4)):
        with pytest.raises(ValueError, match="Expected `units` to be an int"):
            layer_class(units=wrong)


def test_the_known_dimension_message_agrees_in_number() -> None:
    highway = (EXAMPLES / "highway.py").read_text()
    assert "(weights `kernel`, `bias`, `gate_kernel` and " in highway
    assert "`gate_bias` depend on it)" in highway


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("ChannelPReLU", "channel_prelu"),
        ("ConvBNReLU", "conv_bn_relu"),
        ("LeakyReLU", "leaky_relu"),
        ("MyReLU", "my_relu"),
        ("GeGLU", "geglu"),
        ("FiLM", "film"),
        ("ViTEmbedding", "vit_embedding"),
        ("RMSNorm", "rms_norm"),
        ("Conv1D", "conv1d"),
        ("SwiGLU", "swi_glu"),  # three lowercase letters: a word of its own
    ],
)
def test_module_names_keep_short_runs_like_relu_whole(name: str, module: str) -> None:
    assert snake_case(name) == module
