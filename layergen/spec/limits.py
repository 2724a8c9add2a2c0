"""Size limits: what a spec's ``[test]`` values may make the generated
layer and tests compute. Tensors, sublayer lists and the inputs and weights
together stay within fixed sizes; shapes, conditions and ``for_each`` must
compute for the test's values; no expression may take unbounded time or
memory (``10**10**10``) on import, construction or call (the parts of an
expression that could are found by :mod:`layergen.spec.unbounded`)."""

from __future__ import annotations

import ast
import math
from collections.abc import Iterator
from typing import Any

from layergen.spec import expressions as ex
from layergen.spec.evaluation import MAX_EVALUATED_SIZE, TooLargeError, evaluate
from layergen.spec.guards import one_line
from layergen.spec.model import LayerSpec
from layergen.spec.unbounded import BUILTINS as BUILTINS  # re-exported
from layergen.spec.unbounded import evaluable
from layergen.spec.unbounded import oversized_constants as oversized_constants

KeyPath = tuple[str | int, ...]
# The most elements of one tensor the generated tests make (a test input, a
# weight, the output), and the most sublayers a `for_each` list may hold: a
# spec's `[test]` values must not make its tests allocate terabytes.
MAX_TEST_ELEMENTS = 1 << 20
MAX_TEST_TOTAL = 1 << 24  # in all the test's inputs and weights together
MAX_SUBLAYER_LIST = 256


def evaluation_problems(spec: LayerSpec) -> Iterator[tuple[KeyPath, str]]:
    """Shapes, conditions and ``for_each`` that do not compute for the
    ``[test]`` params and input shapes (division by zero, a negative size...),
    where the generated tests need their values, and tensors or sublayer lists
    too large for the generated tests to make."""
    assert spec.test is not None
    env: dict[str, Any] = {**spec.test.params, **spec.test.input_shapes}
    total = sum(math.prod(shape) for shape in spec.test.input_shapes.values())
    for weight in spec.weights:
        path: KeyPath = ("weights", weight.name)
        if weight.condition is not None:
            present = yield from _value(weight.condition.node, env, (*path, "if"))
            if not present:
                continue
        dims = []
        for index, dim in enumerate(weight.shape):
            dims.append((yield from _size(dim.node, env, (*path, "shape", index))))
        yield from _elements(dims, f"weight `{weight.name}`", (*path, "shape"))
        count = math.prod(dims) if all(isinstance(d, int) for d in dims) else 0
        if count <= MAX_TEST_ELEMENTS and total <= MAX_TEST_TOTAL:  # else said
            total += count
            if total > MAX_TEST_TOTAL:
                yield path, (
                    f"the test's inputs and weights up to `{weight.name}` hold "
                    f"{total:,} elements for the test's params and input shapes; "
                    f"the limit for all of them is {MAX_TEST_TOTAL:,} (give "
                    "smaller `[test]` values)"
                )
    for state in spec.states:
        path = ("states", state.name, "shape")
        dims = []
        for index, dim in enumerate(state.shape):
            dims.append((yield from _size(dim.node, env, (*path, index))))
        yield from _elements(dims, f"state `{state.name}`", path)
    for sub in spec.sublayers:
        yield from _sublayer_size(sub, env)
        if sub.for_each is not None:
            path = ("sublayers", sub.name, "for_each")
            items = yield from _value(sub.for_each.node, env, path)
            if items is not None and not isinstance(items, list | tuple | range):
                yield path, (
                    f"`for_each` must give a list (a list param or `range(...)`), "
                    f"found {type(items).__name__} {items!r} for the test's params"
                )
            elif items is not None and len(items) > MAX_SUBLAYER_LIST:
                yield path, (
                    f"`for_each` gives {len(items)} sublayers for the test's "
                    f"params; the limit is {MAX_SUBLAYER_LIST}"
                )
    inputs = {i.name for i in spec.inputs}
    for name, check in spec.checks.items():
        yield from _moduli(check.node, env, ("checks", name), inputs)
        for dim in ex.input_dims(check.node, inputs):
            item, shape = dim.value.id, spec.test.input_shapes[dim.value.id]  # type: ignore[attr-defined]
            axis = evaluate(dim.slice, spec.test.params)
            if not -len(shape) <= axis < len(shape):
                written = ast.unparse(dim)
                given = "" if written == f"{item}[{axis}]" else f" ({axis} in the test)"
                yield ("checks", name), (
                    f"`{written}`{given} does not exist for the test's input "
                    f"shape {list(shape)}; build() would fail reading it (declare "
                    f"`rank` or `min_rank` for `{item}`, or give `[test] "
                    "input_shapes` with that axis)"
                )
    shapes: list[tuple[KeyPath, str, tuple[Any, ...]]] = [
        (("output", "shape"), "the output", spec.output_shape or ())
    ]
    shapes += [
        (("output", o.name, "shape"), f"output `{o.name}`", o.shape)
        for o in spec.outputs
    ]
    shapes += [
        (("output", "shape_if", flag), f"the output with `{flag}`", shape)
        for flag, shape in spec.flag_shapes.items()
    ]
    second = {name: shape for name, (shape, _) in spec.test.call_inputs.items()}
    for path, what, shape in shapes:
        flagged = path[1] == "shape_if" and spec.test.call_args.get(path[-1])
        scope = {**env, **second} if flagged else env  # the second call's inputs
        dims = []
        for index, dim in enumerate(shape):
            node = dim.node
            if isinstance(node, ast.Starred):
                name, lower, upper = ex.star_slice(node)
                dims.extend(scope[name][lower:upper])
            elif not (isinstance(node, ast.Constant) and node.value is None):
                dims.append((yield from _size(node, scope, (*path, index))))
        yield from _elements(dims, what, path)


def _sublayer_size(sub: Any, params: dict[str, Any]) -> Iterator[tuple[KeyPath, str]]:
    """A sublayer whose int arguments (units, input_dim and output_dim,
    filters and kernel_size...) multiply to more elements than the generated
    tests may make: its weights hold at least that many. ``params`` has the
    test's input shapes too (``units = "x[-1]"``)."""
    count = 1
    for _, value in sub.args:
        if not evaluable(value.node, params):
            continue
        try:
            count *= max(_element_count(evaluate(value.node, params)), 1)
        except ex.ExpressionError:
            continue
    if count > MAX_TEST_ELEMENTS:
        yield ("sublayers", sub.name, "args"), (
            f"sublayer `{sub.name}` ({sub.layer}) is made with int arguments "
            f"that multiply to {count:,} for the test's params and input shapes: "
            f"its weights hold at least that many elements, and the limit is "
            f"{MAX_TEST_ELEMENTS:,} (give smaller `[test]` values)"
        )


def too_many_elements(dims: list[int], what: str) -> str | None:
    """Why the generated tests cannot make a tensor of shape ``dims``, or None."""
    count = math.prod(dims)
    if count <= MAX_TEST_ELEMENTS:
        return None
    return (
        f"{what} has {count:,} elements for the test's params and input shapes "
        f"(shape {tuple(dims)}); the generated tests make it, and the limit is "
        f"{MAX_TEST_ELEMENTS:,} (give smaller `[test]` values)"
    )


def _elements(
    dims: list[int | None], what: str, path: KeyPath
) -> Iterator[tuple[KeyPath, str]]:
    if all(isinstance(d, int) for d in dims):
        problem = too_many_elements(dims, what)  # type: ignore[arg-type]
        if problem is not None:
            yield path, problem


# Functions of numpy, keras.ops and keras.random that make a tensor whose size
# an argument gives, and where those arguments are (positions, keywords).
TENSOR_MAKERS: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {
    "zeros": ((0,), ("shape",)),
    "ones": ((0,), ("shape",)),
    "full": ((0,), ("shape",)),
    "eye": ((0, 1), ("N", "M")),
    "identity": ((0,), ("n",)),
    "tri": ((0, 1), ("N", "M")),
    "arange": ((0, 1), ("start", "stop")),
    "linspace": ((2,), ("num",)),
    "tile": ((1,), ("reps", "repeats")),
    "repeat": ((1,), ("repeats",)),
    "broadcast_to": ((1,), ("shape",)),
    "one_hot": ((1,), ("num_classes",)),
    "normal": ((0,), ("shape",)),
    "uniform": ((0,), ("shape",)),
    "truncated_normal": ((0,), ("shape",)),
    "randint": ((0,), ("shape",)),
    "binomial": ((0,), ("shape",)),
    "beta": ((0,), ("shape",)),
    "gamma": ((0,), ("shape",)),
    "categorical": ((1,), ("num_samples",)),
    "resize": ((1,), ("size",)),
    "bincount": ((), ("minlength",)),
    "histogram": ((), ("bins",)),
    "segment_sum": ((2,), ("num_segments",)),
    "segment_max": ((2,), ("num_segments",)),
    "pad": ((1,), ("pad_width",)),
    "conv_transpose": ((3,), ("strides",)),
}


def oversized_tensor(node: ast.AST, params: dict[str, Any]) -> str | None:
    """Why a checked expression would make a tensor too large for the
    generated tests (``np.ones((100000, 100000))`` in a reference,
    ``ops.one_hot(x, 10**9)`` in call), or None: the size arguments of numpy,
    ``ops`` and ``random`` functions that make tensors, where constants and
    the test's ``params`` give them."""
    for sub in ast.walk(node):
        if not isinstance(sub, ast.Call):
            continue
        chain = ex.dotted_chain(sub.func)
        if not chain or chain[0] not in ("np", "ops", "random"):
            continue
        positions, keywords = TENSOR_MAKERS.get(chain[-1], ((), ()))
        sizes = [sub.args[i] for i in positions if i < len(sub.args)]
        sizes += [k.value for k in sub.keywords if k.arg in keywords]
        for size in sizes:
            if not evaluable(size, params):
                continue
            try:
                count = _element_count(evaluate(size, params))
            except ex.ExpressionError:
                continue
            if count > MAX_TEST_ELEMENTS:
                return (
                    f"`{one_line(ast.unparse(sub), 200)}` makes a tensor of "
                    f"{count:,} elements or more for the test's params; the "
                    f"generated tests run it, and the limit is {MAX_TEST_ELEMENTS:,}"
                )
    return None


def long_comprehension(node: ast.AST, params: dict[str, Any]) -> str | None:
    """Why a comprehension in a checked expression would loop too long or
    fail for the test's params (``[f(i) for i in range(10**9)]``, ``range``
    of a float), or None. Its iterable reads params and constants only
    (the checker sees to it), so it is computed here, within
    MAX_EVALUATED_SIZE items."""
    for sub in ast.walk(node):
        if not isinstance(sub, ast.ListComp):
            continue
        iterable = sub.generators[0].iter
        if not evaluable(iterable, params) or any(
            params.get(name, 0) is None for name in ex.names_in(iterable)
        ):
            continue  # an optional param left None: call() may not loop then
        try:
            items = evaluate(iterable, params)
            iter(items)
        except TooLargeError:
            return (
                f"`{one_line(ast.unparse(iterable), 200)}` gives more than "
                f"{MAX_EVALUATED_SIZE} items for the test's params: a "
                "comprehension loops in Python on every call, and the limit is "
                f"{MAX_EVALUATED_SIZE}"
            )
        except ex.ExpressionError as exc:
            return f"{exc} (a comprehension's iterable)"
        except TypeError:
            return (
                f"`{one_line(ast.unparse(iterable), 200)}` is "
                f"{type(items).__name__} {items!r} for the test's params, not "
                "something a comprehension can iterate over"
            )
    return None


def _element_count(value: Any) -> int:
    """The elements a size argument asks for, at least: an int, the product
    of a shape's ints, the largest int of nested lists (pad widths); 0 for
    anything else."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return abs(value)
    if not isinstance(value, list | tuple):
        return 0
    if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return math.prod(abs(v) for v in value)
    return max((_largest_int(v) for v in value), default=0)


def _largest_int(value: Any) -> int:
    if isinstance(value, list | tuple):
        return max((_largest_int(v) for v in value), default=0)
    return abs(value) if isinstance(value, int) and not isinstance(value, bool) else 0


def _moduli(
    node: ast.AST, env: dict[str, Any], path: KeyPath, inputs: set[str]
) -> Iterator[tuple[KeyPath, str]]:
    """``x[a] % k`` in a check: ``k`` must be a positive int (the tests grow
    axis ``a`` in steps of ``k``)."""
    for sub in ast.walk(node):
        if (
            isinstance(sub, ast.BinOp)
            and isinstance(sub.op, ast.Mod)
            and ex.input_dims(sub.left, inputs)
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
    """A dimension's value for the test's values, or None (reported)."""
    value = yield from _value(node, env, path)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        yield path, (
            f"`{ast.unparse(node)}` is {value!r} for the test's params and input "
            "shapes; a dimension must be an int >= 0"
        )
        return None
    return value
