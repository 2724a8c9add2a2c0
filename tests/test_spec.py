"""Spec loading and validation: the typed model, and a diagnostic for each rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from layergen.errors import LayergenError, SpecError
from layergen.spec.source_map import SourceMap, format_path
from layergen.spec.validate import load_spec, snake_case

from .conftest import EXAMPLE_SPECS, MINIMAL_SPEC

HEAD = '[layer]\nname = "Scale"\n'
INPUT = "[inputs]\nx = { rank = 3 }\n"
CALL = '[call]\nexpr = "x"\n'


def diagnostics(path: Path) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_spec(path)
    return [str(d) for d in info.value.diagnostics]


@pytest.mark.parametrize("path", EXAMPLE_SPECS, ids=lambda p: p.stem)
def test_examples_load(path: Path) -> None:
    spec = load_spec(path)
    assert spec.expr is not None
    assert spec.test is not None


def test_minimal_spec_defaults(write_spec) -> None:
    spec = load_spec(write_spec(MINIMAL_SPEC))
    assert (spec.name, spec.module, spec.package, spec.kind) == (
        "Scale",
        "scale",
        "layergen",
        "layer",
    )
    assert spec.test.params == {"factor": 2.0}
    assert spec.test.input_shapes == {"x": (2, 3)}
    assert spec.mask_mode == "none"
    assert not spec.training


def test_default_input_is_named_inputs(write_spec) -> None:
    spec = load_spec(write_spec(HEAD + '[call]\nexpr = "ops.abs(inputs)"\n'))
    assert [i.name for i in spec.inputs] == ["inputs"]


def test_updates_imply_training_and_random_implies_seed(write_spec) -> None:
    spec = load_spec(
        write_spec(
            HEAD
            + INPUT
            + '[weights.count]\nshape = []\ninitializer = "zeros"\ntrainable = false\n'
            + '[call]\nexpr = "x + random.normal(ops.shape(x))"\n'
            + '[updates]\ncount = "count + 1"\n'
        )
    )
    assert spec.training
    assert spec.uses_random


def test_unused_weight_is_a_warning(write_spec) -> None:
    spec = load_spec(write_spec(HEAD + INPUT + "[weights.w]\nshape = [2]\n" + CALL))
    assert [str(w) for w in spec.warnings if "weights.w" in str(w)] == [
        f"{spec.spec_path}:5:2: warning: weights.w: weight `w` is never used "
        "in `[call]` or `[updates]`"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[layer\nname = "X"\n', "1:7: error: invalid TOML: Expected ']'"),
        ('[call]\nexpr = "x"\n', "1:1: error: layer: missing required key `name`"),
        (
            '[layer]\nname = "scale"\n' + CALL,
            "2:1: error: layer.name: `scale` is not a PascalCase",
        ),
        (
            "[layer]\nname = 3\n" + CALL,
            "2:1: error: layer.name: expected a string, found an integer",
        ),
        (
            HEAD + 'nmae = "x"\n' + CALL,
            "3:1: error: layer.nmae: unknown key `nmae` - did you mean `name`?",
        ),
        (
            HEAD + 'module = "../evil"\n' + CALL,
            "error: layer.module: `../evil` is not a module name",
        ),
        (
            HEAD + 'package = "a/b"\n' + CALL,
            "error: layer.package: `a/b` is not a dotted Python package",
        ),
        (
            HEAD + 'kind = "cel"\n' + CALL,
            'error: layer.kind: expected "layer" or "cell", found "cel"',
        ),
        (
            HEAD + "[cal]\nexpr = 'x'\n",
            "3:2: error: cal: unknown key `cal` - did you mean `call`?",
        ),
        (HEAD + INPUT, "error: call: missing required key `expr`"),
        (
            HEAD + '[params]\nunits = { type = "integer" }\n' + INPUT + CALL,
            "4:11: error: params.units.type: `integer` is not a param type - did you mean `int`?",
        ),
        (
            HEAD + '[params]\nunits = { type = "int", default = "8" }\n' + INPUT + CALL,
            "4:25: error: params.units.default: default '8' is not an int",
        ),
        (
            HEAD
            + '[params]\nunits = { type = "int", default = 0, min = 1 }\n'
            + INPUT
            + CALL,
            "default 0 is below min = 1",
        ),
        (
            HEAD
            + '[params]\nmode = { type = "str", default = "max", choices = ["sum"] }\n'
            + INPUT
            + CALL,
            "default 'max' is not one of the choices ['sum']",
        ),
        (
            HEAD + '[params]\nflag = { type = "bool", min = 1 }\n' + INPUT + CALL,
            "`min` needs an int or float param",
        ),
        (
            HEAD
            + '[params]\nact = { type = "activation", default = "rellu" }\n'
            + INPUT
            + CALL,
            "`rellu` is not a Keras activation - did you mean `relu`?",
        ),
        (
            HEAD + '[params]\nclass = { type = "int", default = 1 }\n' + INPUT + CALL,
            "param `class` is a Python keyword",
        ),
        (
            HEAD
            + '[params]\ntrainable = { type = "bool", default = true }\n'
            + INPUT
            + CALL,
            "param `trainable` is reserved",
        ),
        (
            HEAD + '[params]\nweights = { type = "int", default = 1 }\n' + INPUT + CALL,
            "param `weights` is reserved",
        ),
        (HEAD + "[inputs]\nbuilt = {}\n" + CALL, "input `built` is reserved"),
        (
            HEAD + '[params]\nx = { type = "int", default = 1 }\n' + INPUT + CALL,
            "input `x` is already declared as a param",
        ),
        (
            HEAD + "[inputs]\nx = { rank = 0 }\n" + CALL,
            "inputs.x.rank: expected an int >= 1, found 0",
        ),
        (
            HEAD + '[inputs]\nx = { dtype = "flaot32" }\n' + CALL,
            "unknown dtype `flaot32` - did you mean `float32`?",
        ),
        (
            HEAD + INPUT + "[weights.w]\nshape = ['y[-1]']\n" + CALL,
            "6:10: error: weights.w.shape[0]: `y[-1]` does not index an input",
        ),
        (
            HEAD + INPUT + "[weights.w]\nshape = ['x[3]']\n" + CALL,
            "axis 3 is out of range for input `x` of rank 3",
        ),
        (
            HEAD + INPUT + "[weights.w]\nshape = [-2]\n" + CALL,
            "a dimension cannot be negative",
        ),
        (
            HEAD + INPUT + "[weights.w]\nshape = ['x[-1] / 2']\n" + CALL,
            "`/` gives a float: use `//`",
        ),
        (
            HEAD + INPUT + "[weights.w]\ninitializer = 'zeros'\n" + CALL,
            "weights.w: missing required key `shape`",
        ),
        (
            HEAD
            + INPUT
            + "[weights.w]\nshape = [2]\ninitializer = 'glorot_unifrom'\n"
            + CALL,
            "did you mean `glorot_uniform`?",
        ),
        (
            HEAD + INPUT + "[weights.w]\nshape = [2]\ntrainable = 'no'\n" + CALL,
            "expected true or false, found a string",
        ),
        (
            HEAD
            + '[params]\nunits = { type = "int", default = 2 }\n'
            + INPUT
            + "[weights.w]\nshape = [2]\nif = 'units'\n"
            + CALL,
            "param `units` is an int, not a bool",
        ),
        (
            HEAD + INPUT + "[sublayers.p]\nlayer = 'Dens'\n" + CALL,
            "`Dens` is neither a keras.layers class nor a layer of this run - did "
            "you mean `Dense`?",
        ),
        (
            HEAD + INPUT + "[sublayers.p]\nargs = {}\n" + CALL,
            "sublayers.p: missing required key `layer`",
        ),
        (
            HEAD + INPUT + "[call]\nexpr = 'ops.matmull(x, x)'\n",
            "6:1: error: call.expr: `ops.matmull` is not in keras.ops - did you mean `ops.matmul`?",
        ),
        (
            HEAD + INPUT + "[call]\nsteps = ['h = g + x']\nexpr = 'h'\n",
            "6:10: error: call.steps[0]: unknown name `g`",
        ),
        (
            HEAD + INPUT + "[call]\nexpr = 'x if training else x'\n",
            "`training` needs `training = true` in `[call]`",
        ),
        (HEAD + INPUT + "[call]\nexpr = 'x * mask'\n", "`mask` needs a `[mask]` mode"),
        (
            HEAD
            + INPUT
            + "[weights.w]\nshape = [2]\n[call]\nexpr = 'x + w'\n[updates]\nw = 'w + 1'\n",
            "weight `w` is trainable",
        ),
        (
            HEAD + INPUT + CALL + "[updates]\nv = 'v + 1'\n",
            "updates.v: `v` is not a declared weight",
        ),
        (
            HEAD + INPUT + CALL + "[mask]\nmode = 'consume'\nexpr = 'mask'\n",
            '`expr` needs `mode = "compute"`',
        ),
        (
            HEAD + INPUT + CALL + "[mask]\nmode = 'compute'\n",
            'mode "compute" needs `expr`',
        ),
        (HEAD + INPUT + CALL + "[mask]\nmode = 'keep'\n", "unknown mask mode `keep`"),
        (
            '[layer]\nname = "C"\nkind = "cell"\n' + CALL,
            "a cell needs a `[states]` table",
        ),
        (
            '[layer]\nname = "C"\nkind = "cell"\n[states]\nh = { shape = [2] }\n'
            + CALL,
            "missing `[call.next_states]` entry for state `h`",
        ),
        (
            HEAD + INPUT + CALL + "[test]\ninput_shapes = { x = [2, 3] }\n",
            "input `x` has rank 3, shape has 2 dims",
        ),
        (
            HEAD + INPUT + CALL + "[test]\ninput_shapes = { y = [2, 3] }\n",
            "`y` is not a declared input",
        ),
        (
            HEAD + '[params]\nunits = { type = "int" }\n' + INPUT + CALL,
            "required param `units` needs a value in `[test] params`",
        ),
        (
            HEAD
            + '[params]\nunits = { type = "int", default = 2, max = 4 }\n'
            + INPUT
            + CALL
            + "[test]\nparams = { units = 9 }\n",
            "test.params.units: 9 is above max = 4",
        ),
        (
            HEAD + INPUT + CALL + "[test]\nparams = { units = 9 }\n",
            "`units` is not a declared param",
        ),
        (HEAD + INPUT + CALL + "[test]\nreference = 'x.mean()'\n", "test.reference"),
        (
            HEAD + INPUT + "[call]\nexpr = 'x'\nnext_states = { h = 'x' }\n",
            '`next_states` is only for `kind = "cell"`',
        ),
        (
            HEAD + INPUT + CALL + "[checks]\nok = 'units > 1'\n",
            "checks.ok: unknown name `units`",
        ),
    ],
)
def test_bad_spec_diagnostics(write_spec, text: str, expected: str) -> None:
    found = diagnostics(write_spec(text))
    assert any(expected in line for line in found), found


def test_all_errors_are_reported_at_once(write_spec) -> None:
    text = (
        HEAD
        + "bogus = 1\n[params]\nunits = { type = 'nope' }\n"
        + INPUT
        + "[call]\nexpr = 'y'\n"
    )
    path = write_spec(text)
    found = diagnostics(path)
    assert len(found) == 3
    assert all(line.startswith(f"{path}:") for line in found)


def test_unreadable_spec_is_a_clean_error(tmp_path: Path) -> None:
    with pytest.raises(LayergenError, match="cannot read spec"):
        load_spec(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("SelfAttention", "self_attention"),
        ("MLPBlock", "mlp_block"),
        ("CustomConv2D", "custom_conv2d"),
        ("SimpleDense", "simple_dense"),
    ],
)
def test_snake_case(name: str, module: str) -> None:
    assert snake_case(name) == module


def test_source_map_locates_keys_inline_tables_and_array_elements() -> None:
    text = (
        "[params]\n"
        'sizes = { type = "list[int]", default = [64, 32] }\n'
        "[call]\n"
        "steps = [\n"
        '  "h = x",  # a comment with [brackets]\n'
        "  'g = h',\n"
        "]\n"
        'expr = "g"\n'
    )
    source = SourceMap(text)
    assert source.locate(("params", "sizes", "default", 1)) == (2, 46)
    assert source.locate(("call", "steps", 1)) == (6, 3)
    assert source.locate(("call", "expr")) == (8, 1)
    assert source.locate(("call", "missing")) == (3, 2)
    assert format_path(("weights", "kernel", "shape", 0)) == "weights.kernel.shape[0]"


def test_float32_constants_are_flagged_for_mixed_precision(write_spec) -> None:
    spec = load_spec(
        write_spec(
            HEAD
            + '[params]\nunits = { type = "int", default = 4 }\n'
            + INPUT
            + "[call]\nsteps = ['s = x / ops.sqrt(float(units))', 't = x / float(units) ** 0.5']\n"
            + "expr = 's + t + ops.ones(ops.shape(x), dtype=x.dtype)'\n"
        )
    )
    warnings = [str(w) for w in spec.warnings if "makes a float32" in str(w)]
    assert len(warnings) == 1, warnings
    assert (
        "call.steps[0]: `ops.sqrt(float(units))` makes a float32 tensor" in warnings[0]
    )
    assert "Use Python numbers (`float(d) ** 0.5`)" in warnings[0]


def test_one_mistake_gives_one_error(write_spec) -> None:
    """A weight whose shape fails, and a step that fails, still bind their
    names: what uses them later gets no knock-on error."""
    text = """
[layer]
name = "Und"
[params]
units = { type = "int", default = 4 }
[inputs]
x = { min_rank = 2 }
[weights.kernel]
shape = ["x[-1]", "num_units"]
[call]
steps = ["h = ops.matmul(x, kernel) + missing", "h = h + 1.0"]
expr = "h"
[test]
reference = "x @ kernel + 1"
"""
    with pytest.raises(SpecError) as caught:
        load_spec(write_spec(text))
    messages = [d.message for d in caught.value.diagnostics]
    assert len(messages) == 2, messages
    assert "unknown name `num_units`" in messages[0]
    assert "unknown name `missing`" in messages[1]


def test_a_table_created_by_a_dotted_header_is_located_there(write_spec) -> None:
    text = '[layer]\nname = "T"\n[inputs]\nx = {}\n[weight.bias]\nshape = [2]\n'
    text += '[call]\nexpr = "x"\n'
    with pytest.raises(SpecError) as caught:
        load_spec(write_spec(text))
    first, *_ = caught.value.diagnostics
    assert (first.key, first.line) == ("weight", 5)
