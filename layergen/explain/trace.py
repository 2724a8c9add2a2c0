"""``layergen explain``: trace a spec's ``call`` on Keras's symbolic tensors.

The layer is the one ``layergen new`` generates, built on the ``[test]``
params and input shapes. Its ``call`` is then traced twice
(:func:`.program.run`): with the ``[test]`` input shapes, and with ``None``
for the batch and for every dimension no weight or check pins (those the
generated shape-polymorphism test varies). No data is computed. A statement
that raises stops its trace and is reported at its line in the spec.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from layergen.codegen.layer_view import LayerView
from layergen.codegen.test_view import variable_axes
from layergen.errors import LayergenError
from layergen.explain import keras_side as ks
from layergen.explain import structure
from layergen.explain.model import (
    PASSES,
    Explanation,
    Named,
    Place,
    StepInfo,
    TraceError,
    Value,
)
from layergen.explain.program import Program, compile_program, run
from layergen.spec.model import LayerSpec, LayerValue
from layergen.spec.source_map import SourceMap
from layergen.spec.validate import mask_names

_KEY_PART = re.compile(r"\[(\d+)\]|\"((?:[^\"\\]|\\.)*)\"|([^.\[\]\"]+)")


def explain_spec(spec: LayerSpec, backend: str | None = None) -> Explanation:
    """Trace ``spec`` on ``backend`` (None: ``KERAS_BACKEND``, else Keras's
    default). Raises ``LayergenError`` when the layer cannot be made."""
    keras = ks.import_keras(backend)
    test = spec.test
    if test is None:  # validation always fills [test] in
        raise LayergenError(f"{spec.spec_path}: no [test] values to trace with")
    where = placer(spec)
    try:
        layer = ks.make_layer(spec, test.params)
    except Exception as exc:
        made = f"{spec.name}(**[test] params) fails: {ks.message(exc)}"
        raise CannotTrace(where("test.params"), made) from None
    shapes = [test.input_shapes[i.name] for i in spec.main_inputs]
    try:
        ks.build(layer, spec, shapes)
    except Exception as exc:
        built = f"building on {', '.join(map(str, shapes))} fails: {ks.message(exc)}"
        raise CannotTrace(where("test.input_shapes"), built) from None
    result = Explanation(
        layer=spec.name,
        spec=shown(spec),
        backend=keras.backend.backend(),
        params={
            name: repr(value) if isinstance(value, LayerValue) else value
            for name, value in test.params.items()
        },
        mask_mode=str(spec.mask_mode),
        weights=structure.weights(keras, spec, layer),
    )
    program = compile_program(spec, where)
    symbols = [_symbols(spec, layer, keras, unknown) for unknown in (False, True)]
    shown_inputs = (*program.inputs, *program.masks)
    result.inputs = [
        Named(name, tuple(ks.value(keras, s[name]) for s in symbols))
        for name in shown_inputs
    ]
    bound: list[list[dict[str, Value]]] = []
    for trace, inputs in zip(PASSES, symbols, strict=True):
        values, error = run(keras, layer, program, inputs, trace)
        bound.append(values)
        known = {e.place.key for e in result.errors}
        if error is not None and error.place.key not in known:
            result.errors.append(_severity(spec, error))
    result.steps = _steps(program, bound)
    result.sublayers = structure.sublayers(keras, spec, layer)
    tensors = [[s[name] for name in program.inputs] for s in symbols]
    result.declared_output = structure.declared_output(keras, spec, layer, tensors)
    result.errors += structure.mismatches(
        result.steps, result.declared_output, where, result.weights
    )
    return result


class CannotTrace(LayergenError):
    """The layer cannot be made or built with its ``[test]`` values, so
    there is nothing to trace (exit 1, like a failing step)."""

    exit_code = 1

    def __init__(self, place: Place, message: str) -> None:
        where = f"{place.file}:{place.line}:{place.column}"
        super().__init__(f"{where}: error: {place.key}: {message}")

    def report(self) -> list[str]:
        return [str(self)]


def _severity(spec: LayerSpec, error: TraceError) -> TraceError:
    """A step that fails only with unknown dimensions is harmless where Keras
    never traces ``call`` with them: ``[output]`` gives the symbolic shape, or
    the generated ``compute_output_shape`` follows it from the spec (and a
    cell's comes from its states)."""
    if error.trace == "test" or LayerView(spec).traces_output:
        return error
    source = (
        "the cell's states"
        if spec.is_cell
        else "[output]" if spec.output_shape is not None else "the spec"
    )
    note = (
        f"; harmless for keras.Input models, whose shape comes from {source}, "
        "but call() needs these dimensions known when traced"
    )
    return replace(error, message=error.message + note, severity="warning")


def _steps(program: Program, bound: list[list[dict[str, Value]]]) -> list[StepInfo]:
    """Each statement with what it bound in each trace (None after a failure)."""
    steps = []
    for index, statement in enumerate(program.statements):
        info = statement.info
        binds = tuple(
            Named(
                name,
                tuple(b[index].get(name) if index < len(b) else None for b in bound),
            )
            for name in statement.binds
        )
        steps.append(StepInfo(info.kind, info.code, info.place, info.reads, binds))
    return steps


def placer(spec: LayerSpec) -> Callable[[str], Place]:
    """``where(key) -> Place`` for a dotted key such as ``call.steps[2]``."""
    source = SourceMap(spec.spec_text)
    file = shown(spec)

    def where(key: str) -> Place:
        path: list[str | int] = []
        for index, quoted, bare in _KEY_PART.findall(key):
            path.append(int(index) if index else quoted or bare)
        line, column = source.locate(tuple(path))
        return Place(file, line, column, key)

    return where


def shown(spec: LayerSpec) -> str:
    """The spec's path relative to the working directory when below it."""
    try:
        relative = os.path.relpath(spec.spec_path)
    except ValueError:
        return str(spec.spec_path)
    if relative.startswith(".."):
        return os.path.abspath(spec.spec_path)
    return relative


def _symbols(spec: LayerSpec, layer: Any, keras: Any, unknown: bool) -> dict[str, Any]:
    """The symbolic inputs of one trace: each input, each input's mask
    (``mask:<input>``), each state of a cell (``states[i]``); with
    ``unknown``, None where a dimension may vary."""
    assert spec.test is not None
    # The tests' given call: its flags' own inputs (`[test] call_inputs`).
    given = spec.test.call_inputs
    shapes: dict[str, list[int | None]] = {
        n: list(given[n][0] if n in given else s)
        for n, s in spec.test.input_shapes.items()
    }
    if unknown:
        free = variable_axes(spec, spec.test.input_shapes)
        for name, shape in shapes.items():
            for axis in (0, *(() if name in given else free.get(name, ()))):
                shape[axis] = None
    dtypes = {n: dtype for n, (_, dtype) in given.items() if dtype}
    symbols = {
        i.name: ks.symbolic(
            keras, shapes[i.name], dtypes.get(i.name) or i.dtype or layer.compute_dtype
        )
        for i in spec.inputs
    }
    for name, item in zip(mask_names(spec), spec.main_inputs, strict=True):
        mask = ks.symbolic(keras, shapes[item.name][:-1], "bool")
        symbols[name] = symbols["mask:" + item.name] = mask
    if spec.is_cell:
        batch = shapes[spec.inputs[0].name][0]
        for index, size in enumerate(layer.state_size):
            dims = [size] if isinstance(size, int) else list(size)
            symbols[f"states[{index}]"] = ks.symbolic(
                keras, [batch, *dims], layer.compute_dtype
            )
    return symbols
