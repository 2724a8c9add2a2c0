"""The built-in layers the benchmarks hold generated layers against.

Each case pairs a spec in benchmarks/specs/ (written with the built-in's exact
weight layout) with the Keras built-in it mirrors, at one of a few sizes. The
pair is built with equal weights and checked for equal outputs before anything
is timed. Backend-neutral: the caller sets ``KERAS_BACKEND`` before importing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from layergen import testing
from layergen.codegen.generate import generate
from layergen.files.writer import write_plan

HERE = Path(__file__).resolve().parent


class SelfAttention(keras.layers.MultiHeadAttention):
    """keras.layers.MultiHeadAttention called as self-attention, on one input."""

    def build(self, input_shape):
        super().build(input_shape, input_shape)

    def call(self, x, training=None):
        return super().call(x, x, training=training)

    def compute_output_spec(self, x, training=None):
        return keras.KerasTensor(x.shape, dtype=self.compute_dtype)


@dataclass(frozen=True)
class Size:
    """The dimensions a benchmark runs at."""

    batch: int
    steps: int
    features: int
    heads: int
    key_dim: int
    image: int  # Conv2D: image side
    channels: int  # Conv2D: channels in and filters out
    vocabulary: int


SIZES = {
    "small": Size(2, 8, 16, 2, 8, 8, 8, 50),
    "cpu": Size(32, 128, 256, 4, 64, 32, 64, 1000),
    "gpu": Size(64, 512, 1024, 8, 128, 64, 128, 32000),
}


@dataclass(frozen=True)
class Case:
    """A built-in and the generated layer's constructor arguments, at a size."""

    builtin: Callable[[Size], keras.layers.Layer]
    params: Callable[[Size], dict[str, Any]]
    input_shape: Callable[[Size], tuple[int, ...]]
    input_dtype: str = "float32"
    training: bool = False  # the timed call's training flag


def sequence(s: Size) -> tuple[int, ...]:
    return (s.batch, s.steps, s.features)


CASES: dict[str, Case] = {
    "dense": Case(
        lambda s: keras.layers.Dense(s.features, activation="relu"),
        lambda s: {"units": s.features},
        sequence,
    ),
    "layer_normalization": Case(
        lambda s: keras.layers.LayerNormalization(epsilon=1e-3),
        lambda s: {},
        sequence,
    ),
    "conv1d": Case(
        lambda s: keras.layers.Conv1D(s.features, 3, padding="same"),
        lambda s: {"filters": s.features, "kernel_size": 3},
        sequence,
    ),
    "conv2d": Case(
        lambda s: keras.layers.Conv2D(s.channels, 3, padding="same"),
        lambda s: {"filters": s.channels, "kernel_size": 3},
        lambda s: (s.batch, s.image, s.image, s.channels),
    ),
    "dropout": Case(
        lambda s: keras.layers.Dropout(0.5),
        lambda s: {"rate": 0.5},
        sequence,
        training=True,
    ),
    "multi_head_attention": Case(
        lambda s: SelfAttention(num_heads=s.heads, key_dim=s.key_dim),
        lambda s: {"num_heads": s.heads, "key_dim": s.key_dim},
        sequence,
    ),
    # A cell against a cell, both looped by keras.layers.RNN. (keras.layers.GRU
    # on PyTorch skips the loop's per-step dispatch with a fused fallback, one
    # matmul for every step's input projection, which no cell can do: see
    # benchmarks/results.md.)
    "gru_cell": Case(
        lambda s: keras.layers.RNN(keras.layers.GRUCell(s.features)),
        lambda s: {"units": s.features},
        sequence,
    ),
    "embedding": Case(
        lambda s: keras.layers.Embedding(s.vocabulary, s.features),
        lambda s: {"input_dim": s.vocabulary, "output_dim": s.features},
        lambda s: (s.batch, s.steps),
        input_dtype="int32",
    ),
}


def case_input(name: str, size: Size) -> np.ndarray:
    """The input a case is measured on (the same in every process)."""
    case = CASES[name]
    shape = case.input_shape(size)
    return testing.random_inputs({"x": shape}, {"x": case.input_dtype})["x"]


def load_generated(name: str, scratch: Path) -> type:
    """Generate the case's spec into ``scratch`` and import the layer class."""
    (layer,) = generate([HERE / "specs" / f"{name}.toml"], scratch)
    write_plan(layer.files)
    return testing.load_layer(
        str(layer.test_file.path), layer.layer_file.path.name, layer.spec.name
    )


def make_generated(name: str, size: Size, scratch: Path) -> keras.layers.Layer:
    """The generated layer; a generated cell runs inside keras.layers.RNN."""
    layer = load_generated(name, scratch)(**CASES[name].params(size))
    return keras.layers.RNN(layer) if hasattr(layer, "state_size") else layer


def tolerance(dtype: str) -> float:
    """How far two layers computing the same thing in ``dtype`` may differ:
    float32 rounding, or a few units in bfloat16's last place."""
    return 1e-4 if dtype == "float32" else 5e-2


def make_pair(
    name: str, size: Size, scratch: Path
) -> tuple[keras.layers.Layer, keras.layers.Layer, np.ndarray]:
    """The built-in and the generated layer, built under the global dtype
    policy, with the built-in's weights copied into the generated one, after
    checking both give the same output (at inference: a training Dropout draws
    different masks)."""
    builtin = CASES[name].builtin(size)
    generated = make_generated(name, size, scratch)
    x = case_input(name, size)
    builtin(x)
    generated(x)
    generated.set_weights(builtin.get_weights())
    assert_same_output(builtin, generated, x)
    return builtin, generated, x


def assert_same_output(builtin: Callable, generated: Callable, x: np.ndarray) -> None:
    """Both give the same output in the same dtype, within the rounding of the
    global policy's compute dtype."""
    want, got = builtin(x), generated(x)
    assert keras.backend.standardize_dtype(got.dtype) == (
        keras.backend.standardize_dtype(want.dtype)
    ), f"output dtype {got.dtype}, built-in {want.dtype}"
    atol = tolerance(keras.config.dtype_policy().compute_dtype)
    np.testing.assert_allclose(
        testing.to_numpy(keras.ops.cast(got, "float32")),
        testing.to_numpy(keras.ops.cast(want, "float32")),
        rtol=atol,
        atol=atol,
    )


def write_section(path: Path, name: str, text: str) -> None:
    """Put ``text`` into ``path`` between the markers of section ``name``,
    keeping the rest of the file (each benchmark writes its own section)."""
    begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
    old = path.read_text() if path.exists() else ""
    block = f"{begin}\n{text.strip()}\n{end}"
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        new = head + block + rest.split(end, 1)[1]
    else:
        new = f"{old.rstrip()}\n\n{block}\n".lstrip()
    path.write_text(new)
