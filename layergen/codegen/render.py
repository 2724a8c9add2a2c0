"""Render a LayerSpec into layer and test source through the Jinja2 templates.

Python here decides what each piece of code says; the templates in
``templates/`` decide only where it goes.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import jinja2

from layergen.files.cache import TemplateCache
from layergen.spec import expressions as ex
from layergen.spec.model import Expr, LayerSpec, Param, Weight
from layergen.spec.validate import mask_names

# keras.layers classes that own no trainable weights (by name or name part).
WEIGHTLESS_LAYER_PARTS = ("Dropout", "Pooling", "Noise", "Cropping", "ZeroPadding")
WEIGHTLESS_LAYERS = frozenset(
    [
        "Activation",
        "ReLU",
        "LeakyReLU",
        "ELU",
        "Softmax",
        "Flatten",
        "Reshape",
        "Permute",
        "RepeatVector",
        "Identity",
        "Masking",
        "Add",
        "Subtract",
        "Multiply",
        "Average",
        "Maximum",
        "Minimum",
        "Concatenate",
        "Dot",
        "UpSampling1D",
        "UpSampling2D",
        "UpSampling3D",
    ]
)


def template_dir() -> Path:
    """Templates ship inside the wheel; in a source checkout they sit beside it."""
    packaged = Path(str(files("layergen"))) / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(template_dir()),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        bytecode_cache=TemplateCache(),
    )
    env.filters["pyrepr"] = repr
    return env


def render_layer(spec: LayerSpec) -> str:
    """Unformatted source of the layer module."""
    return (
        _environment()
        .get_template("layer.py.j2")
        .render(layer=_LayerView(spec).context())
    )


@dataclass(frozen=True)
class LayerImport:
    """How a test file reaches its layer: an import statement, or a file path
    relative to the test file (for output directories that are not packages)."""

    statement: str = ""
    file: str = ""


def render_test(spec: LayerSpec, layer_import: LayerImport) -> str:
    """Unformatted source of the layer's pytest file."""
    context = _test_context(spec, layer_import)
    return _environment().get_template("test_layer.py.j2").render(t=context)


def shape_var(spec: LayerSpec, input_name: str) -> str:
    """The ``build`` argument holding an input's shape."""
    return "input_shape" if len(spec.inputs) == 1 else f"{input_name}_shape"


def docstring_text(text: str, width: int = 80) -> str:
    """Text that stays inside a triple-quoted docstring, whatever it contains,
    wrapped to ``width`` and indented for a class body."""
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').strip()
    paragraphs = [textwrap.fill(p, width) for p in text.split("\n\n")]
    text = "\n\n".join(paragraphs).replace("\n", "\n    ").replace("\n    \n", "\n\n")
    return text + " " if text.endswith('"') else text


def string_literal(text: str, width: int = 60) -> str:
    """Python code for ``text`` as implicitly concatenated f-string pieces,
    one per line, so that long messages stay within black's line length."""
    if len(text) <= width + 6:
        return f'{"f" if "{" in text else ""}{text!r}'
    pieces = textwrap.wrap(text, width, break_on_hyphens=False, break_long_words=False)
    pieces = [piece + " " for piece in pieces[:-1]] + pieces[-1:]
    return "\n".join(f'{"f" if "{" in piece else ""}{piece!r}' for piece in pieces)


def _tuple_code(items: list[str]) -> str:
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


class _LayerView:
    """Everything the layer template prints, as ready-made code strings."""

    def __init__(self, spec: LayerSpec) -> None:
        self.spec = spec
        attributes = [p.name for p in spec.params] + [w.name for w in spec.weights]
        attributes += [s.name for s in spec.sublayers]
        self.self_names = {name: f"self.{name}" for name in attributes}
        self.build_names = dict(self.self_names)
        self.build_names.update({i.name: shape_var(spec, i.name) for i in spec.inputs})

    def code(self, expr: Expr | ast.AST, names: dict[str, str] | None = None) -> str:
        node = expr.node if isinstance(expr, Expr) else expr
        return ex.to_code(node, self.self_names if names is None else names)

    def context(self) -> dict[str, Any]:
        spec = self.spec
        doc = docstring_text(spec.doc)
        params = [self.param(p) for p in spec.params]
        return {
            "class_name": spec.name,
            "package": spec.package,
            "doc": doc,
            "uses_ops": self.uses_ops(),
            "uses_random": spec.uses_random,
            "params": params,
            "checks": [self.check(name, expr) for name, expr in spec.checks.items()],
            "sublayers": [self.sublayer(s) for s in spec.sublayers],
            "is_cell": spec.is_cell,
            "state_sizes": [self.state_size(s.shape) for s in spec.states],
            "mask_mode": spec.mask_mode,
            "shape_args": [shape_var(spec, i.name) for i in spec.inputs],
            "rank_checks": self.rank_checks(),
            "known_dim_checks": self.known_dim_checks(),
            "weights": [self.weight(w) for w in spec.weights],
            "trace_args": self.trace_args(),
            # Tracing call() builds sublayers and infers a missing output shape.
            "traces": bool(spec.sublayers)
            or (not spec.is_cell and spec.output_shape is None),
            "call_args": self.call_args(),
            "state_unpack": [
                f"{s.name} = states[{i}]" for i, s in enumerate(spec.states)
            ],
            "steps": [self.code(step) for step in spec.steps],
            "expr": self.code(spec.expr),
            "updates": [
                {"name": name, "value": self.code(value)}
                for name, value in spec.updates.items()
            ],
            "returned": self.returned(),
            "mask_input": spec.inputs[0].name,
            "mask_needs_previous": spec.mask_expr is not None
            and "mask" in ex.names_in(spec.mask_expr.node),
            "mask_expr": self.code(spec.mask_expr) if spec.mask_expr else "",
            "output_shape": self.output_shape(),
            "config_items": self.config_items(params),
            "input_doc": self.input_doc(),
            "output_doc": self.output_doc(),
        }

    def uses_ops(self) -> bool:
        spec = self.spec
        nodes = [e.node for e in spec.steps] + [e.node for e in spec.updates.values()]
        nodes += [e.node for e in spec.next_states.values()]
        nodes += [e.node for e in (spec.expr, spec.mask_expr) if e is not None]
        nodes += [e.node for s in spec.sublayers for _, e in s.args]
        return any("ops" in ex.names_in(node) for node in nodes)

    def param(self, p: Param) -> dict[str, str]:
        default = tuple(p.default) if isinstance(p.default, list) else p.default
        signature = f"{p.name}={default!r}" if p.has_default else p.name
        check, expected = _param_check(p)
        store = p.name
        if p.object_module:
            store = f"keras.{p.object_module}.get({p.name})"
        elif p.type.startswith("list["):
            store = f"list({p.name})"
        config = f"self.{p.name}"
        if p.object_module:
            config = f"keras.{p.object_module}.serialize(self.{p.name})"
        error = string_literal(
            f"Expected `{p.name}` to be {expected}. Received: {p.name}={{{p.name}!r}}"
        )
        return {
            "name": p.name,
            "signature": signature,
            "check": check,
            "error": error,
            "store": store,
            "config": config,
            "doc": _param_doc(p, expected),
        }

    def check(self, name: str, expr: Expr) -> dict[str, str]:
        """A cross-param check for __init__, over the constructor's locals."""
        used = sorted(ex.names_in(expr.node) & {p.name for p in self.spec.params})
        received = ", ".join(f"{n}={{{n}!r}}" for n in used)
        message = (
            f"{self.spec.name} requires `{_braces(expr.source.strip())}` "
            f"(check `{name}`). "
            f"Received: {received}"
        )
        return {
            "condition": f"not ({ex.to_code(expr.node)})",
            "error": string_literal(message),
        }

    def sublayer(self, sub: Any) -> dict[str, str]:
        args = [f"{name}={self.code(value)}" for name, value in sub.args]
        if "dtype" not in dict(sub.args):
            # Sublayers follow the parent's dtype policy (mixed precision).
            args.append("dtype=self.dtype_policy")
        made = f"keras.layers.{sub.layer}({', '.join(args)})"
        if sub.for_each is not None:
            made = f"[{made} for item in {self.code(sub.for_each)}]"
        return {"name": sub.name, "init": made}

    def state_size(self, shape: tuple[Expr, ...]) -> str:
        dims = [self.code(d) for d in shape]
        return dims[0] if len(dims) == 1 else _tuple_code(dims)

    def rank_checks(self) -> list[dict[str, str]]:
        checks = []
        for item in self.spec.inputs:
            var = shape_var(self.spec, item.name)
            if item.rank is not None:
                condition, wanted = f"len({var}) != {item.rank}", f"rank {item.rank}"
            elif item.min_rank is not None:
                condition = f"len({var}) < {item.min_rank}"
                wanted = f"rank >= {item.min_rank}"
            else:
                continue
            message = string_literal(
                f"{self.spec.name} expects input `{item.name}` of {wanted}. "
                f"Received: {var}={{{var}}}"
            )
            checks.append({"condition": condition, "message": message})
        return checks

    def known_dim_checks(self) -> list[dict[str, str]]:
        needed: dict[tuple[str, int], list[str]] = {}
        for weight in self.spec.weights:
            for dim in weight.shape:
                for ref in ex.input_axes(dim.node):
                    needed.setdefault(ref, []).append(weight.name)
        checks = []
        for (name, axis), weights in needed.items():
            var = shape_var(self.spec, name)
            owners = ", ".join(f"`{w}`" for w in dict.fromkeys(weights))
            message = string_literal(
                f"{self.spec.name} needs dimension {name}[{axis}] of its input to be "
                f"known when it is built (weight {owners} depends on it). "
                f"Received: {var}={{{var}}}"
            )
            checks.append({"condition": f"{var}[{axis}]", "message": message})
        return checks

    def weight(self, w: Weight) -> dict[str, Any]:
        shape = _tuple_code([self.code(d, self.build_names) for d in w.shape])
        initializer = (
            f"self.{w.initializer}"
            if self.spec.param(w.initializer)
            else repr(w.initializer)
        )
        arguments = [f"name={w.name!r}", f"shape={shape}", f"initializer={initializer}"]
        for key in ("regularizer", "constraint"):
            value = getattr(w, key)
            if value is not None:
                code = f"self.{value}" if self.spec.param(value) else repr(value)
                arguments.append(f"{key}={code}")
        if not w.trainable:
            arguments.append("trainable=False")
        if w.dtype is not None:
            arguments.append(f"dtype={w.dtype!r}")
        if w.name in self.spec.updates:
            # Running state must agree across replicas under tf.distribute.
            float_state = w.dtype is None or w.dtype.startswith(("float", "bfloat"))
            aggregation = "mean" if float_state else "only_first_replica"
            arguments.append(f"aggregation={aggregation!r}")
        condition = self.code(w.condition) if w.condition is not None else ""
        return {"name": w.name, "arguments": arguments, "condition": condition}

    def trace_args(self) -> list[str]:
        args = []
        for item in self.spec.inputs:
            dtype = repr(item.dtype) if item.dtype else "self._trace_dtype()"
            args.append(
                f"keras.KerasTensor({shape_var(self.spec, item.name)}, dtype={dtype})"
            )
        if self.spec.training:
            args.append("training=False")
        return args

    def call_args(self) -> list[str]:
        spec = self.spec
        args = [i.name for i in spec.inputs]
        if spec.is_cell:
            args.append("states")
        if spec.training:
            args.append("training=None")
        if spec.mask_mode == "consume" or spec.uses_mask:
            args += [f"{name}=None" for name in mask_names(spec)]
        return args

    def returned(self) -> str:
        value = "outputs" if self.spec.updates else self.code(self.spec.expr)
        if not self.spec.is_cell:
            return value
        states = ", ".join(
            self.code(self.spec.next_states[s.name]) for s in self.spec.states
        )
        return f"{value}, [{states}]"

    def output_shape(self) -> str:
        if self.spec.output_shape is None:
            return ""
        return _tuple_code([self.output_dim(d.node) for d in self.spec.output_shape])

    def output_dim(self, node: ast.AST) -> str:
        code = self.code(node, self.build_names)
        refs = [
            f"{shape_var(self.spec, name)}[{axis}]"
            for name, axis in ex.input_axes(node)
        ]
        if isinstance(node, ast.BinOp) and refs:
            unknown = (
                f"{refs[0]} is None"
                if len(refs) == 1
                else f"None in ({', '.join(refs)},)"
            )
            return f"None if {unknown} else {code}"
        return code

    def config_items(self, params: list[dict[str, str]]) -> list[tuple[str, str]]:
        items = [(p["name"], p["config"]) for p in params]
        if self.spec.uses_random:
            items.append(("seed", "self.seed"))
        return items

    def input_doc(self) -> list[str]:
        lines = []
        for item in self.spec.inputs:
            rank = (
                f"rank {item.rank}"
                if item.rank
                else f"rank >= {item.min_rank}" if item.min_rank else "any rank"
            )
            dtype = f", dtype {item.dtype}" if item.dtype else ""
            lines.append(f"`{item.name}`: tensor of {rank}{dtype}.")
        return lines

    def output_doc(self) -> str:
        if self.spec.is_cell:
            return "A step's output and the list of new states."
        if self.spec.output_shape is None:
            return "As computed by `call` (inferred by Keras)."
        return "(" + ", ".join(d.source for d in self.spec.output_shape) + ")."


def _param_check(p: Param) -> tuple[str, str]:
    """A Python condition that is true for a bad value, and what is expected."""
    name = p.name
    if p.object_module:
        return "", f"a Keras {p.type} identifier or object"
    kinds = {
        "int": ("isinstance({n}, bool) or not isinstance({n}, int)", "an int"),
        "float": (
            "isinstance({n}, bool) or not isinstance({n}, (int, float))",
            "a number",
        ),
        "bool": ("not isinstance({n}, bool)", "a bool"),
        "str": ("not isinstance({n}, str)", "a string"),
    }
    if p.type.startswith("list["):
        inner_check, inner = kinds[p.type[5:-1]]
        element = inner_check.format(n="v")
        condition = (
            f"not isinstance({name}, (list, tuple)) or any({element} for v in {name})"
        )
        return condition, f"a list of {inner.split(' ', 1)[1]}s"
    condition, expected = kinds[p.type]
    parts, limits = [condition.format(n=name)], []
    if p.min is not None:
        parts.append(f"{name} < {p.min!r}")
        limits.append(f">= {p.min!r}")
    if p.max is not None:
        parts.append(f"{name} > {p.max!r}")
        limits.append(f"<= {p.max!r}")
    if p.choices is not None:
        parts.append(f"{name} not in {p.choices!r}")
        limits.append("one of " + ", ".join(repr(c) for c in p.choices))
    if limits:
        expected += " " + " and ".join(limits)
    return " or ".join(parts), expected


def _param_doc(p: Param, expected: str) -> str:
    default = f" Defaults to `{p.default!r}`." if p.has_default else " Required."
    text = f"{expected[0].upper()}{expected[1:]}.{default}"
    return "\n            ".join(textwrap.wrap(text, 78 - len(p.name)))


def _expects_trainable(spec: LayerSpec, present: list[Weight]) -> bool:
    if any(w.trainable for w in present):
        return True
    return any(
        s.layer not in WEIGHTLESS_LAYERS
        and not any(part in s.layer for part in WEIGHTLESS_LAYER_PARTS)
        for s in spec.sublayers
    )


def _test_context(spec: LayerSpec, layer_import: LayerImport) -> dict[str, Any]:
    test = spec.test
    assert test is not None
    env: dict[str, Any] = {**test.params, **test.input_shapes}
    present = [
        w
        for w in spec.weights
        if w.condition is None or ex.evaluate(w.condition.node, env)
    ]
    expected_weights = {
        w.name: (tuple(ex.evaluate(d.node, env) for d in w.shape), w.trainable)
        for w in present
    }
    dtypes = {i.name: i.dtype or "float32" for i in spec.inputs}
    bindings = [f"{i.name} = built.inputs[{n}]" for n, i in enumerate(spec.inputs)]
    bindings += [
        (
            f"{w.name} = testing.to_numpy(built.layer.{w.name})"
            if w in present
            else f"{w.name} = None"
        )
        for w in spec.weights
    ]
    bindings += [f'{p.name} = CASE.init_kwargs["{p.name}"]' for p in spec.params]
    reference_names = ex.names_in(test.reference.node) if test.reference else set()
    return {
        "class_name": spec.name,
        # One block, sorted, so that isort agrees wherever the module lives.
        "imports": sorted(
            filter(None, [layer_import.statement, "from layergen import testing"])
        ),
        "layer_file": layer_import.file,
        "init_kwargs": repr(test.params),
        "is_cell": spec.is_cell,
        "input_shapes": repr(test.input_shapes),
        "input_dtypes": repr(dtypes),
        "expected_weights": repr(expected_weights),
        "absent_weights": [w.name for w in spec.weights if w not in present],
        "expected_output_shape": _expected_output_shape(spec, env),
        "updated_weights": list(spec.updates),
        "expects_trainable": _expects_trainable(spec, present),
        "training": spec.training,
        "training_changes_output": test.training_changes_output,
        "random_in_training": spec.uses_random
        or any(_is_random_layer(s.layer) for s in spec.sublayers),
        "mask_mode": spec.mask_mode,
        "mask_arguments": _consumed_masks(spec),
        "differentiable": test.differentiable,
        "variable_axes": repr(_variable_axes(spec, test.input_shapes)),
        "reference": ex.to_code(test.reference.node) if test.reference else "",
        "reference_bindings": [
            line for line in bindings if line.split(" = ")[0] in reference_names
        ],
    }


def _consumed_masks(spec: LayerSpec) -> list[str]:
    """The mask arguments call() reads (each is checked), or the first one."""
    names = mask_names(spec)
    read = set().union(*(ex.names_in(e.node) for e in [*spec.steps, spec.expr] if e))
    return [n for n in names if n in read] or names[:1]


def _is_random_layer(name: str) -> bool:
    return "Dropout" in name or "Noise" in name


def _variable_axes(
    spec: LayerSpec, shapes: dict[str, tuple[int, ...]]
) -> dict[str, list[int]]:
    """Per input, the non-batch axes no weight depends on (may be None).

    Sublayers' weights are invisible to the spec: with sublayers the last axis,
    the features most layers' kernels are sized by, is kept fixed too.
    """
    fixed: set[tuple[str, int]] = set()
    for weight in spec.weights:
        for dim in weight.shape:
            for name, axis in ex.input_axes(dim.node):
                fixed.add((name, axis % len(shapes[name])))
    if spec.sublayers:
        fixed |= {(name, len(shape) - 1) for name, shape in shapes.items()}
    return {
        name: [axis for axis in range(1, len(shape)) if (name, axis) not in fixed]
        for name, shape in shapes.items()
    }


def _expected_output_shape(spec: LayerSpec, env: dict[str, Any]) -> str:
    if spec.output_shape is None:
        return ""
    dims: list[Any] = []
    for dim in spec.output_shape:
        node = dim.node
        if isinstance(node, ast.Starred):
            sub = node.value
            lower, upper = (
                ex.evaluate(part, env) if part is not None else None
                for part in (sub.slice.lower, sub.slice.upper)
            )
            dims.extend(env[sub.value.id][lower:upper])
        else:
            dims.append(ex.evaluate(node, env))
    if None in dims:
        return ""
    return repr(tuple(dims))


def _braces(text: str) -> str:
    """Escape braces so that ``text`` is literal inside an f-string."""
    return text.replace("{", "{{").replace("}", "}}")
