"""``[call.args]``: call() arguments that are not tensors, Python flags and
numbers with defaults (``use_causal_mask=False``, ``start_index=0``)."""

from __future__ import annotations

from typing import Any

from layergen.spec import tables
from layergen.spec.model import Param, ParamType
from layergen.spec.validate.params import argument
from layergen.spec.validate.reporting import Declarations, Report
from layergen.spec.validate.schema import KeyPath

CALL_ARG_TYPES = tuple(ParamType(name) for name in tables.CALL_ARG_TYPES)


def validate_call_args(
    report: Report, raw: Any, is_cell: bool, declared: Declarations
) -> list[Param]:
    """The call arguments, in signature order; each has a default."""
    if raw is None:
        return []
    table = report.table(raw, ("call", "args"), None)
    if table and is_cell:
        report.error(("call", "args"), "a cell's call() takes its input and states")
        return []
    found = []
    for name, raw_entry in table.items():
        path: KeyPath = ("call", "args", name)
        entry = report.table(raw_entry, path, "call_arg")
        if not declared.claim(name, path, "call argument") or not entry:
            continue
        arg = argument(report, name, entry, path, CALL_ARG_TYPES, [])
        if arg is None:
            continue
        if not arg.has_default:
            report.error(
                path,
                f"call argument `{name}` needs a `default`, the value call() "
                "uses when it is not passed (a tensor argument goes in "
                "`[inputs]`)",
            )
            continue
        found.append(arg)
    return found
