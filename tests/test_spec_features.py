"""Spec features that keep generated tests honest: checks over input dimensions,
stated properties, one initializer per weight, and the mask/output contract."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import black
import pytest

from layergen.codegen.render import LayerImport, render_layer, render_test
from layergen.errors import SpecError
from layergen.spec.validate import load_spec

GLU = """
[layer]
name = "GLU"
doc = "Gated linear unit."

[inputs]
x = { min_rank = 2 }

[checks]
even_features = "x[-1] % 2 == 0"

[call]
steps = ["a, b = ops.split(x, 2, axis=-1)"]
expr = "a * ops.sigmoid(b)"

[output]
shape = ["*x[:-1]", "x[-1] // 2"]

[test]
input_shapes = { x = [2, 3, 6] }
reference = "x[..., :3] / (1 + np.exp(-x[..., 3:]))"
"""

DROP_PATH = """
[layer]
name = "DropPath"
doc = "Stochastic depth."

[params]
rate = { type = "float", default = 0.5, min = 0.0, max = 0.9 }

[inputs]
x = { min_rank = 2 }

[call]
training = true
steps = [
  "keep = 1.0 - rate",
  "shape = (ops.shape(x)[0],) + (1,) * (len(x.shape) - 1)",
  "kept = ops.floor(keep + random.uniform(shape, dtype=x.dtype))",
]
expr = "x * kept / keep if training else x"

[test]
input_shapes = { x = [8, 3, 5] }
reference = "x"

[test.properties]
finite = "np.all(np.isfinite(output))"
zero_or_rescaled = { expr = "np.all(np.isclose(output, 0) | np.isclose(output, x / (1 - rate), rtol=1e-5), axis=(1, 2))", when = "training" }
"""

TWO_KERNELS = """
[layer]
name = "TwoKernels"
doc = "Two projections that share one initializer param."

[params]
units = { type = "int", default = 4, min = 1 }
kernel_initializer = { type = "initializer", default = "glorot_uniform" }

[inputs]
x = { min_rank = 2 }

[weights.first]
shape = ["x[-1]", "units"]
initializer = "kernel_initializer"

[weights.second]
shape = ["x[-1]", "units"]
initializer = "kernel_initializer"

[call]
expr = "ops.matmul(x, first) + ops.matmul(x, second)"

[test]
input_shapes = { x = [2, 4] }
reference = "x @ first + x @ second"
"""

POOLING = """
[layer]
name = "SumOverTime"
doc = "Sums a sequence over time."

[inputs]
x = { rank = 3 }

[mask]
mode = "{mode}"

[call]
expr = "ops.sum(x, axis=1)"

[output]
shape = {shape}

[test]
reference = "np.sum(x, axis=1)"
"""


def errors_of(write_spec: Callable[..., Path], text: str) -> str:
    with pytest.raises(SpecError) as caught:
        load_spec(write_spec(text))
    return "\n".join(str(d) for d in caught.value.diagnostics)


def test_a_check_over_an_input_dimension_runs_in_build(write_spec) -> None:
    source = render_layer(load_spec(write_spec(GLU)))
    assert "if input_shape[-1] is not None and input_shape[-1] % 2 != 0:" in source
    init = source[source.index("def __init__") : source.index("def build")]
    assert "% 2" not in init  # checks over params only stay in __init__


def test_test_shapes_must_pass_the_checks(write_spec) -> None:
    text = GLU.replace("x = [2, 3, 6]", "x = [2, 3, 5]")
    message = errors_of(write_spec, text)
    assert "test.input_shapes: the test's input shapes break check `even_features`" in (
        message
    )


def test_a_check_reads_inputs_only_through_dimensions(write_spec) -> None:
    text = GLU.replace('"x[-1] % 2 == 0"', '"ops.sum(x) > 0"')
    assert "reads inputs only through their dimensions" in errors_of(write_spec, text)


def test_shape_polymorphism_grows_a_constrained_axis_by_its_multiple(
    write_spec,
) -> None:
    spec = load_spec(write_spec(GLU))
    test_source = render_test(spec, LayerImport(file="glu.py"))
    assert "variable_axes={'x': [1, 2]}" in test_source
    assert "axis_multiples={'x': {2: 2}}" in test_source


def test_a_tuple_needs_its_outputs_declared(write_spec) -> None:
    text = GLU.replace('expr = "a * ops.sigmoid(b)"', 'expr = "(a, b)"')
    assert "`expr` returns 2 values: declare each output in an `[output.NAME]`" in (
        errors_of(write_spec, text)
    )


@pytest.mark.parametrize(
    ("shape", "accepted"),
    [
        ('["x[0]", "x[2]"]', False),  # drops time: a (batch, time) mask cannot ride
        ('["x[0]", "x[1]", "x[2]"]', True),
        ('["*x[:-1]", "x[-1]"]', True),
        ('["x[1]", "x[0]", "x[2]"]', False),  # reordered
    ],
)
def test_propagate_needs_an_output_that_keeps_the_mask_axes(
    write_spec, shape: str, accepted: bool
) -> None:
    text = POOLING.replace("{mode}", "propagate").replace("{shape}", shape)
    if accepted:
        load_spec(write_spec(text))
    else:
        assert 'mode "propagate" passes on the mask of `x`' in errors_of(
            write_spec, text
        )


def test_consume_is_fine_for_an_output_without_time(write_spec) -> None:
    text = POOLING.replace("{mode}", "consume").replace("{shape}", '["x[0]", "x[2]"]')
    load_spec(write_spec(text))


def test_a_layer_whose_values_are_never_checked_gets_a_warning(write_spec) -> None:
    silent = load_spec(write_spec(GLU.replace("reference = ", "# reference = ")))
    assert any("never the values" in str(w) for w in silent.warnings)
    assert not load_spec(write_spec(GLU)).warnings


def test_properties_render_as_predicates_over_the_names_they_read(write_spec) -> None:
    source = black.format_str(
        render_test(load_spec(write_spec(DROP_PATH)), LayerImport(file="d.py")),
        mode=black.Mode(),
    )
    assert "def test_property_zero_or_rescaled():" in source
    assert "def holds(x, output, rate):" in source
    assert 'testing.check_property(CASE, "zero_or_rescaled", holds, training=True)' in (
        source
    )
    assert 'testing.check_property(CASE, "finite", holds, training=False)' in source


def test_a_training_property_needs_a_training_flag(write_spec) -> None:
    text = DROP_PATH.replace("training = true\n", "")
    text = text.replace(" if training else x", "")
    assert '"training" needs `training = true`' in errors_of(write_spec, text)


# -- the generated layers themselves (imports Keras) --------------------------


def load_layer(tmp_path: Path, write_spec, text: str) -> type:
    from layergen import testing

    spec = load_spec(write_spec(text, name=f"{tmp_path.name}.toml"))
    module = tmp_path / f"{spec.module}_{tmp_path.name}.py"
    module.write_text(render_layer(spec))
    return testing.load_layer(str(tmp_path / "x"), module.name, spec.name)


def test_generated_check_rejects_an_odd_feature_axis(tmp_path, write_spec) -> None:
    glu = load_layer(tmp_path, write_spec, GLU)
    glu().build((2, 6))
    with pytest.raises(ValueError, match=r"x\[-1\] % 2 == 0.*input_shape=\(2, 5\)"):
        glu().build((2, 5))
    glu().build((2, None))  # unknown until called: not checked yet


def test_glu_passes_shape_polymorphism_only_in_even_steps(tmp_path, write_spec) -> None:
    from layergen import testing

    glu = load_layer(tmp_path, write_spec, GLU)
    case = testing.LayerCase(glu, {}, {"x": (2, 3, 6)}, variable_axes={"x": [1, 2]})
    with pytest.raises(Exception):  # noqa: B017 - each backend words it its own way
        testing.check_batch_polymorphism(case)  # grows the last axis to 7
    case.axis_multiples = {"x": {2: 2}}
    testing.check_batch_polymorphism(case)


def test_weights_sharing_an_initializer_start_different(tmp_path, write_spec) -> None:
    import numpy as np

    layer_class = load_layer(tmp_path, write_spec, TWO_KERNELS)
    layer = layer_class()
    layer.build((2, 4))
    first, second = (np.asarray(w) for w in (layer.first, layer.second))
    assert not np.allclose(first, second)
    single = render_layer(
        load_spec(
            write_spec(
                TWO_KERNELS.replace(
                    'initializer = "kernel_initializer"\n\n[weights.second]',
                    "\n[weights.second]",
                )
            )
        )
    )
    assert "clone()" not in single  # one use: no copy needed


def test_a_property_catches_a_drop_path_without_rescale(tmp_path, write_spec) -> None:
    import numpy as np

    from layergen import testing

    good = load_layer(tmp_path, write_spec, DROP_PATH)

    def rescaled(x, output, rate):
        return np.all(
            np.isclose(output, 0) | np.isclose(output, x / (1 - rate), rtol=1e-5),
            axis=(1, 2),
        )

    case = testing.LayerCase(good, {"rate": 0.5}, {"x": (8, 3, 5)}, uses_training=True)
    testing.check_property(case, "zero_or_rescaled", rescaled, training=True)
    broken_text = DROP_PATH.replace("x * kept / keep", "x * kept").replace(
        'name = "DropPath"', 'name = "DropPathNoRescale"'
    )
    broken = load_layer(tmp_path, write_spec, broken_text)
    case = testing.LayerCase(
        broken, {"rate": 0.5}, {"x": (8, 3, 5)}, uses_training=True
    )
    with pytest.raises(AssertionError, match="`zero_or_rescaled` does not hold"):
        testing.check_property(case, "zero_or_rescaled", rescaled, training=True)


def test_random_layers_are_held_to_an_unbiased_training_mean(write_spec) -> None:
    spec = load_spec(write_spec(DROP_PATH))
    source = render_test(spec, LayerImport(file="d.py"))
    assert "def test_training_mean_matches_inference():" in source
    opted_out = DROP_PATH.replace(
        'reference = "x"', 'reference = "x"\nunbiased_in_training = false'
    )
    source = render_test(load_spec(write_spec(opted_out)), LayerImport(file="d.py"))
    assert "unbiased_in_training=False" in source
    assert "test_training_mean_matches_inference" not in source


ARGMAX = """
[layer]
name = "ArgMax"
doc = "Index of the largest feature."

[inputs]
x = { min_rank = 2 }

[call]
expr = "ops.argmax(x, axis=-1)"

[output]
shape = ["*x[:-1]"]
dtype = "int32"

[test]
reference = "np.argmax(x, axis=-1)"
"""


def test_an_integer_output_is_not_differentiable(write_spec) -> None:
    assert load_spec(write_spec(ARGMAX)).test.differentiable is False
    source = render_test(load_spec(write_spec(ARGMAX)), LayerImport(file="a.py"))
    assert "test_input_gradient_matches_finite_differences" not in source


def test_an_output_dtype_needs_a_shape_and_a_known_dtype(write_spec) -> None:
    no_shape = ARGMAX.replace('shape = ["*x[:-1]"]\n', "")
    assert "`dtype` goes with `shape`" in errors_of(write_spec, no_shape)
    assert "unknown dtype `int33`" in errors_of(
        write_spec, ARGMAX.replace('"int32"', '"int33"')
    )


@pytest.mark.parametrize("declared", [True, False])
def test_an_integer_output_is_symbolic_in_its_own_dtype(
    tmp_path, write_spec, declared: bool
) -> None:
    from layergen import testing

    if keras_backend() == "torch":
        pytest.skip("torch on the CPU lacks half-precision kernels")
    text = ARGMAX if declared else ARGMAX.replace('dtype = "int32"\n', "")
    layer_class = load_layer(tmp_path, write_spec, text)
    case = testing.LayerCase(layer_class, {}, {"x": (2, 5)}, differentiable=False)
    testing.reset_keras_state()
    if declared:
        testing.check_mixed_precision(case, "mixed_float16")
    else:  # compute_output_shape alone: Keras assumes float16 symbolically
        with pytest.raises(AssertionError, match=r"\[output\] dtype"):
            testing.check_mixed_precision(case, "mixed_float16")


def test_a_traced_output_keeps_its_dtype(tmp_path, write_spec) -> None:
    from layergen import testing

    if keras_backend() == "torch":
        pytest.skip("torch on the CPU lacks half-precision kernels")
    traced = ARGMAX.replace('[output]\nshape = ["*x[:-1]"]\ndtype = "int32"\n', "")
    layer_class = load_layer(tmp_path, write_spec, traced)
    case = testing.LayerCase(layer_class, {}, {"x": (2, 5)}, differentiable=False)
    testing.reset_keras_state()
    testing.check_mixed_precision(case, "mixed_float16")


def keras_backend() -> str:
    import keras

    return keras.backend.backend()
