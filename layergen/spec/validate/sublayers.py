"""``[sublayers]``: the layers a layer builds, their arguments and ``for_each``
lists. A sublayer's class is a keras.layers class, another spec's layer
(:mod:`.composed`), or a class of a module the project allows."""

from __future__ import annotations

import keyword
from typing import TYPE_CHECKING, Any

from layergen.spec import catalog, guards
from layergen.spec import expressions as ex
from layergen.spec.model import Expr, LayerSpec, Sublayer
from layergen.spec.validate.composed import (
    check_spec_arguments,
    imported_class,
    layer_of_run,
    layer_of_spec_file,
)
from layergen.spec.validate.reporting import Declarations, Report
from layergen.spec.validate.schema import IDENTIFIER, KeyPath
from layergen.spec.validate.scopes import param_scope, sublayer_scope

if TYPE_CHECKING:
    from layergen.spec.composition import Run

KERAS_PREFIX = "keras.layers."


def validate_sublayers(
    report: Report, spec: LayerSpec, raw: Any, declared: Declarations, run: Run
) -> list[Sublayer]:
    sublayers = []
    list_params = {p.name for p in spec.params if p.type.startswith("list[")}
    ranks = {i.name: (i.rank, i.min_rank) for i in spec.main_inputs}
    for name, entry_raw in report.table(raw, ("sublayers",), None).items():
        path: KeyPath = ("sublayers", name)
        entry = report.table(entry_raw, path, "sublayer")
        if not declared.claim(name, path, "sublayer"):
            continue
        made = _sublayer_class(report, path, entry, run)
        if made is None:
            # Still a sublayer to call(): its arguments are checked as a
            # keras.layers class's, with no knock-on error where it is called.
            layer = entry.get("layer")
            made = Sublayer("", layer if isinstance(layer, str) else "")
        elif spec.param(made.constructor.split(".")[0]) is not None:
            # __init__ makes the sublayers where the params are locals.
            report.error(
                (*path, "spec" if "spec" in entry else "layer"),
                f"`{made.constructor.split('.')[0]}` is also a param: __init__ "
                "could not reach the class (rename the param)",
            )
        for_each = None
        if "for_each" in entry:
            for_each = report.expression(
                entry["for_each"],
                (*path, "for_each"),
                param_scope(spec),
            )
        scope = sublayer_scope(spec, for_each="for_each" in entry)
        args = []
        for arg, value in report.table(
            entry.get("args", {}), (*path, "args"), None
        ).items():
            if not IDENTIFIER.match(arg) or keyword.iskeyword(arg):
                report.error((*path, "args", arg), f"`{arg}` is not a keyword name")
                continue
            expr = _argument(report, (*path, "args", arg), value, scope, ranks, spec)
            if expr is None:
                continue
            problem = guards.sublayer_argument_problem(
                made.layer if made.module is None else "", arg, expr.node, list_params
            )
            if problem is not None:
                report.error((*path, "args", arg), problem)
                continue
            args.append((arg, expr))
        if made.spec is not None:
            check_spec_arguments(report, spec, path, made.spec, args)
        # An argument that reads an input dimension is known in build() only.
        in_build = any(ex.input_axes(e.node, ranks) for _, e in args)
        sublayers.append(
            Sublayer(
                name,
                made.layer,
                tuple(args),
                for_each,
                made.spec,
                made.module,
                in_build,
            )
        )
    return sublayers


def _argument(
    report: Report,
    path: KeyPath,
    value: Any,
    scope: ex.Scope,
    ranks: dict[str, tuple[int | None, int | None]],
    spec: LayerSpec,
) -> Expr | None:
    """One argument: params, and the required inputs through their
    dimensions (``units = "x[-1]"``: the sublayer is then made in build())."""
    expr = report.expression(value, path, scope)
    if expr is None:
        return None
    optional = {i.name for i in spec.optional_inputs}
    absent = sorted(ex.names_in(expr.node) & optional)
    try:
        if absent:
            raise ex.ExpressionError(
                f"optional input `{absent[0]}` may be absent (None): a sublayer "
                "argument reads the dimensions of the required inputs only"
            )
        ex.check_input_dims_only(expr.node, ranks, what="a sublayer argument")
    except ex.ExpressionError as exc:
        report.error(path, f"{exc} (in `{value.strip()}`)")
        return None
    return expr


def _sublayer_class(
    report: Report, path: KeyPath, entry: dict[str, Any], run: Run
) -> Sublayer | None:
    """The class ``layer`` or ``spec`` names, as a Sublayer without arguments;
    None after reporting why it cannot be built."""
    layer, file = entry.get("layer"), entry.get("spec")
    if layer is not None and file is not None:
        report.error(
            (*path, "spec"),
            "give `layer` (a class) or `spec` (a spec file), not both",
        )
        return None
    if file is not None:
        made = layer_of_spec_file(report, (*path, "spec"), file, run)
        return None if made is None else Sublayer("", made.name, spec=made)
    if layer is None:
        report.error(
            path,
            "missing required key `layer` (a keras.layers class, another spec's "
            "layer or `module.Class`) or `spec` (a spec file)",
        )
        return None
    key = (*path, "layer")
    if not isinstance(layer, str):
        report.error(key, f"expected a class name (a string), found {layer!r}")
        return None
    if layer.startswith(KERAS_PREFIX) and layer[len(KERAS_PREFIX) :] in catalog.names(
        "layers"
    ):
        layer = layer[len(KERAS_PREFIX) :]
    if "." in layer:
        module = imported_class(report, key, layer, run)
        if module is None:
            return None
        return Sublayer("", layer.rsplit(".", 1)[1], module=module)
    if layer in catalog.names("layers"):
        if problem := guards.sublayer_problem(layer):
            report.error(key, problem)
            return None
        if layer in run.classes(report.path.parent):
            report.error(
                key,
                f"`{layer}` is keras.layers.{layer}; this run's own {layer} is used "
                f'with `spec = "..."` (its spec file)',
                warning=True,
            )
        return Sublayer("", layer)
    if layer in run.classes(report.path.parent):
        made = layer_of_run(report, key, layer, run)
        return None if made is None else Sublayer("", layer, spec=made)
    known = catalog.names("layers") | set(run.classes(report.path.parent))
    report.error(
        key,
        f"`{layer}` is neither a keras.layers class nor a layer of this run"
        f"{report.hint(layer, known)}",
    )
    return None
