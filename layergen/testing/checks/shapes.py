"""Weights, output shapes and shape polymorphism."""

from __future__ import annotations

import inspect
from typing import Any

from layergen.testing.case import BuiltModel, LayerCase, build_model, is_own_weight
from layergen.testing.inputs import assert_close, outputs_of, to_numpy
from layergen.testing.tolerances import TOLERANCE
from layergen.testing.variants import for_each_call


def check_build_and_weights(case: LayerCase) -> None:
    """Weights are created in ``build`` only, with the expected names, shapes
    and trainability."""
    layer = case.make_layer()
    assert not layer.weights, (
        f"weights exist before build: {[w.name for w in layer.weights]}; "
        "create them in build(), where the input shape is known"
    )
    layer.build(*case.positional_shapes())
    assert layer.built
    if case.expected_weights is None:
        return
    for name, (shape, trainable) in case.expected_weights.items():
        weight = getattr(layer, name)
        assert weight.name == name, f"weight {name} is named {weight.name!r}"
        assert tuple(weight.shape) == tuple(shape), f"weight {name}: shape"
        assert weight.trainable is trainable, f"weight {name}: trainable"
    for name in case.absent_weights:
        assert getattr(layer, name) is None, f"weight {name} should not exist"
    own = [w for w in layer.weights if is_own_weight(layer, w)]
    assert sorted(w.name for w in own) == sorted(case.expected_weights)


@for_each_call
def check_output_shapes(case: LayerCase, built: BuiltModel | None = None) -> None:
    """Symbolic (``keras.Input``) and eager outputs agree in shape, with the
    expected shape and with ``compute_output_shape`` (of an unbuilt layer;
    given the call arguments, where it takes them all), for each output."""
    symbolic = (built or build_model(case)).model.outputs
    eager = [
        tuple(o.shape)
        for o in outputs_of(
            case.run(case.make_layer(), case.make_inputs(), **case.inference())
        )
    ]
    assert len(symbolic) == len(
        eager
    ), f"{len(symbolic)} symbolic outputs, {len(eager)} eager ones"
    for index, (a, b) in enumerate(zip(symbolic, eager, strict=True)):
        assert tuple(a.shape)[1:] == b[1:], f"symbolic vs eager (output {index})"
    if case.expected_output_shape is not None:
        assert eager == _shapes(case.expected_output_shape)
    method = case.make_layer().compute_output_shape
    accepted = inspect.signature(method).parameters
    # Keras passes compute_output_shape the input shapes only: a call argument
    # it does not take (start_index) may change the shape it cannot know.
    if not case.is_cell and set(case.call_arguments) <= set(accepted):
        shape = method(*case.positional_shapes(), **case.call_arguments)
        assert _shapes(shape) == eager, "compute_output_shape"


def _shapes(value: Any) -> list[tuple[Any, ...]]:
    """One shape, or a tuple of shapes (several outputs), as a list of them."""
    value = tuple(value)
    if value and isinstance(value[0], tuple | list):
        return [tuple(shape) for shape in value]
    return [value]


@for_each_call
def check_batch_polymorphism(case: LayerCase) -> None:
    """One functional model, with ``None`` for the batch and for every dimension
    no weight depends on, runs two input sizes (grown by one, or by the multiple
    a check requires) and matches eager calls."""
    layer = case.make_layer()
    variable = {
        name: tuple(
            None if axis == 0 or axis in case.variable_axes.get(name, ()) else dim
            for axis, dim in enumerate(shape)
        )
        for name, shape in case.call_shapes().items()
    }
    model = case.make_model(layer, variable)
    for grow in (0, 1):
        shapes = {
            name: tuple(
                (
                    dim + grow * case.axis_multiples.get(name, {}).get(axis, 1)
                    if variable[name][axis] is None
                    else dim
                )
                for axis, dim in enumerate(shape)
            )
            for name, shape in case.call_shapes().items()
        }
        inputs = case.make_inputs(seed=grow, shapes=shapes)
        expected = to_numpy(case.run(layer, inputs, **case.inference()))
        actual = to_numpy(model(inputs, training=False))
        assert_close(actual, expected, **TOLERANCE)
