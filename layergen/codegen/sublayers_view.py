"""What the layer template prints for the sublayers: each one's construction
in ``__init__`` (named after its spec entry) and how ``build`` builds them,
explicitly on the shapes :mod:`.sublayer_shapes` works out, or by tracing
call() where a sublayer's input shape does not follow from the spec."""

from __future__ import annotations

import ast
import contextlib
from typing import NamedTuple

from layergen.codegen import literals as lit
from layergen.codegen.literals import Code
from layergen.codegen.shape_values import Shape, Unknown
from layergen.codegen.sublayer_shapes import ShapeWalk, Underivable
from layergen.spec import expressions as ex
from layergen.spec.model import LayerSpec, Sublayer


class SublayerPlan(NamedTuple):
    """build()'s statements that build the sublayers; the sublayer whose input
    shape does not follow from the spec (build() then traces call()); and,
    for a spec without an output shape, compute_output_shape()'s statements
    and result where they follow from the sublayers' own."""

    builds: list[Code]
    traced: str
    output: tuple[list[Code], Code] | None


def sublayer_plan(spec: LayerSpec, input_vars: dict[str, str]) -> SublayerPlan:
    builds: list[str] = []
    traced = ""
    called = called_layer_params(spec)
    if called:
        # A layer param may come unbuilt, and its input shape is call()'s to
        # know: tracing call() builds it with the sublayers.
        traced = called[0]
    elif spec.sublayers:
        try:
            builds = [Code(line) for line in build_lines(spec, input_vars)]
        except Underivable as exc:
            traced = exc.sublayer
    output = None
    if spec.output_shape is None and not spec.outputs and not spec.is_cell:
        with contextlib.suppress(Underivable):
            lines, returned = output_shape_lines(spec, input_vars)
            output = [Code(line) for line in lines], Code(returned)
    return SublayerPlan(builds, traced, output)


def called_layer_params(spec: LayerSpec) -> list[str]:
    """The ``layer`` params that call() calls (``token_embedding(x)``)."""
    layers = {p.name for p in spec.params if p.is_layer}
    nodes = [*spec.steps, *([spec.expr] if spec.expr else [])]
    called = {
        sub.func.id
        for expr in nodes
        for sub in ast.walk(expr.node)
        if isinstance(sub, ast.Call)
        and isinstance(sub.func, ast.Name)
        and sub.func.id in layers
    }
    return [p.name for p in spec.params if p.name in called]


def constructor(sub: Sublayer, args: list[str], for_each: str | None) -> Code:
    """``keras.layers.Dense(units=..., dtype=self.dtype_policy, name="proj")``,
    or for a list one layer per element, named ``blocks_0``, ``blocks_1``..."""
    args = list(args)
    if "dtype" not in dict(sub.args):
        # Sublayers follow the parent's dtype policy (mixed precision).
        args.append("dtype=self.dtype_policy")
    if for_each is None:
        args.append(f"name={lit.value(sub.name)}")
        return Code(f"{sub.constructor}({', '.join(args)})")
    # One name per element, as Keras names the layers it makes in a loop.
    index = ast.FormattedValue(ast.Name("i", ast.Load()), -1, None)
    name = ast.JoinedStr([ast.Constant(f"{sub.name}_"), index])
    args.append(f"name={ast.unparse(name)}")
    made = f"{sub.constructor}({', '.join(args)})"
    return Code(f"[{made} for i, item in enumerate({for_each})]")


def build_lines(spec: LayerSpec, input_vars: dict[str, str]) -> list[str]:
    """build()'s statements that build every sublayer in call order; raises
    :class:`Underivable` where a sublayer's input shape does not follow."""
    walk = ShapeWalk(spec, input_vars, building=True)
    walk.run()
    return _source(walk.lines, set())


def output_shape_lines(
    spec: LayerSpec, input_vars: dict[str, str]
) -> tuple[list[str], str]:
    """compute_output_shape()'s statements and returned shape, following the
    sublayers' compute_output_shape; raises :class:`Underivable`."""
    walk = ShapeWalk(spec, input_vars, building=False)
    out = walk.run()
    if isinstance(out, Unknown):
        raise Underivable(out.reason)
    if not isinstance(out, Shape) or not out.exact:
        raise Underivable("the output's shape has dims only call() knows")
    returned = out.code()
    return _source(walk.lines, ex.names_in(returned)), ast.unparse(returned)


def _source(lines: list[ast.stmt], read_after: set[str]) -> list[str]:
    """The statements as code, without the assignments nothing reads."""
    kept: list[ast.stmt] = []
    live = set(read_after)
    for stmt in reversed(lines):
        if isinstance(stmt, ast.Assign):
            (target,) = stmt.targets
            if isinstance(target, ast.Name) and target.id not in live:
                continue
        kept.append(stmt)
        live |= ex.names_in(stmt)
    return [ast.unparse(ast.fix_missing_locations(s)) for s in reversed(kept)]
