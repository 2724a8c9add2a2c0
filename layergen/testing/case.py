"""What a check is run on: a layer class with its arguments, and a model around it."""

from __future__ import annotations

import dataclasses
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


@dataclass(frozen=True)
class NewLayer:
    """An argument that is a layer (a ``layer`` param): the registered class
    ``registered_name`` (``package>Name``) made anew, with ``kwargs``, for
    each layer under test, so that no two share weights."""

    registered_name: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def make(self, dtype: Any = None, owner: type | None = None) -> Any:
        """The layer; with ``dtype``, in that dtype policy, as the layer under
        test (a float64 gradient check, a mixed-precision model). The class is
        the one ``owner``'s module imports where it does (the class its
        ``isinstance`` check names, even if a module was loaded twice), else
        Keras's registered one."""
        name = self.registered_name.rpartition(">")[2]
        module = sys.modules.get(owner.__module__) if owner is not None else None
        cls = getattr(module, name, None) or keras.saving.get_registered_object(
            self.registered_name
        )
        if cls is None:
            raise LookupError(f"no layer class registered as {self.registered_name!r}")
        extra = {} if dtype is None else {"dtype": dtype}
        return cls(**{**self.kwargs, **extra})


@dataclass
class LayerCase:
    """A layer class with the arguments and input shapes to test it on.

    ``input_shapes`` maps call arguments, in order, to concrete shapes with the
    batch first (for a cell: the shape of one step); those named in
    ``keyword_inputs`` (optional tensors, such as an attention mask) are
    passed by keyword, and ``call_arguments`` (flags) with every call. The
    other fields say what to expect; ``None`` skips the corresponding
    assertion. ``given_inputs`` and ``given_arguments`` describe a second
    call, with the optional tensors passed and other flag values, that every
    check runs too (:meth:`variants`). An expected output shape is a tuple of
    shapes for a layer that returns several tensors.
    """

    cls: type
    init_kwargs: dict[str, Any]
    input_shapes: dict[str, tuple[int, ...]]
    input_dtypes: dict[str, str] = field(default_factory=dict)
    expected_weights: dict[str, tuple[tuple[int, ...], bool]] | None = None
    absent_weights: Sequence[str] = ()
    expected_output_shape: tuple[Any, ...] | None = None
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
    # With several outputs, which carry a mask ("propagate": the first;
    # "compute": those that declare one); empty for one output.
    masked_outputs: Sequence[bool] = ()
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
    keyword_inputs: Sequence[str] = ()
    call_arguments: dict[str, Any] = field(default_factory=dict)
    given_inputs: dict[str, tuple[int, ...]] = field(default_factory=dict)
    given_arguments: dict[str, Any] = field(default_factory=dict)
    given_output_shape: tuple[Any, ...] | None = None
    # Required inputs with another shape or dtype in the calls that pass
    # given_arguments (a flag that changes what the layer takes).
    given_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    given_dtypes: dict[str, str] = field(default_factory=dict)
    # call() sets the output's mask from call arguments (compute_mask gives
    # None): whether this call's output carries one (None: not known), and
    # whether the calls with given_arguments do.
    mask_in_call: bool = False
    expects_mask: bool | None = None
    given_expects_mask: bool | None = None

    def variants(self, every: bool = True) -> list[LayerCase]:
        """The ways to call the layer that the checks try: this case (the
        default call), and, when a second call is described, that call with
        the optional tensors passed by keyword and ``given_arguments``; with
        ``every``, also each half alone (the flags without the optional
        tensors, and the other way round), where both are described, and
        each of several call arguments alone (flags that each add an output
        return other tuples together than alone; no output shape is expected
        of those calls). Where optional tensors are passed, dimensions vary
        with the batch only (an attention mask's axes are the other
        inputs')."""
        inputs, arguments = self.given_inputs, self.given_arguments
        if not (inputs or arguments):
            return [self]
        calls = [(inputs, arguments)]
        if every and inputs and arguments:
            calls = [({}, arguments), (inputs, {}), *calls]
        if every and len(arguments) > 1 and not self.given_shapes:
            calls = [({}, {name: value}) for name, value in arguments.items()] + calls
        return [self, *(self._called(i, a) for i, a in calls)]

    def _called(
        self, inputs: dict[str, tuple[int, ...]], arguments: dict[str, Any]
    ) -> LayerCase:
        reshaped = {**inputs, **(self.given_shapes if arguments else {})}
        whole = arguments == self.given_arguments
        if not arguments:
            shape = self.expected_output_shape
        elif whole:
            shape = self.given_output_shape
        else:
            shape = None  # some of the flags: not computed by layergen
        return dataclasses.replace(
            self,
            input_shapes={**self.input_shapes, **reshaped},
            input_dtypes={
                **self.input_dtypes,
                **(self.given_dtypes if arguments else {}),
            },
            keyword_inputs=tuple(inputs),
            call_arguments=dict(arguments),
            expected_output_shape=shape,
            variable_axes={} if reshaped else self.variable_axes,
            axis_multiples={} if reshaped else self.axis_multiples,
            expects_mask=(
                (self.given_expects_mask if whole else None)
                if arguments
                else self.expects_mask
            ),
            given_inputs={},
            given_arguments={},
            given_output_shape=None,
            given_shapes={},
            given_dtypes={},
            given_expects_mask=None,
        )

    def describe_call(self) -> str:
        """How this case calls the layer, beyond its positional inputs."""
        parts = [*self.keyword_inputs]
        parts += [f"{k}={v!r}" for k, v in self.call_arguments.items()]
        return ", ".join(parts) or "the default arguments"

    def positional_shapes(self) -> list[tuple[int, ...]]:
        """The shapes of the inputs passed by position: what build() and
        compute_output_shape() get."""
        return [
            shape
            for name, shape in self.input_shapes.items()
            if name not in self.keyword_inputs
        ]

    def input_named(self, inputs: Sequence[Any], name: str) -> Any:
        """The value of input ``name`` among ``inputs`` (in input_shapes'
        order), or None where this call does not pass it."""
        names = list(self.input_shapes)
        return inputs[names.index(name)] if name in names else None

    def make_layer(self, **overrides: Any) -> Any:
        """The layer under test, with a fresh layer for each ``NewLayer``
        argument (in the ``dtype`` overrides give)."""
        kwargs = {**self.init_kwargs, **overrides}
        dtype = overrides.get("dtype")
        for name, value in kwargs.items():
            if isinstance(value, NewLayer):
                kwargs[name] = value.make(dtype, owner=self.cls)
        return self.cls(**kwargs)

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
        self,
        layer: Any,
        shapes: Mapping[str, Sequence] | None = None,
        *,
        feed_bool_as: str | None = None,
    ) -> Any:
        """A functional model around the layer (inside ``keras.layers.RNN`` for a
        cell); ``shapes`` may hold ``None`` for variable dimensions. With
        ``feed_bool_as``, a bool input (a mask) is fed in that dtype and cast
        back to bool inside the model."""
        shapes = shapes or self.call_shapes()
        inputs, fed = [], []
        for name, shape in shapes.items():
            dtype = self.dtype(name)
            cast = feed_bool_as is not None and dtype == "bool"
            item = keras.Input(
                shape=tuple(shape[1:]), dtype=feed_bool_as if cast else dtype, name=name
            )
            inputs.append(item)
            fed.append(keras.ops.cast(item, "bool") if cast else item)
        return keras.Model(inputs, self.run(layer, fed))

    def run(self, layer: Any, inputs: Sequence[Any], **kwargs: Any) -> Any:
        if self.is_cell:
            return keras.layers.RNN(layer, dtype=layer.dtype_policy)(*inputs, **kwargs)
        return self.call(layer, inputs, **kwargs)

    def call(self, layer: Any, inputs: Sequence[Any], **kwargs: Any) -> Any:
        """``layer`` itself called on ``inputs`` as this case calls it: the
        keyword inputs by name, with the call arguments."""
        names = list(self.input_shapes)
        positional = [
            x
            for n, x in zip(names, inputs, strict=True)
            if n not in self.keyword_inputs
        ]
        by_name = {
            n: x for n, x in zip(names, inputs, strict=True) if n in self.keyword_inputs
        }
        return layer(*positional, **by_name, **self.call_arguments, **kwargs)

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
    output = to_numpy(model(inputs, training=False))
    return BuiltModel(layer, model, inputs, output)
