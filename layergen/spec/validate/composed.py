"""Sublayers that are not keras.layers classes: another spec's layer (of the
same run, or a spec file beside this one) with its arguments checked against
that spec's params, and classes of the modules ``[tool.layergen]
allow-imports`` lists, checked by name (validation never imports them)."""

from __future__ import annotations

import ast
import importlib.util
import keyword
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from layergen.errors import SpecError
from layergen.spec.model import Expr, LayerSpec, Param
from layergen.spec.validate.params import param_value_problem
from layergen.spec.validate.reporting import Report, article
from layergen.spec.validate.schema import RESERVED, KeyPath

if TYPE_CHECKING:
    from layergen.spec.composition import Run

# Keyword arguments every layer takes besides its params (`name` is the
# sublayer's entry name, set by layergen).
BASE_ARGUMENTS = ("dtype", "trainable")
# Param types a parent param may pass to a param of another type.
WIDENING = {("int", "float")}


def layer_of_run(report: Report, key: KeyPath, name: str, run: Run) -> LayerSpec | None:
    """The layer of the run's spec that declares class ``name``."""
    paths = run.classes(report.path.parent)[name]
    if len(paths) > 1:
        files = ", ".join(str(p) for p in paths)
        report.error(
            key,
            f"`{name}` is the class of several specs of this run ({files}): "
            'name one with `spec = "..."`',
        )
        return None
    return _load(report, key, paths[0], f"`{name}` ({paths[0]})", run)


def layer_of_spec_file(
    report: Report, key: KeyPath, value: Any, run: Run
) -> LayerSpec | None:
    """The layer of the spec file ``value``, relative to this spec's directory
    and inside it (a spec may not make layergen read files elsewhere)."""
    if not isinstance(value, str):
        report.error(key, f"expected a spec file name (a string), found {value!r}")
        return None
    relative = PurePosixPath(value)
    if (
        relative.suffix != ".toml"
        or relative.is_absolute()
        or ".." in relative.parts
        or "\\" in value
        or not value.isprintable()
    ):
        report.error(
            key,
            f"expected a .toml spec file relative to this spec, in its directory "
            f"or below (no `..`), found {value!r}",
        )
        return None
    directory = report.path.parent
    path = directory / relative
    if not path.is_file() or not path.resolve().is_relative_to(directory.resolve()):
        report.error(key, f"no spec file `{value}` beside this spec")
        return None
    return _load(report, key, path, f"`{value}`", run)


def _load(
    report: Report, key: KeyPath, path: Path, shown: str, run: Run
) -> LayerSpec | None:
    from layergen.spec.composition import SublayerCycle

    if path.resolve() == report.path.resolve():
        report.error(
            key, f"{shown} is this spec's own layer: a layer cannot contain itself"
        )
        return None
    try:
        made = run.load(path)
    except SublayerCycle as exc:
        report.error(
            key,
            f"{shown} is built from this layer: a cycle ({exc})",
        )
        return None
    except SpecError:
        report.error(key, f"{shown} has errors (reported with its own file)")
        return None
    if made.is_cell:
        report.error(
            key,
            f'{shown} is a recurrent cell (`kind = "cell"`): a sublayer is called '
            "as a layer",
        )
        return None
    return made


def imported_class(report: Report, key: KeyPath, dotted: str, run: Run) -> str | None:
    """The module of ``module.Class`` when the project allows importing it
    (its top-level package is in ``allow-imports``) and it is installed;
    nothing is imported here."""
    parts = dotted.split(".")
    if any(
        not part.isidentifier() or keyword.iskeyword(part) or part.startswith("_")
        for part in parts
    ):
        report.error(
            key,
            f"`{dotted}` is not a dotted class name like "
            "`keras_hub.layers.PositionEmbedding`",
        )
        return None
    top = parts[0]
    if top == "keras":
        report.error(key, f"`{dotted}` is not a keras.layers class")
        return None
    if top not in run.allow_imports:
        allowed = ", ".join(f'"{m}"' for m in sorted(run.allow_imports)) or "none"
        report.error(
            key,
            f"`{dotted}`: module `{top}` is not one the project allows a spec to "
            f'import (add "{top}" to `[tool.layergen] allow-imports` in '
            f"pyproject.toml; allowed now: {allowed})",
        )
        return None
    if top in RESERVED:
        report.error(key, f"`{top}` is a name the generated code uses itself")
        return None
    if importlib.util.find_spec(top) is None:
        report.error(key, f"`{dotted}`: module `{top}` is not installed")
        return None
    return ".".join(parts[:-1])


def check_spec_arguments(
    report: Report,
    spec: LayerSpec,
    path: KeyPath,
    made: LayerSpec,
    args: list[tuple[str, Expr]],
) -> None:
    """``args`` against ``made``'s constructor: known names, literal values
    its params accept, parent params of a compatible type, no required
    param left out."""
    accepted = [p.name for p in made.params] + list(BASE_ARGUMENTS)
    accepted += ["seed"] if made.uses_random else []
    given = dict(args)
    for arg, value in args:
        param = made.param(arg)
        if param is None:
            if arg not in accepted:
                report.error(
                    (*path, "args", arg),
                    f"`{made.name}` has no argument `{arg}`"
                    f"{report.hint(arg, accepted)} (its arguments: "
                    f"{', '.join(accepted)})",
                )
            continue
        problem = _value_problem(spec, param, value.node)
        if problem is not None:
            report.error((*path, "args", arg), f"`{made.name}`'s `{arg}`: {problem}")
    missing = [p.name for p in made.params if not p.has_default and p.name not in given]
    if missing:
        report.error(
            path,
            f"`{made.name}` requires {', '.join(f'`{m}`' for m in missing)} "
            "(no default): give it in `args`",
        )


def _value_problem(spec: LayerSpec, param: Param, node: ast.AST) -> str | None:
    """Why the argument ``node`` does not fit ``param``: a literal it does not
    accept, or a parent param of another type; None when it fits or is not
    known before run time (arithmetic, `item`)."""
    if isinstance(node, ast.Name) and (given := spec.param(node.id)) is not None:
        if given.type == param.type or (given.type, param.type) in WIDENING:
            return None
        return (
            f"`{node.id}` is {article(given.type)} {given.type} param, expected "
            f"{article(param.type)} {param.type}"
        )
    try:
        value = ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    value = list(value) if isinstance(value, tuple) else value
    return param_value_problem(param, value)
