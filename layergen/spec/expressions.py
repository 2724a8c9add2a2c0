"""User expressions: parse with ``ast``, check against an allowlist, rewrite.

Spec expressions become Python code that is imported and run, so nothing is
pasted: every expression is parsed, every node and name is checked against
what the spec declares, and the emitted code is ``ast.unparse`` of a
rewritten tree (``units`` -> ``self.units``, ``random.normal(...)`` ->
``keras.random.normal(..., seed=self.seed_generator)``).
"""

from __future__ import annotations

import ast
import copy
import difflib
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass

from layergen.spec import catalog

# What a name in an expression can stand for.
INPUT, WEIGHT, PARAM, SUBLAYER, SUBLAYER_LIST, LOCAL = (
    "input",
    "weight",
    "param",
    "sublayer",
    "sublayer list",
    "local",
)
MODULE, BUILTIN, FLAG = "module", "builtin", "flag"
TENSOR_KINDS = frozenset({INPUT, WEIGHT, LOCAL})
SAFE_BUILTINS = frozenset(
    {"float", "int", "len", "range", "min", "max", "tuple", "list", "abs", "bool"}
)
# Names that only some settings or places make available, and what does.
UNLOCKED_BY = {
    "training": "`training` needs `training = true` in `[call]`",
    "mask": '`mask` needs a `[mask]` mode (`mode = "consume"` to read it in call)',
    "random": "`random` is available in `[call]` and `[updates]` only",
}
TENSOR_ATTRIBUTES = frozenset({"shape", "dtype", "ndim", "T"})
ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression,
    ast.Constant,
    ast.Name,
    ast.Attribute,
    ast.Call,
    ast.keyword,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.Subscript,
    ast.Slice,
    ast.Tuple,
    ast.List,
    ast.Load,
    ast.Store,
    ast.operator,
    ast.unaryop,
    ast.boolop,
    ast.cmpop,
)
SHAPE_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod)
# Limits that keep parsing, checking and emitting an expression far from
# Python's recursion limit.
MAX_EXPRESSION_LENGTH = 2000
MAX_EXPRESSION_DEPTH = 60
# numpy as `[test]` references and properties may use it: math on arrays, no
# I/O, no pickles, no callables, no submodules but `linalg`.
NUMPY_MATH = frozenset(
    """abs absolute add subtract multiply divide true_divide floor_divide power
    float_power mod remainder fmod negative positive sign sqrt cbrt square
    reciprocal exp exp2 expm1 log log2 log10 log1p logaddexp logaddexp2 sin
    cos tan arcsin arccos arctan arctan2 sinh cosh tanh arcsinh arccosh
    arctanh hypot maximum minimum fmax fmin clip round floor ceil trunc rint
    isnan isinf isfinite nan_to_num where equal not_equal less less_equal
    greater greater_equal logical_and logical_or logical_not logical_xor sum
    prod mean var std max min amax amin argmax argmin cumsum cumprod median
    average all any matmul dot vdot einsum tensordot inner outer transpose
    swapaxes moveaxis reshape expand_dims squeeze concatenate stack hstack
    vstack split tile repeat broadcast_to flip roll pad zeros ones full
    zeros_like ones_like full_like eye identity arange linspace tril triu
    diag diagonal trace sort argsort take take_along_axis asarray array
    shape ndim size allclose isclose float16 float32 float64 int8 int16
    int32 int64 uint8 bool_ pi e inf newaxis""".split()  # noqa: SIM905
)
NUMPY_LINALG = frozenset(
    "norm inv det solve eigh eigvalsh svd qr cholesky matrix_power pinv".split()  # noqa: SIM905
)


# keras.ops functions that call functions they are given (loops, maps,
# branches). Expressions cannot define a function (no lambdas), so these could
# only get a builtin, an activation or another op: `ops.while_loop(bool, abs,
# (1,))` never ends.
HIGHER_ORDER_OPS = frozenset(
    {"while_loop", "fori_loop", "map", "scan", "associative_scan", "cond"}
    | {"switch", "vectorized_map", "vectorize", "custom_gradient"}
)


class ExpressionError(ValueError):
    """An expression broke a rule; the message says which and what is allowed."""


@dataclass(frozen=True)
class Symbol:
    """A name visible to expressions and what it stands for."""

    kind: str
    type: str | None = None  # a param's type, or a module's catalogue namespace


Scope = Mapping[str, Symbol]


def _parse(source: str, mode: str, what: str) -> ast.AST:
    """``ast.parse`` within the length and nesting limits."""
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError(f"expected a non-empty {what} string")
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(
            f"{what} of {len(source)} characters; the limit is "
            f"{MAX_EXPRESSION_LENGTH} (split it into steps)"
        )
    try:
        tree = ast.parse(source.strip(), mode=mode)
    except SyntaxError as exc:
        kind = "expression" if mode == "eval" else "statement"
        raise ExpressionError(f"invalid Python {kind}: {exc.msg}") from None
    except (RecursionError, MemoryError):
        tree = None
    if tree is None or _depth(tree) > MAX_EXPRESSION_DEPTH:
        raise ExpressionError(
            f"{what} nests more than {MAX_EXPRESSION_DEPTH} levels deep "
            "(split it into steps)"
        )
    return tree


def _depth(tree: ast.AST) -> int:
    """How deep the tree nests, counted without recursion."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth <= MAX_EXPRESSION_DEPTH:
            stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def parse_expression(source: str) -> ast.expr:
    """Parse one expression; statements, ``;`` and newlines are rejected."""
    return _parse(source, "eval", "expression").body


def parse_step(source: str) -> ast.stmt:
    """Parse one step: an assignment, augmented assignment or one-line ``for``."""
    tree = _parse(source, "exec", "step")
    if len(tree.body) != 1:
        raise ExpressionError("a step must be exactly one statement")
    stmt = tree.body[0]
    if isinstance(stmt, ast.For):
        if (
            not isinstance(stmt.target, ast.Name)
            or stmt.orelse
            or len(stmt.body) != 1
            or not isinstance(stmt.body[0], ast.Assign | ast.AugAssign)
        ):
            raise ExpressionError(
                "a `for` step must be `for NAME in SUBLAYERS: TARGET = EXPR`"
            )
        return stmt
    if isinstance(stmt, ast.Assign | ast.AugAssign):
        return stmt
    raise ExpressionError(
        "a step must be an assignment (`h = ...`, `a, b = ...`, `h += ...`) "
        "or a one-line `for layer in sublayers: h = layer(h)`"
    )


def assigned_names(stmt: ast.stmt) -> list[str]:
    """Names a step binds (assignment targets; not a ``for`` loop variable)."""
    if isinstance(stmt, ast.For):
        return assigned_names(stmt.body[0])
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
    names: list[str] = []
    for target in targets:
        elts = target.elts if isinstance(target, ast.Tuple | ast.List) else [target]
        for elt in elts:
            if not isinstance(elt, ast.Name):
                raise ExpressionError("assignment targets must be plain names")
            names.append(elt.id)
    return names


def _suggest(name: str, candidates: Iterable[str], enabled: bool = True) -> str:
    """`` - did you mean `x`?`` (difflib), or nothing when not ``enabled``:
    past the errors that are shown, suggestions only cost time."""
    if not enabled:
        return ""
    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" - did you mean `{match[0]}`?" if match else ""


def _dotted(node: ast.expr) -> list[str] | None:
    """``ops.nn.relu`` -> ``["ops", "nn", "relu"]``; None if not a plain chain."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(parts)]


class _Checker(ast.NodeVisitor):
    """Walks an expression tree, raising on the first rule it breaks."""

    def __init__(self, scope: Scope, suggest: bool = True) -> None:
        self.scope = scope
        self.suggest = suggest

    def generic_visit(self, node: ast.AST) -> None:
        if not isinstance(node, ALLOWED_NODES):
            raise ExpressionError(f"{_describe(node)} is not allowed in expressions")
        if isinstance(node, ast.Constant) and not isinstance(
            node.value, int | float | str | bool | type(None) | type(Ellipsis)
        ):
            raise ExpressionError(f"constant {node.value!r} is not allowed")
        super().generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in UNLOCKED_BY and node.id not in self.scope:
            raise ExpressionError(UNLOCKED_BY[node.id])
        if node.id.startswith("__") or node.id not in self.scope:
            raise ExpressionError(
                f"unknown name `{node.id}`"
                + _suggest(node.id, self.scope, self.suggest)
            )
        if self.scope[node.id].kind == MODULE:
            raise ExpressionError(
                f"`{node.id}` is a module: use a function of it, "
                f"like `{node.id}.{_example(node.id)}`"
            )

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr.startswith("_"):
            raise ExpressionError(f"private attribute `.{node.attr}` is not allowed")
        chain = _dotted(node)
        root = self.scope.get(chain[0]) if chain else None
        if root is not None and root.kind == MODULE:
            self._check_module_path(chain, root)
            return
        if (
            isinstance(node.value, ast.Name)
            and root is not None
            and root.kind not in TENSOR_KINDS
        ):
            raise ExpressionError(
                f"attribute access on {root.kind} `{chain[0]}` is not allowed"
            )
        if node.attr not in TENSOR_ATTRIBUTES:
            raise ExpressionError(
                f"attribute `.{node.attr}` is not allowed; tensors allow "
                f"{', '.join(f'`.{a}`' for a in sorted(TENSOR_ATTRIBUTES))}"
            )
        self.visit(node.value)

    def _check_module_path(self, chain: list[str], root: Symbol) -> None:
        namespace = root.type or chain[0]
        if namespace == "numpy":
            _check_numpy_path(chain)
            return
        for part in chain[1:-1]:
            namespace = f"{namespace}.{part}"
            if not catalog.names(namespace):
                raise ExpressionError(f"`{'.'.join(chain)}` is not a Keras function")
        last = chain[-1]
        if namespace.startswith("ops") and last in HIGHER_ORDER_OPS:
            raise ExpressionError(
                f"`{'.'.join(chain)}` calls the functions it is given, and an "
                "expression cannot define one (no lambdas): write the steps out"
            )
        if last not in catalog.names(namespace):
            shown = ".".join(chain)
            known = {f"{'.'.join(chain[:-1])}.{n}" for n in catalog.names(namespace)}
            raise ExpressionError(
                f"`{shown}` is not in keras.{namespace}"
                + _suggest(shown, known, self.suggest)
            )

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name):
            symbol = self.scope.get(func.id)
            callable_name = symbol is not None and (
                symbol.kind in (BUILTIN, SUBLAYER)
                or (symbol.kind == PARAM and symbol.type == "activation")
                or (symbol.kind == LOCAL and symbol.type == SUBLAYER)
            )
            if symbol is not None and not callable_name:
                raise ExpressionError(f"{symbol.kind} `{func.id}` cannot be called")
            self.visit(func)
        elif isinstance(func, ast.Attribute):
            chain = _dotted(func)
            root = self.scope.get(chain[0]) if chain else None
            if root is None or root.kind != MODULE:
                self.visit(func.value)
                raise ExpressionError(
                    "only functions of `ops`, `random` and `activations`, "
                    "activation params and sublayers can be called"
                )
            self.visit(func)
        else:
            raise ExpressionError("only named functions can be called")
        for arg in node.args:
            self.visit(arg)
        for keyword in node.keywords:
            if keyword.arg is None:
                raise ExpressionError("`**kwargs` in calls is not allowed")
            self.visit(keyword.value)


def _check_numpy_path(chain: list[str]) -> None:
    allowed = {2: NUMPY_MATH, 3: NUMPY_LINALG if chain[1] == "linalg" else ()}
    if chain[-1] not in allowed.get(len(chain), ()):
        raise ExpressionError(
            f"`{'.'.join(chain)}` is not allowed: numpy math only (array "
            "functions, `np.linalg`, dtypes and constants; no I/O or callables)"
        )


def _example(module: str) -> str:
    return {"ops": "matmul(a, b)", "random": "normal(shape)"}.get(module, "relu(x)")


def _describe(node: ast.AST) -> str:
    names = {
        ast.Lambda: "a lambda",
        ast.NamedExpr: "the walrus operator `:=`",
        ast.ListComp: "a comprehension",
        ast.SetComp: "a comprehension",
        ast.DictComp: "a comprehension",
        ast.GeneratorExp: "a generator expression",
        ast.JoinedStr: "an f-string",
        ast.Yield: "`yield`",
        ast.YieldFrom: "`yield from`",
        ast.Await: "`await`",
        ast.Starred: "`*` unpacking",
        ast.Dict: "a dict literal",
        ast.Set: "a set literal",
    }
    return names.get(type(node), f"`{type(node).__name__}`")


def check_expression(node: ast.AST, scope: Scope, *, suggest: bool = True) -> None:
    """Raise ExpressionError unless ``node`` uses only allowed syntax and names
    (with a did-you-mean suggestion for a misspelled one, if ``suggest``)."""
    _Checker(scope, suggest).visit(node)


def check_step(
    stmt: ast.stmt, scope: dict[str, Symbol], *, suggest: bool = True
) -> None:
    """Check one step and add the names it assigns to ``scope`` as locals."""
    if isinstance(stmt, ast.For):
        iterated = scope.get(stmt.iter.id) if isinstance(stmt.iter, ast.Name) else None
        if iterated is None or iterated.kind != SUBLAYER_LIST:
            raise ExpressionError(
                "a `for` step must iterate over a sublayer list (one with `for_each`)"
            )
        loop_var = stmt.target.id
        if loop_var in scope:
            raise ExpressionError(f"loop variable `{loop_var}` shadows a name")
        inner = {**scope, loop_var: Symbol(LOCAL, SUBLAYER)}
        check_step(stmt.body[0], inner, suggest=suggest)
        for name in assigned_names(stmt):
            scope[name] = Symbol(LOCAL)
        return
    value = stmt.value
    check_expression(value, scope, suggest=suggest)
    if isinstance(stmt, ast.AugAssign):
        check_expression(ast.Name(stmt.target.id, ast.Load()), scope, suggest=suggest)
    for name in assigned_names(stmt):
        existing = scope.get(name)
        if existing is not None and existing.kind != LOCAL:
            raise ExpressionError(f"step assigns to {existing.kind} `{name}`")
        scope[name] = Symbol(LOCAL)


def check_shape_dim(
    node: ast.AST,
    int_params: Iterable[str],
    input_ranks: Mapping[str, tuple[int | None, int | None]],
    *,
    allow_star: bool = False,
    suggest: bool = True,
) -> None:
    """Check a weight/state/output shape entry: integer arithmetic over params and
    input dimensions (``x[-1]``); ``*x[:-1]`` and ``None`` only when ``allow_star``."""
    int_params = frozenset(int_params)  # no copy when it is one already
    if allow_star and isinstance(node, ast.Starred):
        sub = node.value
        if not (
            isinstance(sub, ast.Subscript)
            and isinstance(sub.value, ast.Name)
            and sub.value.id in input_ranks
            and isinstance(sub.slice, ast.Slice)
        ):
            raise ExpressionError("`*` must unpack a slice of an input, like `*x[:-1]`")
        bounds = (sub.slice.lower, sub.slice.upper)
        if sub.slice.step is not None or not all(
            bound is None or _int_literal(bound) for bound in bounds
        ):
            raise ExpressionError(
                "`*` unpacks a slice with int literal bounds and no step, "
                "like `*x[1:-1]`"
            )
        return
    if allow_star and isinstance(node, ast.Constant) and node.value is None:
        return
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
    ):
        raise ExpressionError(f"a dimension cannot be negative ({ast.unparse(node)})")
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int):
            raise ExpressionError(f"expected an integer, found {node.value!r}")
        if node.value < 0:
            raise ExpressionError(f"a dimension cannot be negative ({node.value})")
        return
    if isinstance(node, ast.Name):
        if node.id in input_ranks:
            raise ExpressionError(
                f"`{node.id}` is an input: use one of its dimensions, like "
                f"`{node.id}[-1]`"
            )
        if node.id not in int_params:
            raise ExpressionError(
                f"unknown name `{node.id}`: a dimension may use int params "
                "and input dimensions"
                + _suggest(node.id, int_params | set(input_ranks), suggest)
            )
        return
    if isinstance(node, ast.Subscript):
        _check_input_axis(node, input_ranks)
        return
    if isinstance(node, ast.BinOp) and isinstance(node.op, SHAPE_OPERATORS):
        check_shape_dim(node.left, int_params, input_ranks, suggest=suggest)
        check_shape_dim(node.right, int_params, input_ranks, suggest=suggest)
        return
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        raise ExpressionError("`/` gives a float: use `//` for dimensions")
    raise ExpressionError(
        "a dimension must be an int, an int param, an input dimension like "
        "`x[-1]`, or `+ - * // %` of those"
    )


def _int_literal(node: ast.AST) -> bool:
    """``3`` or ``-1``: an int written as a literal."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int)
        and not isinstance(node.value, bool)
    )


def _check_input_axis(
    node: ast.Subscript, input_ranks: Mapping[str, tuple[int | None, int | None]]
) -> None:
    if not isinstance(node.value, ast.Name) or node.value.id not in input_ranks:
        raise ExpressionError(
            f"`{ast.unparse(node)}` does not index an input"
            + (
                _suggest(node.value.id, input_ranks)
                if isinstance(node.value, ast.Name)
                else ""
            )
        )
    try:
        axis = ast.literal_eval(node.slice)
    except ValueError:
        axis = None
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise ExpressionError(f"`{ast.unparse(node)}`: the axis must be an int literal")
    rank, min_rank = input_ranks[node.value.id]
    if rank is not None and not -rank <= axis < rank:
        raise ExpressionError(
            f"axis {axis} is out of range for input `{node.value.id}` of rank {rank}"
        )
    if rank is None and min_rank is not None and not -min_rank <= axis < min_rank:
        raise ExpressionError(
            f"axis {axis} may not exist: input `{node.value.id}` "
            f"has min_rank {min_rank}"
        )


def check_input_dims_only(
    node: ast.AST, input_ranks: Mapping[str, tuple[int | None, int | None]]
) -> None:
    """Inputs may appear in a check only as dimensions, like ``x[-1]``."""
    dims = {
        id(sub.value)
        for sub in ast.walk(node)
        if isinstance(sub, ast.Subscript)
        and isinstance(sub.value, ast.Name)
        and sub.value.id in input_ranks
    }
    for sub in ast.walk(node):
        if isinstance(sub, ast.Subscript) and id(sub.value) in dims:
            _check_input_axis(sub, input_ranks)
        elif (
            isinstance(sub, ast.Name) and sub.id in input_ranks and id(sub) not in dims
        ):
            raise ExpressionError(
                f"a check reads inputs only through their dimensions, like "
                f"`{sub.id}[-1]`"
            )


_NEGATED_COMPARES: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}


def negated(node: ast.expr) -> ast.expr:
    """The condition that is true when ``node`` is false, as a person writes it:
    ``a % b != 0`` for ``a % b == 0``, else ``not (...)``."""
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        flipped = _NEGATED_COMPARES[type(node.ops[0])]()
        return ast.Compare(copy.deepcopy(node.left), [flipped], node.comparators)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return node.operand
    return ast.UnaryOp(ast.Not(), node)


def input_axes(
    node: ast.AST, inputs: Collection[str] | None = None
) -> list[tuple[str, int]]:
    """Every ``(input, axis)`` an expression reads, like ``("x", -1)``, in
    order. Only subscripts of ``inputs`` count (pass them wherever a param
    may be subscripted too: ``sizes[0]`` of a list param is no input
    dimension); ``None`` counts any name's int subscript."""
    found: list[tuple[str, int]] = []
    for sub in ast.walk(node):
        if (
            isinstance(sub, ast.Subscript)
            and isinstance(sub.value, ast.Name)
            and (inputs is None or sub.value.id in inputs)
            and _int_literal(sub.slice)
        ):
            axis = ast.literal_eval(sub.slice)
            if (sub.value.id, axis) not in found:
                found.append((sub.value.id, axis))
    return found


# keras.ops / keras.random functions that make float32 tensors unless given `dtype=`.
FLOAT32_MAKERS = frozenset(
    {"ones", "zeros", "full", "eye", "arange", "linspace", "identity", "tri"}
    | {"normal", "uniform", "truncated_normal", "beta", "gamma", "binomial"}
)


def float32_constants(node: ast.AST, tensor_names: set[str]) -> list[str]:
    """Sub-expressions that make a float32 tensor whatever the inputs' dtype:
    an ``ops`` call on constants and params only, or a tensor maker without
    ``dtype=``. Under mixed precision they clash with float16 tensors."""
    found = []
    for sub in ast.walk(node):
        if not isinstance(sub, ast.Call):
            continue
        chain = _dotted(sub.func)
        if not chain or chain[0] not in ("ops", "random"):
            continue
        has_dtype = any(k.arg == "dtype" for k in sub.keywords)
        maker = chain[-1] in FLOAT32_MAKERS and not has_dtype
        constant = chain[0] == "ops" and not (names_in(sub) & tensor_names)
        if (maker or constant) and not has_dtype and chain[-1] != "shape":
            found.append(ast.unparse(sub))
    return found


def names_in(node: ast.AST) -> set[str]:
    """Every plain name an expression or statement reads or writes."""
    return {sub.id for sub in ast.walk(node) if isinstance(sub, ast.Name)}


class _Rewriter(ast.NodeTransformer):
    def __init__(self, rename: Callable[[str], ast.expr | None]) -> None:
        self.rename = rename

    def visit_Name(self, node: ast.Name) -> ast.AST:
        replacement = self.rename(node.id)
        return ast.copy_location(replacement, node) if replacement else node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        chain = _dotted(node.func)
        self.generic_visit(node)
        seeded = any(k.arg == "seed" for k in node.keywords)
        if chain and chain[0] == "random" and len(chain) == 2 and not seeded:
            node.keywords.append(ast.keyword("seed", _attr("self.seed_generator")))
        return node


def _attr(dotted: str) -> ast.expr:
    root, *rest = dotted.split(".")
    node: ast.expr = ast.Name(root, ast.Load())
    for part in rest:
        node = ast.Attribute(node, part, ast.Load())
    return node


def to_code(node: ast.AST, rename: Mapping[str, str] | None = None) -> str:
    """Emit code for a checked tree, renaming names (``units`` -> ``self.units``).

    ``random.*`` calls get ``seed=self.seed_generator`` and ``random`` /
    ``activations`` become ``keras.random`` / ``keras.activations``.
    """
    table = {"random": "keras.random", "activations": "keras.activations"}
    table.update(rename or {})

    def lookup(name: str) -> ast.expr | None:
        return _attr(table[name]) if name in table else None

    tree = _Rewriter(lookup).visit(copy.deepcopy(node))
    return ast.unparse(ast.fix_missing_locations(tree))
