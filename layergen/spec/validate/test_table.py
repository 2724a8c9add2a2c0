"""``[test]``: the params and input shapes the generated tests use (which must
pass the spec's checks), the numpy reference, properties and test flags."""

from __future__ import annotations

import ast
import keyword
from typing import Any

from layergen.spec import expressions as ex
from layergen.spec.evaluation import TooLargeError, evaluate
from layergen.spec.model import (
    Expr,
    LayerSpec,
    LayerValue,
    Param,
    ParamType,
    Property,
    TestConfig,
    output_flags,
)
from layergen.spec.tables import PROPERTY_WHEN
from layergen.spec.validate.call_inputs import (
    test_shape_problem,
    validate_call_inputs,
)
from layergen.spec.validate.params import param_value_problem
from layergen.spec.validate.reporting import Report, kind
from layergen.spec.validate.schema import (
    DEFAULT_TEST_DIMS,
    IDENTIFIER,
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
        if param.name in given and param.is_layer:
            values[param.name] = _layer_value(report, param, given[param.name], path)
        elif param.name in given:
            value = given[param.name]
            problem = param_value_problem(param, value)
            if problem:
                report.error(path, problem)
            values[param.name] = value
        elif param.has_default:
            values[param.name] = param.default
        else:
            how = "a table of its spec's arguments " if param.is_layer else ""
            report.error(
                ("params", param.name),
                f"required param `{param.name}` needs a value in `[test] params`"
                + (f" ({how.strip()})" if how else ""),
            )
    for name in given:
        if spec.param(name) is None:
            found = report.hint(name, [p.name for p in spec.params])
            report.error(
                ("test", "params", name), f"`{name}` is not a declared param{found}"
            )
    shapes = _test_shapes(report, spec, table.get("input_shapes", {}))
    call_args = _given_call_args(report, spec, table.get("call_args", {}))
    _checks_hold(report, spec, {**values, **shapes}, doc)
    call_inputs = validate_call_inputs(
        report, spec, table.get("call_inputs"), {**values, **shapes}
    )
    reference = None
    if isinstance(table.get("reference"), dict):
        reference = _output_references(report, spec, table["reference"])
    elif "reference" in table:
        reference = report.expression(
            table["reference"], ("test", "reference"), numpy_scope(spec)
        )
        if spec.outputs:
            report.error(
                ("test", "reference"),
                "the layer has several outputs: give each its reference, "
                '`[test.reference]` with `NAME = "numpy expression"`',
            )
    call = doc.get("call")
    declared = call.get("losses") if isinstance(call, dict) else None
    count = len(declared) if isinstance(declared, list) else len(spec.losses)
    losses = _loss_references(report, spec, table.get("losses"), count)
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
    dtypes = [o.dtype for o in spec.outputs] or [spec.output_dtype]
    if flags["differentiable"] is None and all(
        d is not None and "float" not in d for d in dtypes
    ):
        # No gradient flows to an index or a flag.
        flags["differentiable"] = False
    return TestConfig(
        values,
        shapes,
        reference,
        properties,
        losses=losses,
        **{key: value for key, value in flags.items() if value is not None},
        call_args=call_args,
        call_inputs=call_inputs,
    )


def _layer_value(
    report: Report, param: Param, raw: Any, path: KeyPath
) -> LayerValue | None:
    """A ``layer`` param's test value: a table of the arguments its spec's
    layer is made with (``{ input_dim = 10, output_dim = 4 }``), literals."""
    made = param.spec
    if made is None:
        report.error(
            path,
            f"the tests make `{param.name}` from its spec: give the param "
            '`spec = "..."` (a spec file) to pass a layer in the tests',
        )
        return None
    if not isinstance(raw, dict):
        report.error(
            path,
            f"expected a table of `{made.name}`'s arguments, like "
            f"`{{ {', '.join(f'{p.name} = ...' for p in made.params[:2])} }}`, "
            f"found {kind(raw)}",
        )
        return None
    args = []
    for name, value in raw.items():
        inner = made.param(name)
        if inner is None:
            report.error(
                (*path, name),
                f"`{made.name}` has no param `{name}`"
                + report.hint(name, [p.name for p in made.params]),
            )
            continue
        problem = (
            f"`{made.name}`'s `layer` params cannot be given in the tests"
            if inner.is_layer
            else param_value_problem(inner, value)
        )
        if problem:
            report.error((*path, name), problem)
            continue
        args.append((name, value))
    missing = [p.name for p in made.params if not p.has_default and p.name not in raw]
    if missing:
        report.error(
            path,
            f"`{made.name}` requires {', '.join(f'`{m}`' for m in missing)} "
            "(no default)",
        )
        return None
    return LayerValue(made, tuple(args))


def _given_call_args(report: Report, spec: LayerSpec, raw: Any) -> dict[str, Any]:
    """The call arguments of the tests' second call, where every optional
    input is passed: ``[test] call_args``, else each flag flipped and every
    other argument at its default."""
    given = report.table(raw, ("test", "call_args"), None)
    for name in given:
        if spec.call_arg(name) is None:
            report.error(
                ("test", "call_args", name),
                f"`{name}` is not an argument of `[call.args]`"
                + report.hint(name, [a.name for a in spec.call_args]),
            )
    values = {}
    for arg in spec.call_args:
        if arg.name in given:
            problem = param_value_problem(arg, given[arg.name])
            if problem:
                report.error(("test", "call_args", arg.name), problem)
            values[arg.name] = given[arg.name]
        elif arg.type == ParamType.BOOL:
            values[arg.name] = not arg.default
        else:
            values[arg.name] = arg.default
    return values


def _output_references(
    report: Report, spec: LayerSpec, raw: dict[str, Any]
) -> Expr | None:
    """``[test.reference]``: one numpy expression per output, combined into
    what call() returns (``(a, b) if flag else a``)."""
    if not spec.outputs:
        report.error(
            ("test", "reference"),
            "a table of references needs several outputs (`[output.NAME]`); "
            "give one numpy expression",
        )
        return None
    nodes = {}
    for name, source in raw.items():
        path: KeyPath = ("test", "reference", name)
        if name not in {o.name for o in spec.outputs}:
            report.error(
                path,
                f"`{name}` is not an output"
                + report.hint(name, [o.name for o in spec.outputs]),
            )
            continue
        expr = report.expression(source, path, numpy_scope(spec))
        if expr is not None:
            nodes[name] = expr.node
    missing = [o.name for o in spec.outputs if o.name not in raw]
    if missing:
        report.error(
            ("test", "reference"),
            f"no reference for output `{missing[0]}`; give one per output",
        )
    if len(nodes) != len(spec.outputs):
        return None
    node = _by_flags(spec, nodes, output_flags(spec.outputs), {})
    node = ast.fix_missing_locations(ast.Expression(node)).body
    return report.expr(ast.unparse(node), node, ("test", "reference"))


def _by_flags(
    spec: LayerSpec,
    nodes: dict[str, ast.expr],
    flags: list[str],
    values: dict[str, bool],
) -> ast.expr:
    """The references of the outputs returned for each value of the flags
    that add outputs: ``(out, scores) if return_attention_scores else out``,
    nested for several flags."""
    if not flags:
        returned = [o for o in spec.outputs if o.when is None or values[o.when]]
        return _packed([nodes[o.name] for o in returned])
    flag, rest = flags[0], flags[1:]
    on = _by_flags(spec, nodes, rest, {**values, flag: True})
    off = _by_flags(spec, nodes, rest, {**values, flag: False})
    return ast.IfExp(ast.Name(flag, ast.Load()), on, off)


def _packed(nodes: list[ast.expr]) -> ast.expr:
    return nodes[0] if len(nodes) == 1 else ast.Tuple(nodes, ast.Load())


def _loss_references(
    report: Report, spec: LayerSpec, raw: Any, count: int
) -> tuple[Expr, ...]:
    """``[test] losses``: a numpy expression per ``[call] losses`` entry (of
    which there are ``count``, those with errors too: no knock-on error)."""
    if raw is None:
        return ()
    path: KeyPath = ("test", "losses")
    if not isinstance(raw, list):
        report.error(path, f"expected an array of strings, found {kind(raw)}")
        return ()
    if len(raw) != count:
        report.error(
            path,
            f"{len(raw)} loss reference{'s' * (len(raw) != 1)} for the "
            f"{count} `[call] losses`: give one per loss, in order",
        )
        return ()
    scope = numpy_scope(spec)
    found = [
        report.expression(source, (*path, index), scope)
        for index, source in enumerate(raw)
    ]
    return tuple(e for e in found if e is not None)


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
            if _reads_missing_axis(spec, check, env):
                continue  # said with the limits (limits.evaluation_problems)
            holds = False
        if not holds:
            inputs = {i.name for i in spec.inputs}
            where = "input_shapes" if ex.input_dims(check.node, inputs) else "params"
            given = where in doc.get("test", {})
            report.error(
                ("test", where) if given else ("test",),
                f"the test's {where.replace('_', ' ')} break check `{name}` "
                f"(`{check.source.strip()}`); give `[test] {where}` that pass it",
            )


def _reads_missing_axis(spec: LayerSpec, check: Expr, env: dict[str, Any]) -> bool:
    """Whether a check reads an axis the test's input lacks."""
    for dim in ex.input_dims(check.node, {i.name for i in spec.inputs}):
        shape = env.get(dim.value.id)  # type: ignore[attr-defined]
        try:
            axis = evaluate(dim.slice, env)
        except ex.ExpressionError:
            return False
        if isinstance(shape, tuple | list) and not -len(shape) <= axis < len(shape):
            return True
    return False


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
        if problem := test_shape_problem(item, shape):
            report.error(path, problem)
        shapes[item.name] = tuple(shape)
    return shapes
