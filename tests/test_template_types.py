"""layergen's templates print only what the views typed: code
(``literals.Code``), numbers and flags, and spec text (``literals.Text``) as a
literal. A plain string reaching their output is layergen's bug: a view that
built text without saying it is code. A user's override may compute strings;
those become literals."""

from __future__ import annotations

import pytest

from layergen.codegen import render
from layergen.codegen.environment import make_environment
from layergen.codegen.layer_view import LayerView
from layergen.codegen.literals import Code, Text
from layergen.errors import InternalError
from layergen.spec.validate import load_spec

from .conftest import MINIMAL_SPEC


def test_code_numbers_and_flags_print_as_they_are_text_as_a_literal() -> None:
    template = make_environment(None).from_string("{{ a }} {{ b }} {{ c }} {{ d }}")
    printed = template.render(a=Code("self.units"), b=3, c=True, d=Text('x"\n'))
    assert printed == "self.units 3 True 'x\"\\n'"


@pytest.mark.parametrize("value", ["import os", ["a"], None, {"a": 1}])
def test_anything_else_is_an_internal_error(value) -> None:
    template = make_environment(None).from_string("x = {{ value }}")
    with pytest.raises(InternalError, match="no view typed as code"):
        template.render(value=value)


def test_joining_keeps_code_only_when_every_part_is_code() -> None:
    template = make_environment(None).from_string('{{ items | join(", ") }}')
    assert template.render(items=[Code("a"), 2]) == "a, 2"
    with pytest.raises(InternalError):
        template.render(items=[Code("a"), "b"])


def test_an_override_may_print_strings_it_computes_as_literals(tmp_path) -> None:
    template = make_environment(tmp_path).from_string('{{ "x" ~ y }}')
    assert template.render(y="; import os") == "'x; import os'"


def test_a_view_that_hands_a_template_a_plain_string_fails_rendering(
    write_spec, monkeypatch
) -> None:
    spec = load_spec(write_spec(MINIMAL_SPEC))
    context = LayerView.context

    def untyped(self):
        found = context(self)
        found["class_name"] = str(found["class_name"])  # text, not Code
        return found

    monkeypatch.setattr(LayerView, "context", untyped)
    with pytest.raises(InternalError, match="printed str 'Scale'"):
        render.render_layer(spec)
