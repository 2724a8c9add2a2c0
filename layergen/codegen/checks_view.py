"""What ``__init__`` and ``build`` check, decided in Python for the layer
template: cross-param checks (``if embed_dim % num_heads != 0``), the first
input's ``keras.InputSpec`` (its rank, and once built the dims its weights
were sized by), and the checks ``build`` makes itself where no InputSpec
reaches: other inputs' ranks, dimensions a weight needs known, ``[checks]``
over input dimensions."""

from __future__ import annotations

import ast

from layergen.codegen import literals as lit
from layergen.codegen.literals import Code
from layergen.codegen.params_view import received
from layergen.spec import expressions as ex
from layergen.spec.model import Expr, LayerSpec


def shape_var(spec: LayerSpec, input_name: str) -> Code:
    """The ``build`` argument holding an input's shape."""
    return Code("input_shape" if len(spec.main_inputs) == 1 else f"{input_name}_shape")


class ChecksView:
    """The layer's checks as code; ``build_names`` renames what a check over
    input dimensions reads (``units`` -> ``self.units``, ``x`` -> its shape)."""

    def __init__(self, spec: LayerSpec, build_names: dict[str, str]) -> None:
        self.spec = spec
        self.build_names = build_names
        self.input_names = frozenset(i.name for i in spec.main_inputs)

    def check(self, name: str, expr: Expr) -> dict[str, str]:
        """A cross-param check for __init__, over the constructor's locals."""
        used = sorted(ex.names_in(expr.node) & {p.name for p in self.spec.params})
        message = [
            f"{self.spec.name} requires `{ast.unparse(expr.node)}` "
            f"(check `{name}`). Received: ",
            *received(used + self.layer_attributes(expr.node)),
        ]
        return {
            "condition": Code(ex.to_code(ex.negated(expr.node))),
            "error": lit.message(message),
        }

    def layer_attributes(self, node: ast.AST) -> list[str]:
        """The attributes of layer params a check reads (``emb.input_dim``)
        that its error may show: those of a required layer param, or of one
        the failed check rules None out for (``emb is None or ...``)."""
        present = {p.name for p in self.spec.params if p.is_layer and not p.optional}
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
            present |= {
                value.left.id
                for value in node.values
                if isinstance(value, ast.Compare)
                and isinstance(value.left, ast.Name)
                and isinstance(value.ops[0], ast.Is)
                and isinstance(value.comparators[0], ast.Constant)
                and value.comparators[0].value is None
            }
        read = [
            ast.unparse(sub)
            for sub in ast.walk(node)
            if isinstance(sub, ast.Attribute)
            and isinstance(sub.value, ast.Name)
            and sub.value.id in present
            and self.spec.param(sub.value.id) is not None
        ]
        return list(dict.fromkeys(read))

    def build_check(self, name: str, expr: Expr) -> dict[str, str]:
        """A check over input dimensions for build(), skipped while a
        dimension it reads is unknown (None)."""
        dims = ex.input_dims(expr.node, self.input_names)
        known: list[ast.expr] = [
            ast.Compare(dim, [ast.IsNot()], [ast.Constant(None)]) for dim in dims
        ]
        condition = ast.BoolOp(ast.And(), [*known, ex.negated(expr.node)])
        shapes = list(
            dict.fromkeys(shape_var(self.spec, dim.value.id) for dim in dims)  # type: ignore[attr-defined]
        )
        message = [
            f"{self.spec.name} requires `{ast.unparse(expr.node)}` "
            f"(check `{name}`). Received: ",
            *received(shapes, ""),
        ]
        axis_params = dict.fromkeys(
            dim.slice.id for dim in dims if isinstance(dim.slice, ast.Name)
        )
        for param in axis_params:
            message += [f", {param}=", lit.Shown(f"self.{param}")]
        return {
            "condition": Code(ex.to_code(condition, self.build_names)),
            "error": lit.message(message),
        }

    def input_spec(self, built: bool) -> Code | str:
        """``keras.InputSpec`` of the first input, which Keras checks on each
        call: its rank (set in __init__) and, once built, the dims its weights
        were sized by (as Dense fixes its last axis). A cell has none: its RNN
        checks the sequence."""
        first = self.spec.inputs[0]
        if self.spec.is_cell:
            return ""
        args = []
        if first.rank is not None:
            args.append(f"ndim={first.rank}")
        elif first.min_rank is not None:
            args.append(f"min_ndim={first.min_rank}")
        if built:
            var = shape_var(self.spec, first.name)
            axes = [axis for name, axis in self.weight_axes() if name == first.name]
            if not axes:
                return ""
            pairs = ", ".join(f"{axis}: {var}[{axis}]" for axis in axes)
            args.append(f"axes={{{pairs}}}")
        return Code(f"keras.InputSpec({', '.join(args)})") if args else ""

    def rank_checks(self) -> list[dict[str, str]]:
        """Rank checks in build() where no InputSpec checks the rank: inputs
        after the first (Keras checks the first only) and a cell's input (its
        RNN builds it directly)."""
        checks = []
        for item in self.spec.main_inputs[0 if self.spec.is_cell else 1 :]:
            var = shape_var(self.spec, item.name)
            if item.rank is not None:
                condition, wanted = f"len({var}) != {item.rank}", f"rank {item.rank}"
            elif item.min_rank is not None:
                condition = f"len({var}) < {item.min_rank}"
                wanted = f"rank >= {item.min_rank}"
            else:
                continue
            message = lit.message(
                [
                    f"{self.spec.name} expects input `{item.name}` of {wanted}. "
                    "Received: ",
                    *received([var], ""),
                ]
            )
            checks.append({"condition": Code(condition), "message": message})
        return checks

    def weight_axes(self) -> dict[tuple[str, int], list[str]]:
        """The input dims weights are sized by, with the weights."""
        needed: dict[tuple[str, int], list[str]] = {}
        for weight in self.spec.weights:
            for expr in weight.build_exprs:
                for ref in ex.input_axes(expr.node, self.input_names):
                    needed.setdefault(ref, []).append(weight.name)
        return needed

    def known_dim_checks(self) -> list[dict[str, str]]:
        """build() stops where a dimension that sizes a weight, or that a
        sublayer made in build() is given, is unknown (None)."""
        needed = {
            ref: [("weight", w) for w in weights]
            for ref, weights in self.weight_axes().items()
        }
        for sub in self.spec.sublayers:
            for _, expr in sub.args:
                for ref in ex.input_axes(expr.node, self.input_names):
                    needed.setdefault(ref, []).append(("sublayer", sub.name))
        checks = []
        for (name, axis), users in needed.items():
            var = shape_var(self.spec, name)
            message = lit.message(
                [
                    f"{self.spec.name} needs dimension {name}[{axis}] of its input "
                    f"to be known when it is built ({_depend(users)} on it). "
                    "Received: ",
                    *received([var], ""),
                ]
            )
            checks.append({"condition": Code(f"{var}[{axis}]"), "message": message})
        return checks


def _depend(users: list[tuple[str, str]]) -> str:
    """``weight `kernel` depends``, ``weights `kernel` and `bias` depend``,
    ``weight `kernel` and sublayer `proj` depend``."""
    groups = []
    for what in ("weight", "sublayer"):
        names = [f"`{n}`" for w, n in dict.fromkeys(users) if w == what]
        if len(names) == 1:
            groups.append(f"{what} {names[0]}")
        elif names:
            groups.append(f"{what}s {', '.join(names[:-1])} and {names[-1]}")
    plural = len(dict.fromkeys(users)) > 1
    return f"{' and '.join(groups)} {'depend' if plural else 'depends'}"
