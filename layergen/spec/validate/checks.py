"""``[checks]``: conditions over params (checked in ``__init__``) and over
input dimensions like ``x[-1] % 2 == 0`` or ``x[feature_axis] % 2 == 0``, at
an axis an int param gives (checked in ``build``)."""

from __future__ import annotations

from typing import Any

from layergen.spec import expressions as ex
from layergen.spec.model import Expr, LayerSpec
from layergen.spec.validate.reporting import Report
from layergen.spec.validate.schema import IDENTIFIER, KeyPath
from layergen.spec.validate.scopes import checks_scope


def validate_checks(report: Report, spec: LayerSpec, raw: Any) -> dict[str, Expr]:
    checks = {}
    scope = checks_scope(spec)
    ranks = {i.name: (i.rank, i.min_rank) for i in spec.main_inputs}
    axis_params = [p.name for p in spec.params if p.type == "int" and not p.optional]
    for name, source in report.table(raw, ("checks",), None).items():
        path: KeyPath = ("checks", name)
        if not IDENTIFIER.match(name):
            report.error(path, f"check name `{name}` is not an identifier")
            continue
        expr = report.expression(source, path, scope, "check expression")
        if expr is None:
            continue
        try:
            ex.check_input_dims_only(expr.node, ranks, axis_params)
        except ex.ExpressionError as exc:
            report.error(path, f"{exc} (in `{source.strip()}`)")
            continue
        checks[name] = expr
    return checks
