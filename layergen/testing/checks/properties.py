"""Properties a spec states about its output, checked without a reference."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from layergen.testing.case import LayerCase
from layergen.testing.inputs import to_numpy
from layergen.testing.variants import for_each_call

TRAINING_DRAWS = 20


@for_each_call
def check_property(
    case: LayerCase,
    name: str,
    holds: Callable[..., Any],
    *,
    training: bool = False,
    draws: int = TRAINING_DRAWS,
) -> None:
    """``holds`` is true (every element) for the output: of one inference call,
    or of each of ``draws`` training calls (a random layer draws anew each
    time). ``holds`` names what it reads: inputs, ``output``, weights, params
    and call arguments; one with a default (an optional input, a flag) gets
    it where this call does not pass it."""
    layer = case.make_layer()
    inputs = case.make_inputs()
    mode = {"training": training} if case.uses_training else {}
    wanted = inspect.signature(holds).parameters
    for draw in range(draws if training else 1):
        output = to_numpy(case.run(layer, inputs, **mode))
        values = {
            **case.init_kwargs,
            **case.call_arguments,
            **dict(zip(case.input_shapes, inputs, strict=True)),
        }
        values["output"] = output
        arguments = {
            key: values[key] if key in values else to_numpy(getattr(layer, key))
            for key, parameter in wanted.items()
            if key in values or parameter.default is inspect.Parameter.empty
        }
        result = np.asarray(holds(**arguments))
        when = f"training call {draw + 1} of {draws}" if training else "inference"
        assert result.all(), (
            f"property `{name}` does not hold ({when}): "
            f"{result.size - np.count_nonzero(result)} of {result.size} values false"
        )
