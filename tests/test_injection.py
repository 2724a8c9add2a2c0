"""Issue 11's attacks: spec text that used to run as code when the generated
module was imported or its layer given a bad value. Each is generated and then
run for real (against a stand-in for Keras, so no TensorFlow is imported): no
`PWNED` file appears, and the text comes back unchanged where it belongs."""

from __future__ import annotations

import ast
import doctest
import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from layergen.codegen.docstrings import shown
from layergen.codegen.generate import generate

from .conftest import MINIMAL_SPEC

PAYLOAD = '"""+str(open("PWNED","w"))+"""'


class _Layer:
    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs


def _stand_in_keras() -> types.ModuleType:
    keras = types.ModuleType("keras")
    keras.saving = types.SimpleNamespace(
        register_keras_serializable=lambda package: lambda cls: cls
    )
    keras.layers = types.SimpleNamespace(Layer=_Layer)
    keras.InputSpec = lambda **kwargs: kwargs
    keras.ops = types.SimpleNamespace()
    return keras


def _generate(tmp_path: Path, spec: str) -> str:
    path = tmp_path / "spec.toml"
    path.write_text(spec)
    (layer,) = generate([path], tmp_path / "out")
    return layer.layer_file.content


def _import(code: str, tmp_path: Path, monkeypatch) -> dict[str, Any]:
    """Run the module's code the way an import would, in ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "keras", _stand_in_keras())
    namespace: dict[str, Any] = {"__name__": "generated"}
    exec(compile(code, "generated.py", "exec"), namespace)
    return namespace


def test_str_default_with_triple_quotes_stays_text(tmp_path, monkeypatch) -> None:
    param = f's = {{ type = "str", default = {json.dumps(PAYLOAD)} }}'
    spec = MINIMAL_SPEC.replace("[params]\n", f"[params]\n{param}\n")
    namespace = _import(_generate(tmp_path, spec), tmp_path, monkeypatch)
    assert not (tmp_path / "PWNED").exists()
    layer = namespace["Scale"]()
    assert layer.s == PAYLOAD
    # Shown with the double quotes Keras's docstrings use, as valid Python.
    assert "Defaults to `" + shown(PAYLOAD) + "`." in namespace["Scale"].__doc__
    assert ast.literal_eval(shown(PAYLOAD)) == PAYLOAD


def test_choice_with_braces_is_never_formatted(tmp_path, monkeypatch) -> None:
    choice = '{open("PWNED","w")}'
    param = (
        f's = {{ type = "str", default = "a", choices = ["a", {json.dumps(choice)}] }}'
    )
    spec = MINIMAL_SPEC.replace("[params]\n", f"[params]\n{param}\n")
    namespace = _import(_generate(tmp_path, spec), tmp_path, monkeypatch)
    with pytest.raises(ValueError) as raised:
        namespace["Scale"](s="b")
    assert not (tmp_path / "PWNED").exists()
    assert choice in str(raised.value) and "Received: s='b'" in str(raised.value)
    assert namespace["Scale"](s=choice).s == choice


def test_output_shape_source_is_not_pasted_into_the_docstring(
    tmp_path, monkeypatch
) -> None:
    dim = f"units  #{PAYLOAD}"
    spec = (
        MINIMAL_SPEC.replace(
            "[params]\n", '[params]\nunits = { type = "int", default = 3 }\n'
        )
        + f'\n[output]\nshape = ["*x[:-1]", {json.dumps(dim)}]\n'
    )
    namespace = _import(_generate(tmp_path, spec), tmp_path, monkeypatch)
    assert not (tmp_path / "PWNED").exists()
    doc = namespace["Scale"].__doc__
    assert "shape `(batch_size, ..., units)`." in doc and "PWNED" not in doc


@pytest.mark.parametrize(
    "doc", ["a\x00b", "a" * 79 + "\\N", 'ends with """', "x\\", "\U0001f600 {x}"]
)
def test_any_doc_gives_a_module_that_compiles_with_that_docstring(
    tmp_path, monkeypatch, doc: str
) -> None:
    spec = MINIMAL_SPEC.replace(
        'name = "Scale"', f'name = "Scale"\ndoc = {json.dumps(doc, ensure_ascii=False)}'
    )
    code = _generate(tmp_path, spec)
    namespace = _import(code, tmp_path, monkeypatch)
    summary = namespace["Scale"].__doc__.split("\n\n")[0]
    assert summary == doc


@pytest.mark.parametrize(
    "doc",
    [
        PAYLOAD,
        '{open("PWNED","w")}',
        "a\x00b \\N \U0001f600",
        'ends with """',
        "x\\",
        "Two lines\n\nArgs:\n    fake: section",
        ">>> open('PWNED', 'w')",
        "x" * 72 + " >>> open('PWNED', 'w')",
    ],
)
def test_any_param_doc_stays_text_in_args_and_is_never_a_doctest(
    tmp_path, monkeypatch, doc: str
) -> None:
    param = f'units = {{ type = "int", default = 3, doc = {json.dumps(doc, ensure_ascii=False)} }}'
    spec = MINIMAL_SPEC.replace("[params]\n", f"[params]\n{param}\n")
    namespace = _import(_generate(tmp_path, spec), tmp_path, monkeypatch)
    assert not (tmp_path / "PWNED").exists()
    text = namespace["Scale"].__doc__
    args = text.split("Args:\n", 1)[1].split("\n\n", 1)[0]
    entry = args.split("\n        factor:", 1)[0].removeprefix("        units: ")
    # The doc, its whitespace collapsed as the Args entry wraps it, and then
    # layergen's sentence about the type and default.
    words = " ".join(entry.replace("\u00a0>>>", ">>>").split())
    assert words.startswith(" ".join(doc.split()))
    assert words.endswith("An int. Defaults to `3`.")
    # doctest (and pytest --doctest-modules) finds only layergen's example.
    examples = doctest.DocTestParser().get_examples(text)
    assert [e.source for e in examples] == [
        "layer = Scale()\n",
        "y = layer(keras.ops.ones((2, 3)))\n",
    ]


def test_a_summary_line_that_looks_like_a_doctest_is_never_run(
    tmp_path, monkeypatch
) -> None:
    spec = MINIMAL_SPEC.replace(
        'name = "Scale"',
        "name = \"Scale\"\ndoc = \"Scales.\\n\\n>>> open('PWNED', 'w')\"",
    )
    namespace = _import(_generate(tmp_path, spec), tmp_path, monkeypatch)
    text = namespace["Scale"].__doc__
    assert "\u00a0>>> open('PWNED', 'w')" in text
    sources = [e.source for e in doctest.DocTestParser().get_examples(text)]
    assert not any("PWNED" in source for source in sources)


def test_error_messages_format_only_layergen_values(tmp_path) -> None:
    spec = MINIMAL_SPEC.replace(
        "[params]\n",
        '[params]\nmode = { type = "str", default = "a", choices = ["a", "{x}"] }\n'
        'n = { type = "int", default = 2, min = 1 }\n',
    )
    tree = ast.parse(_generate(tmp_path, spec))
    shown = {
        ast.unparse(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.FormattedValue)
    }
    assert shown <= {"mode", "n", "factor", "input_shape"}


def test_a_package_directory_name_never_becomes_an_import_statement(
    tmp_path: Path,
) -> None:
    # Issue 11's sibling: the test imports a layer in a package by its dotted
    # path, and a directory name is text too.
    out = tmp_path / "os import path;print('PWNED');from os"
    out.mkdir()
    (out / "__init__.py").write_text("")
    spec = tmp_path / "scale.toml"
    spec.write_text(MINIMAL_SPEC)
    (layer,) = generate([spec], out)
    tree = ast.parse(layer.test_file.content)
    calls = {ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert "print" not in calls
    assert "testing.load_layer" in calls
