"""An adversary's specs: what used to crash, hang or run past validate.

Each case here broke layergen before its fix: valid specs that ended in an
internal error in ``new``, values that ``validate`` computed without bound, and
constants that the generated layer or test would have computed without bound.
Bad specs with their exact diagnostics are in tests/bad_specs/adversary_*.
"""

from __future__ import annotations

import json
import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layergen.codegen.generate import generate
from layergen.errors import SpecError
from layergen.spec import expressions as ex
from layergen.spec.evaluation import TooLargeError, evaluate
from layergen.spec.validate import load_spec

from .conftest import EXAMPLE_SPECS

LIST_PARAM_CHECK = """
[layer]
name = "Atk"

[params]
units = {{ type = "int", default = 4, min = 1 }}
sizes = {{ type = "list[int]", default = [2, 4] }}

[checks]
c = "{check}"

[inputs]
x = {{ min_rank = 2 }}

[weights.kernel]
shape = ["x[-1]", "units"]

[call]
expr = "ops.matmul(x, kernel)"

[test]
input_shapes = {{ x = [2, 3] }}
reference = "x @ kernel"
"""


@pytest.mark.parametrize(
    "check", ["sizes[0] % 2 == 0", "sizes[units - 3] > 0", "sizes[-1] == units"]
)
def test_a_check_indexing_a_list_param_is_an_init_check(
    cli, write_spec, tmp_path, check
) -> None:
    """``sizes[0]`` is not an input dimension: it was taken for one (an
    internal error, KeyError 'sizes' or ValueError from literal_eval)."""
    spec = write_spec(LIST_PARAM_CHECK.format(check=check))
    assert cli("validate", spec).exit_code == 0
    result = cli("new", spec, "-o", tmp_path / "out", "--no-test")
    assert result.exit_code == 0, result.output
    code = (tmp_path / "out" / "atk.py").read_text()
    checked = code[code.index("def __init__") : code.index("super().__init__")]
    assert "sizes[" in checked  # checked in __init__, on the argument
    assert "sizes" not in code[code.index("def build") : code.index("def call")]


def test_input_axes_reads_only_inputs() -> None:
    node = ex.parse_expression("sizes[units] + sizes[0] + x[-1] + y[1]")
    assert sorted(ex.input_axes(node, {"x", "y"})) == [("x", -1), ("y", 1)]
    assert ex.input_axes(node, {"x"}) == [("x", -1)]


@pytest.mark.parametrize(
    "source",
    [
        "1 << 10**15",  # was a MemoryError: the shift of 1 was not refused
        "-1 << 10**15",
        "'%0999999999d' % 1",  # a 1 GB string, built before being refused
        "9**9**9",
        "'a' * 10**12",
        "list(range(10**18))",
        # 4096 lists, but 16 million items to compare: a hang
        "[[0] * 4096] * 4096 == [[0] * 4096] * 4096",
    ],
)
def test_evaluate_refuses_before_computing(source: str) -> None:
    start = time.perf_counter()
    with pytest.raises(TooLargeError):
        evaluate(ex.parse_expression(source), {})
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize("source", ["1 << 100", "0 << 10**15", "2**256", "(-1)**10**9"])
def test_evaluate_still_computes_small_values(source: str) -> None:
    assert evaluate(ex.parse_expression(source), {}) == eval(source)  # noqa: S307


def test_huge_test_values_validate_quickly(cli, write_spec) -> None:
    """A bad spec made of large numbers everywhere is refused, fast."""
    dims = ", ".join(['"units * units * units * units"'] * 8)
    spec = write_spec(
        LIST_PARAM_CHECK.format(check="sizes[0] > 0")
        .replace('"x[-1]", "units"', dims)
        .replace("[2, 3]", "[100000, 100000, 100000]")
    )
    start = time.perf_counter()
    result = cli("validate", spec)
    assert time.perf_counter() - start < 5
    assert result.exit_code == 2
    assert "internal error" not in result.output


@pytest.mark.parametrize(
    "expr",
    [
        "ops.clip(ops.matmul(x, kernel), 0, 10**9)",  # a bound, not a size
        "ops.matmul(x, kernel) + ops.arange(units, dtype=x.dtype)",
        "ops.matmul(x, kernel) + ops.ones((1024, 1024), dtype=x.dtype)[0, :units]",
        "ops.matmul(x, kernel) * (2**200 // 2**199)",
    ],
)
def test_sizes_within_the_limits_validate(cli, write_spec, expr) -> None:
    spec = write_spec(
        LIST_PARAM_CHECK.format(check="sizes[0] > 0").replace(
            '"ops.matmul(x, kernel)"', f'"{expr}"'
        )
    )
    result = cli("validate", spec)
    assert result.exit_code == 0, result.output


# Fragments an adversary puts into expressions: unbounded constants, nested
# repetitions, loops over functions, out-of-range axes, tensors too large.
PAYLOADS = [
    "10**10**10",
    "1 << 10**15",
    "'%0999999999d' % 1",
    "[[[0] * 4096] * 4096] * 4096 == [[[0] * 4096] * 4096] * 4096",
    "max(range(10**18))",
    "ops.while_loop(bool, abs, (1,))[0]",
    "ops.sum(ops.ones((100000, 100000)))",
    "np.sum(np.ones((100000, 100000)))",
    "x[7]",
    "sizes[0]",
    "units if units else 10**10**10",
    "len([1] * 10**9)",
]


STRING = re.compile(r'"([^"\\\n]*)"(?!\s*=)')  # a basic string, not a key


@settings(max_examples=40, deadline=None, database=None)
@given(data=st.data())
def test_adversarial_fragments_never_crash_or_hang(tmp_path_factory, data) -> None:
    """Any example with a fragment put into any of its strings: validate
    answers within seconds, and a spec it accepts generates."""
    source = data.draw(st.sampled_from(EXAMPLE_SPECS))
    text = source.read_text()
    found = data.draw(st.sampled_from(list(STRING.finditer(text))))
    payload = data.draw(st.sampled_from(PAYLOADS))
    value = data.draw(
        st.sampled_from([payload, f"{found[1]} + {payload}", f"({payload})"])
    )
    text = text[: found.start()] + json.dumps(value) + text[found.end() :]
    directory = tmp_path_factory.mktemp("spec")
    spec_path = directory / source.name
    spec_path.write_text(text)
    start = time.perf_counter()
    try:
        load_spec(spec_path)
    except SpecError:
        return
    finally:
        assert time.perf_counter() - start < 5
    generate([spec_path], directory / "out")


def test_the_default_test_shape_has_every_declared_dim(cli, write_spec, tmp_path):
    """min_rank 8 without [test] input_shapes: the default test input had 6
    dims, and every generated test failed in build()."""
    spec = write_spec(
        LIST_PARAM_CHECK.format(check="sizes[0] > 0")
        .replace("min_rank = 2", "min_rank = 8")
        .replace("input_shapes = { x = [2, 3] }", "")
    )
    result = cli("new", spec, "-o", tmp_path / "out", "--no-test")
    assert result.exit_code == 0, result.output
    test_code = (tmp_path / "out" / "test_atk.py").read_text()
    assert 'input_shapes={"x": (2, 3, 4, 5, 6, 7, 2, 3)}' in test_code
