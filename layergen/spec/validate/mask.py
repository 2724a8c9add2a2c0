"""``[mask]``: the mask mode (read before ``[call]``, whose scope it changes)
and, for ``mode = "compute"``, the output mask's expression."""

from __future__ import annotations

from typing import Any

from layergen.spec import expressions as ex
from layergen.spec import guards
from layergen.spec.model import MASK_MODES, Expr, LayerSpec, MaskMode
from layergen.spec.validate.reporting import Report
from layergen.spec.validate.schema import mask_alias, mask_names
from layergen.spec.validate.scopes import mask_scope


def validate_mask_mode(report: Report, table: dict[str, Any]) -> MaskMode:
    mode = report.typed(table, "mode", ("mask",), (str,), "a string") or "none"
    if mode not in MASK_MODES:
        report.error(
            ("mask", "mode"),
            f"unknown mask mode `{mode}`{report.hint(mode, MASK_MODES)} (expected "
            "one of " + ", ".join(f'"{m}"' for m in MASK_MODES) + ")",
        )
        return MaskMode.NONE
    return MaskMode(mode)


def report_mask_clashes(report: Report, spec: LayerSpec) -> None:
    """The mask arguments call() takes must not clash with declared names."""
    if spec.mask_mode != MaskMode.NONE:
        for path, message in guards.mask_clashes(spec, mask_names(spec)):
            report.error(path, message)


def report_alias_clash(report: Report, spec: LayerSpec) -> None:
    """Nor the name Keras passes the input's mask under beside an optional
    tensor (once [call] says whether call() reads the mask)."""
    alias = mask_alias(spec)
    if alias is not None:
        for path, message in guards.mask_clashes(spec, [alias]):
            report.error(path, message)


def validate_mask_expr(
    report: Report, spec: LayerSpec, table: dict[str, Any], *, several: bool
) -> Expr | None:
    """The output's mask; with ``several`` outputs each ``[output.NAME]``
    gives its own (``mask``), so ``[mask] expr`` has none to say."""
    if "expr" in table and several:
        report.error(
            ("mask", "expr"),
            "with several outputs, each `[output.NAME]` that carries a mask "
            "gives it as `mask`; `[mask] expr` is the mask of a single output",
        )
        return None
    if several:
        return None
    if "expr" in table and spec.mask_mode != MaskMode.COMPUTE:
        report.error(
            ("mask", "expr"),
            f'`expr` needs `mode = "compute"` (mode is "{spec.mask_mode}")',
        )
    if spec.mask_mode != MaskMode.COMPUTE:
        return None
    if "expr" not in table:
        report.error(("mask",), 'mode "compute" needs `expr`, the output mask')
        return None
    expr = report.expression(table["expr"], ("mask", "expr"), mask_scope(spec))
    read = ex.names_in(expr.node) if expr is not None else set()
    if "mask" in read and read & {a.name for a in spec.call_args}:
        spec.uses_mask = True  # computed in call(), which takes the mask
    return expr
