"""``[layer]``: the class name, module, package, doc and kind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from layergen.spec import guards
from layergen.spec.model import LayerSpec
from layergen.spec.tables import LAYER_KINDS
from layergen.spec.validate.reporting import Report
from layergen.spec.validate.schema import (
    DEFAULT_PACKAGE,
    IDENTIFIER,
    PACKAGE,
    PASCAL_CASE,
    RESERVED,
    snake_case,
)


def validate_layer(
    report: Report,
    layer: dict[str, Any],
    path: Path,
    text: str,
    default_package: str = DEFAULT_PACKAGE,
) -> LayerSpec:
    """A LayerSpec with the ``[layer]`` values, the rest to be filled in."""
    name = report.typed(layer, "name", ("layer",), (str,), "a string")
    if "name" not in layer:
        report.error(("layer",), "missing required key `name` (the class name)")
    elif name is not None and (problem := guards.name_problem(name, "class name")):
        report.error(("layer", "name"), problem)
        name = None
    elif name is not None and not PASCAL_CASE.match(name):
        report.error(
            ("layer", "name"),
            f"`{name}` is not a PascalCase class name like `SimpleDense`",
        )
    elif name in RESERVED:
        report.error(("layer", "name"), f"class name `{name}` is reserved")
    name_ok = name is not None and PASCAL_CASE.match(name) is not None
    name = name or "Layer"
    module = report.typed(layer, "module", ("layer",), (str,), "a string")
    if module is not None and not IDENTIFIER.match(module):
        report.error(
            ("layer", "module"),
            f"`{module}` is not a module name (letters, digits, `_`; "
            "no `/`, `.` or `..`)",
        )
    elif (module or name_ok) and (
        problem := guards.module_problem(module or snake_case(name))
    ):  # a module named after a bad class name would repeat its error
        report.error(("layer", "module" if module else "name"), problem)
    package = report.typed(layer, "package", ("layer",), (str,), "a string")
    if package is not None and not PACKAGE.match(package):
        report.error(
            ("layer", "package"),
            f"`{package}` is not a dotted Python package name",
        )
    kind = report.typed(layer, "kind", ("layer",), (str,), "a string") or "layer"
    if kind not in LAYER_KINDS:
        expected = " or ".join(f'"{k}"' for k in LAYER_KINDS)
        report.error(
            ("layer", "kind"),
            f'expected {expected}, found "{kind}"{report.hint(kind, LAYER_KINDS)}',
        )
    doc = report.typed(layer, "doc", ("layer",), (str,), "a string")
    autocast = report.typed(layer, "autocast", ("layer",), (bool,), "true or false")
    return LayerSpec(
        name=name,
        module=module or snake_case(name),
        package=package or default_package,
        doc=doc or f"{name} layer.",
        kind=kind,
        autocast=autocast is not False,
        spec_path=path,
        spec_text=text,
    )


def check_autocast(report: Report, spec: LayerSpec) -> None:
    """``autocast = false`` computes the whole call in float32: a cell's
    states and sublayers (which compute in the compute dtype) would mix
    dtypes, so it is for plain layers without sublayers."""
    if spec.autocast:
        return
    if spec.is_cell:
        report.error(
            ("layer", "autocast"), '`autocast = false` is not for `kind = "cell"`'
        )
    elif spec.sublayers:
        report.error(
            ("layer", "autocast"),
            "`autocast = false` is for layers without `[sublayers]` (they compute "
            "in the compute dtype, call() in float32)",
        )
