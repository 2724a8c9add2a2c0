"""Property-based tests (hypothesis): random valid specs give layers that
parse, are black-stable, import, build and agree with Keras on the output
shape; random mutations of valid specs give a layer or a clean diagnostic,
never a traceback; hostile text in every text field gives code that compiles
and does exactly what benign text gives. Examples per test: LAYERGEN_HYPOTHESIS_EXAMPLES (default
small, for CI)."""

from __future__ import annotations

import ast
import doctest
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


def _toml_string(text: str) -> str:
    """A TOML basic string holding exactly ``text``."""
    escaped = "".join(
        f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F else c
        for c in text.replace("\\", "\\\\").replace('"', '\\"')
    )
    return f'"{escaped}"'


HOSTILE_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            '"""+str(open("PWNED","w"))+"""',
            "'''+__import__('os').system('id')+'''",
            '{open("PWNED","w")}',
            "\\N \\x00 \\",
            "\x00 \r\n \u2028 \U0001f600 \t",
            '" + x + "',
            "{{ jinja }} {% raw %}",
            "a" * 79 + "\\N",
        ]
    ),
)
NAMES = st.from_regex(r"[a-z][a-z0-9]{0,8}_[a-z0-9]{1,4}", fullmatch=True)


def _hostile_spec(name: str, doc: str, default: str, other: str, arg: str) -> str:
    # A param's doc must say something: a blank one is a diagnostic.
    param_doc = f", doc = {_toml_string(other)}" if other.strip() else ""
    return (
        f'[layer]\nname = "Prop"\ndoc = {_toml_string(doc)}\n'
        f'[params]\n{name} = {{ type = "str", default = {_toml_string(default)}, '
        f"choices = [{_toml_string(default)}, {_toml_string(other)}] }}\n"
        f'units = {{ type = "int", default = 2, min = 1{param_doc} }}\n'
        "[inputs]\nx = { min_rank = 2 }\n"
        '[sublayers.proj]\nlayer = "Dense"\n'
        f'args = {{ units = "units", activation = {_toml_string(repr(arg))} }}\n'
        f"[checks]\npositive = {_toml_string(f'units > 0 or {name} == {arg!r}')}\n"
        '[call]\nexpr = "proj(x)"\n'
        '[output]\nshape = ["*x[:-1]", "units"]\n'
    )


def _structure(code: str) -> tuple[set[str], ...]:
    """What code does, as opposed to what text it holds: the names it reads,
    the functions it calls, what it imports and the values its f-strings show."""
    tree = ast.parse(code)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    calls = {ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    imports = {
        ast.unparse(n)
        for n in ast.walk(tree)
        if isinstance(n, ast.Import | ast.ImportFrom)
    }
    shown = {
        ast.unparse(n.value)
        for n in ast.walk(tree)
        if isinstance(n, ast.FormattedValue)
    }
    # What doctest (pytest --doctest-modules) would run: layergen's example only.
    doctests = {
        example.source
        for n in ast.walk(tree)
        if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef)
        for example in doctest.DocTestParser().get_examples(
            ast.get_docstring(n, clean=False) or ""
        )
    }
    return names, calls, imports, shown, doctests


@settings(PROFILE, max_examples=EXAMPLES * 4)
@given(
    name=NAMES,
    doc=HOSTILE_TEXT,
    default=HOSTILE_TEXT,
    other=HOSTILE_TEXT,
    arg=HOSTILE_TEXT,
)
def test_hostile_text_in_every_text_field_never_becomes_code(
    name: str, doc: str, default: str, other: str, arg: str
) -> None:
    generated = []
    with tempfile.TemporaryDirectory() as scratch:
        for texts in ((doc, default, other, arg), ("Doc.", "a", "b", "c")):
            spec = Path(scratch) / "prop.toml"
            spec.write_text(_hostile_spec(name, *texts), encoding="utf-8")
            (layer,) = generate([spec], Path(scratch) / "out")
            generated.append([f.content for f in layer.files])
    for hostile, benign in zip(*generated, strict=True):
        compile(hostile, "generated.py", "exec")
        assert _structure(hostile) == _structure(benign)
