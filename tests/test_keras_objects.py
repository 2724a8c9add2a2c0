"""Initializers, regularizers and constraints with arguments: a table in
Keras's serialized form or a call, checked against the Keras class's
constructor and emitted as ``keras.initializers.Constant(value=-1.0)``."""

from __future__ import annotations

import pytest

from layergen.codegen.render import render_layer
from layergen.spec.validate import load_spec

from .test_spec_features import errors_of, load_layer

SCALE = """
[layer]
name = "ScaleNorm"
doc = "Scaled L2 normalization (Nguyen and Salazar, 2019)."

[params]
epsilon = {{ type = "float", default = 1e-5, min = 0.0 }}
gain = {{ type = "float", default = 1.0 }}
scale = {{ type = "float", optional = true }}

[inputs]
x = {{ min_rank = 2 }}

[weights.g]
shape = []
initializer = {initializer}

[call]
expr = "g * x / ops.maximum(ops.norm(x, axis=-1, keepdims=True), epsilon)"

[output]
shape = ["*x[:]"]

[test]
reference = "g * x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-5)"
"""


def spec_with(write_spec, initializer: str) -> str:
    return SCALE.format(initializer=initializer)


def source_for(write_spec, initializer: str) -> str:
    return render_layer(load_spec(write_spec(spec_with(write_spec, initializer))))


@pytest.mark.parametrize(
    "written",
    [
        '"Constant(-1.0)"',
        '"Constant(value=-1.0)"',
        '{ class_name = "Constant", config = { value = -1.0 } }',
    ],
)
def test_an_initializer_with_arguments_is_built_from_literals(
    write_spec, written: str
) -> None:
    source = source_for(write_spec, written)
    assert "initializer=keras.initializers.Constant(value=-1.0)," in source


def test_positional_arguments_take_the_constructors_names(write_spec) -> None:
    source = source_for(write_spec, '"TruncatedNormal(0.0, 0.02, seed=7)"')
    expected = "keras.initializers.TruncatedNormal(mean=0.0, stddev=0.02, seed=7)"
    assert f"initializer={expected}," in source


def test_an_optional_param_is_an_argument_behind_a_condition(write_spec) -> None:
    source = source_for(write_spec, '"Constant(1.0 if scale is None else scale)"')
    assert "Constant(value=1.0 if self.scale is None else self.scale)" in source


def test_arguments_may_read_params_and_input_dimensions(write_spec) -> None:
    source = source_for(write_spec, '"Constant(gain * float(x[-1]) ** 0.5)"')
    expected = "Constant(value=self.gain * float(input_shape[-1]) ** 0.5)"
    assert expected in source
    # The dimension the argument reads must be known when the weight is made.
    assert "if input_shape[-1] is None:" in source


def test_regularizers_and_constraints_take_arguments_too(write_spec) -> None:
    text = spec_with(write_spec, '"ones"').replace(
        'initializer = "ones"',
        'initializer = "ones"\nregularizer = "L2(1e-4)"\n'
        'constraint = { class_name = "MinMaxNorm", config = { max_value = 2 } }',
    )
    source = render_layer(load_spec(write_spec(text)))
    assert "regularizer=keras.regularizers.L2(l2=0.0001)," in source
    assert "constraint=keras.constraints.MinMaxNorm(max_value=2)," in source


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ('"Constant(-1.0, 2.0)"', "`Constant` takes 1 argument, found 2"),
        ('"Constant(valu=1.0)"', "has no argument `valu` - did you mean `value`?"),
        ("\"Constant('a')\"", "`value` of `Constant` expects a number, found 'a'"),
        ('"Constnt(1.0)"', "`Constnt` is not a Keras initializer class - did you"),
        ('"constant(1.0)"', "did you mean `Constant`?"),
        ('"Zeros(1.0)"', "`Zeros` takes 0 arguments, found 1"),
        ('"Constant(value=1.0, value=2.0)"', "argument `value` of `Constant` is"),
        ('"VarianceScaling(mode=gain)"', "expects a string, found float param"),
        ('"Constant(ops.sqrt(2.0))"', "unknown name `ops`"),
        ('"Constant(x)"', "a check reads inputs only through their dimensions"),
        ('"Constant(scale)"', "`value` of `Constant` expects a number, and `scale`"),
        ('"Constant(2.0 * scale)"', "and `scale` may be None (say what then"),
        (
            '"glorot_unifrom"',
            "nor a Keras initializer - did you mean `glorot_uniform`?",
        ),
        (
            '{ class_name = "Constant", config = { value = "a" } }',
            "config.value: `value` of `Constant` expects a number, found a string",
        ),
        (
            '{ class_name = "Constant", confg = { value = 1.0 } }',
            "unknown key `confg` - did you mean `config`?",
        ),
        ("{ config = { value = 1.0 } }", "`class_name` missing; expected a Keras"),
        ('{ class_name = "Zeros", config = { value = 1.0 } }', "`Zeros` takes no"),
        ("3", "expected a string or a table, found an integer"),
    ],
)
def test_a_wrong_argument_is_reported_at_the_key(
    write_spec, written: str, message: str
) -> None:
    errors = errors_of(write_spec, spec_with(write_spec, written))
    assert message in errors, errors
    assert "weights.g.initializer" in errors


def test_the_layer_starts_with_the_initializers_value(tmp_path, write_spec) -> None:
    import numpy as np

    text = spec_with(write_spec, '"Constant(gain * float(x[-1]) ** 0.5)"')
    layer = load_layer(tmp_path, write_spec, text)(gain=2.0)
    layer.build((2, 9))
    np.testing.assert_allclose(np.asarray(layer.g), 6.0)


def test_the_highway_example_starts_with_its_gate_closed() -> None:
    import numpy as np

    from layergen import testing

    from .conftest import EXAMPLES

    highway = testing.load_layer(str(EXAMPLES / "x"), "highway.py", "Highway")()
    highway.build((2, 4))
    np.testing.assert_array_equal(np.asarray(highway.gate_bias), -np.ones(4))


DENSE = """
[layer]
name = "BertDense"

[params]
kernel_initializer = {{ type = "initializer", default = {default} }}

[inputs]
x = {{ min_rank = 2 }}

[weights.kernel]
shape = ["x[-1]", 4]
initializer = "kernel_initializer"

[call]
expr = "ops.matmul(x, kernel)"

[test]
reference = "x @ kernel"
"""


def test_an_initializer_params_default_may_take_arguments(write_spec) -> None:
    default = '{ class_name = "TruncatedNormal", config = { stddev = 0.02 } }'
    source = render_layer(load_spec(write_spec(DENSE.format(default=default))))
    start = source.index("def __init__")
    signature = source[start : source.index("**kwargs", start)]
    # None in the signature and the instance built in __init__: a dict (or
    # an instance) as the default would be shared by every layer (B006).
    assert "kernel_initializer=None," in signature
    assert (
        "self.kernel_initializer = keras.initializers.TruncatedNormal(stddev=0.02) "
        "if kernel_initializer is None else "
        "keras.initializers.get(kernel_initializer)"
    ) in " ".join(source.split())
    assert "`TruncatedNormal(stddev=0.02)`." in source  # the docstring


def test_a_default_with_arguments_round_trips_and_is_not_shared(
    tmp_path, write_spec
) -> None:
    import keras

    default = '{ class_name = "TruncatedNormal", config = { stddev = 0.02 } }'
    layer_class = load_layer(tmp_path, write_spec, DENSE.format(default=default))
    first, second = layer_class(), layer_class()
    assert first.kernel_initializer is not second.kernel_initializer
    assert isinstance(first.kernel_initializer, keras.initializers.TruncatedNormal)
    config = first.get_config()
    assert config["kernel_initializer"]["config"]["stddev"] == 0.02
    revived = layer_class.from_config(config)
    assert revived.get_config() == config
    given = layer_class(kernel_initializer="zeros")
    assert isinstance(given.kernel_initializer, keras.initializers.Zeros)


def test_an_optional_param_may_not_have_a_default_with_arguments(
    write_spec,
) -> None:
    default = '{ class_name = "TruncatedNormal", config = { stddev = 0.02 } }'
    text = DENSE.format(default=default).replace(
        'type = "initializer",', 'type = "initializer", optional = true,'
    )
    assert errors_of(write_spec, text).endswith(
        "params.kernel_initializer.optional: `optional = true` with a default "
        "that takes arguments: None would mean both no initializer and the "
        "default; drop `optional` (None then gives the default)"
    )


@pytest.mark.parametrize(
    ("default", "message"),
    [
        (
            '{ class_name = "TruncatedNormal", config = { stdev = 0.02 } }',
            "default `TruncatedNormal` has no argument `stdev` - did you mean",
        ),
        ('{ class_name = "Truncated" }', "default `Truncated` is not a Keras"),
        ("3", "default 3 is not an initializer"),
    ],
)
def test_a_wrong_default_says_what_is_accepted(
    write_spec, default: str, message: str
) -> None:
    errors = errors_of(write_spec, DENSE.format(default=default))
    assert message in errors, errors


def test_the_argument_choices_are_those_keras_accepts() -> None:
    """Each recorded choice builds the class; a value outside them is refused
    by Keras too (so the table neither refuses nor lets through too much)."""
    import keras

    from layergen.spec.validate.keras_objects import ARGUMENT_CHOICES

    for (namespace, name, arg), choices in ARGUMENT_CHOICES.items():
        cls = getattr(getattr(keras, namespace), name)
        for choice in choices:
            cls(**{arg: choice})
        with pytest.raises(ValueError):
            cls(**{arg: "not_" + choices[0]})


def test_an_argument_is_evaluated_with_the_test_values(write_spec) -> None:
    written = spec_with(write_spec, '"Constant(1.0 / (gain - 1.0))"')
    assert errors_of(write_spec, written).endswith(
        "weights.g.initializer: `value` of `Constant`: `1.0 / (gain - 1.0)` fails "
        "for the test values: ZeroDivisionError: float division by zero"
    )
