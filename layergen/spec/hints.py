"""Performance hints: computations a spec writes out that ``keras.ops`` runs as
one fused op (attention, layer, RMS and batch normalization).

Works on the checked expression trees of ``[call]``: each step's value is
read with the names earlier steps bound written in (``mean, variance =
ops.moments(x, ...)`` makes ``mean`` read ``ops.moments(x, ...)[0]``), then
matched against the usual spellings. Each kind is reported once, at the
first step or ``expr`` where it is complete.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from layergen.spec import expressions as ex
from layergen.spec.model import Expr, LayerSpec

# Inlining stops past this many nodes (a chain of steps that doubles at each).
MAX_NODES = 4000
PRODUCTS = frozenset({"matmul", "einsum", "dot", "tensordot"})
ELEMENTWISE = frozenset({"multiply", "divide", "true_divide", "add", "subtract"})
# Wrappers that keep what they wrap: a cast, dropout of the attention weights.
PASS_THROUGH = frozenset({"cast", "dropout"})
# Convolutions TensorFlow's remapper fuses with a following BiasAdd.
CONVOLUTIONS = frozenset({"conv", "depthwise_conv", "separable_conv"})

# Under the 400-character limit of a diagnostic line.
HINTS = {
    "attention": (
        "softmax(q·kᵀ)·v written out: `ops.dot_product_attention(query, key, "
        "value, scale=..., mask=..., is_causal=...)` (each (batch, seq, heads, "
        "head_dim)) is one fused op, flash attention on a GPU; written out it "
        "measured 1.49x forward and 2.13x forward+backward under "
        "mixed_bfloat16 (H100, JAX; benchmarks/results.md)"
    ),
    "layer": (
        "layer normalization written out: `ops.layer_normalization(x, gamma, "
        "beta, axis=-1, epsilon=epsilon)` is one fused op (PyTorch's layer_norm "
        "kernel); written with ops.moments it measured 2.27x forward and 1.61x "
        "forward+backward in float32 (H100, PyTorch), 1.32-1.43x on a CPU "
        "(benchmarks/results.md)"
    ),
    "rms": (
        "RMS normalization written out: `ops.rms_normalization(x, scale=gamma, "
        "axis=-1, epsilon=epsilon)` is Keras's fused op for it (not measured "
        "here; a written-out layer normalization measured up to 2.27x its "
        "fused op, benchmarks/results.md)"
    ),
    "bias_add": (
        "`conv(...) + bias` traces to a broadcasting AddV2 under TensorFlow; "
        "`ops.add(conv(...), bias)`, the bias second as Keras's Conv layers "
        "write it, traces to BiasAdd, which TensorFlow's graph optimizer fuses "
        "into the convolution (_FusedConv2D): `+` measured 1.13-1.19x "
        "keras.layers.Conv1D under tf.function on a CPU, ops.add 1.00"
    ),
    "batch": (
        "batch normalization written out: after `mean, variance = "
        "ops.moments(x, axes=[...])`, `ops.batch_normalization(x, mean, "
        "variance, axis=-1, offset=beta, scale=gamma, epsilon=epsilon)` "
        "normalizes in one fused op (not measured here)"
    ),
}


@dataclass(frozen=True)
class Hint:
    """A fused op the spec could use: where, which kind, what to write."""

    expr: Expr
    kind: str
    message: str


def fused_op_hints(spec: LayerSpec) -> list[Hint]:
    """One hint per kind of computation written out in ``[call]``."""
    found: dict[str, Hint] = {}
    inputs = frozenset(i.name for i in spec.inputs)
    biases = frozenset(w.name for w in spec.weights if len(w.shape) == 1)
    bound: dict[str, ast.expr] = {}
    exprs = [*spec.steps, *([spec.expr] if spec.expr is not None else [])]
    for item in exprs:
        node = item.node
        value = node.value if isinstance(node, ast.Assign) else node
        if not isinstance(value, ast.expr):
            continue  # a for loop over sublayers
        inlined = _inline(value, bound)
        for kind, message in _kinds(inlined, inputs, biases):
            found.setdefault(kind, Hint(item, kind, message))
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            _bind(node.targets[0], inlined, bound)
    return list(found.values())


def _bind(target: ast.expr, value: ast.expr, bound: dict[str, ast.expr]) -> None:
    if isinstance(target, ast.Name):
        bound[target.id] = value
    elif isinstance(target, ast.Tuple | ast.List):
        for index, element in enumerate(target.elts):
            if isinstance(element, ast.Name):
                item = ast.Subscript(value, ast.Constant(index), ast.Load())
                bound[element.id] = item


def _inline(node: ast.expr, bound: dict[str, ast.expr]) -> ast.expr:
    """``node`` with each name an earlier step bound replaced by its value."""

    class Inline(ast.NodeTransformer):
        def visit_Name(self, name: ast.Name) -> ast.expr:
            return bound.get(name.id, name)

    copy = Inline().visit(_copy(node))
    return copy if sum(1 for _ in ast.walk(copy)) <= MAX_NODES else node


def _copy(node: ast.expr) -> ast.expr:
    return ast.parse(ast.unparse(node), mode="eval").body


def _kinds(
    node: ast.expr, inputs: frozenset[str], biases: frozenset[str]
) -> Iterator[tuple[str, str]]:
    """Each kind found in ``node``, with its message."""
    for sub in ast.walk(node):
        if _is_attention(sub, inputs):
            yield "attention", _attention_message(sub)
        if _is_unfused_bias(sub, biases):
            yield "bias_add", HINTS["bias_add"]
        kind = _normalization(sub)
        if kind:
            yield kind, HINTS[kind]


def _attention_message(node: ast.AST) -> str:
    """The attention hint; a causal mask (``ops.tril``/``ops.triu`` of the
    scores) maps to ``is_causal=True``."""
    if not any(_op(sub) in ("tril", "triu") for sub in ast.walk(node)):
        return HINTS["attention"]
    return HINTS["attention"].replace(
        "scale=..., mask=..., is_causal=...)`",
        "scale=..., is_causal=True)` (for the tril mask)",
    )


# --- small readers of expression trees ----------------------------------


def _op(node: ast.AST) -> str | None:
    """``softmax`` for ``ops.softmax(...)``, ``ops.nn.softmax(...)``,
    ``activations.softmax(...)``, ``random.dropout(...)``."""
    if not isinstance(node, ast.Call):
        return None
    chain = ex.dotted_chain(node.func)
    if chain and chain[0] in ("ops", "activations", "random"):
        return chain[-1]
    return None


def _operands(node: ast.AST) -> list[ast.expr]:
    """The tensor operands of a product or an elementwise op."""
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if _op(node) == "einsum":
        return list(node.args[1:])  # type: ignore[attr-defined]
    return list(node.args[:2]) if isinstance(node, ast.Call) else []


def _is_product(node: ast.AST) -> bool:
    return (isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult)) or _op(
        node
    ) in PRODUCTS


def _unwrap(node: ast.AST) -> ast.AST:
    """Through a cast or dropout (``ops.cast(a, ...)``, ``dropout(a)``)."""
    while (
        isinstance(node, ast.Call)
        and node.args
        and (_op(node) in PASS_THROUGH or isinstance(node.func, ast.Name))
    ):
        node = node.args[0]
    return node


def _scaled_product(node: ast.AST, inputs: frozenset[str], depth: int = 0) -> bool:
    """A product of two tensors computed from the inputs (queries and keys,
    not an input and a weight), scaled, shifted (a mask) or cast:
    q·kᵀ / sqrt(d) + bias."""
    node = _unwrap(node)
    if _is_product(node):
        operands = _operands(node)
        return len(operands) >= 2 and all(ex.names_in(o) & inputs for o in operands)
    if depth > 8:
        return False
    if isinstance(node, ast.IfExp):  # scores if mask is None else masked
        branches: list[ast.AST] = [node.body, node.orelse]
    elif _op(node) == "where":  # ops.where(mask, scores, -1e4)
        branches = list(node.args[1:])  # type: ignore[attr-defined]
    elif (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Mult | ast.Div | ast.Add | ast.Sub)
    ) or _op(node) in ELEMENTWISE:
        branches = _operands(node)
    else:
        return False
    return any(_scaled_product(b, inputs, depth + 1) for b in branches)


def _is_attention(node: ast.AST, inputs: frozenset[str]) -> bool:
    """A product of softmax(scaled q·kᵀ) with the values."""
    if not _is_product(node):
        return False
    for operand in _operands(node):
        weights = _unwrap(operand)
        if (
            isinstance(weights, ast.Call)
            and _op(weights) == "softmax"
            and weights.args
            and _scaled_product(weights.args[0], inputs)
        ):
            return True
    return False


def _is_unfused_bias(node: ast.AST, biases: frozenset[str]) -> bool:
    """A convolution plus a rank-1 weight, written so that TensorFlow sees a
    broadcasting add, not a BiasAdd: ``conv(...) + bias``, ``bias +
    conv(...)``, ``ops.add(bias, conv(...))``."""
    plus = isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add)
    if not (plus or _op(node) == "add"):
        return False
    operands = [_unwrap(o) for o in _operands(node)]
    if len(operands) != 2:
        return False
    pairs = [operands, operands[::-1]] if plus else [operands[::-1]]
    return any(
        _op(conv) in CONVOLUTIONS and isinstance(bias, ast.Name) and bias.id in biases
        for conv, bias in pairs
    )


def _same(a: ast.AST, b: ast.AST) -> bool:
    return ast.dump(_unwrap(a)) == ast.dump(_unwrap(b))


def _statistic(node: ast.AST, which: int) -> ast.Call | None:
    """The call computing the mean (0) or variance (1) read by ``node``."""
    node = _unwrap(node)
    if isinstance(node, ast.Subscript) and _op(node.value) == "moments":
        index = node.slice
        if isinstance(index, ast.Constant) and index.value == which:
            return node.value  # type: ignore[return-value]
    name = _op(node)
    if (which, name) in ((0, "mean"), (1, "var"), (1, "variance")):
        return node  # type: ignore[return-value]
    return None


def _square_of(node: ast.AST) -> ast.AST | None:
    """``x`` for ``ops.square(x)``, ``x * x``, ``x ** 2``, ``ops.power(x, 2)``."""
    node = _unwrap(node)
    if _op(node) == "square" and node.args:  # type: ignore[attr-defined]
        return node.args[0]  # type: ignore[attr-defined]
    operands = _operands(node)
    if len(operands) != 2:
        return None
    two = isinstance(operands[1], ast.Constant) and operands[1].value == 2
    power = _op(node) == "power" or (
        isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow)
    )
    if power and two:
        return operands[0]
    product = _op(node) == "multiply" or (
        isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult)
    )
    return operands[0] if product and _same(*operands) else None


def _inside_root(node: ast.AST, inverse: bool) -> ast.AST | None:
    """``a`` for ``ops.rsqrt(a)``, ``1 / ops.sqrt(a)`` (inverse) or
    ``ops.sqrt(a)``, less an added epsilon."""
    node = _unwrap(node)
    if (
        inverse
        and isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Div)
        and isinstance(node.left, ast.Constant)
    ):
        return _inside_root(node.right, inverse=False)
    wanted = "rsqrt" if inverse else "sqrt"
    if _op(node) != wanted or not node.args:  # type: ignore[attr-defined]
        return None
    inside = _unwrap(node.args[0])  # type: ignore[attr-defined]
    if isinstance(inside, ast.BinOp) and isinstance(inside.op, ast.Add):
        return inside.left
    if _op(inside) == "add":
        return inside.args[0]  # type: ignore[attr-defined]
    return inside


def _normalization(node: ast.AST) -> str | None:
    """``layer``, ``batch`` or ``rms`` for x scaled by an inverse root of its
    statistics: ``(x - mean) * ops.rsqrt(variance + eps)``, ``(x - mean) /
    ops.sqrt(...)``, ``x * ops.rsqrt(ops.mean(ops.square(x)) + eps)``."""
    divide = (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)) or (
        _op(node) in ("divide", "true_divide")
    )
    multiply = (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult)) or (
        _op(node) == "multiply"
    )
    operands = _operands(node)
    if len(operands) != 2 or not (divide or multiply):
        return None
    pairs = [operands] if divide else [operands, operands[::-1]]
    for data, scale in pairs:
        inside = _inside_root(scale, inverse=multiply)
        if inside is not None:
            kind = _normalized(data, inside)
            if kind:
                return kind
    return None


def _normalized(data: ast.AST, inside: ast.AST) -> str | None:
    """The kind of normalization ``data`` times an inverse root of ``inside``
    is: centered by its mean and scaled by its variance (layer, batch), or
    scaled by the mean of its squares (rms)."""
    data = _unwrap(data)
    factors = _factors(data)
    x, mean_call = next(
        (found for f in factors if (found := _centered(f))[0] is not None),
        (None, None),
    )
    mean_square = _statistic(inside, 0)
    if mean_square is not None and mean_square.args:
        squared = _square_of(mean_square.args[0])
        if squared is not None and any(_same(squared, f) for f in factors):
            if mean_call is None:
                return "rms"
            return _axes_kind(mean_call)
    variance = _statistic(inside, 1)
    if mean_call is None or variance is None or not variance.args:
        return None
    if not _same(variance.args[0], x):
        return None
    return _axes_kind(mean_call)


def _factors(node: ast.AST) -> list[ast.AST]:
    """``node`` and, in a product (``gamma * x``), each of its factors."""
    node = _unwrap(node)
    product = (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult)) or (
        _op(node) == "multiply"
    )
    if not product:
        return [node]
    return [node, *(f for o in _operands(node) for f in _factors(o))]


def _centered(data: ast.AST) -> tuple[ast.AST | None, ast.Call | None]:
    """``(x, the mean call)`` for ``x - mean(x)``, else ``(None, None)``."""
    subtract = isinstance(data, ast.BinOp) and isinstance(data.op, ast.Sub)
    if not (subtract or _op(data) == "subtract"):
        return None, None
    x, mean = _operands(data)
    mean_call = _statistic(mean, 0)
    if mean_call is None or not mean_call.args or not _same(mean_call.args[0], x):
        return None, None
    return x, mean_call


def _axes_kind(call: ast.Call) -> str | None:
    """``batch`` for statistics over the first axis, ``layer`` over the last
    (``-1``, or trailing axes such as ``[-2, -1]``), else None (groups...)."""
    axes = next((k.value for k in call.keywords if k.arg in ("axes", "axis")), None)
    if axes is None and len(call.args) > 1:
        axes = call.args[1]
    elements = axes.elts if isinstance(axes, ast.List | ast.Tuple) else [axes]
    try:
        values = [ast.literal_eval(e) for e in elements if e is not None]
    except ValueError:
        return None
    if not values or not all(isinstance(v, int) for v in values):
        return None
    if 0 in values:
        return "batch"
    trailing = list(range(-len(values), 0))
    return "layer" if sorted(values) == trailing else None
