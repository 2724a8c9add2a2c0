"""The shapes call() gives its sublayers, worked out from the spec, so that
build() can build each sublayer explicitly (``self.query.build(input_shape)``,
as Keras's ``MultiHeadAttention`` builds ``_query_dense``) and
compute_output_shape() can follow the sublayers without running call().

A walk over call()'s steps and ``expr`` that follows shapes as code: an input
is its ``build`` argument, a sublayer's output is its ``compute_output_shape``
of its inputs' shapes, a weight is its declared shape. Only what follows
plainly from the spec is derived: elementwise ops (a tensor and a scalar, or a
trailing weight such as a bias, keep the tensor's shape; other pairs broadcast
as Keras does, on symbolic tensors), activations,
``ops.reshape`` to a literal shape, ``ops.matmul`` by a 2D weight,
``ops.split`` into equal pieces along the last axis, and loops over sublayer
lists. Anything else (a slice, ``ops.concatenate``, ``ops.transpose``...)
raises :class:`Underivable`, and the layer falls back to building its
sublayers by tracing call().
"""

from __future__ import annotations

import ast
import copy

from layergen.codegen.shape_values import (
    BINARY_OPS,
    SAME_SHAPE_OPS,
    Number,
    Other,
    Shape,
    ShapeOf,
    Sublayer,
    Underivable,
    Unknown,
    Value,
    code_of,
    known_broadcast,
    matmul_shape,
    reshape_shape,
    split_shape,
    symbolic_broadcast,
    unknown,
)
from layergen.spec import expressions as ex
from layergen.spec.model import LayerSpec

__all__ = ["ShapeWalk", "Underivable"]


class ShapeWalk:
    """Walk call() once: ``lines`` are the statements that build the sublayers
    (``building=True``) or only follow the shapes, ``returned`` the output."""

    def __init__(
        self, spec: LayerSpec, input_vars: dict[str, str], building: bool
    ) -> None:
        self.spec = spec
        self.building = building
        self.lines: list[ast.stmt] = []
        self.built: set[str] = set()
        self.made_in_build = {s.name for s in spec.sublayers if s.in_build}
        self.taken = set(input_vars.values())
        # A local (or a sublayer's output or input) -> the variable of its shape.
        self.vars: dict[tuple[str, str], str] = {}
        # Variables assigned while the current statement is walked.
        self.fresh: set[str] = set()
        self.env: dict[str, Value] = {}
        for item in spec.main_inputs:
            self.env[item.name] = Shape(code_of(input_vars[item.name]))
        # build() and compute_output_shape() see neither an optional input
        # nor a call argument.
        for item in spec.optional_inputs:
            self.env[item.name] = Unknown(f"optional input `{item.name}`")
        for arg in spec.call_args:
            self.env[arg.name] = Unknown(f"call argument `{arg.name}`")
        for p in spec.params:
            if p.type in ("int", "float", "bool"):
                # An optional param may be None: no arithmetic on it.
                code = code_of(f"self.{p.name}")
                self.env[p.name] = Number(code, maybe_none=p.optional)
            else:
                self.env[p.name] = Other(callable_same_shape=p.type == "activation")
        for w in spec.weights:
            dims = tuple(self._weight_dim(d.node, input_vars) for d in w.shape)
            self.env[w.name] = Shape(None, dims)
        for sub in spec.sublayers:
            self.env[sub.name] = (
                Other()
                if sub.for_each
                else Sublayer(code_of(f"self.{sub.name}"), sub.name)
            )
        for state in spec.states:
            self.env[state.name] = Unknown(f"state `{state.name}`")

    def _weight_dim(self, node: ast.AST, input_vars: dict[str, str]) -> ast.expr:
        names = {p.name: f"self.{p.name}" for p in self.spec.params}
        names.update(input_vars)
        return code_of(ex.to_code(node, names))

    def run(self) -> Value:
        """Walk the steps, ``expr``, updates and next states; the output."""
        for step in self.spec.steps:
            self.fresh = set()
            self.statement(step.node, self.lines)
        assert self.spec.expr is not None
        self.fresh = set()
        out = self.value(self.spec.expr.node, self.lines)
        for expr in [*self.spec.updates.values(), *self.spec.next_states.values()]:
            self.fresh = set()
            self.value(expr.node, self.lines)
        return out

    # Statements -----------------------------------------------------------

    def statement(self, stmt: ast.AST, lines: list[ast.stmt]) -> None:
        if isinstance(stmt, ast.For):
            self.loop(stmt, lines)
        elif isinstance(stmt, ast.AugAssign):
            target = ast.Name(stmt.target.id, ast.Load())
            value = self.binary(stmt.op, target, stmt.value, lines)
            self.bind(stmt.target.id, value, lines)
        else:
            assert isinstance(stmt, ast.Assign)
            target = stmt.targets[0]
            if len(stmt.targets) == 1 and isinstance(target, ast.Name):
                self.bind(target.id, self.value(stmt.value, lines), lines)
                return
            names = ex.assigned_names(stmt)
            piece = self.split(stmt.value, len(names), lines)
            for name in names:
                source = ast.unparse(stmt)
                self.env[name] = piece or Unknown(f"`{name}`, unpacked in `{source}`")

    def split(self, node: ast.AST, count: int, lines: list[ast.stmt]) -> Shape | None:
        """The shape of each of ``count`` equal pieces of
        ``ops.split(t, count, axis=-1)``, or None."""
        chain = ex.dotted_chain(node.func) if isinstance(node, ast.Call) else None
        axis = [k.value for k in node.keywords if k.arg == "axis"]  # type: ignore[union-attr]
        if (
            chain != ["ops", "split"]
            or len(node.args) != 2  # type: ignore[union-attr]
            or not (len(axis) == 1 and ast.unparse(axis[0]) == "-1")
            or ast.unparse(node.args[1]) != str(count)  # type: ignore[union-attr]
        ):
            return None
        tensor = self.value(node.args[0], lines)  # type: ignore[union-attr]
        if not isinstance(tensor, Shape):
            return None
        return split_shape(self.named(tensor, lines), count)

    def bind(self, name: str, value: Value, lines: list[ast.stmt]) -> None:
        """A local: a shape that calls a sublayer gets a variable of its own."""
        if isinstance(value, Shape):
            self.fresh.discard(self.vars.get(("local", name), ""))
            value = self.stored(value, ("local", name), name, lines)
        self.env[name] = value

    def stored(
        self, value: Shape, key: tuple[str, str], base: str, lines: list[ast.stmt]
    ) -> Shape:
        """``value`` in the variable ``<base>_shape`` when computing it calls
        something (a sublayer's compute_output_shape), so that it is computed
        once and reads as a name."""
        if not self._calls(value.code()):
            return value
        var = self.variable(key, base)
        lines.append(ast.Assign([ast.Name(var, ast.Store())], value.code()))
        self.fresh.add(var)
        return Shape(ast.Name(var, ast.Load()), exact=value.exact)

    def variable(self, key: tuple[str, str], base: str) -> str:
        """The variable holding a shape: ``h_shape`` for the local ``h``; a
        new one where the old one is still read in the current statement."""
        var = self.vars.get(key)
        if var is None or var in self.fresh:
            var = f"{base}_shape"
            while var in self.taken or var in self.env:
                var += "_"
            self.taken.add(var)
            self.vars[key] = var
        return var

    def _own_variable(self, name: str, value: Value) -> bool:
        return (
            isinstance(value, Shape)
            and isinstance(value.code(), ast.Name)
            and value.code().id  # type: ignore[attr-defined]
            == self.vars.get(("local", name))
        )

    def loop(self, stmt: ast.For, lines: list[ast.stmt]) -> None:
        assert isinstance(stmt.iter, ast.Name) and isinstance(stmt.target, ast.Name)
        listed = stmt.iter.id
        carried = ex.assigned_names(stmt.body[0])
        # Shapes carried from one pass to the next live in variables.
        for name in carried:
            value = self.env.get(name)
            if isinstance(value, Shape) and not self._own_variable(name, value):
                var = self.variable(("local", name), name)
                lines.append(ast.Assign([ast.Name(var, ast.Store())], value.code()))
                self.env[name] = Shape(ast.Name(var, ast.Load()), exact=value.exact)
        before = {name: self.env.get(name) for name in carried}
        body: list[ast.stmt] = []
        self.env[stmt.target.id] = Sublayer(
            ast.Name(stmt.target.id, ast.Load()), listed, each=listed not in self.built
        )
        self.fresh = set()
        self.statement(stmt.body[0], body)
        self.fresh = set()
        self.built.add(listed)
        del self.env[stmt.target.id]
        for name in carried:
            value, old = self.env[name], before[name]
            if isinstance(old, Shape) and not isinstance(value, Shape):
                reason = self._why(value, name)
                if self.building:  # the next pass's sublayers would see it
                    message = f"`{name}`, carried by the loop: {reason}"
                    raise Underivable(message, listed)
                self.env[name] = Unknown(reason)
            if isinstance(value, Shape):
                var = self.variable(("local", name), name)
                if not self._own_variable(name, value):
                    body.append(ast.Assign([ast.Name(var, ast.Store())], value.code()))
                exact = value.exact and (not isinstance(old, Shape) or old.exact)
                self.env[name] = Shape(ast.Name(var, ast.Load()), exact=exact)
        target = ast.Name(stmt.target.id, ast.Store())
        loop_iter = code_of(f"self.{listed}")
        lines.append(ast.For(target, loop_iter, body or [ast.Pass()], []))

    # Expressions ----------------------------------------------------------

    def value(self, node: ast.AST, lines: list[ast.stmt]) -> Value:
        if isinstance(node, ast.Name):
            return self.env.get(node.id, Other())
        if isinstance(node, ast.Constant):
            if isinstance(node.value, int | float) and not isinstance(node.value, bool):
                return Number(ast.Constant(node.value))
            return Other()
        if isinstance(node, ast.Tuple | ast.List):
            return tuple(self.value(e, lines) for e in node.elts)
        if isinstance(node, ast.BinOp):
            return self.binary(node.op, node.left, node.right, lines)
        if isinstance(node, ast.UnaryOp):
            operand = self.value(node.operand, lines)
            if isinstance(operand, Number) and not operand.maybe_none:
                return Number(ast.UnaryOp(node.op, operand.code))
            return operand if isinstance(operand, Shape) else unknown(node)
        if isinstance(node, ast.IfExp):
            return self.either(node, lines)
        if isinstance(node, ast.Call):
            return self.call(node, lines)
        if isinstance(node, ast.Subscript):
            return self.subscript(node, lines)
        if isinstance(node, ast.Attribute) and node.attr == "shape":
            tensor = self.value(node.value, lines)
            return ShapeOf(tensor) if isinstance(tensor, Shape) else unknown(node)
        return unknown(node)

    def either(self, node: ast.IfExp, lines: list[ast.stmt]) -> Value:
        body = self.value(node.body, lines)
        orelse = self.value(node.orelse, lines)
        same = isinstance(body, Shape) and isinstance(orelse, Shape)
        if same and body.key() == orelse.key():  # type: ignore[union-attr]
            return Shape(body.star, body.dims, body.exact and orelse.exact)  # type: ignore[union-attr]
        return unknown(node)

    def binary(
        self, op: ast.operator, left: ast.AST, right: ast.AST, lines: list[ast.stmt]
    ) -> Value:
        a, b = self.value(left, lines), self.value(right, lines)
        if isinstance(op, ast.MatMult):
            return self.matmul(a, b, ast.BinOp(left, op, right), lines)
        if isinstance(a, Number) and isinstance(b, Number):
            if a.maybe_none or b.maybe_none:
                return unknown(ast.BinOp(left, op, right))
            return Number(ast.BinOp(a.code, op, b.code))
        return self.broadcast(a, b, ast.BinOp(left, op, right), lines)

    def broadcast(
        self, a: Value, b: Value, node: ast.AST, lines: list[ast.stmt]
    ) -> Value:
        """An elementwise op: a tensor and a number keep the tensor's shape."""
        if isinstance(a, Shape) and isinstance(b, Number):
            return a
        if isinstance(a, Number) and isinstance(b, Shape):
            return b
        if isinstance(a, Shape) and isinstance(b, Shape):
            known = known_broadcast(a, b)
            if known is not None:
                return known
            return symbolic_broadcast(self.named(a, lines), self.named(b, lines))
        if isinstance(a, Unknown):
            return a
        return b if isinstance(b, Unknown) else unknown(node)

    def matmul(self, a: Value, b: Value, node: ast.AST, lines: list[ast.stmt]) -> Value:
        if isinstance(a, Shape) and isinstance(b, Shape):
            found = matmul_shape(self.named(a, lines), b)
            if found is not None:
                return found
        return unknown(node)

    def call(self, node: ast.Call, lines: list[ast.stmt]) -> Value:
        func = self.value(node.func, lines) if isinstance(node.func, ast.Name) else None
        if isinstance(func, Sublayer):
            return self.sublayer_call(func, node, lines)
        args = [self.value(a, lines) for a in node.args]
        for keyword in node.keywords:
            self.value(keyword.value, lines)  # builds the sublayers it calls
        if isinstance(func, Other) and func.callable_same_shape and len(args) == 1:
            return args[0]
        chain = ex.dotted_chain(node.func) or []
        if chain[:1] == ["ops"] and len(chain) == 2 and args:
            if chain[1] in SAME_SHAPE_OPS and isinstance(args[0], Shape):
                return args[0]
            if chain[1] in BINARY_OPS and len(args) == 2:
                return self.broadcast(args[0], args[1], node, lines)
            if chain[1] == "matmul" and len(args) == 2:
                return self.matmul(args[0], args[1], node, lines)
            if chain[1] == "reshape" and len(args) == 2:
                return reshape_shape(args[1]) or unknown(node)
            if chain[1] == "shape" and isinstance(args[0], Shape):
                return ShapeOf(args[0])
        if chain == ["random", "dropout"] and args and isinstance(args[0], Shape):
            return args[0]
        number = args[0] if len(args) == 1 else None
        if chain in (["float"], ["int"]) and isinstance(number, Number):
            return (
                unknown(node)
                if number.maybe_none
                else Number(ast.Call(code_of(chain[0]), [number.code], []))
            )
        return unknown(node)

    def sublayer_call(
        self, layer: Sublayer, node: ast.Call, lines: list[ast.stmt]
    ) -> Value:
        """``sub(a, b)``: built on the positional inputs' shapes the first time
        it is called (in a loop: the first pass); keyword arguments
        (``training``, masks) shape nothing."""
        if not self.building and layer.name in self.made_in_build:
            # compute_output_shape() may run before build() has made it.
            return Unknown(f"sublayer `{layer.name}` is made in build()")
        consumer = ast.unparse(layer.code).removeprefix("self.")
        shapes = [self.argument(a, consumer, lines) for a in node.args]
        for keyword in node.keywords:
            self.value(keyword.value, lines)
        bad = next((s for s in shapes if isinstance(s, Unknown)), None)
        if bad is not None or not shapes:
            what = bad.reason if isinstance(bad, Unknown) else "no positional input"
            problem = Unknown(f"the input of sublayer `{layer.name}`: {what}")
            if self.building:
                raise Underivable(problem.reason, layer.name)
            return problem
        codes = [code for code, _ in shapes]  # type: ignore[misc]
        if self.building and layer.name not in self.built:
            method = ast.Attribute(layer.code, "build", ast.Load())
            build: ast.stmt = ast.Expr(ast.Call(method, codes, []))
            if not layer.each and lines is not self.lines:
                # Called in a loop: built on the first pass.
                built = ast.Attribute(layer.code, "built", ast.Load())
                build = ast.If(ast.UnaryOp(ast.Not(), built), [build], [])
            lines.append(build)
            if lines is self.lines:
                self.built.add(layer.name)
        method = ast.Attribute(layer.code, "compute_output_shape", ast.Load())
        exact = all(exact for _, exact in shapes)  # type: ignore[misc]
        return Shape(ast.Call(method, codes, []), exact=exact, origin=consumer)

    def named(self, value: Shape, lines: list[ast.stmt]) -> Shape:
        """A sublayer's output shape in a variable of its own (``conv_shape``),
        for what reads it."""
        if value.origin:
            return self.stored(value, ("output", value.origin), value.origin, lines)
        return value

    def argument(
        self, node: ast.AST, consumer: str, lines: list[ast.stmt]
    ) -> tuple[ast.expr, bool] | Unknown:
        """A positional input's shape (a list of shapes for a list of tensors)
        and whether it is exact; one computed from several gets a variable
        (``norm_input_shape``), read by build() and compute_output_shape()."""
        value = self.value(node, lines)
        if isinstance(value, Shape):
            value = self.named(value, lines)
        items = list(value) if isinstance(value, tuple) else [value]
        for item in items:
            if isinstance(item, Unknown):
                return item
            if not isinstance(item, Shape):
                return Unknown(f"`{ast.unparse(node)}` is not a tensor")
        exact = all(item.exact for item in items)  # type: ignore[union-attr]
        if isinstance(value, tuple):
            return ast.List([item.code() for item in items], ast.Load()), exact  # type: ignore[union-attr]
        assert isinstance(value, Shape)
        base = f"{consumer}_input"
        return self.stored(value, ("input", consumer), base, lines).code(), exact

    def subscript(self, node: ast.Subscript, lines: list[ast.stmt]) -> Value:
        base = self.value(node.value, lines)
        index = node.slice
        if isinstance(base, ShapeOf) and isinstance(index, ast.Constant | ast.UnaryOp):
            code = ast.Subscript(base.shape.code(), copy.deepcopy(index), ast.Load())
            return Number(code, maybe_none=True)
        return unknown(node)

    @staticmethod
    def _why(value: Value, name: str) -> str:
        if isinstance(value, Unknown):
            return value.reason
        return f"`{name}` is not a tensor"

    @staticmethod
    def _calls(node: ast.expr) -> bool:
        return any(isinstance(n, ast.Call) for n in ast.walk(node))
