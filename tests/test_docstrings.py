"""The generated class docstring, laid out as Keras's layers lay theirs out
(issue 12): Args that say what each argument does, Call arguments, shapes in
words, values with double quotes, and an Example that runs as a doctest."""

from __future__ import annotations

import ast
import doctest
import importlib.util
import os
import textwrap
from pathlib import Path

import pytest

from layergen.codegen.docstrings import AxisWords, param_doc, shown
from layergen.codegen.generate import generate
from layergen.spec.model import Param
from layergen.spec.validate.document import load_spec

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "generated_examples"


def _docstring(write_spec, text: str) -> str:
    path = write_spec(text)
    (layer,) = generate([path], path.parent / "out")
    tree = ast.parse(layer.layer_file.content)
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef))
    return ast.get_docstring(cls) or ""


def _spec(inputs: str, output: str, params: str = "", test: str = "") -> str:
    return textwrap.dedent(f"""
        [layer]
        name = "Probe"
        [params]
        {params}
        [inputs]
        {inputs}
        [call]
        expr = "x"
        [output]
        shape = {output}
        [test]
        reference = "x"
        {test}
        """)


def test_simple_dense_reads_like_a_keras_docstring() -> None:
    spec = load_spec(EXAMPLES / "specs" / "simple_dense.toml")
    (layer,) = generate([EXAMPLES / "specs" / "simple_dense.toml"], EXAMPLES)
    doc = ast.get_docstring(
        next(
            n
            for n in ast.parse(layer.layer_file.content).body
            if isinstance(n, ast.ClassDef)
        )
    )
    assert spec.params[0].doc == "Dimensionality of the output space."
    assert doc == textwrap.dedent("""\
        A fully connected layer: `activation(x @ kernel + bias)`.

        Args:
            units: Dimensionality of the output space. An int >= 1. Defaults to `32`.
            use_bias: Whether the layer adds a bias vector. A bool. Defaults to `True`.
            activation: Activation function applied to the output. A Keras activation
                identifier or object. Defaults to `"relu"`.
            kernel_initializer: Initializer for the `kernel` weights matrix. A Keras
                initializer identifier or object. Defaults to `"glorot_uniform"`.
            **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

        Call arguments:
            x: Input tensor.

        Input shape:
            A tensor of rank >= 2, with shape `(batch_size, ..., input_dim)`.

        Output shape:
            A tensor with shape `(batch_size, ..., units)`.

        Example:

        >>> layer = SimpleDense(units=8)
        >>> y = layer(keras.ops.ones((2, 5, 3)))
        >>> tuple(y.shape)
        (2, 5, 8)""")


@pytest.mark.parametrize(
    ("inputs", "output", "words"),
    [
        ("x = { rank = 3 }", '["x[0]", "x[1]", "units"]', "(batch_size, d1, units)"),
        ("x = { min_rank = 2 }", '["*x[:-1]", "units"]', "(batch_size, ..., units)"),
        ("x = { min_rank = 2 }", '["*x[:]"]', "(batch_size, ..., input_dim)"),
        (
            "x = { min_rank = 3 }",
            '["*x[:-2]", "x[-1] * 2"]',
            "(batch_size, ..., input_dim * 2)",
        ),
        (
            "x = { min_rank = 3 }",
            '["x[0]", "x[1]", "units"]',
            "(batch_size, d1, units)",
        ),
        ("x = { min_rank = 3 }", '["*x[1:]"]', "(..., input_dim)"),
        ("x = { min_rank = 3 }", '["*x[-2:]"]', "(d_minus2, input_dim)"),
        ("x = { rank = 4 }", '["*x[1:3]", "units // 2"]', "(d1, d2, units // 2)"),
        (
            "query = { rank = 3 }\nvalue = { rank = 3 }",
            '["query[0]", "query[1]", "value[-1]"]',
            "(batch_size, query_d1, value_dim)",
        ),
        ("x = { rank = 2 }", '["x[0]", "None"]', "(batch_size, None)"),
        ("x = { rank = 1 }", '["x[0]"]', "(batch_size,)"),
    ],
)
def test_output_shape_in_words(
    write_spec, inputs: str, output: str, words: str
) -> None:
    params = 'units = { type = "int", default = 4 }'
    spec = _spec(inputs, output, params).replace('expr = "x"', 'expr = "x"\n')
    if "query" in inputs:
        spec = spec.replace('expr = "x"', 'expr = "query"').replace(
            'reference = "x"', 'reference = "query"'
        )
    doc = _docstring(write_spec, spec)
    assert f"shape `{words}`." in doc.split("Output shape:")[1]


def test_axis_names_never_take_a_param_name(write_spec) -> None:
    params = 'input_dim = { type = "int", default = 4 }'
    doc = _docstring(
        write_spec, _spec("x = { rank = 2 }", '["x[0]", "x[1]", "input_dim"]', params)
    )
    assert "shape `(batch_size, x_dim, input_dim)`." in doc
    assert "A 2D tensor with shape `(batch_size, x_dim)`." in doc


def test_param_doc_comes_first_then_the_type_and_default() -> None:
    p = Param("mode", "str", "sum", True, choices=("sum", "mean"), doc="How to reduce")
    assert param_doc(p) == (
        'How to reduce. A string, one of "sum" or "mean". Defaults to `"sum"`.'
    )
    required = Param("rate", "float", min=0.0, max=1.0, doc="Rate?")
    assert param_doc(required) == "Rate? A number >= 0.0 and <= 1.0. Required."
    listed = Param("sizes", "list[str]", ["a", 'b"'], True)
    assert param_doc(listed) == 'A list of strings. Defaults to `["a", "b\\""]`.'


def test_a_long_param_doc_wraps_within_the_line_length() -> None:
    p = Param("units", "int", 4, True, min=1, doc="word " * 40)
    lines = param_doc(p).split("\n")
    assert len(lines) > 2 and all(line.startswith("    ") for line in lines[1:])
    # 8 columns of indentation in the class docstring; `units: ` on the first line.
    assert len("units: " + lines[0]) <= 80 and all(len(line) <= 80 for line in lines)


@pytest.mark.parametrize(
    "text", ["relu", 'a"b', "a'b", "back\\slash", "nul\x00", "new\nline", "\U0001f600"]
)
def test_shown_strings_are_double_quoted_python(text: str) -> None:
    code = shown(text)
    assert code.startswith('"') and code.endswith('"') and "\n" not in code
    assert ast.literal_eval(code) == text


def test_call_arguments_name_inputs_training_and_masks(write_spec) -> None:
    spec = textwrap.dedent("""
        [layer]
        name = "Probe"
        [inputs]
        query = { rank = 3 }
        value = { rank = 3 }
        [weights.moving]
        shape = ["query[-1]"]
        trainable = false
        [call]
        training = true
        expr = "query + value + moving"
        [updates]
        moving = "moving * 0.5"
        [mask]
        mode = "consume"
        [test]
        reference = "query + value + moving"
        """)
    doc = _docstring(write_spec, spec)
    section = doc.split("Call arguments:\n")[1].split("\n\n")[0]
    assert section.startswith(
        "    query: The `query` input tensor.\n    value: The `value` input tensor.\n"
        "    training: Python boolean"
    )
    assert "Only in training mode does it update `moving`." in section
    assert "    query_mask: Optional boolean mask of `query`" in section
    assert "    value_mask: Optional boolean mask of `value`" in section


def test_no_example_where_ones_might_not_be_valid_inputs(write_spec) -> None:
    spec = _spec('x = { rank = 2, dtype = "int32" }', '["x[0]", "x[1]"]')
    assert "Example:" not in _docstring(write_spec, spec)


def test_example_without_a_declared_output_shape_stops_at_the_call(write_spec) -> None:
    spec = _spec("x = { rank = 2 }", "[]").replace("[output]\nshape = []\n", "")
    doc = _docstring(write_spec, spec)
    assert doc.endswith(
        "Example:\n\n>>> layer = Probe()\n>>> y = layer(keras.ops.ones((2, 3)))"
    )


def test_axis_words_read_slices_and_checks() -> None:
    spec = load_spec(EXAMPLES / "specs" / "rotary_embedding.toml")
    assert AxisWords(spec).shape("x") == ["batch_size", "d1", "input_dim"]


@pytest.mark.slow
def test_every_example_docstring_runs_as_a_doctest(monkeypatch) -> None:
    """The Example sections are true: doctest runs them on the committed
    examples, with Keras, and they print what they say."""
    monkeypatch.setenv(
        "TF_CPP_MIN_LOG_LEVEL", os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3")
    )
    attempted = 0
    # Imported under their own names, as the other tests import them: a second
    # copy under another name would re-register each class with Keras, and a
    # later serialization test in this process would meet the copy.
    monkeypatch.syspath_prepend(str(EXAMPLES))
    for path in sorted(EXAMPLES.glob("*.py")):
        if path.name.startswith("test_"):
            continue
        module = importlib.import_module(path.stem)
        result = doctest.testmod(module, verbose=False, report=True)
        assert result.failed == 0, path.name
        attempted += result.attempted
    assert attempted >= 30
