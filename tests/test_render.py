"""Each template branch: the generated code says what the spec asks, and is clean."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap

import black
import pytest

from layergen.codegen.render import (
    LayerImport,
    render_layer,
    render_test,
)
from layergen.files.formatting import format_source
from layergen.spec.validate import load_spec

from .conftest import MINIMAL_SPEC

DENSE = """
[layer]
name = "Dense2"
package = "proj"
doc = "Doc with \\"\\"\\" quotes and {{ jinja }} {% raw %} and a backslash \\\\."

[params]
units = { type = "int", default = 4, min = 1 }
use_bias = { type = "bool", default = false }
sizes = { type = "list[int]", default = [3, 2] }
mode = { type = "str", default = "sum", choices = ["sum", "mean"] }
activation = { type = "activation", default = "relu" }
kernel_regularizer = { type = "regularizer", default = "l2" }
kernel_constraint = { type = "constraint", default = "non_neg" }

[checks]
even = "units % 2 == 0"

[inputs]
x = { min_rank = 2 }

[weights.kernel]
shape = ["x[-1]", "units"]
regularizer = "kernel_regularizer"
constraint = "kernel_constraint"

[weights.bias]
shape = ["units"]
initializer = "zeros"
if = "use_bias"

[weights.moving]
shape = ["units"]
initializer = "zeros"
trainable = false

[sublayers.blocks]
layer = "Dense"
for_each = "sizes"
args = { units = "item" }

[call]
training = true
steps = [
  "h = ops.matmul(x, kernel)",
  "h = h + bias if use_bias else h",
  "h = random.dropout(h, 0.5) if training else h",
  "mean, var = ops.moments(h, axes=[0])",
  "for layer in blocks: g = layer(var)",
]
expr = "activation(h)"

[updates]
moving = "0.9 * moving + 0.1 * mean"

[output]
shape = ["*x[:-1]", "units"]
"""


def generated(write_spec, text: str) -> str:
    spec = load_spec(write_spec(text))
    return format_source(render_layer(spec), "test")


def test_layer_code_parses_and_is_black_stable(write_spec) -> None:
    code = generated(write_spec, DENSE)
    ast.parse(code)
    assert black.format_str(code, mode=black.Mode()) == code


def test_constructor_validates_stores_and_serializes(write_spec) -> None:
    code = generated(write_spec, DENSE)
    assert "sizes=(3, 2)," in code  # no mutable default
    assert "self.sizes = [int(v) for v in sizes]" in code
    assert "mode not in ('sum', 'mean')" in code.replace('"', "'")
    assert "if units % 2 != 0:" in code
    assert "self.activation = keras.activations.get(activation)" in code
    assert '"kernel_regularizer": keras.regularizers.serialize(' in code
    assert '"kernel_constraint": keras.constraints.serialize(' in code
    assert '"seed": self.seed' in code
    assert "self.seed_generator = keras.random.SeedGenerator(seed)" in code
    assert code.index("raise ValueError") < code.index("super().__init__(**kwargs)")


def test_build_creates_weights_by_keyword_and_guards_unknown_dims(write_spec) -> None:
    code = generated(write_spec, DENSE)
    assert 'name="kernel",\n            shape=(input_shape[-1], self.units),' in code
    assert "regularizer=self.kernel_regularizer" in code
    assert "constraint=self.kernel_constraint" in code
    assert "if self.use_bias:" in code and "self.bias = None" in code
    assert 'trainable=False,\n            aggregation="mean"' in code
    assert "if input_shape[-1] is None:" in code
    # The blocks' input comes from ops.moments, whose shape layergen does not
    # follow: build() traces call() and says why.
    assert "# The input shape of `blocks` does not follow from the" in code
    assert "keras.Operation.compute_output_spec(" in code


def test_call_rewrites_names_and_gates_updates_on_training(write_spec) -> None:
    code = generated(write_spec, DENSE)
    assert "def call(self, x, training=None):" in code
    assert "keras.random.dropout(h, 0.5, seed=self.seed_generator)" in code
    assert "for layer in self.blocks:\n            g = layer(var)" in code
    # When build() traces call(), call() reads its own float weights in the
    # compute dtype.
    assert (
        "def call(self, x, training=None):\n"
        "        kernel = ops.cast(self.kernel, self.compute_dtype)\n"
        "        bias = None if self.bias is None else ops.cast(self.bias, "
        "self.compute_dtype)\n"
        "        moving = ops.cast(self.moving, self.compute_dtype)\n"
        "        h = ops.matmul(x, kernel)\n"
    ) in code
    assert (
        "outputs = self.activation(h)\n        if training:\n"
        "            self.moving.assign(0.9 * moving + 0.1 * mean)\n"
        "        return outputs"
    ) in code
    assert (
        "def compute_output_shape(self, input_shape):\n        return (*input_shape[:-1], self.units)"
        in code
    )


SUBLAYERS = """
[layer]
name = "Stack"
package = "proj"
doc = "Sublayers built on their input shapes."

[params]
units = { type = "int", default = 4, min = 1 }
sizes = { type = "list[int]", default = [3, 2] }

[inputs]
x = { rank = 3 }

[weights.kernel]
shape = ["x[-1]", "units"]

[sublayers.project]
layer = "Dense"
args = { units = "units" }

[sublayers.blocks]
layer = "Dense"
for_each = "sizes"
args = { units = "units" }

[sublayers.norm]
layer = "LayerNormalization"

[call]
steps = [
  "h = project(ops.relu(ops.matmul(x, kernel)))",
  "for block in blocks: h = h + block(h)",
  "batch = ops.shape(x)[0]",
]
expr = "norm(ops.reshape(h, (batch, -1, units)))"

[output]
shape = ["x[0]", "x[1]", "units"]
"""


def test_sublayers_are_named_and_built_on_their_input_shapes(write_spec) -> None:
    code = generated(write_spec, SUBLAYERS)
    assert (
        'self.project = keras.layers.Dense(\n            units=self.units, dtype=self.dtype_policy, name="project"'
        in code
    )
    assert (
        'name=f"blocks_{i}"' in code and "for i, item in enumerate(self.sizes)" in code
    )
    build = code[code.index("def build(") : code.index("def call(")]
    assert (
        "        self.project.build((*input_shape[:-1], self.units))\n"
        "        h_shape = self.project.compute_output_shape((*input_shape[:-1], self.units))\n"
        "        for block in self.blocks:\n"
        "            block.build(h_shape)\n"
        "            block_shape = block.compute_output_shape(h_shape)\n"
        "            h_shape = (\n"
        "                keras.KerasTensor(h_shape) + keras.KerasTensor(block_shape)\n"
        "            ).shape\n"
        "        self.norm.build((input_shape[0], None, self.units))\n"
    ) in build
    assert "compute_output_spec" not in build
    # Nothing is traced, so call() reads its weights as Keras gives them.
    assert "ops.cast(self.kernel" not in code


def test_compute_output_shape_follows_the_sublayers_without_building(
    write_spec,
) -> None:
    spec = SUBLAYERS.replace(
        'expr = "norm(ops.reshape(h, (batch, -1, units)))"', 'expr = "norm(h)"'
    ).replace('[output]\nshape = ["x[0]", "x[1]", "units"]', "")
    code = generated(write_spec, spec)
    method = code[code.index("def compute_output_shape(") :]
    method = method[: method.index("\n\n")]
    assert "self.project.compute_output_shape(" in method
    assert "return self.norm.compute_output_shape(h_shape)" in method
    assert ".build(" not in method and "from_config" not in method


def test_a_sublayer_fed_a_split_is_built_on_a_piece(write_spec) -> None:
    spec = SUBLAYERS.replace(
        'expr = "norm(ops.reshape(h, (batch, -1, units)))"', 'expr = "norm(b)"'
    ).replace('"batch = ops.shape(x)[0]",', '"a, b = ops.split(x, 2, axis=-1)",')
    build = generated(write_spec, spec)
    build = build[build.index("def build(") : build.index("def call(")]
    # `b` is half of x's last axis, which may be unknown (None).
    half = "None if input_shape[-1] is None else input_shape[-1] // 2"
    assert f"self.norm.build((*input_shape[:-1],{half},))".replace(" ", "") in (
        build.replace(" ", "").replace("\n", "")
    )
    assert "compute_output_spec" not in build


FLOAT_SPLIT = """
[layer]
name = "Gate"
[inputs]
x = { min_rank = 2 }
[call]
steps = ["a, b = ops.split(x, 2, axis=-1)"]
expr = "a * ops.sigmoid(b)"
"""


def test_a_float_output_follows_its_derived_shape_without_tracing(
    write_spec,
) -> None:
    # Keras gives compute_output_shape's shape the compute dtype; tracing
    # call() instead fails on JAX and PyTorch, which cannot split a None axis.
    code = generated(write_spec, FLOAT_SPLIT)
    assert "def compute_output_shape(self, input_shape):" in code
    assert "compute_output_spec" not in code
    # A cast may change the dtype: the output's spec is traced from call().
    cast = FLOAT_SPLIT.replace('"a * ops.sigmoid(b)"', "\"ops.cast(a, 'int32')\"")
    assert "return keras.Operation.compute_output_spec(" in generated(write_spec, cast)


def test_doc_cannot_break_out_of_the_docstring(write_spec) -> None:
    code = generated(write_spec, DENSE)
    module = ast.parse(code)
    cls = next(n for n in module.body if isinstance(n, ast.ClassDef))
    doc = ast.get_docstring(cls)
    assert '"""' in doc and "{{ jinja }}" in doc and "{% raw %}" in doc
    assert doc.startswith('Doc with """ quotes')


@pytest.mark.parametrize(
    ("mode", "expected", "absent"),
    [
        ("none", [], ["supports_masking", "compute_mask"]),
        ("propagate", ["self.supports_masking = True"], ["compute_mask"]),
        (
            "consume",
            [
                "def compute_mask(self, inputs, mask=None):\n        # The mask",
                "def call(self, x, mask=None):",
            ],
            [],
        ),
    ],
)
def test_mask_modes(
    write_spec, mode: str, expected: list[str], absent: list[str]
) -> None:
    code = generated(write_spec, MINIMAL_SPEC + f'[mask]\nmode = "{mode}"\n')
    for text in expected:
        assert text in code
    for text in absent:
        assert text not in code


def test_mask_compute_guards_a_missing_mask(write_spec) -> None:
    spec = MINIMAL_SPEC + '[mask]\nmode = "compute"\nexpr = "ops.any(mask, axis=-1)"\n'
    code = generated(write_spec, spec)
    assert (
        "def compute_mask(self, x, mask=None):\n        if mask is None:\n"
        "            return None\n        return ops.any(mask, axis=-1)"
    ) in code


def test_several_inputs_get_named_shape_arguments(write_spec) -> None:
    code = generated(
        write_spec,
        """
        [layer]
        name = "Pair"
        [inputs]
        query = { rank = 3 }
        value = { rank = 3 }
        [weights.w]
        shape = ["query[-1]", "value[-1]"]
        [call]
        expr = "ops.matmul(ops.matmul(query, w), ops.transpose(value, (0, 2, 1)))"
        [output]
        shape = ["query[0]", "query[1]", "value[1] * 1"]
        """,
    )
    assert "def build(self, query_shape, value_shape):" in code
    assert "def call(self, query, value):" in code
    assert "shape=(query_shape[-1], value_shape[-1])" in code
    assert "None if value_shape[1] is None else value_shape[1] * 1" in code


def test_cell_has_state_size_and_returns_states(write_spec) -> None:
    code = generated(
        write_spec,
        """
        [layer]
        name = "Cell"
        kind = "cell"
        [params]
        units = { type = "int", default = 3 }
        [weights.kernel]
        shape = ["inputs[-1]", "units"]
        [states]
        h = { shape = ["units"] }
        [call]
        steps = ["out = ops.matmul(inputs, kernel) + h"]
        expr = "out"
        next_states = { h = "out" }
        """,
    )
    assert "self.state_size = [self.units]" in code
    assert "def call(self, inputs, states):\n        h = states[0]" in code
    assert "return out, [out]" in code


def test_layer_without_weights_has_no_build_but_two_inputs_do(write_spec) -> None:
    code = generated(write_spec, '[layer]\nname = "Id"\n[call]\nexpr = "inputs"\n')
    # Keras's default build() takes the one input shape.
    assert "def build(" not in code
    two = '[layer]\nname = "Sum"\n[inputs]\na = {}\nb = {}\n[call]\nexpr = "a + b"\n'
    assert "def build(self, a_shape, b_shape):\n        pass" in generated(
        write_spec, two
    )
    assert "from keras import ops" not in code
    assert "config = super().get_config()\n        return config" in code


def test_test_file_uses_spec_derived_expectations(write_spec) -> None:
    spec = load_spec(
        write_spec(
            DENSE
            + "[test]\nparams = { units = 6, use_bias = false }\ninput_shapes = { x = [2, 5] }\n"
        )
    )
    code = format_source(
        render_test(spec, LayerImport(statement="from dense2 import Dense2")), "test"
    )
    ast.parse(code)
    assert (
        'expected_weights={"kernel": ((5, 6), True), "moving": ((6,), False)},' in code
    )
    assert 'absent_weights=["bias"],' in code
    assert "expected_output_shape=(2, 6)," in code
    assert 'updated_weights=["moving"],' in code
    assert "random_in_training=True," in code
    assert "variable_axes={" in code
    for name in (
        "test_build_creates_expected_weights",
        "test_shape_polymorphism",
        "test_config_round_trip",
        "test_save_and_load_keras_format",
        "test_fit_step_trains_every_trainable_weight",
        "test_updates_run_only_in_training",
        "test_training_flag_changes_output",
        "test_mask_none",
        "test_xla_matches_eager",
        "test_mixed_precision",
        "test_input_gradient_matches_finite_differences",
        "test_distributed_training_step",
        "test_runs_on_gpu_and_matches_cpu",
        "test_uses_only_backend_neutral_ops",
    ):
        assert f"def {name}(" in code


def test_generated_layer_module_imports_no_tensorflow_at_render_time() -> None:
    # Rendering and formatting must not import Keras or TensorFlow.
    program = textwrap.dedent("""
        import sys
        from pathlib import Path
        from layergen.codegen.generate import generate
        generate([Path("generated_examples/specs/self_attention.toml")], Path("out"))
        heavy = [m for m in ("tensorflow", "keras", "jax", "torch") if m in sys.modules]
        print(heavy)
        """)
    from .conftest import ROOT

    result = subprocess.run(
        [sys.executable, "-c", program],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[]"
