"""``[test]``: the params and input shapes the generated tests use (which must
pass the spec's checks), the numpy reference, properties and test flags."""

from __future__ import annotations

import keyword
from typing import Any

from layergen.spec import expressions as ex
from layergen.spec import limits
from layergen.spec.evaluation import TooLargeError, evaluate
from layergen.spec.model import LayerSpec, Property, TestConfig
from layergen.spec.tables import PROPERTY_WHEN
from layergen.spec.validate.params import param_value_problem
from layergen.spec.validate.reporting import Report, kind
from layergen.spec.validate.schema import (
    DEFAULT_TEST_DIMS,
    IDENTIFIER,
    MAX_RANK,
    KeyPath,
)
from layergen.spec.validate.scopes import numpy_scope, property_scope


def validate_test(report: Report, spec: LayerSpec, doc: dict[str, Any]) -> TestConfig:
    """``doc`` is the whole document: where ``[test]`` is missing, its
    diagnostics point elsewhere."""
    table = report.table(doc.get("test", {}), ("test",), "test")
    given = report.table(table.get("params", {}), ("test", "params"), None)
    values: dict[str, Any] = {}
    for param in spec.params:
        path: KeyPath = ("test", "params", param.name)
        if param.name in given:
            value = given[param.name]
            problem = param_value_problem(param, value)
            if problem:
                report.error(path, problem)
            values[param.name] = value
        elif param.has_default:
            values[param.name] = param.default
        else:
            report.error(
                ("params", param.name),
                f"required param `{param.name}` needs a value in `[test] params`",
            )
    for name in given:
        if spec.param(name) is None:
            found = report.hint(name, [p.name for p in spec.params])
            report.error(
                ("test", "params", name), f"`{name}` is not a declared param{found}"
            )
    shapes = _test_shapes(report, spec, table.get("input_shapes", {}))
    _checks_hold(report, spec, {**values, **shapes}, doc)
    reference = None
    if "reference" in table:
        reference = report.expression(
            table["reference"], ("test", "reference"), numpy_scope(spec)
        )
    properties = _properties(report, spec, table.get("properties", {}))
    if reference is None and not properties and "reference" not in table:
        report.error(
            ("test",) if "test" in doc else (),
            "no `reference` or `properties` in `[test]`: the generated tests "
            "check shapes, dtypes, training, masks and saving, never the values "
            "the layer computes",
            warning=True,
        )
    flags = {
        key: report.typed(table, key, ("test",), (bool,), "true or false")
        for key in (
            "training_changes_output",
            "differentiable",
            "unbiased_in_training",
        )
    }
    if flags["differentiable"] is None and spec.output_dtype is not None:
        # No gradient flows to an index or a flag.
        flags["differentiable"] = "float" in spec.output_dtype
    return TestConfig(
        values,
        shapes,
        reference,
        properties,
        **{key: value for key, value in flags.items() if value is not None},
    )


def _properties(report: Report, spec: LayerSpec, raw: Any) -> tuple[Property, ...]:
    """``[test.properties]``: NAME = "numpy expression", or
    NAME = { expr = "...", when = "training" } to check training calls."""
    found = []
    scope = property_scope(spec)
    for name, entry in report.table(raw, ("test", "properties"), None).items():
        path: KeyPath = ("test", "properties", name)
        if not IDENTIFIER.match(name) or keyword.iskeyword(name):
            report.error(path, f"property name `{name}` is not an identifier")
            continue
        if isinstance(entry, dict):
            entry = report.table(entry, path, "property")
            source, when = entry.get("expr"), entry.get("when", "inference")
            path_expr: KeyPath = (*path, "expr")
        else:
            source, when, path_expr = entry, "inference", path
        if when not in PROPERTY_WHEN:
            expected = " or ".join(f'"{w}"' for w in PROPERTY_WHEN)
            found = (
                f'"{when}"{report.hint(when, PROPERTY_WHEN)}'
                if isinstance(when, str)
                else kind(when)
            )
            report.error((*path, "when"), f"expected {expected}, found {found}")
            continue
        if when == "training" and not spec.training:
            report.error(
                (*path, "when"), '"training" needs `training = true` in `[call]`'
            )
            continue
        expr = report.expression(source, path_expr, scope, "property expression")
        if expr is not None:
            found.append(Property(name, expr, when == "training"))
    return tuple(found)


def _checks_hold(
    report: Report, spec: LayerSpec, env: dict[str, Any], doc: dict[str, Any]
) -> None:
    """The test's params and input shapes must pass the spec's checks."""
    if report.errors:
        return  # a value may be missing or of the wrong type
    for name, check in spec.checks.items():
        try:
            holds = evaluate(check.node, env)
        except TooLargeError as exc:
            report.error(("checks", name), str(exc))
            continue
        except (ArithmeticError, TypeError, IndexError, ex.ExpressionError):
            holds = False
        if not holds:
            inputs = {i.name for i in spec.inputs}
            where = "input_shapes" if ex.input_axes(check.node, inputs) else "params"
            given = where in doc.get("test", {})
            report.error(
                ("test", where) if given else ("test",),
                f"the test's {where.replace('_', ' ')} break check `{name}` "
                f"(`{check.source.strip()}`); give `[test] {where}` that pass it",
            )


def _test_shapes(
    report: Report, spec: LayerSpec, raw: Any
) -> dict[str, tuple[int, ...]]:
    given = report.table(raw, ("test", "input_shapes"), None)
    shapes = {}
    for name in given:
        if name not in {i.name for i in spec.inputs}:
            found = report.hint(name, [i.name for i in spec.inputs])
            report.error(
                ("test", "input_shapes", name),
                f"`{name}` is not a declared input{found}",
            )
    for item in spec.inputs:
        path: KeyPath = ("test", "input_shapes", item.name)
        shape = given.get(item.name)
        if shape is None:
            shapes[item.name] = DEFAULT_TEST_DIMS[: item.least_rank]
            continue
        if not isinstance(shape, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape
        ):
            report.error(path, "expected an array of positive ints, like [2, 5, 3]")
            continue
        if len(shape) > MAX_RANK:
            report.error(
                path,
                f"{len(shape)} dims; the generated tests take inputs of at "
                f"most {MAX_RANK}",
            )
        elif item.rank is not None and len(shape) != item.rank:
            report.error(
                path,
                f"input `{item.name}` has rank {item.rank}, "
                f"shape has {len(shape)} dims",
            )
        elif item.min_rank is not None and len(shape) < item.min_rank:
            report.error(
                path,
                f"input `{item.name}` has min_rank {item.min_rank}, "
                f"shape has {len(shape)} dims",
            )
        elif problem := limits.too_many_elements(shape, f"input `{item.name}`"):
            report.error(path, problem)
        shapes[item.name] = tuple(shape)
    return shapes
