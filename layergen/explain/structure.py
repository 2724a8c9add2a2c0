"""What ``layergen explain`` reads off the built layer (its weights and
sublayers, the output shape ``[output]`` declares) and what it checks after
the trace: the output against ``[output]``, the mask against the output."""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from typing import Any

from layergen.explain import keras_side as ks
from layergen.explain.model import (
    PASSES,
    Place,
    StepInfo,
    SublayerInfo,
    TraceError,
    Value,
    WeightInfo,
)
from layergen.spec.model import LayerSpec


def weights(keras: Any, spec: LayerSpec, layer: Any) -> list[WeightInfo]:
    """Each spec weight as built: its shape and dtype, or absent."""
    found = []
    for w in spec.weights:
        variable = getattr(layer, w.name, None)
        found.append(
            WeightInfo(
                w.name,
                "[" + ", ".join(ast.unparse(d.node) for d in w.shape) + "]",
                None if variable is None else ks.value(keras, variable),
                w.trainable,
                None if w.condition is None else ast.unparse(w.condition.node),
            )
        )
    return found


def sublayers(keras: Any, spec: LayerSpec, layer: Any) -> list[SublayerInfo]:
    """Each sublayer (or list of them) with the weights it built."""
    found = []
    for sub in spec.sublayers:
        made = getattr(layer, sub.name, None)
        many = isinstance(made, list)
        members = made if many else [made]
        variables = tuple(
            (f"[{n}].{v.name}" if many else v.name, ks.value(keras, v))
            for n, member in enumerate(members)
            if member is not None
            for v in member.weights
        )
        count = len(made) if many else None
        found.append(SublayerInfo(sub.name, sub.layer, count, variables))
    return found


def declared_output(
    keras: Any, spec: LayerSpec, layer: Any, inputs: Sequence[Sequence[Any]]
) -> tuple[Value | None, ...]:
    """The output ``compute_output_shape`` (from ``[output]``) gives for each
    trace's inputs, in the declared dtype (else the compute dtype Keras
    assumes); empty without ``[output]``."""
    if spec.output_shape is None:
        return ()
    dtype = spec.output_dtype or layer.compute_dtype
    given = spec.test.call_args if spec.test else {}
    flags = {f: given.get(f, spec.call_arg(f).default) for f in spec.flag_shapes}
    values: list[Value | None] = []
    for tensors in inputs:
        try:
            shapes = (tuple(t.shape) for t in tensors)
            shape = layer.compute_output_shape(*shapes, **flags)
        except Exception:
            values.append(None)
            continue
        values.append(ks.value(keras, keras.KerasTensor(shape, dtype=dtype)))
    return tuple(values)


def _fits(traced: Value, declared: Value) -> bool:
    if traced.shape is None or declared.shape is None:
        return traced == declared
    return (
        len(traced.shape) == len(declared.shape)
        and all(
            a is None or b is None or a == b
            for a, b in zip(traced.shape, declared.shape, strict=True)
        )
        and traced.dtype == declared.dtype
    )


def _updates(
    steps: Sequence[StepInfo], weights: Sequence[WeightInfo]
) -> list[TraceError]:
    """An update whose value has another shape than its weight (``assign``
    would fail in training)."""
    shapes = {w.name: w.value.shape for w in weights if w.value is not None}
    errors = []
    for step in (s for s in steps if s.kind == "update"):
        (named,) = step.binds
        wanted = shapes.get(named.name)
        for trace, value in zip(PASSES, named.values, strict=False):
            if wanted is None or value is None or value.shape is None:
                continue
            if not _fits(Value(value.shape), Value(wanted)):
                errors.append(
                    TraceError(
                        step.place,
                        "",
                        trace,
                        f"the update of `{named.name}` has shape "
                        f"{Value(value.shape)}, the weight {Value(wanted)}",
                    )
                )
                break
    return errors


def _leading(mask: Value, output: Value) -> bool:
    if mask.shape is None or output.shape is None:
        return True
    rank = len(mask.shape)
    return len(output.shape) >= rank and _fits(
        Value(mask.shape), Value(output.shape[:rank])
    )


def mismatches(
    steps: Sequence[StepInfo],
    declared: Sequence[Value | None],
    where: Callable[[str], Place],
    weights: Sequence[WeightInfo] = (),
) -> list[TraceError]:
    """The output against ``[output]``, a computed or propagated mask against
    the output's leading axes, and each update against its weight's shape,
    in each trace."""
    errors = _updates(steps, weights)
    output = next((s for s in steps if s.kind == "output"), None)
    mask = next((s for s in steps if s.kind == "mask"), None)
    for index, trace in enumerate(PASSES):
        traced = output.binds[0].values[index] if output else None
        if traced is None:
            continue
        wanted = declared[index] if index < len(declared) else None
        if wanted is not None and not _fits(traced, wanted):
            errors.append(
                TraceError(
                    where("output.shape"),
                    "",
                    trace,
                    f"call() gives {traced}, but [output] declares {wanted}",
                )
            )
        masked = mask.binds[0].values[index] if mask else None
        if mask is not None and masked is not None and not _leading(masked, traced):
            errors.append(
                TraceError(
                    mask.place,
                    "",
                    trace,
                    f"the mask {masked} is not the leading axes of the output "
                    f"{traced}: a layer that removes the masked axis must "
                    "consume the mask",
                )
            )
    return errors
