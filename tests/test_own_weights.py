"""Which weights are a layer's own and which its sublayers': told by path, so
a sublayer named like its layer (a generated layer names each sublayer after
its spec entry) is not mistaken for the layer itself."""

from __future__ import annotations

import pytest

keras = pytest.importorskip("keras")

from layergen import testing  # noqa: E402
from layergen.testing.case import is_own_weight  # noqa: E402


class Scaled(keras.layers.Layer):
    """A Dense sublayer named "inner", then an own scale vector."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(4, name="inner")

    def build(self, input_shape):
        self.dense.build(input_shape)
        self.scale = self.add_weight(shape=(4,), initializer="ones", name="scale")

    def call(self, x):
        return self.dense(x) * self.scale

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 4)


@pytest.mark.parametrize("name", ["inner", "scaled"])
def test_own_weights_are_told_by_path(name: str) -> None:
    layer = Scaled(name=name)
    keras.Sequential([keras.Input((3,)), layer])
    own = [w.name for w in layer.weights if is_own_weight(layer, w)]
    assert own == ["scale"]


def test_build_check_passes_a_layer_named_like_its_sublayer() -> None:
    case = testing.LayerCase(
        Scaled,
        {"name": "inner"},
        {"x": (2, 3)},
        expected_weights={"scale": ((4,), True)},
    )
    testing.check_build_and_weights(case)
    testing.check_fit_step(case)
