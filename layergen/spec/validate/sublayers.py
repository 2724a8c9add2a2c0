"""``[sublayers]``: keras.layers classes the layer builds, their arguments
and ``for_each`` lists."""

from __future__ import annotations

import keyword
from typing import Any

from layergen.spec import catalog, guards
from layergen.spec.model import LayerSpec, Sublayer
from layergen.spec.validate.reporting import Declarations, Report
from layergen.spec.validate.schema import IDENTIFIER, KeyPath
from layergen.spec.validate.scopes import sublayer_scope


def validate_sublayers(
    report: Report, spec: LayerSpec, raw: Any, declared: Declarations
) -> list[Sublayer]:
    sublayers = []
    list_params = {p.name for p in spec.params if p.type.startswith("list[")}
    for name, entry_raw in report.table(raw, ("sublayers",), None).items():
        path: KeyPath = ("sublayers", name)
        entry = report.table(entry_raw, path, "sublayer")
        if not declared.claim(name, path, "sublayer"):
            continue
        layer = entry.get("layer")
        if not isinstance(layer, str):
            report.error(path, "missing required key `layer` (a keras.layers class)")
            continue
        if layer not in catalog.names("layers"):
            report.error(
                (*path, "layer"),
                f"`{layer}` is not a keras.layers class"
                f"{report.hint(layer, catalog.names('layers'))}",
            )
        elif problem := guards.sublayer_problem(layer):
            report.error((*path, "layer"), problem)
        for_each = None
        if "for_each" in entry:
            for_each = report.expression(
                entry["for_each"],
                (*path, "for_each"),
                sublayer_scope(spec, for_each=False),
            )
        scope = sublayer_scope(spec, for_each="for_each" in entry)
        args = []
        for arg, value in report.table(
            entry.get("args", {}), (*path, "args"), None
        ).items():
            if not IDENTIFIER.match(arg) or keyword.iskeyword(arg):
                report.error((*path, "args", arg), f"`{arg}` is not a keyword name")
                continue
            expr = report.expression(value, (*path, "args", arg), scope)
            if expr is None:
                continue
            problem = guards.sublayer_argument_problem(
                layer, arg, expr.node, list_params
            )
            if problem is not None:
                report.error((*path, "args", arg), problem)
                continue
            args.append((arg, expr))
        sublayers.append(Sublayer(name, layer, tuple(args), for_each))
    return sublayers
