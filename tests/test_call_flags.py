"""Call flags in the spec language, and checks at a param's axis: a mask and an
output shape that depend on a bool ``[call.args]`` flag, the tests' inputs for
a flag that changes what the layer takes, ``[call] signature`` (the order of
call()'s arguments), and ``[checks]`` that read an input at an axis an int
param gives (``x[axis] % 2 == 0``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from layergen.codegen.render import LayerImport, render_layer, render_test
from layergen.errors import SpecError
from layergen.spec.validate import load_spec

# A GLU over any axis: the gated axis must be even.
AXIS_GLU = """
[layer]
name = "AxisGLU"
doc = "Gated linear unit over one axis."

[params]
axis = { type = "int", default = -1 }

[inputs]
x = { min_rank = 2 }

[checks]
even = "x[axis] % 2 == 0"

[call]
steps = ["a, b = ops.split(x, 2, axis=axis)"]
expr = "a * ops.sigmoid(b)"

[test]
params = { axis = 1 }
input_shapes = { x = [2, 4, 3] }
reference = "x[:, :2] / (1 + np.exp(-x[:, 2:]))"
"""


def errors_of(write_spec: Callable[..., Path], text: str) -> str:
    with pytest.raises(SpecError) as caught:
        load_spec(write_spec(text))
    return "\n".join(str(d) for d in caught.value.diagnostics)


def load_layer(tmp_path: Path, write_spec, text: str) -> type:
    from layergen import testing

    spec = load_spec(write_spec(text, name=f"{tmp_path.name}.toml"))
    module = tmp_path / f"{spec.module}_{tmp_path.name}.py"
    module.write_text(render_layer(spec))
    return testing.load_layer(str(tmp_path / "x"), module.name, spec.name)


# -- [checks] at a param's axis ------------------------------------------------


def test_a_check_at_a_param_axis_runs_in_build(write_spec) -> None:
    source = render_layer(load_spec(write_spec(AXIS_GLU)))
    build = source[source.index("def build") : source.index("def call")]
    assert "input_shape[self.axis] is not None" in build
    assert "input_shape[self.axis] % 2 != 0" in build
    assert "axis={self.axis!r}" in build  # the message shows the axis


def test_the_tests_grow_the_param_axis_in_its_steps(write_spec) -> None:
    spec = load_spec(write_spec(AXIS_GLU))
    test_source = render_test(spec, LayerImport(file="axis_glu.py"))
    assert "axis_multiples={'x': {1: 2}}" in test_source
    assert "variable_axes={'x': [1, 2]}" in test_source


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        ('"x[scale] % 2 == 0"', "the axis must be an int literal or a required int"),
        ('"x[axes] % 2 == 0"', "did you mean `axis`?"),
        ('"x[maybe] % 2 == 0"', "(`maybe` is not one)"),
    ],
)
def test_a_check_axis_must_be_a_required_int_param(
    write_spec, check: str, expected: str
) -> None:
    text = AXIS_GLU.replace(
        'axis = { type = "int", default = -1 }',
        'axis = { type = "int", default = -1 }\n'
        'scale = { type = "float", default = 1.0 }\n'
        'axes = { type = "list[int]", default = [1] }\n'
        'maybe = { type = "int", optional = true }',
    ).replace('"x[axis] % 2 == 0"', check)
    assert expected in errors_of(write_spec, text)


def test_the_test_value_of_the_axis_param_must_be_an_axis(write_spec) -> None:
    text = AXIS_GLU.replace("params = { axis = 1 }", "params = { axis = 3 }")
    assert (
        "checks.even: `x[axis]` (3 in the test) does not exist for the test's "
        "input shape [2, 4, 3]"
    ) in errors_of(write_spec, text)


def test_the_generated_check_reads_the_param_axis(tmp_path, write_spec) -> None:
    glu = load_layer(tmp_path, write_spec, AXIS_GLU)
    glu(axis=1).build((2, 4, 3))
    glu().build((2, 3, 4))
    with pytest.raises(ValueError, match=r"x\[axis\] % 2 == 0.*axis=1"):
        glu(axis=1).build((2, 3, 4))
    with pytest.raises(ValueError, match=r"input_shape=\(2, 4, 3\), axis=-1"):
        glu().build((2, 4, 3))
    glu(axis=1).build((2, None, 3))  # unknown until called: not checked yet


def test_shape_polymorphism_needs_the_param_axis_multiple(tmp_path, write_spec) -> None:
    import keras

    from layergen import testing

    if keras.backend.backend() != "tensorflow":
        pytest.skip(
            "JAX and PyTorch trace call() on placeholder sizes that ops.split "
            "cannot halve: a GLU without `[output]` fails shape polymorphism "
            "there at any axis"
        )
    glu = load_layer(tmp_path, write_spec, AXIS_GLU)
    case = testing.LayerCase(
        glu, {"axis": 1}, {"x": (2, 4, 3)}, variable_axes={"x": [1, 2]}
    )
    with pytest.raises(Exception):  # noqa: B017 - each backend words it its own way
        testing.check_batch_polymorphism(case)  # grows axis 1 to 5
    case.axis_multiples = {"x": {1: 2}}
    testing.check_batch_polymorphism(case)


# -- [call] signature ------------------------------------------------------------

OFFSET = """
[layer]
name = "Offset"
doc = "Adds a learned offset per position, from `start_index` or `positions`."

[params]
length = { type = "int", default = 16, min = 1 }

[inputs]
x = { min_rank = 2 }
positions = { rank = 1, dtype = "int32", optional = true }

[call.args]
start_index = { type = "int", default = 0, min = 0 }

[weights.table]
shape = ["length", "x[-1]"]

[call]
training = true
signature = ["x", "start_index", "positions"]
steps = [
  "n = ops.shape(x)[1]",
  "rows = ops.arange(n) + start_index if positions is None else positions",
]
expr = "x + ops.take(table, rows, axis=0)"

[output]
shape = ["*x[:]"]

[test]
input_shapes = { x = [2, 4, 3], positions = [4] }
call_args = { start_index = 3 }
reference = "x + table[np.arange(4) + start_index if positions is None else positions]"
"""


def test_the_signature_orders_call_and_its_docstring(write_spec) -> None:
    source = render_layer(load_spec(write_spec(OFFSET)))
    assert "def call(self, x, start_index=0, positions=None, training=None):" in (
        source
    )
    doc = source[source.index("Call arguments:") : source.index("Input shape:")]
    names = [
        line.split(":")[0].strip() for line in doc.splitlines()[1:] if ": " in line
    ]
    assert names == ["x", "start_index", "positions", "training"]


def test_training_may_be_placed_in_the_signature(write_spec) -> None:
    text = OFFSET.replace(
        'signature = ["x", "start_index", "positions"]',
        'signature = ["x", "training", "positions", "start_index"]',
    )
    source = render_layer(load_spec(write_spec(text)))
    assert "def call(self, x, training=None, positions=None, start_index=0):" in (
        source
    )


def test_without_a_signature_optional_inputs_come_before_call_args(
    write_spec,
) -> None:
    text = OFFSET.replace('signature = ["x", "start_index", "positions"]\n', "")
    source = render_layer(load_spec(write_spec(text)))
    assert "def call(self, x, positions=None, training=None, start_index=0):" in (
        source
    )


def test_a_positional_call_follows_the_signature(tmp_path, write_spec) -> None:
    """Keras's ``__call__`` takes flags by keyword only; ``call`` itself (a
    subclass's ``super().call(x, 5)``) takes them by position too."""
    import keras
    import numpy as np

    from layergen import testing

    offset = load_layer(tmp_path, write_spec, OFFSET)()
    x = keras.ops.zeros((1, 2, 3))
    offset(x)  # builds it
    rows = testing.to_numpy(offset.table)
    np.testing.assert_allclose(testing.to_numpy(offset.call(x, 5)), rows[None, 5:7])
    by_position = offset.call(x, 0, keras.ops.convert_to_tensor([7, 1], "int32"))
    np.testing.assert_allclose(testing.to_numpy(by_position), rows[None, [7, 1]])


# -- a mask and an output shape that depend on a flag; the flag's inputs -------

TIED = (Path(__file__).resolve().parent / "corpus" / "tied_embedding.toml").read_text()


def test_a_flag_mask_is_set_by_call(write_spec) -> None:
    source = render_layer(load_spec(write_spec(TIED)))
    assert "\nfrom keras.src.backend import set_keras_mask\n" in source
    call = source[source.index("def call") : source.index("def compute_mask")]
    assert "set_keras_mask(" in call
    assert "self.mask_zero and (not reverse)" in call
    assert call.rstrip().endswith("return outputs")
    mask = source[source.index("def compute_mask") : source.index("def compute_output")]
    assert "# call() sets the output's mask, which depends on `reverse`." in mask
    assert mask.rstrip().endswith("return None")


def test_a_flag_mask_that_reads_the_incoming_mask_needs_one(write_spec) -> None:
    text = TIED.replace(
        '"ops.not_equal(ids, 0) if mask_zero and not reverse else None"',
        '"mask if not reverse else None"',
    )
    source = render_layer(load_spec(write_spec(text)))
    assert "def call(self, ids, mask=None, reverse=False):" in source
    assert "if mask is not None:\n            set_keras_mask(" in source


def test_a_flag_shape_is_in_compute_output_shape_and_spec(write_spec) -> None:
    source = render_layer(load_spec(write_spec(TIED)))
    assert (
        "    def compute_output_shape(self, input_shape, reverse=False):\n"
        "        if reverse:\n"
        "            return (*input_shape[:-1], self.vocabulary_size)\n"
        "        return (*input_shape, self.embedding_dim)\n"
    ) in source
    assert "def compute_output_spec(self, ids, reverse=False):" in source
    assert "self.compute_output_shape(ids.shape, reverse=reverse)" in source
    assert "With `reverse=True`: a tensor with shape" in source


def test_the_tests_call_with_the_flag_on_its_own_inputs(write_spec) -> None:
    test_source = render_test(load_spec(write_spec(TIED)), LayerImport(file="t.py"))
    for line in [
        "expected_output_shape=(2, 5, 6),",
        "given_arguments={'reverse': True},",
        "given_output_shape=(3, 4, 10),",
        "given_shapes={'ids': (3, 4, 6)},",
        "given_dtypes={'ids': 'float32'},",
        "mask_in_call=True,",
        "expects_mask=True,",
        "given_expects_mask=False,",
    ]:
        assert line in test_source.replace('"', "'"), line


def test_whether_a_call_sets_the_mask_follows_the_params(write_spec) -> None:
    text = TIED.replace("mask_zero = true }", "mask_zero = false }")
    test_source = render_test(load_spec(write_spec(text)), LayerImport(file="t.py"))
    assert "expects_mask=False," in test_source
    reads_tensor = TIED.replace(
        '"ops.not_equal(ids, 0) if mask_zero and not reverse else None"',
        '"ops.not_equal(ids, 0) if ops.all(ids >= 0) and not reverse else None"',
    )
    test_source = render_test(
        load_spec(write_spec(reads_tensor)), LayerImport(file="t.py")
    )
    assert "expects_mask=None," in test_source  # not known before it runs


def _reversible_case(layer_class: type, **fields) -> object:
    """A LayerCase as the generated suite of a ReversibleEmbedding makes it."""
    from layergen import testing

    return testing.LayerCase(
        layer_class,
        {"input_dim": 10, "output_dim": 4, "mask_zero": True},
        {"inputs": (2, 5)},
        input_dtypes={"inputs": "int32"},
        expected_output_shape=(2, 5, 4),
        mask_mode="compute",
        given_arguments={"reverse": True},
        given_output_shape=(2, 5, 10),
        given_shapes={"inputs": (2, 5, 4)},
        given_dtypes={"inputs": "float32"},
        mask_in_call=True,
        expects_mask=True,
        given_expects_mask=False,
        **fields,
    )


def test_keras_reversible_embedding_passes_the_flag_checks() -> None:
    import keras

    from layergen import testing

    case = _reversible_case(keras.layers.ReversibleEmbedding)
    testing.reset_keras_state()
    testing.check_mask(case)
    testing.check_output_shapes(case, testing.build_model(case))


def test_a_mask_that_ignores_the_flag_fails_the_mask_check() -> None:
    import keras

    from layergen import testing

    class MasksLogits(keras.layers.ReversibleEmbedding):
        def compute_mask(self, inputs, mask=None):
            return keras.ops.not_equal(inputs, 0) if self.mask_zero else None

    class NeverMasks(keras.layers.ReversibleEmbedding):
        def call(self, inputs, reverse=False):
            return keras.ops.add(super().call(inputs, reverse=reverse), 0.0)

    testing.reset_keras_state()
    with pytest.raises(AssertionError, match="compute_mask returned a mask"):
        testing.check_mask(_reversible_case(MasksLogits))
    with pytest.raises(AssertionError, match="carries no mask, which this call"):
        testing.check_mask(_reversible_case(NeverMasks))


def test_a_shape_that_ignores_the_flag_fails_the_shape_check() -> None:
    import keras

    from layergen import testing

    class IgnoresReverse(keras.layers.ReversibleEmbedding):
        def compute_output_spec(self, inputs, reverse=False):
            return keras.KerasTensor((*inputs.shape, self.output_dim))

    case = _reversible_case(IgnoresReverse)
    testing.reset_keras_state()
    with pytest.raises(AssertionError):
        testing.check_output_shapes(case, testing.build_model(case))


def test_explain_traces_the_flag_call_on_its_own_inputs(write_spec) -> None:
    """explain traces the tests' given call: `reverse=True` on vectors, whose
    mask the spec's expression makes None, and the output `shape_if` gives."""
    from layergen.explain import explain_spec

    explained = explain_spec(load_spec(write_spec(TIED)))
    assert not explained.errors, explained.errors
    ids = explained.inputs[0]
    assert (ids.name, ids.values[0].shape, ids.values[0].dtype) == (
        "ids",
        (3, 4, 6),
        "float32",
    )
    (output,) = next(s for s in explained.steps if s.kind == "output").binds
    assert output.values[0].shape == (3, 4, 10)
    assert explained.declared_output[0].shape == (3, 4, 10)


def test_a_check_skipped_on_ids_runs_on_the_flag_vectors() -> None:
    """The gradient check skips integer ids but runs on the `reverse=True`
    call's vectors; a case of ids alone is skipped."""
    import dataclasses

    import keras

    from layergen import testing

    case = _reversible_case(keras.layers.ReversibleEmbedding)
    testing.reset_keras_state()
    testing.check_input_gradient(case)
    ids_only = dataclasses.replace(case, given_arguments={}, given_shapes={})
    with pytest.raises(pytest.skip.Exception, match="integer input"):
        testing.check_input_gradient(ids_only)
