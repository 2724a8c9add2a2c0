"""layergen.codegen.literals: spec text becomes literals that mean exactly that
text, whatever it holds, and stay so through black."""

from __future__ import annotations

import ast

import black
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layergen.codegen import literals as lit

HOSTILE_TEXT = [
    "",
    "plain",
    '"""',
    "'''",
    '""""""',
    '"',
    'ends with "',
    '"starts',
    "'single' and \"double\" and '''triple''' and \"\"\"triple\"\"\"",
    '"""+str(open("PWNED","w"))+"""',
    "\\",
    "ends with \\",
    "\\N",
    "a" * 79 + "\\N",
    "\\x00 \\u1234 \\n",
    "nul \x00 byte",
    "{open('PWNED', 'w')}",
    "{{ jinja }} {% raw %} {# c #}",
    "line\nbreak",
    "carriage\rreturn\r\n",
    "tab\there",
    "form\x0cfeed vertical\x0btab \x1c \x85 \u2028 \u2029",
    "  leading and trailing  ",
    "zero\u200bwidth \ufeff bom",
    "non-BMP \U0001f600 \U00010348 \U000e0001",
    "lone surrogate \ud800",
    "# comment\nimport os",
    "x" * 20000,
]


def _black(source: str) -> str:
    return black.format_str(source, mode=black.Mode())


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_value_round_trips_text(text: str) -> None:
    code = lit.value(text)
    assert ast.literal_eval(code) == text
    assert isinstance(ast.parse(code, mode="eval").body, ast.Constant)


def test_value_round_trips_plain_data() -> None:
    data = {"a": [1, 2.5, None, True, ("x", '"""')], "b": -3, 4: {2: "x"}}
    assert ast.literal_eval(lit.value(data)) == data
    assert lit.value(float("inf")) == "float('inf')"
    assert lit.value(float("-inf")) == "float('-inf')"
    nan = eval(lit.value(float("nan")), {"float": float})
    assert nan != nan
    with pytest.raises(TypeError):
        lit.value({None: 2})


def _indented(text: str) -> str:
    """What a class docstring of ``text`` holds: lines after the first
    indented for the class body, the closing quotes on a line of their own."""
    first, *rest = text.split("\n")
    lines = [first] + ["    " + line if line else "" for line in rest]
    return "\n".join(lines) + ("\n    " if rest else "")


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_docstring_means_exactly_the_text_and_black_keeps_it(text: str) -> None:
    literal = lit.docstring(text)
    assert ast.literal_eval(literal) == _indented(text)
    source = f"class A:\n    {literal}\n"
    assert "\x00" not in source and "\r" not in source
    formatted = _black(source)
    (cls,) = ast.parse(formatted).body
    assert ast.get_docstring(cls, clean=False) == _indented(text)
    assert _black(formatted) == formatted


def test_docstring_of_several_lines_is_indented_with_its_own_closing_line() -> None:
    literal = lit.docstring("Summary.\n\nArgs:\n    x: the input.")
    assert literal == '"""Summary.\n\n    Args:\n        x: the input.\n    """'


def test_docstring_stays_stable_when_every_line_is_indented() -> None:
    # Black would move all lines left by their common indentation.
    literal = lit.docstring("Summary.\n  a\n   b")
    source = f"class A:\n    {literal}\n"
    (cls,) = ast.parse(_black(source)).body
    assert ast.get_docstring(cls, clean=False) == "Summary.\n      a\n       b\n    "


def test_docstring_falls_back_to_a_plain_string_when_the_check_fails(
    monkeypatch,
) -> None:
    monkeypatch.setattr(lit, "_docstring_char", lambda char: char)
    assert lit.docstring("nul \x00") == repr("nul \x00")
    assert lit.docstring("a \\N b") == repr("a \\N b")


def _message_value(code: str, **values: object) -> str:
    return eval(f"({code})", {}, values)


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_message_keeps_text_literal_and_shows_only_layergen_values(text: str) -> None:
    code = lit.message([text, " got ", lit.Shown("units"), "."])
    assert _message_value(code, units="U") == f"{text} got 'U'."
    tree = ast.parse(f"({code})", mode="eval")
    fields = [n for n in ast.walk(tree) if isinstance(n, ast.FormattedValue)]
    assert [ast.unparse(f.value) for f in fields] == ["units"]
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Call)]


def test_message_is_wrapped_into_pieces_that_concatenate_to_the_text() -> None:
    words = ["word"] * 40
    code = lit.message([" ".join(words) + " Received: x=", lit.Shown("x", "")])
    lines = code.split("\n")
    assert len(lines) > 3
    assert all(len(line) <= 70 for line in lines)
    assert (
        _message_value(code, x=(None, 3)) == " ".join(words) + " Received: x=(None, 3)"
    )


def test_short_message_is_one_piece() -> None:
    code = lit.message(["Expected `a`. Received: a=", lit.Shown("a")])
    assert code == "f'Expected `a`. Received: a={a!r}'"


@settings(max_examples=200, deadline=None, database=None)
@given(text=st.text(max_size=200))
def test_any_text_round_trips_as_docstring_and_message(text: str) -> None:
    literal = lit.docstring(text)
    (cls,) = ast.parse(_black(f"class A:\n    {literal}\n")).body
    assert ast.get_docstring(cls, clean=False) == _indented(text)
    code = lit.message([text, lit.Shown("v")])
    assert _message_value(code, v=1) == text + "1"
