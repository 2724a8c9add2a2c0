"""Check a parsed expression or step against the allowlist: the syntax,
names, attributes, calls and modules (keras.ops, numpy math) it may use."""

from __future__ import annotations

import ast

from layergen.spec import catalog
from layergen.spec.expressions.parse import assigned_names
from layergen.spec.expressions.symbols import (
    BUILTIN,
    EMITTED_NAMES,
    LOCAL,
    MODULE,
    PARAM,
    SUBLAYER,
    SUBLAYER_LIST,
    SUBLAYER_WEIGHTS,
    TENSOR_ATTRIBUTES,
    TENSOR_KINDS,
    UNLOCKED_BY,
    ExpressionError,
    Scope,
    Symbol,
    did_you_mean,
    dotted_chain,
    names_in,
)

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
    ast.ListComp,
    ast.Load,
    ast.Store,
    ast.operator,
    ast.unaryop,
    ast.boolop,
    ast.cmpop,
)
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


# Params whose value is called: an activation, a layer.
CALLABLE_PARAMS = frozenset({"activation", "layer"})


class _Checker(ast.NodeVisitor):
    """Walks an expression tree, raising on the first rule it breaks."""

    def __init__(self, scope: Scope, suggest: bool = True) -> None:
        self.scope = scope
        self.suggest = suggest
        self.in_comprehension = False

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
                + did_you_mean(node.id, self.scope, self.suggest)
            )
        if self.scope[node.id].kind == MODULE:
            raise ExpressionError(
                f"`{node.id}` is a module: use a function of it, "
                f"like `{node.id}.{_example(node.id)}`"
            )
        if self.scope[node.id].kind == SUBLAYER_WEIGHTS:
            raise ExpressionError(
                f"`{node.id}` is a sublayer: use one of its weights, like "
                f"`{node.id}.{_first_weight(self.scope[node.id].weights)}`"
            )

    def visit_ListComp(self, node: ast.ListComp) -> None:
        """``[f(i) for i in range(n)]``: one ``for`` over ``range(...)`` of
        params and ints, a list param or a literal list, no ``if``, no
        comprehension inside; the loop variable is a new name."""
        if self.in_comprehension:
            raise ExpressionError(
                "a comprehension inside a comprehension is not allowed"
            )
        if len(node.generators) != 1:
            raise ExpressionError("a comprehension has one `for`")
        (loop,) = node.generators
        if loop.ifs or loop.is_async:
            raise ExpressionError(
                "a comprehension has no `if`: choose in its value "
                "(`a if cond else b`), or iterate over a smaller range"
            )
        if not isinstance(loop.target, ast.Name):
            raise ExpressionError(
                "a comprehension's loop variable is one plain name, like `i`"
            )
        var = loop.target.id
        if var in self.scope or var in EMITTED_NAMES or var.startswith("_"):
            raise ExpressionError(
                f"loop variable `{var}` shadows a name (pick a new one, like `i`)"
            )
        _check_iterable(loop.iter, self.scope)
        self.visit(loop.iter)
        inner = _Checker({**self.scope, var: Symbol(LOCAL)}, self.suggest)
        inner.in_comprehension = True
        inner.visit(node.elt)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr.startswith("_"):
            raise ExpressionError(f"private attribute `.{node.attr}` is not allowed")
        chain = dotted_chain(node)
        root = self.scope.get(chain[0]) if chain else None
        if root is not None and root.kind == MODULE:
            self._check_module_path(chain, root)
            return
        if root is not None and root.kind == SUBLAYER_WEIGHTS:
            _check_weight_path(chain, root.weights)
            return
        if (
            isinstance(node.value, ast.Name)
            and root is not None
            and root.kind == PARAM
            and root.param_type == "layer"
        ):
            self._check_layer_attribute(node.value.id, node.attr, root)
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

    def _check_layer_attribute(self, name: str, attr: str, root: Symbol) -> None:
        """``token_embedding.input_dim``: a param of the layer param's spec."""
        if root.attributes is None:
            raise ExpressionError(
                f"attribute `.{attr}` of layer param `{name}`: its class is not "
                'known; give the param `spec = "..."` (a spec file) to read '
                "its params"
            )
        if attr not in root.attributes:
            known = ", ".join(f"`{a}`" for a in sorted(root.attributes)) or "none"
            raise ExpressionError(
                f"`{name}.{attr}`: `{root.class_name}` has no param `{attr}`"
                + did_you_mean(attr, root.attributes, self.suggest)
                + f" (its params: {known})"
            )

    def _check_module_path(self, chain: list[str], root: Symbol) -> None:
        namespace = root.namespace or chain[0]
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
                + did_you_mean(shown, known, self.suggest)
            )

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name):
            symbol = self.scope.get(func.id)
            callable_name = symbol is not None and (
                symbol.kind in (BUILTIN, SUBLAYER)
                or (symbol.kind == PARAM and symbol.param_type in CALLABLE_PARAMS)
                or (symbol.kind == LOCAL and symbol.holds == SUBLAYER)
            )
            if symbol is not None and not callable_name:
                raise ExpressionError(f"{symbol.kind} `{func.id}` cannot be called")
            self.visit(func)
        elif isinstance(func, ast.Attribute):
            chain = dotted_chain(func)
            root = self.scope.get(chain[0]) if chain else None
            if root is None or root.kind != MODULE:
                self.visit(func.value)
                raise ExpressionError(self._not_callable(func))
            self.visit(func)
        else:
            raise ExpressionError("only named functions can be called")
        for arg in node.args:
            self.visit(arg)
        for keyword in node.keywords:
            if keyword.arg is None:
                raise ExpressionError("`**kwargs` in calls is not allowed")
            self.visit(keyword.value)
        if isinstance(func, ast.Name):
            self._check_layer_keywords(node, self.scope[func.id])

    def _not_callable(self, func: ast.Attribute) -> str:
        """Why a method cannot be called; in a numpy expression (a reference,
        a property), the ``np`` function to call instead."""
        numpy = self.scope.get("np")
        if numpy is None or numpy.kind != MODULE or numpy.namespace != "numpy":
            return (
                "only functions of `ops`, `random` and `activations`, "
                "activation and layer params and sublayers can be called"
            )
        method = f"`{ast.unparse(func)}(...)`"
        if func.attr in NUMPY_MATH:
            return (
                f"{method}: methods cannot be called, only `np` functions: "
                f"write `np.{func.attr}(...)` with the array first"
            )
        return f"{method}: methods cannot be called, only `np` functions"

    def _check_layer_keywords(self, node: ast.Call, symbol: Symbol) -> None:
        """A layer param of a spec takes that spec's inputs and call arguments."""
        if symbol.keywords is None:
            return
        for keyword in node.keywords:
            if keyword.arg not in symbol.keywords:
                known = ", ".join(f"`{k}`" for k in sorted(symbol.keywords))
                raise ExpressionError(
                    f"`{symbol.class_name}` takes no call argument `{keyword.arg}`"
                    + did_you_mean(str(keyword.arg), symbol.keywords, self.suggest)
                    + f" (it takes {known})"
                )


def _check_weight_path(chain: list[str], known: frozenset[str]) -> None:
    """``sub.kernel``, ``sub.query.kernel.T``: a weight of the sublayer (by its
    path below it), then tensor attributes. Where the spec does not know a
    sublayer's weights (a Keras class), any path is checked at run time."""
    parts = chain[1:]
    private = next((p for p in parts if p.startswith("_")), None)
    if private is not None:
        raise ExpressionError(f"private attribute `.{private}` is not allowed")
    for end in range(len(parts) + 1):
        prefix = ".".join(parts[:end])
        if f"{prefix}.*".lstrip(".") in known:
            return
        if end and prefix in known:
            extra = [p for p in parts[end:] if p not in TENSOR_ATTRIBUTES]
            if extra:
                raise ExpressionError(
                    f"attribute `.{extra[0]}` is not allowed on weight "
                    f"`{chain[0]}.{prefix}`; tensors allow "
                    f"{', '.join(f'`.{a}`' for a in sorted(TENSOR_ATTRIBUTES))}"
                )
            return
    shown = ", ".join(f"`{w}`" for w in sorted(known)) or "none"
    raise ExpressionError(
        f"sublayer `{chain[0]}` has no weight `{'.'.join(parts)}` (its "
        f"weights: {shown})"
    )


def _first_weight(known: frozenset[str]) -> str:
    named = sorted(w for w in known if not w.endswith("*"))
    return named[0] if named else "kernel"


# The param types a comprehension's iterable may read: numbers for range()
# and lists.
ITERABLE_PARAMS = frozenset({"int", "float", "list[int]", "list[float]", "list[str]"})


def _check_iterable(node: ast.expr, scope: Scope) -> None:
    """What a comprehension iterates over: Python values known when the
    layer is made, so its length is too: ``range(...)`` of params and ints,
    a list param, or a literal list or tuple; never a tensor."""
    expected = (
        "a comprehension iterates over `range(...)` of params and ints, a list "
        "param or a literal list"
    )
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            symbol = scope.get(sub.id)
            if symbol is None or not (
                symbol.kind == BUILTIN
                or (symbol.kind == PARAM and symbol.param_type in ITERABLE_PARAMS)
            ):
                what = f"{symbol.kind} `{sub.id}`" if symbol else f"`{sub.id}`"
                if symbol is not None and symbol.kind == PARAM:
                    what = f"{symbol.param_type} param `{sub.id}`"
                raise ExpressionError(f"{expected}, not {what}")
        elif isinstance(sub, ast.Attribute | ast.ListComp) or (
            isinstance(sub, ast.Call) and not _calls_builtin(sub, scope)
        ):
            raise ExpressionError(f"{expected}, not `{ast.unparse(sub)}`")


def _calls_builtin(call: ast.Call, scope: Scope) -> bool:
    func = call.func
    return (
        isinstance(func, ast.Name)
        and func.id in scope
        and scope[func.id].kind == BUILTIN
    )


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
        inner = {**scope, loop_var: Symbol(LOCAL, holds=SUBLAYER)}
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
        chain = dotted_chain(sub.func)
        if not chain or chain[0] not in ("ops", "random"):
            continue
        if chain == ["ops", "arange"] and not _float_literals(sub):
            continue  # ops.arange(n) counts in int32, whatever the inputs
        has_dtype = any(k.arg == "dtype" for k in sub.keywords)
        maker = chain[-1] in FLOAT32_MAKERS and not has_dtype
        constant = chain[0] == "ops" and not (names_in(sub) & tensor_names)
        if (maker or constant) and not has_dtype and chain[-1] != "shape":
            found.append(ast.unparse(sub))
    return found


def _float_literals(call: ast.Call) -> bool:
    """Whether a call's arguments hold a float literal (``ops.arange(0.0, n)``)."""
    values = [*call.args, *(k.value for k in call.keywords)]
    return any(
        isinstance(node, ast.Constant) and isinstance(node.value, float)
        for value in values
        for node in ast.walk(value)
    )
