"""What validation checks so that every valid spec generates working code:
names Python accepts and the generated code does not already use, sizes within
limits, and shapes, conditions and ``for_each`` that compute for the test's
values. ``validate`` rejects everything ``new`` would fail on."""

from __future__ import annotations

import ast
import keyword
import sys
from collections.abc import Iterator
from typing import Any

from layergen.spec import expressions as ex
from layergen.spec.evaluation import evaluate
from layergen.spec.model import LayerSpec

KeyPath = tuple[str | int, ...]
MAX_NAME_LENGTH = 64
MAX_SPEC_BYTES = 1_000_000
# Names the templates emit in a scope where a spec name (a param, input,
# weight...) also lives: a spec name equal to one would shadow it.
# tests/test_guards.py renders specs that take every branch and checks that
# every name the templates emit is here, in LOCAL_NAMES, or the spec's own.
GENERATED_NAMES = frozenset(
    {"self", "super", "keras", "ops", "kwargs", "config", "isinstance", "any"}
    | {"list", "tuple", "int", "float", "bool", "str", "len", "ValueError"}
    | {"states", "training", "mask", "seed", "seed_generator", "item"}
    | {"random", "activations", "np", "pytest", "testing", "CASE", "built"}
    | {"expected", "holds", "output"}
    | ex.SAFE_BUILTINS
)
# Names the templates bind where no spec name can clash with them (a
# comprehension's variable, a method of their own).
LOCAL_NAMES = frozenset(
    {"v", "w", "floats", "inputs", "outputs", "input_shape", "policy"}
    | {"fresh_keras_state"}
)
# Names a step may not assign: the generated call() reads them.
CALL_NAMES = frozenset({"self", "keras", "states"})
# Modules a generated module must not shadow: its tests import it from a
# directory on sys.path.
SHADOWED_MODULES = frozenset(
    {"keras", "numpy", "pytest", "layergen", "tensorflow", "jax", "torch"}
    | {"conftest", "ml_dtypes", "h5py", "optree", "absl", "hypothesis"}
    | set(sys.stdlib_module_names)
)


def one_line(text: str, limit: int = 400) -> str:
    """``text`` with line breaks and other unprintable characters escaped, so
    that a diagnostic quoting spec text stays on its line, and cut to about
    ``limit`` characters."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def name_problem(name: str, what: str) -> str | None:
    """Why ``name`` cannot be a Python name in generated code, or None."""
    if len(name) > MAX_NAME_LENGTH:
        return f"{what} of {len(name)} characters; the limit is {MAX_NAME_LENGTH}"
    if keyword.iskeyword(name):
        return f"{what} `{name}` is a Python keyword"
    return None


def step_name_problem(name: str) -> str | None:
    """Why a step may not assign ``name`` (a local of the generated ``call``)."""
    if name in CALL_NAMES or name.startswith("_"):
        return (
            f"a step cannot assign `{name}`: the generated code uses that name "
            "(or it starts with `_`)"
        )
    return name_problem(name, "name")


def check_step_names(stmt: ast.stmt) -> None:
    """Raise ExpressionError if a step assigns, or loops over, a name that
    the generated ``call`` needs."""
    names = ex.assigned_names(stmt)
    if isinstance(stmt, ast.For) and isinstance(stmt.target, ast.Name):
        names.append(stmt.target.id)
    for name in names:
        problem = step_name_problem(name)
        if problem is not None:
            raise ex.ExpressionError(problem)


def module_problem(module: str) -> str | None:
    """Why ``module`` cannot be the generated module's name, or None."""
    if module in SHADOWED_MODULES:
        return (
            f"module `{module}` would shadow the `{module}` module wherever its "
            "tests import it; give another `module` name in `[layer]`"
        )
    return name_problem(module, "module name")


def mask_clashes(spec: LayerSpec, masks: list[str]) -> Iterator[tuple[KeyPath, str]]:
    """Declared names equal to a mask argument of ``call`` (``a_mask`` for
    input ``a``)."""
    declared = {i.name: "inputs" for i in spec.inputs}
    declared.update({p.name: "params" for p in spec.params})
    for item, mask in zip(spec.inputs, masks, strict=False):
        if mask in declared:
            yield (declared[mask], mask), (
                f"`{mask}` is also the mask argument of input `{item.name}` in "
                "`call`; rename it"
            )


def evaluation_problems(spec: LayerSpec) -> Iterator[tuple[KeyPath, str]]:
    """Shapes, conditions and ``for_each`` that do not compute for the
    ``[test]`` params and input shapes (division by zero, a negative size...),
    where the generated tests need their values."""
    assert spec.test is not None
    env: dict[str, Any] = {**spec.test.params, **spec.test.input_shapes}
    for weight in spec.weights:
        path: KeyPath = ("weights", weight.name)
        if weight.condition is not None:
            present = yield from _value(weight.condition.node, env, (*path, "if"))
            if not present:
                continue
        for index, dim in enumerate(weight.shape):
            yield from _size(dim.node, env, (*path, "shape", index))
    for state in spec.states:
        for index, dim in enumerate(state.shape):
            yield from _size(dim.node, env, ("states", state.name, "shape", index))
    for sub in spec.sublayers:
        if sub.for_each is not None:
            path = ("sublayers", sub.name, "for_each")
            items = yield from _value(sub.for_each.node, env, path)
            if items is not None and not isinstance(items, list | tuple | range):
                yield path, (
                    f"`for_each` must give a list (a list param or `range(...)`), "
                    f"found {type(items).__name__} {items!r} for the test's params"
                )
    for name, check in spec.checks.items():
        yield from _moduli(check.node, env, ("checks", name))
    for index, dim in enumerate(spec.output_shape or ()):
        node = dim.node
        if isinstance(node, ast.Starred) or (
            isinstance(node, ast.Constant) and node.value is None
        ):
            continue
        yield from _size(node, env, ("output", "shape", index))


def _moduli(
    node: ast.AST, env: dict[str, Any], path: KeyPath
) -> Iterator[tuple[KeyPath, str]]:
    """``x[a] % k`` in a check: ``k`` must be a positive int (the tests grow
    axis ``a`` in steps of ``k``)."""
    for sub in ast.walk(node):
        if (
            isinstance(sub, ast.BinOp)
            and isinstance(sub.op, ast.Mod)
            and ex.input_axes(sub.left)
        ):
            step = yield from _value(sub.right, env, path)
            if step is not None and (
                not isinstance(step, int) or isinstance(step, bool) or step < 1
            ):
                yield path, (
                    f"`{ast.unparse(sub)}`: an input dimension's modulus must be "
                    f"an int >= 1, found {step!r} for the test's params"
                )


def _value(
    node: ast.AST, env: dict[str, Any], path: KeyPath
) -> Iterator[tuple[KeyPath, str]]:
    try:
        return evaluate(node, env)
    except ex.ExpressionError as exc:
        yield path, str(exc)
    return None


def _size(
    node: ast.AST, env: dict[str, Any], path: KeyPath
) -> Iterator[tuple[KeyPath, str]]:
    value = yield from _value(node, env, path)
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        yield path, (
            f"`{ast.unparse(node)}` is {value!r} for the test's params and input "
            "shapes; a dimension must be an int >= 0"
        )
