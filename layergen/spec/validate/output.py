"""``[output]``: the declared output shape, or several named outputs
(``[output.NAME]``); whether a propagated mask still fits; and whether
``[call] expr`` returns what is declared."""

from __future__ import annotations

import ast
import keyword
from typing import Any

from layergen.spec.model import Expr, Input, LayerSpec, MaskMode, Output, ParamType
from layergen.spec.validate.reporting import Report, hint
from layergen.spec.validate.schema import DTYPES, IDENTIFIER, KeyPath
from layergen.spec.validate.scopes import ShapeScope
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
    if spec.mask_mode != MaskMode.PROPAGATE or shape is None or not spec.inputs:
        return shape  # no inputs: reported at `[inputs]`
    if not _keeps_mask_axes(shape, spec.inputs[0]):
        name = spec.inputs[0].name
        report.error(
            ("mask", "mode"),
            f'mode "propagate" passes on the mask of `{name}`, shaped '
            f"like `{name}[:-1]`, but the output shape does not keep "
            'those axes; use "consume" (the output carries no mask) '
            'or "compute" (declare the output\'s mask)',
        )
    return shape


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
        if shape is not None and when != "":
            outputs.append(Output(name, shape, dtype, when))
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
    if len({o.when for o in outputs if o.when}) > 1:
        report.error(
            ("output",),
            "the outputs' `when` name more than one flag; one flag may add "
            "outputs (like `return_attention_scores`)",
        )
    if not spec.autocast and len(table) > 1:
        report.error(
            ("layer", "autocast"),
            "`autocast = false` is for layers of one output (call() casts it "
            "back to the compute dtype); several outputs are not supported yet",
        )
    if spec.mask_mode in (MaskMode.PROPAGATE, MaskMode.COMPUTE) and len(table) > 1:
        report.error(
            ("mask", "mode"),
            f'mode "{spec.mask_mode}" gives one output a mask; with several '
            'outputs use "none" or "consume" (per-output masks are not '
            "supported yet)",
        )
    return outputs


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


def check_returned(report: Report, spec: LayerSpec) -> None:
    """``[call] expr`` returns as many values as ``[output]`` declares, for
    each value of the flag that adds outputs (``(out, scores) if
    return_attention_scores else out``)."""
    if spec.expr is None or spec.is_cell:
        return
    flag = next((o.when for o in spec.outputs if o.when), None)
    for value in (False, True) if flag else (False,):
        declared = [o.name for o in spec.outputs if o.when is None or value]
        returned = _count(spec.expr.node, flag, value)
        if returned == max(len(declared), 1):
            continue
        if not spec.outputs:
            report.error(
                ("call", "expr"),
                f"`expr` returns {returned} values: declare each output in an "
                "`[output.NAME]` table (shape, dtype), in the order returned",
            )
        else:
            when = f" when `{flag}` is {value}" if flag else ""
            report.error(
                ("call", "expr"),
                f"`expr` returns {returned} value{'s' * (returned != 1)}{when}, "
                f"but `[output]` declares {len(declared)} "
                f"({', '.join(f'`{n}`' for n in declared)}); write the tuple "
                f"in `expr`, like `(a, b) if {flag or 'flag'} else a`",
            )
        return


def _count(node: ast.AST, flag: str | None, value: bool) -> int:
    """How many values ``node`` returns when ``flag`` has ``value``: a tuple
    its length, a branch on the flag its taken branch's, anything else 1."""
    if isinstance(node, ast.IfExp) and flag is not None:
        test, negated = node.test, False
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            test, negated = test.operand, True
        if isinstance(test, ast.Name) and test.id == flag:
            taken = node.body if value != negated else node.orelse
            return _count(taken, flag, value)
    if isinstance(node, ast.Tuple | ast.List):
        return len(node.elts)
    return 1
