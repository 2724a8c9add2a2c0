"""``[states]``: a cell's recurrent states and their shapes (params only)."""

from __future__ import annotations

from typing import Any

from layergen.spec import expressions as ex
from layergen.spec.model import LayerSpec, State
from layergen.spec.validate.reporting import Declarations, Report
from layergen.spec.validate.schema import KeyPath
from layergen.spec.validate.scopes import ShapeScope
from layergen.spec.validate.shapes import validate_shape


def validate_states(
    report: Report,
    spec: LayerSpec,
    raw: Any,
    declared: Declarations,
    shape_names: ShapeScope,
) -> list[State]:
    table = report.table(raw if raw is not None else {}, ("states",), None)
    if not table:
        report.error(
            ("states",) if raw is not None else ("layer", "kind"),
            'a cell needs a `[states]` table, like `h = { shape = ["units"] }`',
        )
    states = []
    for name, entry_raw in table.items():
        path: KeyPath = ("states", name)
        entry = report.table(entry_raw, path, "state")
        if not declared.claim(name, path, "state"):
            continue
        if "shape" not in entry:
            report.error(path, "missing required key `shape`")
            continue
        shape = validate_shape(report, shape_names, entry["shape"], (*path, "shape"))
        if shape is not None:
            inputs = {i.name for i in spec.inputs}
            if any(ex.input_axes(d.node, inputs) for d in shape):
                report.error((*path, "shape"), "a state shape may use params only")
            else:
                states.append(State(name, shape))
    return states
