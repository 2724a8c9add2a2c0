"""What a check is run on: a layer class with its arguments, and a model around it."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from layergen.testing.inputs import random_inputs, to_numpy


def load_layer(test_file: str, layer_file: str, class_name: str) -> type:
    """Import a layer class from a module file given relative to ``test_file``.

    Used by generated tests whose layer is not in an importable package; the
    module is registered in ``sys.modules`` (under its file name when free), so
    the layer's Keras registration runs once. The module's directory joins the
    import path (at its end), since a layer built from other specs' layers
    imports their modules beside it (``from rms_norm import RMSNorm``).
    """
    path = (Path(test_file).parent / layer_file).resolve()
    if str(path.parent) not in sys.path:
        sys.path.append(str(path.parent))
    name = path.stem
    loaded = sys.modules.get(name)
    if loaded is not None and Path(getattr(loaded, "__file__", "")).resolve() == path:
        return getattr(loaded, class_name)
    if loaded is not None:
        name = f"layergen_loaded_{abs(hash(str(path)))}_{name}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import a layer from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return getattr(module, class_name)


@dataclass
class LayerCase:
    """A layer class with the arguments and input shapes to test it on.

    ``input_shapes`` maps call arguments, in order, to concrete shapes with the
    batch first (for a cell: the shape of one step). The other fields say what
    to expect; ``None`` skips the corresponding assertion.
    """

    cls: type
    init_kwargs: dict[str, Any]
    input_shapes: dict[str, tuple[int, ...]]
    input_dtypes: dict[str, str] = field(default_factory=dict)
    expected_weights: dict[str, tuple[tuple[int, ...], bool]] | None = None
    absent_weights: Sequence[str] = ()
    expected_output_shape: tuple[int, ...] | None = None
    updated_weights: Sequence[str] = ()
    uses_training: bool = False
    training_changes_output: bool = True
    random_in_training: bool = False
    # A random layer that is the identity at inference must average to it in
    # training (checked when random_in_training); False for meant biases.
    unbiased_in_training: bool = True
    mask_mode: str | None = None
    # The call arguments that receive masks, checked one by one in "consume"
    # mode: ``mask`` for one input, ``<input>_mask`` for several.
    mask_arguments: Sequence[str] = ("mask",)
    is_cell: bool = False
    sequence_length: int = 4
    differentiable: bool = True
    # Autocast off: computes in float32 under a mixed policy (LayerNormalization).
    computes_in_float32: bool = False
    variable_axes: dict[str, Sequence[int]] = field(default_factory=dict)
    # Groups of weights (names or paths) meant to start equal or proportional.
    tied_weights: Sequence[Sequence[str]] = ()
    # Variable axes that must stay a multiple of a number (``x[-1] % 2 == 0``).
    axis_multiples: dict[str, Mapping[int, int]] = field(default_factory=dict)

    def make_layer(self, **overrides: Any) -> Any:
        return self.cls(**{**self.init_kwargs, **overrides})

    def dtype(self, name: str) -> str:
        return self.input_dtypes.get(name) or "float32"

    def call_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shapes of the tensors the layer (or its RNN) is called on."""
        if not self.is_cell:
            return dict(self.input_shapes)
        return {
            name: (shape[0], self.sequence_length, *shape[1:])
            for name, shape in self.input_shapes.items()
        }

    def make_inputs(
        self, seed: int = 0, shapes: Mapping[str, Sequence[int]] | None = None
    ) -> list[np.ndarray]:
        shapes = shapes or self.call_shapes()
        return list(random_inputs(shapes, self.input_dtypes, seed).values())

    def make_model(
        self, layer: Any, shapes: Mapping[str, Sequence] | None = None
    ) -> Any:
        """A functional model around the layer (inside ``keras.layers.RNN`` for a
        cell); ``shapes`` may hold ``None`` for variable dimensions."""
        shapes = shapes or self.call_shapes()
        inputs = [
            keras.Input(shape=tuple(shape[1:]), dtype=self.dtype(name), name=name)
            for name, shape in shapes.items()
        ]
        return keras.Model(inputs, self.run(layer, inputs))

    def run(self, layer: Any, inputs: Sequence[Any], **kwargs: Any) -> Any:
        if self.is_cell:
            return keras.layers.RNN(layer, dtype=layer.dtype_policy)(*inputs, **kwargs)
        return layer(*inputs, **kwargs)

    def inference(self) -> dict[str, Any]:
        """Call arguments that select inference mode."""
        return {"training": False} if self.uses_training else {}


def is_own_weight(layer: Any, weight: Any) -> bool:
    """Whether ``weight`` is the layer's own, not a sublayer's: it sits right
    under the layer's path (``model/layer/kernel``; a sublayer's one level
    deeper). Paths, not names, since a sublayer may share the layer's name."""
    parent = weight.path.rpartition("/")[0]
    if getattr(layer, "path", None) is not None:
        return parent == layer.path
    return parent.rpartition("/")[2] == layer.name


@dataclass
class BuiltModel:
    """A functional model around one layer, its inputs and its inference output.

    Built once per test module and shared by the checks that only read it
    (symbolic shapes, saving, a numerical reference); checks that train,
    compile, change the dtype policy or need a fresh layer build their own.
    """

    layer: Any
    model: Any
    inputs: list[np.ndarray]
    output: np.ndarray


def build_model(case: LayerCase) -> BuiltModel:
    layer = case.make_layer()
    model = case.make_model(layer)
    inputs = case.make_inputs()
    return BuiltModel(layer, model, inputs, to_numpy(model(inputs, training=False)))
