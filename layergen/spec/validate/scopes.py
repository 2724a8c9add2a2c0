"""The names each kind of expression may use, built in one place.

- params: ``[checks]`` over params, weight ``if``, ``for_each``, ``[mask] expr``
- shape: the int params and input ranks a shape dimension may read
- checks: params and input dimensions (also sublayer args)
- call: everything ``call()`` sees (``[call]`` and ``[updates]``)
- numpy: a ``[test]`` reference or property
"""

from __future__ import annotations

import ast
from typing import NamedTuple

from layergen.spec import expressions as ex
from layergen.spec.model import LayerSpec, MaskMode, Param
from layergen.spec.validate.schema import mask_names


def param_symbol(p: Param) -> ex.Symbol:
    """A param's symbol; a ``layer`` param of a spec knows that spec's params
    (its attributes) and the keyword arguments its call() takes."""
    if p.spec is None:
        return ex.Symbol(ex.PARAM, param_type=p.type)
    made = p.spec
    keywords = [i.name for i in made.inputs] + [a.name for a in made.call_args]
    keywords += ["training"] if made.training else []
    keywords += ["mask"] if made.mask_mode != MaskMode.NONE else []
    return ex.Symbol(
        ex.PARAM,
        param_type=p.type,
        attributes=frozenset(q.name for q in made.params),
        class_name=made.name,
        keywords=frozenset(keywords),
    )


def param_scope(spec: LayerSpec) -> dict[str, ex.Symbol]:
    """Params, safe builtins, ``ops`` and ``activations``."""
    scope = {p.name: param_symbol(p) for p in spec.params}
    scope.update({b: ex.Symbol(ex.BUILTIN) for b in ex.SAFE_BUILTINS})
    scope["ops"] = ex.Symbol(ex.MODULE, namespace="ops")
    scope["activations"] = ex.Symbol(ex.MODULE, namespace="activations")
    return scope


class ShapeScope(NamedTuple):
    """What a shape dimension may read: int params, and input dimensions
    (each input's rank and min_rank bound the axes); a conditional dimension's
    condition, any param. The inputs are those call() always gets: an
    optional input's dimensions may be absent. A ``list[int]`` param's item
    is a dimension too (``kernel_size[0]``): ``int_lists`` maps each to its
    default's length (None without one). An optional int param, or an
    optional ``list[int]`` param's item, is a dimension only where the
    condition rules None out (``3 if kernel_size is None else
    kernel_size[0]``): ``optional`` names them."""

    int_params: frozenset[str]
    ranks: dict[str, tuple[int | None, int | None]]
    params: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()
    optional_inputs: frozenset[str] = frozenset()
    int_lists: dict[str, int | None] = {}
    # ``layer`` params: the required int params of each one's spec, which a
    # dimension may read (``token_embedding.input_dim``); None without a spec.
    layers: dict[str, frozenset[str] | None] = {}
    # ``(a, b)``: where optional ``a`` is None, ``b`` is not (from a check
    # ``a is not None or b is not None``).
    implied: frozenset[tuple[str, str]] = frozenset()


# Params that may be None and are dimensions (an int, a list's items) or
# give them (a layer's int params) where a condition rules None out.
_DIMS = ("int", "list[int]", "layer")


def shape_scope(spec: LayerSpec) -> ShapeScope:
    """The int params and input ranks a shape may use (once ``[params]`` and
    ``[inputs]`` are read; built once, as every shape of a spec shares it)."""
    ints = [p for p in spec.params if p.type == "int"]
    return ShapeScope(
        frozenset(p.name for p in ints if not p.optional),
        {i.name: (i.rank, i.min_rank) for i in spec.main_inputs},
        frozenset(p.name for p in spec.params),
        frozenset(p.name for p in spec.params if p.optional and p.type in _DIMS),
        frozenset(i.name for i in spec.optional_inputs),
        {
            p.name: len(p.default) if isinstance(p.default, list) else None
            for p in spec.params
            if p.type == "list[int]"
        },
        {
            p.name: (
                None
                if p.spec is None
                else frozenset(
                    q.name for q in p.spec.params if q.type == "int" and not q.optional
                )
            )
            for p in spec.params
            if p.is_layer
        },
        frozenset(
            pair for check in spec.checks.values() for pair in either_given(check.node)
        ),
    )


def either_given(node: ast.AST) -> list[tuple[str, str]]:
    """``a is not None or b is not None``: ``[(a, b), (b, a)]``, each saying
    that where the first is None the second is not."""
    if not (
        isinstance(node, ast.BoolOp)
        and isinstance(node.op, ast.Or)
        and len(node.values) == 2
    ):
        return []
    names = []
    for value in node.values:
        if not (
            isinstance(value, ast.Compare)
            and isinstance(value.left, ast.Name)
            and len(value.ops) == 1
            and isinstance(value.ops[0], ast.IsNot)
            and isinstance(value.comparators[0], ast.Constant)
            and value.comparators[0].value is None
        ):
            return []
        names.append(value.left.id)
    return [(names[0], names[1]), (names[1], names[0])]


def checks_scope(spec: LayerSpec) -> dict[str, ex.Symbol]:
    """``[checks]``: params, and the inputs (whose dims a check may read)."""
    scope = dict(param_scope(spec))
    scope.update({i.name: ex.Symbol(ex.INPUT) for i in spec.main_inputs})
    return scope


def sublayer_scope(spec: LayerSpec, *, for_each: bool) -> dict[str, ex.Symbol]:
    """A sublayer's args: params, input dimensions (the sublayer is then made
    in ``build``; an optional input's are refused by name), and ``item`` in a
    ``for_each`` sublayer."""
    scope = checks_scope(spec)
    scope.update({i.name: ex.Symbol(ex.INPUT) for i in spec.optional_inputs})
    if for_each:
        scope["item"] = ex.Symbol(ex.LOCAL)
    return scope


def mask_scope(spec: LayerSpec) -> dict[str, ex.Symbol]:
    """``[mask] expr``: params, the first input, the incoming ``mask`` and
    the call arguments (a mask that reads one is set by call())."""
    scope = dict(param_scope(spec))
    scope.update({i.name: ex.Symbol(ex.INPUT) for i in spec.inputs[:1]})
    scope["mask"] = ex.Symbol(ex.LOCAL)
    scope.update({a.name: ex.Symbol(ex.FLAG) for a in spec.call_args})
    return scope


def call_scope(spec: LayerSpec) -> dict[str, ex.Symbol]:
    """What ``call()`` sees before its first step (steps add their locals)."""
    scope = dict(param_scope(spec))
    scope.update({i.name: ex.Symbol(ex.INPUT) for i in spec.inputs})
    scope.update({a.name: ex.Symbol(ex.FLAG) for a in spec.call_args})
    scope.update({w.name: ex.Symbol(ex.WEIGHT) for w in spec.weights})
    scope.update({s.name: ex.Symbol(ex.LOCAL) for s in spec.states})
    scope.update({n: ex.Symbol(ex.LOCAL) for n in spec.failed_names})
    for sub in spec.sublayers:
        kind = ex.SUBLAYER_LIST if sub.for_each else ex.SUBLAYER
        scope[sub.name] = ex.Symbol(kind)
    scope["random"] = ex.Symbol(ex.MODULE, namespace="random")
    if spec.training:
        scope["training"] = ex.Symbol(ex.FLAG)
    if spec.mask_mode != MaskMode.NONE:
        for name in mask_names(spec):
            scope[name] = ex.Symbol(ex.LOCAL)
    return scope


def numpy_scope(spec: LayerSpec) -> dict[str, ex.Symbol]:
    """What a ``[test]`` reference sees: inputs (an optional one None when not
    passed), weights, sublayers' weights (``proj.kernel``), plain params and
    call arguments as numpy and Python values, and ``np``."""
    scope = {
        s.name: ex.Symbol(ex.SUBLAYER_WEIGHTS, weights=weight_paths(s.spec))
        for s in spec.sublayers
        if s.for_each is None
    }
    scope.update({i.name: ex.Symbol(ex.INPUT) for i in spec.inputs})
    scope.update(
        {a.name: ex.Symbol(ex.PARAM, param_type=a.type) for a in spec.call_args}
    )
    scope.update({w.name: ex.Symbol(ex.WEIGHT) for w in spec.weights})
    scope.update({n: ex.Symbol(ex.LOCAL) for n in spec.failed_names})
    scope.update(
        {
            p.name: ex.Symbol(ex.PARAM, param_type=p.type)
            for p in spec.params
            if not p.object_module and not p.is_layer
        }
    )
    scope.update({b: ex.Symbol(ex.BUILTIN) for b in ex.SAFE_BUILTINS})
    scope["np"] = ex.Symbol(ex.MODULE, namespace="numpy")
    return scope


def property_scope(spec: LayerSpec) -> dict[str, ex.Symbol]:
    """A ``[test.properties]`` expression: the numpy scope but sublayers, and
    ``output``."""
    scope = {
        name: symbol
        for name, symbol in numpy_scope(spec).items()
        if symbol.kind != ex.SUBLAYER_WEIGHTS
    }
    scope["output"] = ex.Symbol(ex.INPUT)
    return scope


def weight_paths(spec: LayerSpec | None) -> frozenset[str]:
    """A sublayer's weights by path below it (``kernel``, ``query.kernel``):
    those of its spec and its spec's sublayers; ``*`` below a sublayer of
    another class, whose weights only Keras knows."""
    if spec is None:
        return frozenset({"*"})
    paths = {w.name for w in spec.weights}
    for sub in spec.sublayers:
        if sub.for_each is not None:
            paths.add("*")  # blocks_0, blocks_1...: checked at run time
        else:
            paths |= {f"{sub.name}.{p}" for p in weight_paths(sub.spec)}
    return frozenset(paths)
