"""Weights, output shapes and shape polymorphism."""

from __future__ import annotations

import numpy as np

from layergen.testing.case import BuiltModel, LayerCase, build_model, is_own_weight
from layergen.testing.inputs import to_numpy
from layergen.testing.tolerances import TOLERANCE


def check_build_and_weights(case: LayerCase) -> None:
    """Weights are created in ``build`` only, with the expected names, shapes
    and trainability."""
    layer = case.make_layer()
    assert not layer.weights, (
        f"weights exist before build: {[w.name for w in layer.weights]}; "
        "create them in build(), where the input shape is known"
    )
    layer.build(*case.input_shapes.values())
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


def check_output_shapes(case: LayerCase, built: BuiltModel | None = None) -> None:
    """Symbolic (``keras.Input``) and eager outputs agree in shape, with the
    expected shape and with ``compute_output_shape`` (of an unbuilt layer)."""
    symbolic = (built or build_model(case)).model.outputs[0]
    eager = case.run(case.make_layer(), case.make_inputs(), **case.inference())
    assert tuple(symbolic.shape)[1:] == tuple(eager.shape)[1:], "symbolic vs eager"
    if case.expected_output_shape is not None:
        assert tuple(eager.shape) == tuple(case.expected_output_shape)
    if not case.is_cell:
        shape = case.make_layer().compute_output_shape(*case.input_shapes.values())
        assert tuple(shape) == tuple(eager.shape), "compute_output_shape"


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
        np.testing.assert_allclose(actual, expected, **TOLERANCE)
