"""The values :mod:`.sublayer_shapes` follows through call(): a tensor's
shape as code, a number, a sublayer, or why nothing follows; and the rules for
the ops whose output shape follows from their inputs' (elementwise, matmul by
a 2D weight, reshape to a literal shape)."""

from __future__ import annotations

import ast
from dataclasses import dataclass

# keras.ops functions whose output has the shape of their first argument.
SAME_SHAPE_OPS = frozenset(
    "abs cast ceil clip cos elu erf exp expm1 floor gelu hard_sigmoid "  # noqa: SIM905
    "hard_silu leaky_relu log log1p log_softmax negative relu relu6 round "
    "rsqrt selu sigmoid sign silu sin softmax softplus softsign sqrt square "
    "swish tanh".split()
)
BINARY_OPS = frozenset({"add", "subtract", "multiply", "divide", "maximum", "minimum"})


class Underivable(Exception):
    """A shape layergen cannot work out from the spec; the message says which,
    ``sublayer`` the sublayer (or sublayer list) whose input it is."""

    def __init__(self, reason: str, sublayer: str = "") -> None:
        super().__init__(reason)
        self.sublayer = sublayer


@dataclass(frozen=True)
class Shape:
    """A tensor's shape as code: ``(*star, *dims)`` (``star`` alone when the
    rank is not known here). ``exact`` is false when some dims are None where
    call() knows them (``ops.reshape(h, (batch, -1, units))``)."""

    star: ast.expr | None
    dims: tuple[ast.expr, ...] = ()
    exact: bool = True
    # The sublayer (or loop variable) whose output it is: names its variable.
    origin: str = ""

    def code(self) -> ast.expr:
        if not self.dims and self.star is not None:
            return self.star
        elts = [ast.Starred(self.star, ast.Load())] if self.star is not None else []
        return ast.Tuple([*elts, *self.dims], ast.Load())

    def key(self) -> str:
        return ast.dump(self.code())


@dataclass(frozen=True)
class Number:
    """A Python number build() can compute; ``maybe_none`` for a dimension
    that may be unknown (``ops.shape(x)[0]`` is the batch size)."""

    code: ast.expr
    maybe_none: bool = False


@dataclass(frozen=True)
class Sublayer:
    code: ast.expr
    name: str
    each: bool = False  # an element of a sublayer list, as a loop variable


@dataclass(frozen=True)
class Other:
    """A value no shape follows from (an activation, a string, a list)."""

    callable_same_shape: bool = False


@dataclass(frozen=True)
class ShapeOf:
    """``ops.shape(t)``: indexing it gives a dimension."""

    shape: Shape


@dataclass(frozen=True)
class Unknown:
    reason: str


Value = Shape | Number | Sublayer | Other | ShapeOf | Unknown | tuple


def code_of(code: str) -> ast.expr:
    return ast.parse(code, mode="eval").body


def symbolic(shape: ast.expr) -> ast.expr:
    return ast.Call(code_of("keras.KerasTensor"), [shape], [])


def unknown(node: ast.AST) -> Unknown:
    return Unknown(f"layergen does not follow the shape of `{ast.unparse(node)}`")


def known_broadcast(a: Shape, b: Shape) -> Shape | None:
    """The shape of an elementwise op on ``a`` and ``b`` where it is plain from
    the code: one shape, or a tensor and a trailing tensor of known rank (a
    bias); None where only build() knows the shapes."""
    exact = a.exact and b.exact
    if a.key() == b.key():
        return Shape(a.star, a.dims, exact)
    for big, small in ((a, b), (b, a)):
        n = len(small.dims)
        dims = big.dims or _last(big)
        if small.star is None and n and len(dims) >= n:
            trailing = [ast.unparse(d) for d in dims[len(dims) - n :]]
            if trailing == [ast.unparse(d) for d in small.dims]:
                return Shape(big.star, big.dims, exact)
    return None


def _last(shape: Shape) -> tuple[ast.expr, ...]:
    """``(s[-1],)``: the last dim of a shape known only as ``s``."""
    if shape.star is None:
        return ()
    return (ast.Subscript(shape.star, ast.Constant(-1), ast.Load()),)


def symbolic_broadcast(a: Shape, b: Shape) -> Shape:
    """Shapes only build() knows (a residual sum ``x + sublayer(x)``),
    broadcast as Keras does, on symbolic tensors."""
    added = ast.BinOp(symbolic(a.code()), ast.Add(), symbolic(b.code()))
    exact = a.exact and b.exact
    return Shape(ast.Attribute(added, "shape", ast.Load()), exact=exact)


def matmul_shape(a: Shape, b: Shape) -> Shape | None:
    """``a @ b`` for a ``b`` of rank 2: ``(*a[:-1], b[1])``."""
    if b.star is not None or len(b.dims) != 2 or (a.star is None and not a.dims):
        return None
    if a.dims:
        return _whole(Shape(a.star, (*a.dims[:-1], b.dims[1]), a.exact))
    assert a.star is not None
    head = ast.Subscript(a.star, ast.Slice(None, ast.Constant(-1)), ast.Load())
    return Shape(head, (b.dims[1],), a.exact)


def reshape_shape(target: Value) -> Shape | None:
    """``ops.reshape(t, target)`` for a literal target of numbers; a ``-1``
    becomes None (not exact)."""
    if not isinstance(target, tuple):
        return None
    dims: list[ast.expr] = []
    exact = True
    for dim in target:
        if not isinstance(dim, Number):
            return None
        if ast.unparse(dim.code) == "-1":
            dims.append(ast.Constant(None))
            exact = False
        else:
            dims.append(dim.code)
    return Shape(None, tuple(dims), exact)


def split_shape(tensor: Shape, count: int) -> Shape:
    """Each of ``count`` equal pieces of ``tensor`` along its last axis."""
    star, dims = tensor.star, tensor.dims
    if not dims:  # `(*t[:-1], t[-1])` for a shape of unknown rank
        assert star is not None
        dims = (ast.Subscript(star, ast.Constant(-1), ast.Load()),)
        star = ast.Subscript(star, ast.Slice(None, ast.Constant(-1)), ast.Load())
    last = dims[-1]
    part: ast.expr = ast.BinOp(last, ast.FloorDiv(), ast.Constant(count))
    if isinstance(last, ast.Subscript):
        # An input's dimension may be unknown (None); a weight's is known.
        unknown = ast.Compare(last, [ast.Is()], [ast.Constant(None)])
        part = ast.IfExp(unknown, ast.Constant(None), part)
    elif isinstance(last, ast.Constant) and last.value is None:
        part = last
    return Shape(star, (*dims[:-1], part), tensor.exact)


def _whole(shape: Shape) -> Shape:
    """``(*s[:-1], s[-1])`` is ``s``."""
    star = shape.star
    if (
        len(shape.dims) == 1
        and isinstance(star, ast.Subscript)
        and isinstance(star.slice, ast.Slice)
        and ast.unparse(star.slice) == ":-1"
        and ast.unparse(shape.dims[0]) == f"{ast.unparse(star.value)}[-1]"
    ):
        return Shape(star.value, exact=shape.exact)
    return shape
