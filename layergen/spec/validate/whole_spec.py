"""Checks that need every table read: constants and tensors within size
limits, values that compute for the test's params, weights that call() never
uses, a consumed mask that call() never reads, and constants that would be
float32 under mixed precision."""

from __future__ import annotations

from layergen.spec import expressions as ex
from layergen.spec import limits
from layergen.spec.hints import fused_op_hints
from layergen.spec.model import LayerSpec, MaskMode
from layergen.spec.source_map import format_path
from layergen.spec.validate.call import all_call_exprs
from layergen.spec.validate.keras_objects import argument_value_problems
from layergen.spec.validate.reporting import Report
from layergen.spec.validate.schema import mask_names


def check_sizes(report: Report, spec: LayerSpec) -> None:
    """Unbounded constants, whatever else is wrong; with the test's params,
    once those are valid (every expression the report accepted)."""
    assert spec.test is not None
    reported = {(d.key, d.message) for d in report.errors}
    with_params = []
    for path, node in report.exprs:
        constant, problem = limits.oversized_constants(node, spec.test.params)
        if constant and (format_path(path), constant) not in reported:
            report.error(path, constant)
        elif problem:
            with_params.append((path, problem))
    if not report.errors:  # the values exist and have their types
        for path, message in limits.evaluation_problems(spec):
            report.error(path, message)
        env = {**spec.test.params, **spec.test.input_shapes}
        for expr, message in argument_value_problems(spec.weights, env):
            report.error(report.key_paths[expr.key], message)
        # A comprehension too long for the test's params says so, instead of
        # its range being too long to evaluate.
        loops = {
            format_path(path): (path, problem)
            for path, node in report.exprs
            if (problem := limits.long_comprehension(node, spec.test.params))
        }
        for path, problem in with_params:
            key = format_path(path)
            if (key, problem) not in reported and key not in loops:
                report.error(path, problem)
        for path, node in report.exprs:
            if problem := limits.oversized_tensor(node, spec.test.params):
                report.error(path, problem)
        for path, problem in loops.values():
            report.error(path, problem)


def warn_unused_weights(report: Report, spec: LayerSpec) -> None:
    used: set[str] = set()
    for expr in all_call_exprs(spec):
        used |= ex.names_in(expr.node)
    used |= set(spec.updates)
    for weight in spec.weights:
        if weight.name not in used:
            report.error(
                ("weights", weight.name),
                f"weight `{weight.name}` is never used in `[call]` or `[updates]`",
                warning=True,
            )


def warn_unread_mask(report: Report, spec: LayerSpec) -> None:
    """``mode = "consume"`` says call() uses the mask; one that never reads it
    drops it, and padded steps count as real ones."""
    # Without a [call] expr, [call] has its own error.
    if spec.mask_mode == MaskMode.CONSUME and not spec.uses_mask and spec.expr:
        names = " or ".join(f"`{n}`" for n in mask_names(spec))
        report.error(
            ("mask", "mode"),
            f'mode "consume" but `[call]` never reads {names}: the mask is '
            "dropped and masked steps count as real ones. Read it in "
            '`[call]`, or use "none" if the layer has no use for it',
            warning=True,
        )


def warn_float32_constants(report: Report, spec: LayerSpec) -> None:
    tensors = {i.name for i in spec.inputs} | {w.name for w in spec.weights}
    tensors |= {s.name for s in spec.states} | set(mask_names(spec))
    for step in spec.steps:
        tensors |= set(ex.assigned_names(step.node))
    for expr in all_call_exprs(spec):
        for found in ex.float32_constants(expr.node, tensors):
            report.error(
                report.key_paths[expr.key],
                f"`{found}` makes a float32 tensor whatever the inputs' dtype: "
                "under mixed precision TensorFlow refuses to combine it with "
                "float16 tensors. Use Python numbers (`float(d) ** 0.5`), pass "
                "`dtype=x.dtype`, or `ops.cast(..., x.dtype)`",
                warning=True,
            )


def warn_fused_ops(report: Report, spec: LayerSpec) -> None:
    """Attention and normalizations written out where ``keras.ops`` has one
    fused op for them (:mod:`layergen.spec.hints`)."""
    for hint in fused_op_hints(spec):
        report.error(report.key_paths[hint.expr.key], hint.message, warning=True)
