"""``[params]``: the constructor's arguments, their types, bounds, choices
and defaults; and whether a value suits a param (``[test] params`` too)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from layergen.spec import catalog
from layergen.spec.model import PARAM_TYPES, LayerSpec, Param, ParamType
from layergen.spec.tables import MAX_PARAM_DOC_LENGTH
from layergen.spec.validate.keras_objects import serialized_problems
from layergen.spec.validate.reporting import Declarations, Report, article, hint
from layergen.spec.validate.schema import KeyPath

if TYPE_CHECKING:
    from layergen.spec.composition import Run


def validate_params(
    report: Report, table: dict[str, Any], declared: Declarations, run: Run
) -> list[Param]:
    params: list[Param] = []
    for name, raw in table.items():
        path: KeyPath = ("params", name)
        entry = report.table(raw, path, "param")
        if not declared.claim(name, path, "param") or not entry:
            continue
        param = argument(report, name, entry, path, PARAM_TYPES, params)
        if param is None:
            continue
        if "spec" in entry and param.is_layer:
            made = _layer_spec(report, entry, path, run)
            param = dataclasses.replace(param, spec=made)
        elif "spec" in entry:
            report.error(
                (*path, "spec"),
                "`spec` names the class of a `layer` param; "
                f"`{name}` is {article(param.type)} {param.type}",
            )
        params.append(param)
    return params


def _layer_spec(
    report: Report, entry: dict[str, Any], path: KeyPath, run: Run
) -> LayerSpec | None:
    """The spec whose layer a ``layer`` param must be (``spec = "x.toml"``)."""
    from layergen.spec.validate.composed import layer_of_spec_file

    return layer_of_spec_file(report, (*path, "spec"), entry["spec"], run)


def argument(
    report: Report,
    name: str,
    entry: dict[str, Any],
    path: KeyPath,
    types: tuple[ParamType, ...],
    earlier: list[Param],
) -> Param | None:
    """One argument entry, a constructor param or (``types`` the plain ones)
    a call argument: its type, bounds, choices, default and doc; one without
    a default must come before the ``earlier`` ones that have one."""
    what = "param" if types == PARAM_TYPES else "argument"
    ptype = entry.get("type")
    if ptype not in types:
        expected = ", ".join(f'"{t}"' for t in types)
        if ptype is None:
            problem = f"missing {what} type; expected one of {expected}"
        else:
            suggestion = report.hint(ptype, types) if isinstance(ptype, str) else ""
            problem = (
                f"`{ptype}` is not {article(what)} {what} type{suggestion} "
                f"(expected one of {expected})"
            )
        report.error((*path, "type"), problem)
        return None
    ptype = ParamType(ptype)
    bounds = {}
    for bound in ("min", "max"):
        value = entry.get(bound)
        if value is not None and (
            ptype not in (ParamType.INT, ParamType.FLOAT) or not is_number(value)
        ):
            report.error(
                (*path, bound),
                f"`{bound}` needs an int or float {what} and a finite number",
            )
            value = None
        bounds[bound] = value
    choices = entry.get("choices")
    if ptype == ParamType.LAYER:
        given = [key for key in ("default", "choices") if key in entry]
        for key in given:
            report.error(
                (*path, key),
                f"a `layer` param takes no `{key}` (a layer is no TOML "
                "value): `optional = true` lets it be None, its default",
            )
        entry = {k: v for k, v in entry.items() if k not in given}
        if "default" in given:  # read as optional: no knock-on errors
            entry.setdefault("optional", True)
        choices = None
    if choices is not None:
        if not isinstance(choices, list) or not choices:
            report.error((*path, "choices"), "expected a non-empty array")
            choices = None
        else:
            for i, choice in enumerate(choices):
                if not fits_type(choice, ptype):
                    report.error(
                        (*path, "choices", i),
                        f"choice {choice!r} is not a {ptype}",
                    )
    optional = report.typed(entry, "optional", path, (bool,), "true or false")
    has_default = "default" in entry or bool(optional)
    if not has_default and any(p.has_default for p in earlier):
        report.error(
            path,
            f"required {what} `{name}` (no `default`) must come before "
            f"the {what}s that have defaults",
        )
    param = Param(
        name,
        ptype,
        entry.get("default"),
        has_default,
        bounds["min"],
        bounds["max"],
        tuple(choices) if choices else None,
        argument_doc(report, entry, path),
        bool(optional),
    )
    if "default" in entry:
        problem = param_value_problem(param, param.default)
        if problem and param.default == "None" and ptype != ParamType.STR:
            problem += (
                "; TOML has no None: `optional = true` lets the argument "
                "be None and makes None its default"
            )
        if problem:
            report.error((*path, "default"), f"default {problem}")
        elif optional and param.object_module and isinstance(param.default, dict):
            report.error(
                (*path, "optional"),
                f"`optional = true` with a default that takes arguments: None "
                f"would mean both no {ptype} and the default; drop `optional` "
                f"(None then gives the default)",
            )
    return param


def argument_doc(report: Report, entry: dict[str, Any], path: KeyPath) -> str | None:
    """An argument's ``doc``: any text (it reaches the docstring as text only),
    but a string, not blank, and at most MAX_PARAM_DOC_LENGTH characters."""
    doc = report.typed(entry, "doc", path, (str,), "a string")
    if doc is None:
        return None
    if not doc.strip():
        report.error((*path, "doc"), "an empty `doc`; say what the argument does")
        return None
    if len(doc) > MAX_PARAM_DOC_LENGTH:
        report.error(
            (*path, "doc"),
            f"a `doc` of {len(doc)} characters; the limit is "
            f"{MAX_PARAM_DOC_LENGTH} (the summary in `[layer] doc` has none)",
        )
        return None
    return doc


def param_value_problem(param: Param, value: Any) -> str | None:
    """Why ``value`` is not acceptable for ``param``, or None."""
    if value is None and (param.object_module or param.optional):
        return None
    if param.object_module and isinstance(value, dict):
        problems = serialized_problems(value, param.type, param.object_module)
        return problems[0][1] if problems else None
    values = value if isinstance(value, list) else [value]
    if any(isinstance(v, float) and not math.isfinite(v) for v in values):
        return f"{value!r} is not a finite number"
    if not fits_type(value, param.type):
        return f"{value!r} is not {article(param.type)} {param.type}"
    namespace = param.object_module
    if namespace and value not in catalog.names(namespace):
        found = hint(value, catalog.names(namespace))
        return f"`{value}` is not a Keras {param.type}{found}"
    if param.min is not None and value < param.min:
        return f"{value!r} is below min = {param.min}"
    if param.max is not None and value > param.max:
        return f"{value!r} is above max = {param.max}"
    if param.choices is not None and value not in param.choices:
        return f"{value!r} is not one of the choices {list(param.choices)}"
    return None


_SCALAR_CHECKS: dict[str, Callable[[Any], bool]] = {
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: is_number(v),
    "bool": lambda v: isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
}


def fits_type(value: Any, ptype: str) -> bool:
    if ptype.startswith("list["):
        inner = _SCALAR_CHECKS[ptype[5:-1]]
        return isinstance(value, list) and all(inner(v) for v in value)
    if ptype in _SCALAR_CHECKS:
        return _SCALAR_CHECKS[ptype](value)
    return isinstance(value, str)


def is_number(value: Any) -> bool:
    """An int or a finite float (``nan`` and ``inf`` have no place in a layer's
    arguments, and no literal in generated code)."""
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int) and not isinstance(value, bool)
