"""Diagnostics point at the line and column where the key is written, and
name it as TOML would (quoted when it is not a bare key)."""

from __future__ import annotations

import pytest

from layergen.spec.source_map import SourceMap, format_path

SINGLE_QUOTED_KEY = """\
[layer]
name = "Scale"

[params]
'units' = { type = "integ" }
"""
ESCAPED_TRIPLE_QUOTE = '''\
[layer]
name = "Scale"
doc = """
a \\""" inside
[params]
foo = 1
"""
kind = "bad"
'''
DOTTED_QUOTED_KEY = """\
[layer]
name = "Scale"
[params]
"units.count" = { type = "int", default = 1 }
'a.b'.c = 2
"""
INLINE_QUOTED_KEYS = """\
[test]
params = { 'rate' = 0.5, "odd key" = 1 }
"""


@pytest.mark.parametrize(
    ("text", "path", "position"),
    [
        (SINGLE_QUOTED_KEY, ("params", "units"), (5, 1)),
        (SINGLE_QUOTED_KEY, ("params", "units", "type"), (5, 13)),
        (ESCAPED_TRIPLE_QUOTE, ("layer", "kind"), (8, 1)),
        (ESCAPED_TRIPLE_QUOTE, ("layer", "doc"), (3, 1)),
        (DOTTED_QUOTED_KEY, ("params", "units.count"), (4, 1)),
        (DOTTED_QUOTED_KEY, ("params", "units.count", "type"), (4, 19)),
        (DOTTED_QUOTED_KEY, ("params", "a.b", "c"), (5, 1)),
        (INLINE_QUOTED_KEYS, ("test", "params", "rate"), (2, 12)),
        (INLINE_QUOTED_KEYS, ("test", "params", "odd key"), (2, 26)),
    ],
)
def test_keys_are_located_where_they_are_written(
    text: str, path: tuple[str, ...], position: tuple[int, int]
) -> None:
    assert SourceMap(text).locate(path) == position


def test_a_key_inside_a_multiline_string_is_not_a_key() -> None:
    positions = SourceMap(ESCAPED_TRIPLE_QUOTE).positions
    assert ("params", "foo") not in positions
    assert ("params",) not in positions


def test_paths_quote_keys_that_are_not_bare() -> None:
    assert format_path(("weights", "kernel", "shape", 0)) == "weights.kernel.shape[0]"
    assert format_path(("params", "units.count")) == 'params."units.count"'
    assert format_path(("call", "next_states", "h[x")) == 'call.next_states."h[x"'
    assert format_path(("params", 'a"b')) == 'params."a\\"b"'


def test_diagnostic_names_a_quoted_key_and_its_line(cli, write_spec) -> None:
    spec = write_spec(DOTTED_QUOTED_KEY + '[call]\nexpr = "inputs"\n')
    result = cli("validate", spec)
    assert result.exit_code == 2
    assert f'{spec}:4:1: error: params."units.count": ' in result.output
