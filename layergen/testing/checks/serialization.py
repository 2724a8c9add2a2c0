"""get_config/from_config and the .keras format."""

from __future__ import annotations

import tempfile
from pathlib import Path

import keras

from layergen.testing.case import BuiltModel, LayerCase, build_model
from layergen.testing.inputs import assert_close, to_numpy
from layergen.testing.tolerances import TOLERANCE
from layergen.testing.variants import for_each_call


def check_config_round_trip(case: LayerCase) -> None:
    """``get_config`` covers every argument and survives ``from_config`` and
    ``serialize_keras_object``/``deserialize_keras_object``."""
    layer = case.make_layer(name="under_test")
    config = layer.get_config()
    missing = set(case.init_kwargs) - set(config)
    assert not missing, f"get_config misses constructor arguments: {sorted(missing)}"
    assert case.cls.from_config(config).get_config() == config
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(layer)
    )
    assert type(restored) is case.cls
    assert restored.get_config() == config


@for_each_call
def check_save_and_load(case: LayerCase, built: BuiltModel | None = None) -> None:
    """A model using the layer saved as ``.keras`` loads with equal outputs."""
    built = built or build_model(case)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "model.keras"
        built.model.save(path)
        loaded = keras.models.load_model(path)
    layers = [getattr(layer, "cell", layer) for layer in loaded.layers]
    assert any(isinstance(layer, case.cls) for layer in layers), "layer not restored"
    assert_close(
        to_numpy(loaded(built.inputs, training=False)), built.output, **TOLERANCE
    )
