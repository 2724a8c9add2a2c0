"""The same numbers on every backend: the first backend records, the others compare."""

from __future__ import annotations

import sys

import pytest

from .conftest import EXAMPLES

keras = pytest.importorskip("keras")
sys.path.insert(0, str(EXAMPLES))

from simple_dense import SimpleDense  # noqa: E402

from layergen import testing  # noqa: E402
from layergen.run.runner import CROSS_BACKEND_ENV  # noqa: E402
from layergen.testing.checks.backends import fixed_weights  # noqa: E402


class OtherNumbers(SimpleDense):
    """SimpleDense as another backend might compute it, off by 1e-3."""

    def call(self, x):
        return super().call(x) + 1e-3


class OtherGradient(SimpleDense):
    """The same output as SimpleDense, with gradients 1.5 times as large."""

    def call(self, x):
        output = super().call(x)
        scaled = output * 1.5
        return keras.ops.stop_gradient(output - scaled) + scaled


for impostor in (OtherNumbers, OtherGradient):
    impostor.__module__ = SimpleDense.__module__
    impostor.__qualname__ = SimpleDense.__qualname__


def case(cls: type) -> testing.LayerCase:
    return testing.LayerCase(cls, {"units": 3}, {"x": (2, 4)})


def test_skips_outside_a_run_over_several_backends(monkeypatch) -> None:
    monkeypatch.delenv(CROSS_BACKEND_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="--backend all"):
        testing.check_same_numbers_across_backends(case(SimpleDense))


def test_the_second_run_compares_with_the_first(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(CROSS_BACKEND_ENV, str(tmp_path))
    testing.reset_keras_state()
    testing.check_same_numbers_across_backends(case(SimpleDense))  # records
    assert len(list(tmp_path.glob("*.npz"))) == 1
    testing.reset_keras_state()
    testing.check_same_numbers_across_backends(case(SimpleDense))  # agrees
    testing.reset_keras_state()
    with pytest.raises(AssertionError, match="computes another output than"):
        testing.check_same_numbers_across_backends(case(OtherNumbers))
    testing.reset_keras_state()
    with pytest.raises(AssertionError, match="computes another input gradient than"):
        testing.check_same_numbers_across_backends(case(OtherGradient))


class Scaled(keras.layers.Layer):
    """A random scalar and an all-positive random vector (uniform in [0, 1)),
    whose initial draws differ from backend to backend."""

    def build(self, input_shape):
        self.gain = self.add_weight(shape=(), initializer="random_uniform")
        self.scale = self.add_weight(
            shape=(input_shape[-1],),
            initializer=keras.initializers.RandomUniform(0.0, 1.0),
        )
        self.shift = self.add_weight(shape=(input_shape[-1],), initializer="ones")

    def call(self, x):
        return x * self.scale * self.gain + self.shift


@pytest.mark.parametrize(("make", "shape"), [(SimpleDense, (2, 4)), (Scaled, (2, 4))])
def test_fixed_weights_do_not_depend_on_the_initializer_draw(make, shape) -> None:
    values = []
    for seed in (1, 2):
        testing.reset_keras_state(seed)
        layer = make(3) if make is SimpleDense else make()
        layer.build(shape)
        fixed_weights(layer)
        values.append([testing.to_numpy(w) for w in layer.weights])
    for first, second in zip(*values, strict=True):
        assert (first == second).all()
