"""Call arguments that are not the main inputs (optional tensors, flags) and
several outputs: what the spec gives in the emitted layer and test file, and
how the checks of ``layergen.testing`` call a layer both ways."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from layergen.codegen.render import LayerImport, render_layer, render_test
from layergen.spec.validate import load_spec

GATED = """
[layer]
name = "Gated"

[inputs]
x = { rank = 3 }
gate = { rank = 3, optional = true }

[call.args]
negate = { type = "bool", default = false }
start_index = { type = "int", default = 0, min = 0 }

[call]
steps = ["h = x if gate is None else x * ops.sigmoid(gate)"]
expr = "-h[:, start_index:] if negate else h[:, start_index:]"

[test]
input_shapes = { x = [2, 4, 3], gate = [2, 4, 3] }
call_args = { start_index = 1 }
reference = "(-1 if negate else 1) * (x if gate is None else x / (1 + np.exp(-gate)))[:, start_index:]"
"""

SPLIT = """
[layer]
name = "Split"

[inputs]
x = { rank = 2 }

[call.args]
return_parts = { type = "bool", default = false }

[call]
steps = ["a, b = ops.split(x, 2, axis=-1)"]
expr = "(a + b, a, ops.argmax(b, axis=-1)) if return_parts else a + b"

[checks]
even = "x[-1] % 2 == 0"

[output.total]
shape = ["x[0]", "x[1] // 2"]

[output.first]
shape = ["x[0]", "x[1] // 2"]
when = "return_parts"

[output.index]
shape = ["x[0]"]
dtype = "int32"
when = "return_parts"

[test]
input_shapes = { x = [2, 6] }

[test.reference]
total = "x[:, :3] + x[:, 3:]"
first = "x[:, :3]"
index = "np.argmax(x[:, 3:], axis=-1)"
"""


def test_optional_inputs_and_call_args_in_the_signatures(write_spec) -> None:
    source = render_layer(load_spec(write_spec(GATED)))
    assert "def call(self, x, gate=None, negate=False, start_index=0):" in source
    # build() (none here: nothing to build) and compute_output_shape() never
    # see the optional input.
    assert "def compute_output_shape(self, input_shape):" in source
    assert "h = x if gate is None else x * ops.sigmoid(gate)" in source
    assert "self.negate" not in source and "self.start_index" not in source


def test_the_test_file_describes_the_second_call(write_spec) -> None:
    spec = load_spec(write_spec(GATED))
    source = render_test(spec, LayerImport(file="gated.py")).replace('"', "'")
    assert "input_shapes={'x': (2, 4, 3)}" in source
    assert "given_inputs={'gate': (2, 4, 3)}" in source
    # A bool flag is flipped; an int keeps its [test] call_args value.
    assert "given_arguments={'negate': True, 'start_index': 1}" in source
    assert "gate = case.input_named(built.inputs, 'gate')" in source
    assert "negate = case.call_arguments.get('negate', False)" in source


def test_several_outputs_give_tuples_of_shapes_and_specs(write_spec) -> None:
    source = render_layer(load_spec(write_spec(SPLIT)))
    assert "def compute_output_shape(self, input_shape, return_parts=False):" in (
        source
    )
    assert "return (total_shape, first_shape, index_shape)" in source
    assert "def compute_output_spec(self, x, return_parts=False):" in source
    assert "keras.KerasTensor(index_shape, dtype='int32')" in source.replace('"', "'")


keras = pytest.importorskip("keras")

from layergen import testing  # noqa: E402


def _load(write_spec: Callable[..., Path], text: str, tmp_path: Path) -> type:
    spec = load_spec(write_spec(text))
    module = tmp_path / f"{spec.module}.py"
    module.write_text(render_layer(spec))
    return testing.load_layer(str(tmp_path / "test_x.py"), module.name, spec.name)


def _split_case(cls: type) -> testing.LayerCase:
    return testing.LayerCase(
        cls,
        {},
        {"x": (2, 6)},
        expected_output_shape=(2, 3),
        given_arguments={"return_parts": True},
        given_output_shape=((2, 3), (2, 3), (2,)),
    )


def test_the_checks_run_on_both_calls_of_a_correct_layer(
    write_spec, tmp_path: Path
) -> None:
    testing.reset_keras_state()
    case = _split_case(_load(write_spec, SPLIT, tmp_path))
    assert [v.call_arguments for v in case.variants()] == [{}, {"return_parts": True}]
    testing.check_output_shapes(case)
    testing.check_save_and_load(case)
    testing.check_input_gradient(case)


class FlagBlindSpec(keras.layers.Layer):
    """Returns its parts on request, but declares one output whatever the
    flag: right on the default call, wrong on the second."""

    def call(self, x, return_parts=False):
        a, b = keras.ops.split(x, 2, axis=-1)
        return (a + b, a) if return_parts else a + b

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1] // 2)

    def compute_output_spec(self, x, return_parts=False):
        return keras.KerasTensor(self.compute_output_shape(x.shape), dtype=x.dtype)


def test_a_layer_ignoring_the_flag_fails_on_the_second_call() -> None:
    testing.reset_keras_state()
    testing.check_output_shapes(testing.LayerCase(FlagBlindSpec, {}, {"x": (2, 6)}))
    case = testing.LayerCase(
        FlagBlindSpec, {}, {"x": (2, 6)}, given_arguments={"return_parts": True}
    )
    with pytest.raises(AssertionError) as caught:
        testing.check_output_shapes(case)
    assert "1 symbolic outputs, 2 eager ones" in str(caught.value)
    assert "calling the layer with return_parts=True" in "".join(
        getattr(caught.value, "__notes__", [])
    )
