"""``[test] call_inputs``: required inputs the tests' second call passes with
another shape or dtype, for a flag that changes what the layer takes
(ReversibleEmbedding's ``reverse=True`` takes vectors, not ids)."""

from __future__ import annotations

from typing import Any

from layergen.spec import expressions as ex
from layergen.spec import limits
from layergen.spec.evaluation import evaluate
from layergen.spec.model import Input, LayerSpec
from layergen.spec.tables import DTYPES, MAX_RANK
from layergen.spec.validate.reporting import Report
from layergen.spec.validate.schema import KeyPath

PATH: KeyPath = ("test", "call_inputs")


def test_shape_problem(item: Input, shape: list[int]) -> str | None:
    """What is wrong with a test shape of positive ints for ``item``."""
    if len(shape) > MAX_RANK:
        return (
            f"{len(shape)} dims; the generated tests take inputs of at most "
            f"{MAX_RANK}"
        )
    if item.rank is not None and len(shape) != item.rank:
        return f"input `{item.name}` has rank {item.rank}, shape has {len(shape)} dims"
    if item.min_rank is not None and len(shape) < item.min_rank:
        return (
            f"input `{item.name}` has min_rank {item.min_rank}, "
            f"shape has {len(shape)} dims"
        )
    return limits.too_many_elements(shape, f"input `{item.name}`")


def validate_call_inputs(
    report: Report, spec: LayerSpec, raw: Any, env: dict[str, Any]
) -> dict[str, tuple[tuple[int, ...], str | None]]:
    """Each input's shape and dtype (None: its own) in the second call; the
    layer built on them must have the weights and pass the checks it has
    with ``input_shapes`` (``env``: the test's params and input shapes)."""
    if raw is None:
        return {}
    given = report.table(raw, PATH, None)
    if given and not spec.call_args:
        report.error(
            PATH,
            "`call_inputs` are the inputs of the tests' second call, which "
            "passes other `[call.args]` values; the layer has no `[call.args]`",
        )
    found: dict[str, tuple[tuple[int, ...], str | None]] = {}
    for name, raw_entry in given.items():
        path: KeyPath = (*PATH, name)
        item = next((i for i in spec.main_inputs if i.name == name), None)
        if item is None:
            optional = any(i.name == name for i in spec.optional_inputs)
            report.error(
                path,
                (
                    f"`{name}` is an optional input: its shape in the second call "
                    "is its `[test] input_shapes` entry"
                    if optional
                    else f"`{name}` is not a required input"
                    + report.hint(name, [i.name for i in spec.main_inputs])
                ),
            )
            continue
        entry = report.table(raw_entry, path, "call_input")
        shape = entry.get("shape")
        if not isinstance(shape, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape
        ):
            report.error(
                (*path, "shape") if "shape" in entry else path,
                "expected `shape`, an array of positive ints, like [2, 5, 4]",
            )
            continue
        if problem := test_shape_problem(item, shape):
            report.error((*path, "shape"), problem)
            continue
        dtype = entry.get("dtype")
        if dtype is not None and dtype not in DTYPES:
            report.error(
                (*path, "dtype"),
                f"unknown dtype `{dtype}`" + report.hint(str(dtype), DTYPES),
            )
            continue
        found[name] = (tuple(shape), dtype)
    if found and spec.call_args and not report.errors:
        _same_build(report, spec, env, {n: s for n, (s, _) in found.items()})
    return found


def _same_build(
    report: Report,
    spec: LayerSpec,
    env: dict[str, Any],
    shapes: dict[str, tuple[int, ...]],
) -> None:
    """The tests build the layer on either call's inputs and expect the same
    weights: the weights' shapes and the checks must not tell them apart."""
    other = {**env, **shapes}
    for weight in spec.weights:
        try:
            present = weight.condition is None or evaluate(weight.condition.node, env)
            before = [evaluate(d.node, env) for d in weight.shape] if present else []
            after = [evaluate(d.node, other) for d in weight.shape] if present else []
        except ex.ExpressionError:
            continue  # reported with the limits
        if before != after:
            report.error(
                PATH,
                f"weight `{weight.name}` has shape {after} for these inputs and "
                f"{before} for `input_shapes`; the tests expect the same weights "
                "in both calls",
            )
            return
    for name, check in spec.checks.items():
        try:
            holds = evaluate(check.node, other)
        except ex.ExpressionError:
            holds = False
        if not holds:
            report.error(
                PATH,
                f"these inputs break check `{name}` (`{check.source.strip()}`), "
                "which build() makes",
            )
            return
