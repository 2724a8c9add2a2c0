"""A cell's sublayers: where one is fed a state, build() traces call() with
the input and a batch of each state (call() of a cell takes its states:
traced without them, every generated test of such a cell failed); where all
are fed the input, build() builds them on its shape."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from layergen import testing
from layergen.codegen.render import render_layer
from layergen.spec.validate import load_spec

SPEC = Path(__file__).parent / "corpus" / "dense_tanh_cell.toml"


def _build(text: str) -> str:
    return text.split("def build(")[1].split("def call(")[0]


def test_build_traces_call_with_a_batch_of_each_state() -> None:
    build = _build(render_layer(load_spec(SPEC)))
    assert "`state_dense`" in build  # the one whose input shape is a state's
    assert "keras.KerasTensor((input_shape[0], self.units)" in build


def test_sublayers_fed_the_input_are_built_on_its_shape(write_spec) -> None:
    text = SPEC.read_text().replace("state_dense(h)", "ops.matmul(h, ops.eye(units))")
    build = _build(render_layer(load_spec(write_spec(text))))
    assert "self.input_dense.build(input_shape)" in build
    assert "compute_output_spec" not in build


def test_the_cell_runs_in_an_rnn_and_reloads(tmp_path: Path) -> None:
    spec = load_spec(SPEC)
    module = tmp_path / f"{spec.module}.py"
    module.write_text(render_layer(spec))
    cell = testing.load_layer(str(tmp_path / "test_x.py"), module.name, spec.name)
    model = keras.Sequential([keras.Input((5, 3)), keras.layers.RNN(cell(units=4))])
    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    y = keras.ops.convert_to_numpy(model(x))
    layer = model.layers[0].cell
    assert layer.input_dense.kernel.shape == (3, 4)
    assert layer.state_dense.kernel.shape == (4, 4)
    assert y.shape == (2, 4) and np.all(np.abs(y) < 1.0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x)), y, atol=1e-6)
