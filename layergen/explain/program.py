"""``call`` in pieces, and one trace of it on Keras's symbolic tensors.

A trace is one ``keras.backend.compute_output_spec`` over a function that
runs the generated ``call``'s code statement by statement (the weight casts
and states first, then each step, the returned expression, the updates, the
next states and the mask), noting the shape and dtype of what each binds as
it goes. That is how Keras itself traces a layer called on ``keras.Input``:
no data is computed, and ``None`` dimensions stay unknown. A statement that
raises is the one the error is reported at.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from layergen.codegen.layer_view import LayerView
from layergen.explain import keras_side as ks
from layergen.explain.model import Place, StepInfo, TraceError, Value
from layergen.spec import expressions as ex
from layergen.spec.model import Expr, LayerSpec, MaskMode
from layergen.spec.validate import mask_names


@dataclass(frozen=True)
class Statement:
    """One piece of ``call``: a step (exec) or an expression (eval)."""

    info: StepInfo
    code: Any  # a code object
    binds: tuple[str, ...]  # what a step binds; an expression: its label

    @property
    def is_step(self) -> bool:
        return self.info.kind == "step"


@dataclass(frozen=True)
class Program:
    """The generated ``call`` of one spec, statement by statement."""

    prelude: Any  # a code object: weight casts, states
    statements: list[Statement]
    inputs: tuple[str, ...]
    masks: tuple[str, ...]  # call()'s mask arguments
    training: bool
    state_count: int
    # The call arguments that are not tensors, at the [test] call_args values,
    # else their defaults (the tests' "given" call).
    arguments: dict[str, Any] = field(default_factory=dict)


def mask_args(spec: LayerSpec) -> list[str]:
    """The mask arguments the generated ``call`` takes."""
    if spec.mask_mode == MaskMode.CONSUME or spec.uses_mask:
        return mask_names(spec)
    return []


def _display(node: ast.AST) -> str:
    """A step as the spec says it (after checking), on one line."""
    return " ".join(line.strip() for line in ast.unparse(node).splitlines())


def compile_program(spec: LayerSpec, where: Callable[[str], Place]) -> Program:
    """Compile the steps, the returned expression, the updates, the next
    states of a cell and the mask as the generated layer runs them."""
    view = LayerView(spec)
    items: list[Statement] = []

    def add(expr: Expr, kind: str, binds: tuple[str, ...], names: Any) -> None:
        mode = "exec" if kind == "step" else "eval"
        code = compile(view.code(expr, names), f"<{expr.key}>", mode)
        reads = _reads(expr.node)
        place = where(expr.key)
        info = StepInfo(kind, _display(expr.node), place, tuple(sorted(reads)), ())
        items.append(Statement(info, code, binds))

    for step in spec.steps:
        add(step, "step", tuple(ex.assigned_names(step.node)), view.call_names)
    if spec.expr is not None:
        add(spec.expr, "output", ("output",), view.call_names)
    for name, update in spec.updates.items():
        add(update, "update", (name,), view.call_names)
    for name, state in spec.next_states.items():
        add(state, "state", (name,), view.call_names)
    if spec.mask_mode == MaskMode.COMPUTE and spec.mask_expr is not None:
        add(spec.mask_expr, "mask", ("mask",), None)
    elif spec.mask_mode == MaskMode.PROPAGATE:
        code = "(the input mask, passed on)"
        info = StepInfo("mask", code, where("mask.mode"), ("mask",), ())
        items.append(Statement(info, compile("mask", "<mask>", "eval"), ("mask",)))
    context = view.context()
    prelude = "\n".join([*context["weight_casts"], *context["state_unpack"]])
    return Program(
        compile(prelude, "<call>", "exec"),
        items,
        tuple(i.name for i in spec.inputs),
        tuple(mask_args(spec)),
        spec.training,
        len(spec.states),
        {
            a.name: (spec.test.call_args if spec.test else {}).get(a.name, a.default)
            for a in spec.call_args
        },
    )


def _reads(node: ast.AST) -> set[str]:
    """The names a statement reads (an augmented target too: ``h += 1``)."""
    names = {
        sub.id
        for sub in ast.walk(node)
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load)
    }
    body = node.body[0] if isinstance(node, ast.For) else node
    if isinstance(body, ast.AugAssign) and isinstance(body.target, ast.Name):
        names.add(body.target.id)
    return names


@dataclass
class _Run:
    """What one invocation of the traced function saw."""

    bound: list[dict[str, Value]] = field(default_factory=list)
    started: bool = False  # past the weight casts and states
    done: bool = False
    error: Exception | None = None  # what a statement raised


# PyTorch has no symbolic dimensions: Keras traces an unknown one twice, as
# 83 and as 89, and so does explain (each trace on its own, so that a step
# that fails in one still has the other's account up to there).
TORCH_SIZES = (83, 89)


def run(
    keras: Any,
    layer: Any,
    program: Program,
    symbols: Mapping[str, Any],
    trace: str,
) -> tuple[list[dict[str, Value]], TraceError | None]:
    """Trace ``program`` on ``symbols`` (``keras.KerasTensor`` inputs, masks
    and ``states[i]``): what each statement binds, up to the first failure."""
    unknown = any(None in tuple(s.shape) for s in symbols.values())
    if keras.backend.backend() != "torch" or not unknown:
        return _run_once(keras, layer, program, symbols, trace)
    results = [
        _run_once(keras, layer, program, _filled(keras, symbols, size), trace)
        for size in TORCH_SIZES
    ]
    length = min(len(bound) for bound, _ in results)
    merged = merge([bound[:length] for bound, _ in results])
    errors = [error for _, error in results if error is not None]
    return merged, min(errors, key=lambda e: _index(program, e), default=None)


def _index(program: Program, error: TraceError) -> int:
    keys = [s.info.place.key for s in program.statements]
    return keys.index(error.place.key) if error.place.key in keys else len(keys)


def _filled(keras: Any, symbols: Mapping[str, Any], size: int) -> dict[str, Any]:
    return {
        name: keras.KerasTensor(
            tuple(size if d is None else d for d in s.shape), dtype=s.dtype
        )
        for name, s in symbols.items()
    }


def _run_once(
    keras: Any,
    layer: Any,
    program: Program,
    symbols: Mapping[str, Any],
    trace: str,
) -> tuple[list[dict[str, Value]], TraceError | None]:
    """One ``compute_output_spec`` of the statements on ``symbols``."""
    keys = list(symbols)
    runs: list[_Run] = []

    def traced(*args: Any) -> None:
        current = _Run()
        runs.append(current)
        values = dict(zip(keys, args, strict=True))
        base = {"keras": keras, "ops": keras.ops, "self": layer}
        namespace = {
            **base,
            **{n: values[n] for n in (*program.inputs, *program.masks)},
            **program.arguments,
        }
        if program.training:
            namespace["training"] = False
        namespace["states"] = [
            values[f"states[{i}]"] for i in range(program.state_count)
        ]
        first = program.inputs[0]
        mask_scope = {
            **base,
            **program.arguments,  # a mask may read a flag
            first: values[first],
            "mask": values["mask:" + first],
        }
        exec(program.prelude, namespace)  # noqa: S102 - generated casts and states
        current.started = True
        try:
            _statements(keras, program, namespace, mask_scope, current)
        except Exception as exc:
            current.error = exc
            raise
        current.done = True

    class Traced(keras.Operation):  # Keras's public way to trace a function
        def call(self, *args: Any) -> Any:
            traced(*args)
            return args[0]  # something to give back: PyTorch compares outputs

    try:
        Traced(name="explain").compute_output_spec(*symbols.values())
    except Exception:
        failed = runs[-1] if runs else _Run()
        if failed.error is None:
            raise
        info = program.statements[len(failed.bound)].info
        message = ks.message(failed.error)
        return failed.bound, TraceError(info.place, info.code, trace, message)
    return [r.bound for r in runs if r.done][-1], None


def _statements(
    keras: Any,
    program: Program,
    namespace: dict[str, Any],
    mask_scope: dict[str, Any],
    current: _Run,
) -> None:
    """Run each statement, noting what it binds."""
    for statement in program.statements:
        scope = mask_scope if statement.info.kind == "mask" else namespace
        if statement.is_step:
            exec(statement.code, scope)  # noqa: S102 - a checked, rewritten step
            found = {n: ks.value(keras, scope[n]) for n in statement.binds}
        else:
            result = eval(statement.code, scope)  # noqa: S307 - checked expression
            found = {statement.binds[0]: ks.value(keras, result)}
        current.bound.append(found)


def merge(runs: Sequence[list[dict[str, Value]]]) -> list[dict[str, Value]]:
    """One account of several traces (PyTorch's, at two sizes of an unknown
    dimension): what differs between them is unknown."""
    first, *others = runs
    merged = []
    for index, found in enumerate(first):
        entry = {}
        for name, value in found.items():
            seen = [value, *(other[index][name] for other in others)]
            entry[name] = ks.common(seen)
        merged.append(entry)
    return merged
