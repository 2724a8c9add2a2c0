"""``[call]`` (training, steps, expr, next_states) and ``[updates]``: what
call() computes, returns and assigns to non-trainable weights."""

from __future__ import annotations

import ast
from typing import Any

from layergen.spec import expressions as ex
from layergen.spec import guards
from layergen.spec.model import Expr, LayerSpec
from layergen.spec.validate.reporting import Report, kind
from layergen.spec.validate.schema import KeyPath, mask_names
from layergen.spec.validate.scopes import call_scope


def validate_call(
    report: Report, spec: LayerSpec, table: dict[str, Any]
) -> dict[str, ex.Symbol]:
    """Fill in the spec's training flag, steps, expr, next_states and
    uses_random; return the scope after the steps (``[updates]`` reads it)."""
    training = report.typed(table, "training", ("call",), (bool,), "true or false")
    spec.training = bool(training)
    scope = call_scope(spec)
    steps = table.get("steps", [])
    if not isinstance(steps, list):
        report.error(
            ("call", "steps"), f"expected an array of strings, found {kind(steps)}"
        )
        steps = []
    for index, source in enumerate(steps):
        path: KeyPath = ("call", "steps", index)
        if not isinstance(source, str):
            report.error(path, f"expected a step string, found {kind(source)}")
            continue
        stmt = None
        try:
            stmt = ex.parse_step(source)
            guards.check_step_names(stmt, mask_names(spec))
            ex.check_step(stmt, scope, suggest=report.suggesting)  # adds its locals
        except ex.ExpressionError as exc:
            report.error(path, f"{exc} (in `{source.strip()}`)")
            _bind_targets(stmt, scope)  # later steps get no knock-on errors
            continue
        spec.steps.append(report.expr(source, stmt, path))
    if "expr" not in table:
        report.error(("call",), "missing required key `expr` (the returned value)")
    else:
        spec.expr = report.expression(table["expr"], ("call", "expr"), scope)
    spec.losses = _losses(report, table.get("losses", []), scope)
    next_states = report.table(
        table.get("next_states", {}), ("call", "next_states"), None
    )
    if spec.is_cell:
        for state in spec.states:
            if state.name not in next_states:
                report.error(
                    ("call", "next_states") if next_states else ("call",),
                    f"missing `[call.next_states]` entry for state `{state.name}`",
                )
    elif next_states:
        report.error(
            ("call", "next_states"), '`next_states` is only for `kind = "cell"`'
        )
    for name, source in next_states.items():
        path = ("call", "next_states", name)
        if spec.is_cell and name not in {s.name for s in spec.states}:
            found = report.hint(name, [s.name for s in spec.states])
            report.error(path, f"`{name}` is not a declared state{found}")
            continue
        expr = report.expression(source, path, scope)
        if expr is not None:
            spec.next_states[name] = expr
    spec.uses_random = any(
        "random" in ex.names_in(e.node) for e in all_call_exprs(spec)
    )
    return scope


def _losses(report: Report, raw: Any, scope: dict[str, ex.Symbol]) -> list[Expr]:
    """``losses``: expressions over call()'s names after the steps, each a
    scalar call() adds with ``self.add_loss``."""
    if not isinstance(raw, list):
        report.error(
            ("call", "losses"), f"expected an array of strings, found {kind(raw)}"
        )
        return []
    losses = []
    for index, source in enumerate(raw):
        expr = report.expression(source, ("call", "losses", index), scope)
        if expr is not None:
            losses.append(expr)
    return losses


def validate_updates(
    report: Report,
    spec: LayerSpec,
    table: dict[str, Any],
    scope_after_steps: dict[str, ex.Symbol],
) -> None:
    """Fill in the spec's updates (and training, uses_random, uses_mask)."""
    for name, source in table.items():
        path: KeyPath = ("updates", name)
        weight = spec.weight(name)
        if weight is None:
            report.error(
                path,
                f"`{name}` is not a declared weight"
                + report.hint(name, [w.name for w in spec.weights]),
            )
            continue
        if weight.trainable:
            report.error(
                path,
                f"weight `{name}` is trainable: only `trainable = false` weights "
                "can be updated in call",
            )
            continue
        expr = report.expression(source, path, scope_after_steps)
        if expr is not None:
            spec.updates[name] = expr
    if spec.updates:
        spec.training = True
    spec.uses_random = spec.uses_random or any(
        "random" in ex.names_in(e.node) for e in spec.updates.values()
    )
    spec.uses_mask = any(
        set(mask_names(spec)) & ex.names_in(e.node) for e in all_call_exprs(spec)
    )


def all_call_exprs(spec: LayerSpec) -> list[Expr]:
    """Every expression call() evaluates: steps, losses, next states, updates,
    expr."""
    exprs = [*spec.steps, *spec.losses, *spec.next_states.values()]
    exprs += spec.updates.values()
    return exprs + ([spec.expr] if spec.expr else [])


def _bind_targets(stmt: ast.stmt | None, scope: dict[str, ex.Symbol]) -> None:
    """The names a step that failed its check would bind, as locals, so that
    the steps after it are judged on their own (one mistake, one error)."""
    if stmt is None:
        return
    try:
        names = ex.assigned_names(stmt)
    except ex.ExpressionError:
        return
    for name in names:
        scope.setdefault(name, ex.Symbol(ex.LOCAL))
