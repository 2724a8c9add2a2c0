"""One spec file: read, parse the TOML, then validate its tables in order.

The order is the driver's, below: each table validator gets what the earlier
ones produced (the spec so far, the declared names, the call scope) as
arguments, and diagnostics come out in the order the tables are read.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from layergen.errors import LayergenError, SpecError
from layergen.files.reading import read_spec
from layergen.spec.model import LayerSpec
from layergen.spec.source_map import parse_toml
from layergen.spec.validate.call import validate_call, validate_updates
from layergen.spec.validate.call_args import validate_call_args
from layergen.spec.validate.checks import validate_checks
from layergen.spec.validate.flags import (
    SHAPE_IF,
    check_mask_flags,
    validate_flag_shapes,
)
from layergen.spec.validate.inputs import validate_inputs
from layergen.spec.validate.layer import check_autocast, validate_layer
from layergen.spec.validate.mask import (
    report_alias_clash,
    report_mask_clashes,
    validate_mask_expr,
    validate_mask_mode,
)
from layergen.spec.validate.output import (
    check_cast_outputs,
    check_returned,
    validate_output,
    validate_output_dtype,
    validate_outputs,
)
from layergen.spec.validate.params import validate_params
from layergen.spec.validate.reporting import MAX_ERRORS, Declarations, Report
from layergen.spec.validate.schema import DEFAULT_PACKAGE
from layergen.spec.validate.scopes import shape_scope
from layergen.spec.validate.signature import validate_signature
from layergen.spec.validate.states import validate_states
from layergen.spec.validate.sublayers import validate_sublayers
from layergen.spec.validate.test_table import validate_test
from layergen.spec.validate.weights import validate_weights
from layergen.spec.validate.whole_spec import (
    check_sizes,
    warn_float32_constants,
    warn_fused_ops,
    warn_unread_mask,
    warn_unused_weights,
)

if TYPE_CHECKING:
    from layergen.spec.composition import Run


def load_spec(
    path: Path, *, default_package: str = DEFAULT_PACKAGE, run: Run | None = None
) -> LayerSpec:
    """Read, parse and validate one spec file; ``default_package`` registers a
    layer whose spec names no ``package`` (a project's ``[tool.layergen]``);
    ``run``: the specs its sublayers may name (default: none but the spec
    files it names)."""
    try:
        text = read_spec(path)  # a regular file under 1 MiB, never a FIFO
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise LayergenError(f"{path}: cannot read spec: {reason}") from None
    data = parse_toml(text, str(path))
    return validate_document(path, text, data, default_package=default_package, run=run)


def validate_document(
    path: Path,
    text: str,
    data: dict[str, Any],
    *,
    default_package: str = DEFAULT_PACKAGE,
    run: Run | None = None,
) -> LayerSpec:
    """Validate a parsed document, table by table; raise one SpecError with
    every error (up to MAX_ERRORS), or return the spec with its warnings."""
    if run is None:
        from layergen.spec.composition import Run

        run = Run(default_package=default_package)
    report = Report(path, text)
    doc = report.table(data, (), "")
    layer = report.table(doc.get("layer", {}), ("layer",), "layer")
    spec = validate_layer(report, layer, path, text, default_package)
    declared = Declarations(report)
    params = report.table(doc.get("params", {}), ("params",), None)
    spec.params = validate_params(report, params, declared, run)
    spec.inputs = validate_inputs(report, doc.get("inputs"), spec.is_cell, declared)
    call_table = doc.get("call")
    call_args = call_table.get("args") if isinstance(call_table, dict) else None
    spec.call_args = validate_call_args(report, call_args, spec.is_cell, declared)
    spec.checks = validate_checks(report, spec, doc.get("checks", {}))
    shape_names = shape_scope(spec)  # weights, states and output shapes share it
    weights = doc.get("weights", {})
    spec.weights = validate_weights(report, spec, weights, declared, shape_names)
    spec.sublayers = validate_sublayers(
        report, spec, doc.get("sublayers", {}), declared, run
    )
    if spec.is_cell:
        states = doc.get("states")
        spec.states = validate_states(report, spec, states, declared, shape_names)
    elif "states" in doc:
        report.error(("states",), '`[states]` is only for `kind = "cell"`')
    check_autocast(report, spec)
    spec.failed_names = declared.failed(spec)
    mask = report.table(doc.get("mask", {}), ("mask",), "mask")
    spec.mask_mode = validate_mask_mode(report, mask)
    report_mask_clashes(report, spec)
    call = report.table(doc.get("call", {}), ("call",), "call")
    scope_after_steps = validate_call(report, spec, call)
    updates = report.table(doc.get("updates", {}), ("updates",), None)
    validate_updates(report, spec, updates, scope_after_steps)
    report_alias_clash(report, spec)
    spec.call_order = validate_signature(report, spec, call)
    output = report.table(doc.get("output", {}), ("output",), None)
    several = any(isinstance(v, dict) for k, v in output.items() if k != SHAPE_IF)
    spec.mask_expr = validate_mask_expr(report, spec, mask, several=several)
    if several:
        if SHAPE_IF in output:
            report.error(
                ("output", SHAPE_IF),
                "`shape_if` is for a layer of one output (`[output] shape`); "
                "with several, `when` returns an output only with a flag",
            )
            output = {k: v for k, v in output.items() if k != SHAPE_IF}
        spec.outputs = validate_outputs(report, spec, output, shape_names)
        # Else reported at the output.
        if len(spec.outputs) == len(output) and check_returned(report, spec):
            check_cast_outputs(report, spec)
    else:
        output = report.table(output, ("output",), "output")
        spec.output_shape = validate_output(report, spec, output, shape_names)
        spec.flag_shapes = validate_flag_shapes(report, spec, output, shape_names)
        spec.output_dtype = validate_output_dtype(report, spec, output)
        check_returned(report, spec)
    check_mask_flags(report, spec)
    spec.test = validate_test(report, spec, doc)
    check_sizes(report, spec)
    warn_unused_weights(report, spec)
    warn_unread_mask(report, spec)
    warn_float32_constants(report, spec)
    warn_fused_ops(report, spec)
    if report.errors:
        raise SpecError(report.errors[:MAX_ERRORS])
    spec.warnings = report.warnings
    return spec
