"""``[output]``: the declared output shape, or several named outputs
(``[output.NAME]``); whether a propagated mask still fits; and whether
``[call] expr`` returns what is declared."""

from __future__ import annotations

import ast
import keyword
from typing import Any

from layergen.spec.expressions import names_in
from layergen.spec.model import (
    Expr,
    Input,
    LayerSpec,
    MaskMode,
    Output,
    ParamType,
    output_flags,
)
from layergen.spec.validate.reporting import Report, hint
from layergen.spec.validate.schema import DTYPES, IDENTIFIER, KeyPath
from layergen.spec.validate.scopes import ShapeScope, mask_scope
from layergen.spec.validate.shapes import validate_shape


def validate_output(
    report: Report, spec: LayerSpec, table: dict[str, Any], shape_names: ShapeScope
) -> tuple[Expr, ...] | None:
    """The output shape, or None (not declared, a cell's, or wrong)."""
    if "shape" not in table:
        return None
    if spec.is_cell:
        report.error(("output", "shape"), "a cell's output shape comes from RNN")
        return None
    shape = validate_shape(
        report, shape_names, table["shape"], ("output", "shape"), allow_star=True
    )
    if shape is not None:
        _check_propagated(report, spec, shape, "the output shape")
    return shape


def _check_propagated(
    report: Report, spec: LayerSpec, shape: tuple[Expr, ...], what: str
) -> None:
    """With mode "propagate", the (first) output keeps the axes of the first
    input's mask."""
    if spec.mask_mode != MaskMode.PROPAGATE or not spec.inputs:
        return  # no inputs: reported at `[inputs]`
    if not _keeps_mask_axes(shape, spec.inputs[0]):
        name = spec.inputs[0].name
        report.error(
            ("mask", "mode"),
            f'mode "propagate" passes on the mask of `{name}`, shaped '
            f"like `{name}[:-1]`, but {what} does not keep "
            'those axes; use "consume" (the output carries no mask) '
            'or "compute" (declare the output\'s mask)',
        )


def validate_output_dtype(
    report: Report, spec: LayerSpec, table: dict[str, Any]
) -> str | None:
    """``[output] dtype``: an output that is not in the compute dtype (an
    index, a flag), declared with its shape so the symbolic output has it."""
    dtype = report.typed(table, "dtype", ("output",), (str,), "a string")
    if dtype is None:
        return None
    if dtype not in DTYPES:
        report.error(
            ("output", "dtype"), f"unknown dtype `{dtype}`{hint(dtype, DTYPES)}"
        )
        return None
    if "shape" not in table:
        report.error(
            ("output", "dtype"),
            "`dtype` goes with `shape`; without a shape the output's dtype is "
            "traced from call() and needs no declaring",
        )
        return None
    return dtype


def _keeps_mask_axes(shape: tuple[Expr, ...], item: Input) -> bool:
    """Whether an output shape starts with all but the last axis of ``item``
    (``*x[:-1]``, or ``x[0], x[1]`` for an input of rank 3), where Keras's
    masks live."""
    first = shape[0].node if shape else None
    if isinstance(first, ast.Starred):
        sub = first.value
        upper = sub.slice.upper
        whole = upper is None or ast.unparse(upper) == "-1"
        return sub.value.id == item.name and sub.slice.lower is None and whole
    if item.rank is None:
        return False
    kept = [ast.unparse(d.node).replace(" ", "") for d in shape[: item.rank - 1]]
    return len(kept) == item.rank - 1 and all(
        dim in (f"{item.name}[{axis}]", f"{item.name}[{axis - item.rank}]")
        for axis, dim in enumerate(kept)
    )


# The flags that may add outputs: `expr` is checked for each combination.
MAX_FLAGS = 4


def validate_outputs(
    report: Report, spec: LayerSpec, table: dict[str, Any], shape_names: ShapeScope
) -> list[Output]:
    """Several outputs, one ``[output.NAME]`` table each, in the order call()
    returns them; the first always, the others maybe only ``when`` a flag."""
    if spec.is_cell:
        report.error(("output",), "a cell's outputs come from RNN")
        return []
    outputs = []
    taken = {i.name for i in spec.inputs} | {"input"}
    for name, raw in table.items():
        path: KeyPath = ("output", name)
        if not isinstance(raw, dict):
            report.error(
                path,
                "with several outputs, each is an `[output.NAME]` table; "
                "`shape` and `dtype` go in it",
            )
            continue
        entry = report.table(raw, path, "named_output")
        clash = name in taken or spec.call_arg(f"{name}_shape") is not None
        if not IDENTIFIER.match(name) or keyword.iskeyword(name) or clash:
            report.error(
                path,
                f"output name `{name}` must be an identifier other than the "
                "inputs' names (compute_output_shape names its shape "
                f"`{name}_shape`)",
            )
            continue
        if "shape" not in entry:
            report.error(path, "missing required key `shape`")
            continue
        shape = validate_shape(
            report, shape_names, entry["shape"], (*path, "shape"), allow_star=True
        )
        dtype = _dtype(report, entry, path)
        when = _when(report, spec, entry, path)
        mask = _mask(report, spec, entry, path)
        if shape is not None and when != "":
            outputs.append(Output(name, shape, dtype, when, mask))
    if len(table) < 2:
        report.error(
            ("output",),
            "declare two or more `[output.NAME]` tables, or one output with "
            "`[output] shape`",
        )
    elif outputs and outputs[0].when is not None:
        report.error(
            ("output", outputs[0].name, "when"),
            "the first output is the main one, always returned; `when` goes "
            "on the outputs after it",
        )
    if len(output_flags(outputs)) > MAX_FLAGS:
        report.error(
            ("output",),
            f"the outputs' `when` name {len(output_flags(outputs))} flags; at "
            f"most {MAX_FLAGS} may add outputs (`expr` is checked for each "
            "combination of them)",
        )
    if outputs and len(outputs) == len(table):
        masks = any(isinstance(raw, dict) and "mask" in raw for raw in table.values())
        _check_output_masks(report, spec, outputs, masks)
    return outputs


def _mask(
    report: Report, spec: LayerSpec, entry: dict[str, Any], path: KeyPath
) -> Expr | None:
    """An output's own mask, ``mask = "ops.any(mask, axis=-1)"`` (mode
    "compute" only)."""
    if "mask" not in entry:
        return None
    if spec.mask_mode != MaskMode.COMPUTE:
        report.error(
            (*path, "mask"),
            f'an output\'s `mask` needs `[mask] mode = "compute"` (mode is '
            f'"{spec.mask_mode}")',
        )
        return None
    expr = report.expression(entry["mask"], (*path, "mask"), mask_scope(spec))
    flags = [a.name for a in spec.call_args if expr and a.name in names_in(expr.node)]
    if flags:
        report.error(
            (*path, "mask"),
            f"an output's `mask` cannot read the call argument `{flags[0]}`: "
            "compute_mask, which returns the outputs' masks, does not see "
            "call arguments",
        )
        return None
    return expr


def _check_output_masks(
    report: Report, spec: LayerSpec, outputs: list[Output], masks: bool
) -> None:
    """Which outputs carry a mask: with mode "propagate" the first (it keeps
    the input's mask), with "compute" those that declare one. compute_mask
    does not see call flags, so its list lines up with the outputs only up to
    the first output a flag adds: a mask goes on an output before it.
    ``masks``: whether any output gives a `mask` (maybe a wrong one)."""
    if spec.mask_mode == MaskMode.PROPAGATE:
        _check_propagated(
            report, spec, outputs[0].shape, f"the first output `{outputs[0].name}`"
        )
    if spec.mask_mode != MaskMode.COMPUTE:
        return
    if not masks:
        report.error(
            ("mask", "mode"),
            'mode "compute" with several outputs: give `mask`, the output\'s '
            "Keras mask, in the `[output.NAME]` of each output that carries "
            "one (the others carry none)",
        )
    flagged = next((o for o in outputs if o.when is not None), None)
    after = outputs[outputs.index(flagged) :] if flagged else []
    for output in after:
        if output.mask is not None:
            report.error(
                ("output", output.name, "mask"),
                f"`{output.name}` comes after `{flagged.name}`, which only "
                f"`{flagged.when}` returns, and compute_mask does not see call "
                "flags: only outputs before the first with `when` may carry a "
                "mask",
            )


def _dtype(report: Report, entry: dict[str, Any], path: KeyPath) -> str | None:
    dtype = report.typed(entry, "dtype", path, (str,), "a string")
    if dtype is not None and dtype not in DTYPES:
        report.error((*path, "dtype"), f"unknown dtype `{dtype}`{hint(dtype, DTYPES)}")
        return None
    return dtype


def _when(
    report: Report, spec: LayerSpec, entry: dict[str, Any], path: KeyPath
) -> str | None:
    """The flag an output needs (None: always returned; "" when wrong)."""
    when = report.typed(entry, "when", path, (str,), "a string")
    if when is None:
        return None
    arg = spec.call_arg(when)
    if arg is None or arg.type != ParamType.BOOL:
        flags = [a.name for a in spec.call_args if a.type == ParamType.BOOL]
        report.error(
            (*path, "when"),
            f"`{when}` is not a bool argument of `[call.args]`; `when` names "
            "the flag that returns this output" + hint(when, flags),
        )
        return ""  # failed: the output is left out
    return when


def flag_values(flags: list[str]) -> list[dict[str, bool]]:
    """Every combination of values of ``flags``, all false first."""
    return [
        {flag: bool(index >> bit & 1) for bit, flag in enumerate(flags)}
        for index in range(2 ** len(flags))
    ]


def check_returned(report: Report, spec: LayerSpec) -> bool:
    """``[call] expr`` returns as many values as ``[output]`` declares, for
    each combination of values of the flags that add outputs (``(out,
    scores) if return_attention_scores else out``); False where it does not."""
    if spec.expr is None or spec.is_cell or len(output_flags(spec.outputs)) > MAX_FLAGS:
        return True
    flags = output_flags(spec.outputs)
    for values in flag_values(flags):
        declared = [o.name for o in spec.outputs if o.when is None or values[o.when]]
        returned = _count(spec.expr.node, values)
        if returned == max(len(declared), 1):
            continue
        if not spec.outputs:
            report.error(
                ("call", "expr"),
                f"`expr` returns {returned} values: declare each output in an "
                "`[output.NAME]` table (shape, dtype), in the order returned",
            )
        else:
            when = " and ".join(f"`{f}` is {v}" for f, v in values.items())
            report.error(
                ("call", "expr"),
                f"`expr` returns {returned} value{'s' * (returned != 1)}"
                + (f" when {when}" if when else "")
                + f", but `[output]` declares {len(declared)} "
                f"({', '.join(f'`{n}`' for n in declared)}); write the tuple "
                f"in `expr`, like `(a, b) if {flags[0] if flags else 'flag'} "
                "else a`",
            )
        return False
    return True


def float_places(spec: LayerSpec) -> dict[tuple[int, int], set[bool]]:
    """For each place ``expr`` returns a value at (a branch, by the id of its
    node, and a position in its tuple), whether the outputs it holds are
    floats, over the flag values that reach it: ``{True}`` for a float output
    (autocast off casts it back to the compute dtype), ``{False}`` for an
    index or a flag, both where the flags put either there."""
    places: dict[tuple[int, int], set[bool]] = {}
    if spec.expr is not None:
        _walk(spec, spec.expr.node, flag_values(output_flags(spec.outputs)), places)
    return places


def _walk(
    spec: LayerSpec,
    node: ast.AST,
    combos: list[dict[str, bool]],
    places: dict[tuple[int, int], set[bool]],
) -> None:
    if isinstance(node, ast.IfExp):
        taken = [(values, truth(node.test, values)) for values in combos]
        if all(t is not None for _, t in taken):
            _walk(spec, node.body, [v for v, t in taken if t], places)
            _walk(spec, node.orelse, [v for v, t in taken if not t], places)
            return
    for values in combos:
        returned = [o for o in spec.outputs if o.when is None or values[o.when]]
        count = len(node.elts) if isinstance(node, ast.Tuple | ast.List) else 1
        for index, output in enumerate(returned[:count]):
            is_float = output.dtype is None or "float" in output.dtype
            places.setdefault((id(node), index), set()).add(is_float)


def check_cast_outputs(report: Report, spec: LayerSpec) -> None:
    """With autocast off, call() casts each float output back to the compute
    dtype: a place of ``expr`` must hold float outputs only, or none."""
    if spec.autocast or not spec.outputs:
        return
    if any(len(kinds) > 1 for kinds in float_places(spec).values()):
        report.error(
            ("call", "expr"),
            "with `autocast = false` call() casts each float output back to "
            "the compute dtype, but a place of `expr` holds a float output for "
            "some flag values and an int or bool one for others; branch on "
            "the flags so that each tuple lists the outputs it returns",
        )


def truth(test: ast.AST, values: dict[str, bool]) -> bool | None:
    """The value of a condition over the flags (``a``, ``not a``, ``a and
    b``, ``a or b``), or None where it reads anything else."""
    if isinstance(test, ast.Name):
        return values.get(test.id)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = truth(test.operand, values)
        return None if inner is None else not inner
    if isinstance(test, ast.BoolOp):
        parts = [truth(value, values) for value in test.values]
        if None in parts:
            return None
        return all(parts) if isinstance(test.op, ast.And) else any(parts)
    return None


def _count(node: ast.AST, values: dict[str, bool]) -> int:
    """How many values ``node`` returns when the flags have ``values``: a
    tuple its length, a branch on a flag its taken branch's, anything else
    1."""
    if isinstance(node, ast.IfExp):
        taken = truth(node.test, values)
        if taken is not None:
            return _count(node.body if taken else node.orelse, values)
    if isinstance(node, ast.Tuple | ast.List):
        return len(node.elts)
    return 1
