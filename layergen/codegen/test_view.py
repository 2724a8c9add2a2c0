"""What the test template prints, decided in Python: the values the
generated tests expect (weights, output shape, variable axes, masks) and the
reference and properties as code, for ``templates/test_layer.py.j2``."""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from typing import Any

from layergen.checklist import applicable
from layergen.codegen import flag_tests
from layergen.codegen import literals as lit
from layergen.codegen.layer_kinds import WEIGHTLESS_LAYER_PARTS, WEIGHTLESS_LAYERS
from layergen.codegen.literals import Code
from layergen.codegen.training_losses import training_changes_losses
from layergen.spec import expressions as ex
from layergen.spec.evaluation import evaluate, output_shape
from layergen.spec.model import (
    LayerSpec,
    LayerValue,
    MaskMode,
    Property,
    Sublayer,
    Weight,
)
from layergen.spec.validate import mask_names


@dataclass(frozen=True)
class LayerImport:
    """How a test file reaches its layer: an import statement, or a file path
    relative to the test file (for output directories that are not packages)."""

    statement: str = ""
    file: str = ""


def _expects_trainable(spec: LayerSpec, present: list[Weight]) -> bool:
    if any(w.trainable for w in present):
        return True
    if any(_trains(given) for given in _given_layers(spec)):
        return True
    return any(_has_trainable_weights(s) for s in spec.sublayers)


def _given_layers(spec: LayerSpec) -> list[LayerSpec]:
    """The specs of the layers the tests pass to ``layer`` params (tracked:
    their weights and random draws are the layer's)."""
    values = spec.test.params.values() if spec.test else ()
    return [v.spec for v in values if isinstance(v, LayerValue)]


def _trains(spec: LayerSpec) -> bool:
    """Whether another spec's layer owns trainable weights, as its spec says."""
    return any(w.trainable for w in spec.weights) or any(
        _has_trainable_weights(s) for s in spec.sublayers
    )


def _has_trainable_weights(sub: Sublayer) -> bool:
    """Whether a sublayer owns trainable weights: another spec's layer says
    so in its spec; a class is judged by its name."""
    if sub.spec is not None:
        return _trains(sub.spec)
    return sub.layer not in WEIGHTLESS_LAYERS and not any(
        part in sub.layer for part in WEIGHTLESS_LAYER_PARTS
    )


def _is_random(sub: Sublayer) -> bool:
    """Whether a sublayer draws random numbers (in training): another spec's
    layer says so in its spec; a class is judged by its name."""
    if sub.spec is not None:
        return sub.spec.uses_random or any(_is_random(s) for s in sub.spec.sublayers)
    return _is_random_layer(sub.layer)


def context(spec: LayerSpec, layer_import: LayerImport) -> dict[str, Any]:
    test = spec.test
    assert test is not None
    env: dict[str, Any] = {**test.params, **test.input_shapes}
    present = [
        w
        for w in spec.weights
        if w.condition is None or evaluate(w.condition.node, env)
    ]
    expected_weights = {
        w.name: (tuple(evaluate(d.node, env) for d in w.shape), w.trainable)
        for w in present
    }
    dtypes = {i.name: i.dtype or "float32" for i in spec.inputs}
    main = {i.name: test.input_shapes[i.name] for i in spec.main_inputs}
    given = {i.name: test.input_shapes[i.name] for i in spec.optional_inputs}
    variants = bool(given or spec.call_args)
    case = "case" if variants else "CASE"
    bindings = [f"{i.name} = built.inputs[{n}]" for n, i in enumerate(spec.main_inputs)]
    bindings += [
        f"{i.name} = case.input_named(built.inputs, {lit.value(i.name)})"
        for i in spec.optional_inputs
    ]
    bindings += [
        f"{a.name} = case.call_arguments.get({lit.value(a.name)}, "
        f"{lit.value(a.default)})"
        for a in spec.call_args
    ]
    bindings += [
        (
            f"{w.name} = testing.to_numpy(built.layer.{w.name})"
            if w in present
            else f"{w.name} = None"
        )
        for w in spec.weights
    ]
    bindings += [
        f"{s.name} = testing.sublayer_weights(built.layer, {lit.value(s.name)})"
        for s in spec.sublayers
        if s.for_each is None
    ]
    bindings += [f'{p.name} = {case}.init_kwargs["{p.name}"]' for p in spec.params]
    reference_names = set().union(
        *(ex.names_in(e.node) for e in (test.reference, *test.losses) if e)
    )
    facts = CaseFacts(
        is_cell=spec.is_cell,
        mask_mode=str(spec.mask_mode),
        differentiable=test.differentiable,
        uses_training=spec.training,
        training_changes_output=test.training_changes_output,
        random_in_training=_random_in_training(spec),
        unbiased_in_training=test.unbiased_in_training,
        updated_weights=list(spec.updates),
        computes_in_float32=not spec.autocast,
    )
    return {
        "class_name": Code(spec.name),
        # One block, sorted, so that isort agrees wherever the module lives.
        "imports": [
            Code(line)
            for line in sorted(
                filter(None, [layer_import.statement, "from layergen import testing"])
            )
        ],
        "layer_file": layer_import.file,
        "init_kwargs": init_kwargs(test.params),
        "is_cell": spec.is_cell,
        "input_shapes": lit.value(main),
        "input_dtypes": lit.value(dtypes),
        "expected_weights": lit.value(expected_weights),
        "absent_weights": _listed([w.name for w in spec.weights if w not in present]),
        "expected_output_shape": _expected_output_shape(spec, {}),
        "variants": variants,
        "given_inputs": lit.value(given) if given else "",
        "given_arguments": lit.value(test.call_args) if test.call_args else "",
        "given_output_shape": _expected_output_shape(spec, test.call_args),
        "given_shapes": _listed_shapes(test.call_inputs),
        "given_dtypes": lit.value(
            {
                name: dtype or dtypes[name]
                for name, (_, dtype) in test.call_inputs.items()
                if (dtype or dtypes[name]) != dtypes[name]
            }
        ),
        "mask_in_call": bool(spec.mask_flags),
        "expects_mask": lit.value(flag_tests.expects_mask(spec, {})),
        "given_expects_mask": lit.value(flag_tests.expects_mask(spec, test.call_args)),
        "updated_weights": _listed(list(spec.updates)),
        "training": spec.training,
        "training_changes_output": test.training_changes_output,
        "unbiased_in_training": test.unbiased_in_training,
        "random_in_training": facts.random_in_training,
        "mask_mode": str(spec.mask_mode),
        "mask_arguments": _consumed_masks(spec),
        "masked_outputs": _masked_outputs(spec),
        "differentiable": test.differentiable,
        "autocast": spec.autocast,
        "variable_axes": lit.value(variable_axes(spec, main)),
        "axis_multiples": lit.value(_axis_multiples(spec, main, env)),
        "reference": Code(ex.to_code(test.reference.node)) if test.reference else "",
        "uses_numpy": any(
            "np" in ex.names_in(e.node)
            for e in [test.reference, *test.losses, *(p.expr for p in test.properties)]
            if e is not None
        ),
        "properties": [_property(spec, prop) for prop in test.properties],
        # [call] losses: each one's numpy value, or None (checked finite).
        "losses": [Code(ex.to_code(e.node)) for e in test.losses]
        or [Code("None")] * len(spec.losses),
        # Which of them a training call may change (only those checked finite
        # then); none: the argument is left out.
        "losses_training_changes": (
            lit.value(changes) if any(changes := training_changes_losses(spec)) else ""
        ),
        "reference_bindings": [
            Code(line) for line in bindings if line.split(" = ")[0] in reference_names
        ],
        "tests": _tests(facts, _expects_trainable(spec, present)),
    }


def init_kwargs(params: dict[str, Any]) -> Code:
    """The ``[test]`` params as a dict literal; a ``layer`` param's value is
    ``testing.NewLayer("package>Name", {...})``, made anew for each layer."""
    entries = []
    for name, value in params.items():
        code = lit.value(value) if not isinstance(value, LayerValue) else ""
        if isinstance(value, LayerValue):
            registered = lit.value(f"{value.spec.package}>{value.spec.name}")
            code = f"testing.NewLayer({registered}, {lit.value(dict(value.args))})"
        entries.append(f"{lit.value(name)}: {code}")
    return Code("{" + ", ".join(entries) + "}")


@dataclass(frozen=True)
class CaseFacts:
    """The ``CASE`` fields that decide which checks apply
    (:class:`layergen.checklist.CaseFacts`), as the spec gives them."""

    is_cell: bool
    mask_mode: str | None
    differentiable: bool
    uses_training: bool
    training_changes_output: bool
    random_in_training: bool
    unbiased_in_training: bool
    updated_weights: list[str]
    computes_in_float32: bool


def _tests(facts: CaseFacts, trainable: bool) -> list[dict[str, Code]]:
    """One test function per check that applies (:func:`checklist.applicable`,
    as the run-time suite decides): its decorator, name, arguments and call."""
    tests = []
    for check in applicable(facts, trainable=trainable):
        name = check.test
        if check.name == "mask":
            name = f"test_mask_{facts.mask_mode}"
        decorator = ""
        if check.args == "policy":
            decorator = (
                '@pytest.mark.parametrize("policy", testing.MIXED_PRECISION_POLICIES)'
            )
        call = f"testing.{check.function}(CASE{', ' if check.args else ''}{check.args})"
        tests.append(
            {
                "decorator": Code(decorator),
                "name": Code(name),
                "args": Code(check.args),
                "call": Code(call),
            }
        )
    return tests


def _listed_shapes(inputs: dict[str, tuple[tuple[int, ...], str | None]]) -> Code:
    return lit.value({name: shape for name, (shape, _) in inputs.items()})


def _listed(names: list[str]) -> Code | str:
    """A list literal for CASE, or nothing where the default (empty) holds."""
    return lit.value(names) if names else ""


def _random_in_training(spec: LayerSpec) -> bool:
    return (
        spec.uses_random
        or any(_is_random(s) for s in spec.sublayers)
        or any(
            given.uses_random or any(_is_random(s) for s in given.sublayers)
            for given in _given_layers(spec)
        )
    )


def _property(spec: LayerSpec, prop: Property) -> dict[str, Any]:
    """A stated property as a predicate over the names it reads."""
    known = [i.name for i in spec.main_inputs] + ["output"]
    known += [w.name for w in spec.weights] + [p.name for p in spec.params]
    # Arguments a call may leave out get their defaults.
    known += [f"{i.name}=None" for i in spec.optional_inputs]
    known += [f"{a.name}={lit.value(a.default)}" for a in spec.call_args]
    used = ex.names_in(prop.expr.node)
    return {
        "name": Code(prop.name),
        "args": Code(", ".join(name for name in known if name.split("=")[0] in used)),
        "code": Code(ex.to_code(prop.expr.node)),
        "training": prop.training,
    }


def _consumed_masks(spec: LayerSpec) -> list[str]:
    """The mask arguments call() reads (each is checked), or the first one."""
    names = mask_names(spec)
    read = set().union(*(ex.names_in(e.node) for e in [*spec.steps, spec.expr] if e))
    return [n for n in names if n in read] or names[:1]


def _masked_outputs(spec: LayerSpec) -> Code | str:
    """For several outputs with a mask mode that gives them masks, which of
    them carry one: the first with "propagate", those declaring `mask` with
    "compute"."""
    if not spec.outputs or spec.mask_mode not in (
        MaskMode.PROPAGATE,
        MaskMode.COMPUTE,
    ):
        return ""
    if spec.mask_mode == MaskMode.PROPAGATE:
        return lit.value([True] + [False] * (len(spec.outputs) - 1))
    return lit.value([o.mask is not None for o in spec.outputs])


def _is_random_layer(name: str) -> bool:
    return "Dropout" in name or "Noise" in name


def variable_axes(
    spec: LayerSpec, shapes: dict[str, tuple[int, ...]]
) -> dict[str, list[int]]:
    """Per input, the non-batch axes no weight (its shape or initializer),
    sublayer argument or check pins (may be None).

    Sublayers' weights are invisible to the spec: with sublayers (or a
    ``layer`` param the tests pass a layer to) the last axis, the features
    most layers' kernels are sized by, is kept fixed too. A check
    ``x[a] % k == 0`` leaves axis ``a`` variable in steps of ``k``
    (see :func:`_axis_multiples`); any other check on an axis pins it.
    """
    fixed: set[tuple[str, int]] = set()
    pinning = [e for w in spec.weights for e in w.build_exprs]
    pinning += [e for s in spec.sublayers for _, e in s.args]
    inputs = {i.name for i in spec.inputs}
    axes = _axis_params(spec)
    pinning += [
        c for c in spec.checks.values() if _multiple_of(c.node, inputs, axes) is None
    ]
    for expr in pinning:
        for name, axis in ex.input_axes(expr.node, inputs, axes):
            fixed.add((name, axis % len(shapes[name])))
    if spec.sublayers or _given_layers(spec):
        fixed |= {(name, len(shape) - 1) for name, shape in shapes.items()}
    return {
        name: [axis for axis in range(1, len(shape)) if (name, axis) not in fixed]
        for name, shape in shapes.items()
    }


def _axis_params(spec: LayerSpec) -> dict[str, int]:
    """The test's int params, the axes a check may read an input at
    (``x[feature_axis]``)."""
    assert spec.test is not None
    return {
        name: value
        for name, value in spec.test.params.items()
        if isinstance(value, int) and not isinstance(value, bool)
    }


def _multiple_of(
    node: ast.AST, inputs: set[str], axes: dict[str, int]
) -> tuple[str, int, ast.expr] | None:
    """``(input, axis, k)`` for a check of the form ``x[axis] % k == 0``."""
    if not (
        isinstance(node, ast.Compare)
        and len(node.ops) == 1
        and isinstance(node.ops[0], ast.Eq)
        and isinstance(node.comparators[0], ast.Constant)
        and node.comparators[0].value == 0
        and isinstance(node.left, ast.BinOp)
        and isinstance(node.left.op, ast.Mod)
        and isinstance(node.left.left, ast.Subscript)
        and len(ex.input_axes(node.left.left, inputs, axes)) == 1
        and not ex.input_axes(node.left.right, inputs, axes)
    ):
        return None
    ((name, axis),) = ex.input_axes(node.left.left, inputs, axes)
    return name, axis, node.left.right


def _axis_multiples(
    spec: LayerSpec, shapes: dict[str, tuple[int, ...]], env: dict[str, Any]
) -> dict[str, dict[int, int]]:
    """Per input, axes that checks constrain to multiples of a number: the
    shape-polymorphism test grows them by that number instead of one."""
    multiples: dict[str, dict[int, int]] = {}
    inputs = {i.name for i in spec.inputs}
    for check in spec.checks.values():
        found = _multiple_of(check.node, inputs, _axis_params(spec))
        if found is not None:
            name, axis, step = found
            axes = multiples.setdefault(name, {})
            positive = axis % len(shapes[name])
            axes[positive] = math.lcm(axes.get(positive, 1), evaluate(step, env))
    return multiples


def _expected_output_shape(spec: LayerSpec, call_args: dict[str, Any]) -> Code | str:
    """The output shape for the test's values (a tuple of shapes for several
    outputs, those a flag adds only where ``call_args`` sets it)."""
    if spec.outputs:
        shapes = [
            output_shape(spec, o.shape)
            for o in spec.outputs
            if o.when is None or call_args.get(o.when, False)
        ]
        if any(shape is None for shape in shapes):
            return ""
        return lit.value(tuple(shapes) if len(shapes) > 1 else shapes[0])
    shape = flag_tests.expected_shape(spec, call_args)
    return "" if shape is None else lit.value(shape)
