"""``[inputs]``: the tensors call() takes, their ranks and dtypes, and which
are optional (``attention_mask=None``)."""

from __future__ import annotations

from typing import Any

from layergen.spec.model import Input
from layergen.spec.validate.params import argument_doc
from layergen.spec.validate.reporting import Declarations, Report, hint
from layergen.spec.validate.schema import DTYPES, MAX_RANK, KeyPath


def validate_inputs(
    report: Report, raw: Any, is_cell: bool, declared: Declarations
) -> list[Input]:
    if raw is None:
        return [Input("inputs", rank=2 if is_cell else None)]
    table = report.table(raw, ("inputs",), None)
    if not table:
        report.error(
            ("inputs",), "declare at least one input, like `x = { min_rank = 2 }`"
        )
    if is_cell and len(table) > 1:
        report.error(("inputs",), "a cell takes exactly one input")
    inputs = []
    for name, entry_raw in table.items():
        path: KeyPath = ("inputs", name)
        entry = report.table(entry_raw, path, "input")
        if not declared.claim(name, path, "input"):
            continue
        rank = report.typed(entry, "rank", path, (int,), "an int")
        min_rank = report.typed(entry, "min_rank", path, (int,), "an int")
        for key, value in (("rank", rank), ("min_rank", min_rank)):
            if value is not None and value < 1:
                report.error((*path, key), f"expected an int >= 1, found {value}")
            elif value is not None and value > MAX_RANK:
                report.error(
                    (*path, key), f"{key} {value} is above the limit of {MAX_RANK}"
                )
        if rank is not None and min_rank is not None:
            report.error(path, "give either `rank` or `min_rank`, not both")
        dtype = report.typed(entry, "dtype", path, (str,), "a string")
        if dtype is not None and dtype not in DTYPES:
            report.error(
                (*path, "dtype"), f"unknown dtype `{dtype}`{hint(dtype, DTYPES)}"
            )
        if is_cell and rank not in (None, 2):
            report.error((*path, "rank"), "a cell's input is one step: rank 2")
        optional = bool(report.typed(entry, "optional", path, (bool,), "true or false"))
        if optional and is_cell:
            report.error((*path, "optional"), "a cell's one input is not optional")
            optional = False
        elif optional and not inputs:
            report.error(
                (*path, "optional"),
                "the first input is the layer's main input and cannot be optional",
            )
            optional = False
        elif not optional and any(i.optional for i in inputs):
            report.error(
                path,
                f"required input `{name}` must come before the optional inputs "
                "(in call() they have the default None)",
            )
        doc = argument_doc(report, entry, path)
        inputs.append(
            Input(name, rank if not is_cell else 2, min_rank, dtype, optional, doc)
        )
    return inputs
