"""The expression allowlist: what is accepted, what is rejected, and the rewrite."""

from __future__ import annotations

import ast

import pytest

from layergen.spec import expressions as ex
from layergen.spec.evaluation import evaluate

SCOPE = {
    "x": ex.Symbol(ex.INPUT),
    "kernel": ex.Symbol(ex.WEIGHT),
    "units": ex.Symbol(ex.PARAM, param_type="int"),
    "activation": ex.Symbol(ex.PARAM, param_type="activation"),
    "proj": ex.Symbol(ex.SUBLAYER),
    "blocks": ex.Symbol(ex.SUBLAYER_LIST),
    "ops": ex.Symbol(ex.MODULE, namespace="ops"),
    "random": ex.Symbol(ex.MODULE, namespace="random"),
    "activations": ex.Symbol(ex.MODULE, namespace="activations"),
    "training": ex.Symbol(ex.FLAG),
    "float": ex.Symbol(ex.BUILTIN),
}


@pytest.mark.parametrize(
    "source",
    [
        "ops.matmul(x, kernel)",
        "activation(x) if training else x",
        "ops.nn.gelu(x)",
        "ops.linalg.norm(x, axis=-1)",
        "random.dropout(x, 0.5)",
        "activations.relu(x)",
        "proj(x, training=training)",
        "x[..., :units] * float(units) ** 0.5",
        "ops.reshape(x, (ops.shape(x)[0], -1, units))",
        "x.shape[-1] + 1",
        "ops.cast(x, x.dtype)",
        "x if units > 2 and not training else -x",
    ],
)
def test_accepts(source: str) -> None:
    ex.check_expression(ex.parse_expression(source), SCOPE)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "ops.matmull(x, kernel)",
            "`ops.matmull` is not in keras.ops - did you mean `ops.matmul`?",
        ),
        ("unit * x", "unknown name `unit` - did you mean `units`?"),
        ("__import__('os').system('id')", "unknown name `__import__`"),
        ("ops.__class__", "private attribute `.__class__`"),
        ("x.__dict__", "private attribute `.__dict__`"),
        ("getattr(ops, 'matmul')", "unknown name `getattr`"),
        ("eval('1')", "unknown name `eval`"),
        ("open('f')", "unknown name `open`"),
        ("lambda: x", "a lambda is not allowed"),
        ("{v for v in x}", "a comprehension is not allowed"),
        ("(y := x)", "the walrus operator `:=` is not allowed"),
        ("f'{x}'", "an f-string is not allowed"),
        ("{'a': x}", "a dict literal is not allowed"),
        ("units.real", "attribute access on param `units` is not allowed"),
        ("x.numpy()", "only functions of `ops`, `random` and `activations`"),
        ("units(x)", "param `units` cannot be called"),
        ("kernel(x)", "weight `kernel` cannot be called"),
        ("ops", "`ops` is a module"),
        ("ops.nn.nothing(x)", "`ops.nn.nothing` is not in keras.ops.nn"),
        ("ops.matmul(*x)", "`*` unpacking is not allowed"),
        ("x; y", "invalid Python expression"),
        ("x\nimport os", "invalid Python expression"),
        ("b'raw'", "constant b'raw' is not allowed"),
        ("ops.matmul(x, **kernel)", "`**kwargs` in calls is not allowed"),
        ("(x)(1)", "input `x` cannot be called"),
        ("ops.shape(x)[0](1)", "only named functions can be called"),
    ],
)
def test_rejects(source: str, message: str) -> None:
    with pytest.raises(ex.ExpressionError) as info:
        ex.check_expression(ex.parse_expression(source), SCOPE)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("import os", "a step must be an assignment"),
        ("h = x; g = x", "exactly one statement"),
        ("for layer in blocks: h = layer(x); g = h", "`for NAME in SUBLAYERS"),
        ("x[0] = 1", "assignment targets must be plain names"),
        ("del x", "a step must be an assignment"),
        ("for layer in units: h = layer(x)", "must iterate over a sublayer list"),
        ("kernel = x", "step assigns to weight `kernel`"),
        ("yield x", "a step must be an assignment"),
    ],
)
def test_rejects_steps(source: str, message: str) -> None:
    with pytest.raises(ex.ExpressionError) as info:
        ex.check_step(ex.parse_step(source), dict(SCOPE))
    assert message in str(info.value)


def test_steps_extend_the_scope_in_order() -> None:
    scope = dict(SCOPE)
    ex.check_step(ex.parse_step("h = ops.matmul(x, kernel)"), scope)
    ex.check_step(ex.parse_step("mean, var = ops.moments(h, axes=[0])"), scope)
    ex.check_step(ex.parse_step("for layer in blocks: h = layer(h)"), scope)
    ex.check_step(ex.parse_step("h += mean"), scope)
    assert {"h", "mean", "var"} <= set(scope)
    assert "layer" not in scope
    with pytest.raises(ex.ExpressionError, match="unknown name `later`"):
        ex.check_step(ex.parse_step("g = later + h"), scope)


def test_rewrite_prefixes_attributes_and_seeds_random() -> None:
    node = ex.parse_expression("activation(random.dropout(x, units) + kernel)")
    code = ex.to_code(
        node,
        {
            "activation": "self.activation",
            "units": "self.units",
            "kernel": "self.kernel",
        },
    )
    assert code == (
        "self.activation(keras.random.dropout(x, self.units, "
        "seed=self.seed_generator) + self.kernel)"
    )


def test_rewrite_keeps_an_explicit_seed_and_maps_activations() -> None:
    node = ex.parse_expression("activations.relu(random.normal((2,), seed=3))")
    assert (
        ex.to_code(node) == "keras.activations.relu(keras.random.normal((2,), seed=3))"
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("x", "`x` is an input: use one of its dimensions"),
        ("x[3]", "axis 3 is out of range for input `x` of rank 3"),
        ("x[-4]", "axis -4 is out of range"),
        ("y[0]", "does not index an input"),
        ("units / 2", "`/` gives a float: use `//`"),
        ("-1", "a dimension cannot be negative (-1)"),
        ("2.5", "expected an integer, found 2.5"),
        ("rate", "unknown name `rate`"),
        ("x[units]", "the axis must be an int literal"),
        ("ops.shape(x)[0]", "does not index an input"),
        ("ops.shape(x)", "a dimension must be an int, an int param"),
    ],
)
def test_shape_dims_rejected(source: str, message: str) -> None:
    with pytest.raises(ex.ExpressionError) as info:
        ex.check_shape_dim(ex.parse_expression(source), ["units"], {"x": (3, None)})
    assert message in str(info.value)


def test_shape_dims_evaluate_on_concrete_values() -> None:
    node = ex.parse_expression("x[-1] * 2 + units // 3")
    ex.check_shape_dim(node, ["units"], {"x": (None, 2)})
    assert evaluate(node, {"x": (4, 5), "units": 7}) == 12
    assert ex.input_axes(node) == [("x", -1)]


def test_min_rank_limits_axes() -> None:
    ex.check_shape_dim(ex.parse_expression("x[1]"), [], {"x": (None, 2)})
    with pytest.raises(ex.ExpressionError, match="may not exist"):
        ex.check_shape_dim(ex.parse_expression("x[2]"), [], {"x": (None, 2)})


def test_evaluate_conditions() -> None:
    env = {"use_bias": False, "mode": "sum", "units": 3}
    assert evaluate(ex.parse_expression("not use_bias and mode == 'sum'"), env)
    assert not evaluate(ex.parse_expression("units > 4 or use_bias"), env)
    assert evaluate(ex.parse_expression("1 < units <= 3"), env)


def test_names_in_covers_statements() -> None:
    stmt = ex.parse_step("for layer in blocks: h = layer(h)")
    assert ex.names_in(stmt) == {"layer", "blocks", "h"}
    assert isinstance(stmt, ast.For)


@pytest.mark.parametrize(
    ("source", "env", "expected"),
    [
        ("~flag", {"flag": False}, -1),
        ("~units", {"units": 5}, -6),
        ("+units", {"units": 5}, 5),
        ("max(units, 1) > 2", {"units": 3}, True),
        ("min(sizes) + len(sizes)", {"sizes": [4, 2]}, 4),
        ("abs(-units) // 2", {"units": 5}, 2),
        ("sizes[units - 3]", {"sizes": [4, 2], "units": 4}, 2),
        ("list(range(units))", {"units": 3}, [0, 1, 2]),
        ("units if units > 2 else 0", {"units": 1}, 0),
        ("units << 2 | 1", {"units": 1}, 5),
        ("flag or units", {"flag": False, "units": 7}, 7),
        ("flag and units", {"flag": False, "units": 7}, False),
        ("units is not None", {"units": 7}, True),
    ],
)
def test_evaluate_agrees_with_python(source: str, env: dict, expected: object) -> None:
    node = ex.parse_expression(source)
    assert evaluate(node, env) == expected == eval(source, {}, dict(env))


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("units // 0", "ZeroDivisionError"),
        ("sizes[5]", "index 5 is out of range"),
        ("2 ** 10 ** 8", "too large"),
        ("units << 100000", "too large"),
        ("sizes * 10 ** 6", "too large"),
        ("list(range(10 ** 9))", "too long"),
        ("x @ x", "cannot evaluate"),
    ],
)
def test_evaluate_refuses_what_it_cannot_or_will_not_compute(
    source: str, message: str
) -> None:
    with pytest.raises(ex.ExpressionError, match=message):
        evaluate(ex.parse_expression(source), {"units": 3, "sizes": [1], "x": 2})


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("+".join(["x"] * 400), "nests more than 60 levels"),
        ("-" * 10_000 + "x", "10001 characters; the limit is 2000"),
        ("(" * 900 + "x" + ")" * 900, "invalid Python expression"),
        ("-" * 1990 + "x", "nests more than 60 levels"),
    ],
)
def test_parse_limits_length_and_depth(source: str, message: str) -> None:
    with pytest.raises(ex.ExpressionError, match=message):
        ex.parse_expression(source)
    assert ex.parse_expression("+".join(["x"] * 50))  # deep enough for real use


NUMPY_SCOPE = {"x": ex.Symbol(ex.INPUT), "np": ex.Symbol(ex.MODULE, namespace="numpy")}


@pytest.mark.parametrize(
    "source",
    [
        "np.save('PWNED', x)",
        "np.load('a.npy', allow_pickle=True)",
        "np.fromfile('a')",
        "np.lib.format.open_memmap('a')",
        "np.ctypeslib.as_array(x)",
        "np.vectorize",
        "np.linalg.LinAlgError",
        "np.testing.assert_allclose(x, x)",
    ],
)
def test_numpy_allows_math_only(source: str) -> None:
    with pytest.raises(ex.ExpressionError, match="numpy math only"):
        ex.check_expression(ex.parse_expression(source), NUMPY_SCOPE)


@pytest.mark.parametrize(
    "source",
    [
        "np.maximum(x @ x.T, 0)",
        "np.mean(x, axis=-1, keepdims=True) / np.sqrt(np.var(x) + 1e-5)",
        "np.linalg.norm(x, axis=-1) * np.pi",
        "np.einsum('ij,jk->ik', x, x)",
    ],
)
def test_numpy_math_is_accepted(source: str) -> None:
    ex.check_expression(ex.parse_expression(source), NUMPY_SCOPE)


def test_suggestions_can_be_turned_off() -> None:
    node = ex.parse_expression("unitz + 1")
    with pytest.raises(ex.ExpressionError, match="did you mean `units`"):
        ex.check_expression(node, SCOPE)
    with pytest.raises(ex.ExpressionError) as raised:
        ex.check_expression(node, SCOPE, suggest=False)
    assert str(raised.value) == "unknown name `unitz`"


COMPREHENSION_SCOPE = {
    **SCOPE,
    "range": ex.Symbol(ex.BUILTIN),
    "len": ex.Symbol(ex.BUILTIN),
    "sizes": ex.Symbol(ex.PARAM, param_type="list[int]"),
}


@pytest.mark.parametrize(
    "source",
    [
        "[2.0 ** (-(i + 1) / units) for i in range(units)]",
        "ops.stack([x * float(i) for i in range(1, units, 2)])",
        "[s * 2 for s in sizes]",
        "[activation(x) for i in (1, 2)]",
    ],
)
def test_accepts_comprehensions_over_params(source: str) -> None:
    ex.check_expression(ex.parse_expression(source), COMPREHENSION_SCOPE)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("[v for v in x]", "iterates over `range(...)` of params and ints, a list "
         "param or a literal list, not input `x`"),
        ("[v for v in range(ops.shape(x)[1])]", "not `ops.shape(x)`"),
        ("[v for v in range(len(kernel))]", "not weight `kernel`"),
        ("[v for v in activation]", "not activation param `activation`"),
        ("[v for v in range(units) if v > 1]", "a comprehension has no `if`"),
        ("[v * w for v in sizes for w in sizes]", "a comprehension has one `for`"),
        ("[[v for v in sizes] for w in sizes]", "inside a comprehension"),
        ("[v for v, w in sizes]", "loop variable is one plain name"),
        ("[units for units in sizes]", "loop variable `units` shadows a name"),
        ("[self for self in sizes]", "loop variable `self` shadows a name"),
        ("[random for random in sizes]", "loop variable `random` shadows a name"),
        ("[x for _v in sizes]", "loop variable `_v` shadows a name"),
        ("[print(v) for v in sizes]", "unknown name `print`"),
        ("[w for v in sizes]", "unknown name `w`"),
        ("{v for v in sizes}", "a comprehension is not allowed"),
        ("(v for v in sizes)", "a generator expression is not allowed"),
    ],
)  # fmt: skip
def test_rejects_comprehensions_but_over_params(source: str, message: str) -> None:
    with pytest.raises(ex.ExpressionError) as info:
        ex.check_expression(ex.parse_expression(source), COMPREHENSION_SCOPE)
    assert message in str(info.value)


def test_a_comprehension_is_emitted_and_evaluated_as_written() -> None:
    node = ex.parse_expression("[2 ** i * units for i in range(units)]")
    ex.check_expression(node, COMPREHENSION_SCOPE)
    code = ex.to_code(node, {"units": "self.units"})
    assert code == "[2 ** i * self.units for i in range(self.units)]"
    assert evaluate(node, {"units": 3}) == [3, 6, 12]


DILATED = """
[layer]
name = "DilatedStack"

[params]
filters = { type = "int", default = 4, min = 1 }
depth = { type = "int", default = 3, min = 1 }

[inputs]
x = { rank = 3 }

[sublayers.convs]
layer = "Conv1D"
for_each = "[2 ** i for i in range(depth)]"
args = { filters = "filters", kernel_size = "2", dilation_rate = "item", padding = "'causal'" }

[call]
steps = ["h = x", "for conv in convs: h = conv(h)"]
expr = "h"

[test]
params = { depth = 4 }
input_shapes = { x = [2, 9, 3] }
"""


def test_a_for_each_may_be_a_comprehension_over_params(write_spec) -> None:
    from layergen.codegen.render import render_layer
    from layergen.spec.validate import load_spec

    from .test_spec_features import errors_of

    spec = load_spec(write_spec(DILATED))
    assert "enumerate([2 ** i for i in range(self.depth)])" in render_layer(spec)
    text = DILATED.replace("2 ** i for", "i + 1 for").replace(
        "depth = 4", "depth = 300"
    )
    assert "`for_each` gives 300 sublayers for the test's params" in errors_of(
        write_spec, text
    )


@pytest.mark.parametrize("name", ["self", "keras", "random", "activations"])
def test_a_loop_variable_is_no_name_the_emitted_code_rewrites(name: str) -> None:
    """Outside ``[call]`` ``random`` is no name of the scope, but the emitter
    still rewrites it (``keras.random``): it cannot be a loop variable."""
    scope = {"units": SCOPE["units"], "range": ex.Symbol(ex.BUILTIN)}
    node = ex.parse_expression(f"[{name} for {name} in range(units)]")
    with pytest.raises(ex.ExpressionError, match=f"`{name}` shadows a name"):
        ex.check_expression(node, scope)
