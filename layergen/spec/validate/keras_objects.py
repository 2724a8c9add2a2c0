"""A weight's ``initializer``, ``regularizer`` and ``constraint``: a param, a
Keras identifier (``"zeros"``), or a Keras class with arguments, checked
against the class's constructor in Keras's catalogue:

- Keras's own serialized form, literal arguments:
  ``{ class_name = "Constant", config = { value = -1.0 } }``
- a call, arguments by position or name, each an expression over params and
  input dimensions: ``"Constant(-1.0)"``, ``"TruncatedNormal(stddev=0.02)"``,
  ``"Constant(float(x[-1]) ** 0.5)"``.

A string argument with a fixed set of values in Keras (VarianceScaling's
``mode``) is checked against it (:data:`ARGUMENT_CHOICES`); an argument's
expression is evaluated with the ``[test]`` values, as shapes are
(:func:`argument_value_problems`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from typing import Any

from layergen.spec import catalog
from layergen.spec import expressions as ex
from layergen.spec.evaluation import evaluate
from layergen.spec.model import Expr, KerasObject, LayerSpec, Param, Weight
from layergen.spec.validate.reporting import Report, article, hint, kind
from layergen.spec.validate.schema import TABLE_KEYS, KeyPath
from layergen.spec.validate.scopes import checks_scope

# The param types that may stand for an argument of each type.
_PARAM_TYPES = {
    "float": {"int", "float"},
    "int": {"int"},
    "str": {"str"},
    "bool": {"bool"},
    "list[int]": {"list[int]"},
    "None": set(),
}
# The string arguments Keras accepts only a few values for (it raises
# ValueError on any other when the weight is built): namespace, class, argument.
# tests/test_keras_objects.py checks them against the installed Keras.
ARGUMENT_CHOICES: dict[tuple[str, str, str], tuple[str, ...]] = {
    ("initializers", "VarianceScaling", "mode"): ("fan_in", "fan_out", "fan_avg"),
    ("initializers", "VarianceScaling", "distribution"): (
        "truncated_normal",
        "untruncated_normal",
        "normal",
        "uniform",
    ),
    ("initializers", "STFT", "side"): ("real", "imag"),
    ("initializers", "STFTInitializer", "side"): ("real", "imag"),
    ("initializers", "STFT", "scaling"): ("density", "spectrum"),
    ("initializers", "STFTInitializer", "scaling"): ("density", "spectrum"),
}
_WORDS = {
    "float": "a number",
    "int": "an int",
    "str": "a string",
    "bool": "true or false",
    "list[int]": "a list of ints",
    "None": "None",
}


def keras_object(
    report: Report,
    spec: LayerSpec,
    params: dict[str, Param],
    value: Any,
    path: KeyPath,
    ptype: str,
    namespace: str,
) -> str | KerasObject | None:
    """A param of ``ptype``, a Keras identifier from ``namespace``, or a class
    of it with arguments (a table or a call); None where it is wrong."""
    if isinstance(value, dict):
        return _from_table(report, value, path, ptype, namespace)
    if not isinstance(value, str):
        report.error(path, f"expected a string or a table, found {kind(value)}")
        return None
    param = params.get(value)
    if param is not None:
        if param.type != ptype:
            constant = ""
            if ptype == "initializer" and param.type in ("int", "float"):
                constant = f"; to start the weight at its value: `Constant({value})`"
            report.error(
                path,
                f"param `{value}` has type {param.type}, expected {ptype}{constant}",
            )
        return value
    if value in catalog.names(namespace):
        return value
    if "(" in value:
        return _from_call(report, spec, params, value, path, ptype, namespace)
    found = ""
    if report.suggesting:
        typed = {p.name for p in spec.params if p.type == ptype}
        found = hint(value, catalog.names(namespace) | typed)
    report.error(
        path,
        f"`{value}` is neither {article(ptype)} {ptype} param nor a Keras "
        f"{ptype}{found}",
    )
    return value


def _from_table(
    report: Report, table: dict[str, Any], path: KeyPath, ptype: str, namespace: str
) -> KerasObject | None:
    problems = serialized_problems(table, ptype, namespace, report.suggesting)
    for suffix, message in problems:
        report.error((*path, *suffix), message)
    if problems:
        return None
    args = []
    for arg, literal in table.get("config", {}).items():
        node = _literal_node(literal)
        arg_path = (*path, "config", arg)
        args.append((arg, report.expr(ast.unparse(node), node, arg_path)))
    return KerasObject(namespace, table["class_name"], tuple(args))


def serialized_problems(
    table: dict[str, Any], ptype: str, namespace: str, suggest: bool = True
) -> list[tuple[tuple[str, ...], str]]:
    """What is wrong with Keras's serialized form of a class with arguments,
    ``{ class_name = "Constant", config = { value = -1.0 } }``: each problem's
    key (below the table) and message. A weight's initializer and an
    initializer param's default or test value are written so."""
    if namespace not in catalog.SIGNATURE_NAMESPACES:
        return [((), f"expected the name of a Keras {ptype}, found a table")]
    problems: list[tuple[tuple[str, ...], str]] = []
    allowed = TABLE_KEYS["keras_object"]
    for key in table:
        if key not in allowed:
            found = hint(key, allowed) if suggest else ""
            expected = ", ".join(f"`{k}`" for k in allowed)
            problems.append(
                ((key,), f"unknown key `{key}`{found} (expected one of {expected})")
            )
    name = table.get("class_name")
    if not isinstance(name, str):
        found = "missing" if name is None else f"found {kind(name)}"
        problems.append(
            (
                ("class_name",) if name is not None else (),
                f"`class_name` {found}; expected a Keras {ptype} class, like "
                f'{{ class_name = "{_example(namespace)}", config = {{ ... }} }}',
            )
        )
        return problems
    problem = _class_problem(name, ptype, namespace, suggest)
    if problem:
        return [*problems, (("class_name",), problem)]
    config = table.get("config", {})
    if not isinstance(config, dict):
        message = f"expected a table of `{name}`'s arguments, found {kind(config)}"
        return [*problems, (("config",), message)]
    signature = dict(catalog.signature(namespace, name))
    for arg, literal in config.items():
        problem = _argument_name_problem(name, arg, signature, suggest)
        if problem is None:
            problem = value_problem(namespace, name, arg, literal, signature[arg])
        if problem:
            problems.append((("config", arg), problem))
    return problems


def _from_call(
    report: Report,
    spec: LayerSpec,
    params: dict[str, Param],
    source: str,
    path: KeyPath,
    ptype: str,
    namespace: str,
) -> KerasObject | None:
    try:
        node = ex.parse_expression(source)
    except ex.ExpressionError as exc:
        report.error(path, f"{exc} (in `{source.strip()}`)")
        return None
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        report.error(
            path,
            f"expected {article(ptype)} {ptype} param, a Keras {ptype} or a "
            f"class with arguments like `{_example(namespace)}(...)`; "
            f"found `{source.strip()}`",
        )
        return None
    name = node.func.id
    problem = _class_problem(name, ptype, namespace, report.suggesting)
    if problem:
        report.error(path, problem)
        return None
    signature = dict(catalog.signature(namespace, name))
    order = list(signature)
    if len(node.args) > len(order):
        report.error(
            path,
            f"`{name}` takes {len(order)} argument{'s' * (len(order) != 1)}, "
            f"found {len(node.args)} (in `{source.strip()}`)",
        )
        return None
    given = list(zip(order, node.args, strict=False))
    given += [(k.arg, k.value) for k in node.keywords]
    # Params, input dimensions and builtins: no ops, as build() makes these.
    scope = {n: s for n, s in checks_scope(spec).items() if s.kind != ex.MODULE}
    ranks = {i.name: (i.rank, i.min_rank) for i in spec.inputs}
    args: dict[str, Expr] = {}
    for arg, value in given:
        if arg is None:
            report.error(path, f"`**` unpacking is not allowed (in `{source}`)")
            return None
        problem = _argument_name_problem(name, arg, signature, report.suggesting)
        if problem:
            report.error(path, problem)
            return None
        if arg in args:
            report.error(path, f"argument `{arg}` of `{name}` is given twice")
            return None
        problem = _argument_problem(
            value, signature[arg], params, scope, ranks, report.suggesting
        )
        if problem:
            report.error(path, f"`{arg}` of `{name}` {problem} (in `{source}`)")
            return None
        problem = _literal_problem(namespace, name, arg, value, signature[arg])
        if problem:
            report.error(path, f"{problem} (in `{source}`)")
            return None
        args[arg] = report.expr(ast.unparse(value), value, path)
    return KerasObject(namespace, name, tuple(args.items()))


def _class_problem(name: str, ptype: str, namespace: str, suggest: bool) -> str | None:
    classes = catalog.classes(namespace)
    if name in classes:
        return None
    by_lower = {c.lower().replace("_", ""): c for c in classes}
    found = by_lower.get(name.lower().replace("_", ""))
    suggestion = f" - did you mean `{found}`?" if found else ""
    if not found and suggest:
        suggestion = hint(name, classes)
    if suggestion:
        return f"`{name}` is not a Keras {ptype} class{suggestion}"
    return (
        f"`{name}` is not a Keras {ptype} class (expected one of "
        + ", ".join(f"`{c}`" for c in sorted(classes))
        + ")"
    )


def _argument_name_problem(
    name: str, arg: str, signature: dict[str, str], suggest: bool
) -> str | None:
    if arg in signature:
        return None
    if not signature:
        return f"`{name}` takes no arguments"
    found = hint(arg, signature) if suggest else ""
    return (
        f"`{name}` has no argument `{arg}`{found} (its arguments: "
        + ", ".join(f"`{a}`" for a in signature)
        + ")"
    )


def _argument_problem(
    node: ast.expr,
    wanted: str,
    params: dict[str, Param],
    scope: ex.Scope,
    ranks: dict[str, tuple[int | None, int | None]],
    suggest: bool,
) -> str | None:
    """Why an argument's expression does not suit its type, or None. A literal
    is checked by value, a param by its type; arithmetic suits a number."""
    try:
        ex.check_expression(node, scope, suggest=suggest)
        ex.check_input_dims_only(node, ranks)
    except ex.ExpressionError as exc:
        return f"cannot be `{ast.unparse(node)}`: {exc}"
    try:
        literal = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    else:
        if _fits(literal, wanted):
            return None
        return f"expects {_describe(wanted)}, found {literal!r}"
    kinds = wanted.split(" | ")
    optional = sorted(
        n for n in ex.names_in(node) if n in params and params[n].optional
    )
    if optional and "None" not in kinds and not isinstance(node, ast.IfExp):
        return (
            f"expects {_describe(wanted)}, and `{optional[0]}` may be None "
            f"(say what then: `... if {optional[0]} is None else ...`)"
        )
    if isinstance(node, ast.Name) and node.id in params:
        param = params[node.id]
        if any(param.type in _PARAM_TYPES[k] for k in kinds):
            return None
        return f"expects {_describe(wanted)}, found {param.type} param `{node.id}`"
    if "float" in kinds or "int" in kinds:
        return None
    return f"expects {_describe(wanted)}: a literal or a param of that type"


def value_problem(
    namespace: str, name: str, arg: str, value: Any, wanted: str
) -> str | None:
    """Why ``value`` cannot be argument ``arg`` of class ``name``, or None: its
    type, or a string outside the values Keras accepts."""
    if not _fits(value, wanted):
        found = repr(value) if isinstance(value, float) else kind(value)
        return f"`{arg}` of `{name}` expects {_describe(wanted)}, found {found}"
    choices = ARGUMENT_CHOICES.get((namespace, name, arg))
    if choices and isinstance(value, str) and value not in choices:
        expected = ", ".join(f'"{c}"' for c in choices)
        return f'`{arg}` of `{name}` is "{value}"; Keras accepts {expected}'
    return None


def _literal_problem(
    namespace: str, name: str, arg: str, node: ast.expr, wanted: str
) -> str | None:
    """A literal string argument outside Keras's choices (types are checked
    by :func:`_argument_problem`)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return value_problem(namespace, name, arg, node.value, wanted)
    return None


def argument_value_problems(
    weights: Iterable[Weight], env: dict[str, Any]
) -> Iterator[tuple[Expr, str]]:
    """Each argument of a weight's initializer, regularizer or constraint,
    evaluated with ``env`` (the ``[test]`` params and input shapes) as
    build() will: what fails (``Constant(1.0 / 0)``), or gives a value of
    the wrong type or outside Keras's choices, with the argument's Expr."""
    for weight in weights:
        if weight.condition is not None:
            try:
                if not evaluate(weight.condition.node, env):
                    continue
            except ex.ExpressionError:
                continue  # reported with the shapes
        for made in (weight.initializer, weight.regularizer, weight.constraint):
            if not isinstance(made, KerasObject):
                continue
            signature = dict(catalog.signature(made.namespace, made.class_name))
            for arg, expr in made.args:
                try:
                    value = evaluate(expr.node, env)
                except ex.ExpressionError as exc:
                    yield expr, f"`{arg}` of `{made.class_name}`: {exc}"
                    continue
                problem = value_problem(
                    made.namespace, made.class_name, arg, value, signature[arg]
                )
                if problem:
                    yield expr, f"{problem} for the test's params and input shapes"


def _fits(value: Any, wanted: str) -> bool:
    for option in wanted.split(" | "):
        if option == "None" and value is None:
            return True
        if option == "bool" and isinstance(value, bool):
            return True
        if isinstance(value, bool):
            continue
        if option == "float" and _is_finite_number(value):
            return True
        if option == "int" and isinstance(value, int):
            return True
        if option == "str" and isinstance(value, str):
            return True
        if option == "list[int]" and isinstance(value, list):
            return all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    return False


def _is_finite_number(value: Any) -> bool:
    if isinstance(value, float):
        return value == value and abs(value) != float("inf")
    return isinstance(value, int)


def _describe(wanted: str) -> str:
    return " or ".join(_WORDS[option] for option in wanted.split(" | "))


def _literal_node(value: Any) -> ast.expr:
    if isinstance(value, list):
        return ast.List([_literal_node(v) for v in value], ast.Load())
    return ast.Constant(value)


def _example(namespace: str) -> str:
    return {"regularizers": "L2", "constraints": "MaxNorm"}.get(namespace, "Constant")
