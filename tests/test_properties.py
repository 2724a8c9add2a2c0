"""Property-based tests (hypothesis): random valid specs give layers that
parse, are black-stable, import, build and agree with Keras on the output
shape; random mutations of valid specs give a layer or a clean diagnostic,
never a traceback. Examples per test: LAYERGEN_HYPOTHESIS_EXAMPLES (default
small, for CI)."""

from __future__ import annotations

import ast
import os
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layergen.codegen.generate import generate
from layergen.errors import LayergenError, SpecError
from layergen.files.formatting import format_source
from layergen.files.writer import write_plan

from .conftest import EXAMPLE_SPECS

EXAMPLES = int(os.environ.get("LAYERGEN_HYPOTHESIS_EXAMPLES", "12"))
PROFILE = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
ELEMENTWISE = [
    "ops.tanh({})",
    "ops.abs({})",
    "ops.sigmoid({})",
    "ops.relu({})",
    "({} * 0.5)",
]


@st.composite
def valid_specs(draw: st.DrawFn) -> str:
    """A spec built so that every shape lines up: a chain of ops over `x`."""
    rank = draw(st.integers(2, 4))
    dims = [2] + draw(st.lists(st.integers(1, 4), min_size=rank - 1, max_size=rank - 1))
    units = draw(st.integers(1, 5))
    weights: list[str] = []
    expr, last = "x", "x[-1]"
    for _ in range(draw(st.integers(1, 5))):
        step = draw(st.sampled_from(["elementwise", "matmul", "add", "reduce"]))
        name = f"w{len(weights)}"
        if step == "elementwise":
            expr = draw(st.sampled_from(ELEMENTWISE)).format(expr)
        elif step == "matmul":
            weights.append(f'[weights.{name}]\nshape = ["{last}", "units"]\n')
            expr, last = f"ops.matmul({expr}, {name})", "units"
        elif step == "add":
            weights.append(
                f'[weights.{name}]\nshape = ["{last}"]\ninitializer = "ones"\n'
            )
            expr = f"({expr} + {name})"
        else:
            expr = f"ops.sum({expr}, axis=-1, keepdims=True)"
            last = "1"
    return (
        '[layer]\nname = "Prop"\n'
        f'[params]\nunits = {{ type = "int", default = {units}, min = 1 }}\n'
        f"[inputs]\nx = {{ rank = {rank} }}\n"
        + "".join(weights)
        + f'[call]\nexpr = "{expr}"\n'
        + f"[test]\ninput_shapes = {{ x = {dims} }}\n"
    )


@pytest.mark.slow
@PROFILE
@given(text=valid_specs())
def test_random_valid_specs_generate_working_layers(text: str) -> None:
    keras = pytest.importorskip("keras")
    from layergen import testing

    with tempfile.TemporaryDirectory() as scratch:
        spec = Path(scratch) / "prop.toml"
        spec.write_text(text)
        (layer,) = generate([spec], Path(scratch) / "out")
        code = layer.layer_file.content
        ast.parse(code)
        assert format_source(code, "again") == code  # black-stable
        write_plan(layer.files)
        cls = testing.load_layer(str(layer.test_file.path), "prop.py", "Prop")
        shapes = layer.spec.test.input_shapes["x"]
        built = cls()
        built.build(shapes)
        inputs = testing.random_inputs({"x": shapes})["x"]
        eager = built(inputs)
        symbolic = cls()(keras.Input(shape=shapes[1:], batch_size=shapes[0]))
        assert tuple(eager.shape) == tuple(symbolic.shape)
        assert tuple(built.compute_output_shape(shapes)) == tuple(eager.shape)
        keras.backend.clear_session()


MUTATIONS = ("drop", "rename", "retype")
RETYPED = ['"text"', "3", "true", "[1, 2]", "{ a = 1 }", "2.5"]


@st.composite
def mutated_specs(draw: st.DrawFn) -> tuple[str, str]:
    source = draw(st.sampled_from(EXAMPLE_SPECS))
    lines = source.read_text().splitlines()
    keyed = [i for i, line in enumerate(lines) if re.match(r"^\s*[\w\"-]+\s*=", line)]
    index = draw(st.sampled_from(keyed))
    kind = draw(st.sampled_from(MUTATIONS))
    line = lines[index]
    if kind == "drop":
        lines[index] = ""
    elif kind == "rename":
        lines[index] = re.sub(
            r"^(\s*)([\w-]+)", lambda m: m[1] + m[2] + "x", line, count=1
        )
    else:
        key = line.split("=", 1)[0]
        lines[index] = f"{key}= {draw(st.sampled_from(RETYPED))}"
    return source.name, "\n".join(lines) + "\n"


@settings(PROFILE, max_examples=EXAMPLES * 8)
@given(mutated=mutated_specs())
def test_mutated_specs_give_a_layer_or_a_clean_diagnostic(
    mutated: tuple[str, str],
) -> None:
    name, text = mutated
    with tempfile.TemporaryDirectory() as scratch:
        spec = Path(scratch) / name
        spec.write_text(text)
        try:
            (layer,) = generate([spec], Path(scratch) / "out")
        except SpecError as exc:
            assert exc.diagnostics
            assert all(str(d).startswith(f"{spec}:") for d in exc.diagnostics)
            return
        except LayergenError as exc:  # pragma: no cover - would be a bug
            pytest.fail(f"not a spec diagnostic: {exc}")
        compile(layer.layer_file.content, "layer.py", "exec")
        compile(layer.test_file.content, "test.py", "exec")
