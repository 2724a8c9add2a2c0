"""Checks for Keras layers, used by the tests layergen generates and usable on
hand-written layers: ``check_layer(MyLayer, {"units": 4}, {"x": (2, 3)})``.

Each ``check_*`` function tests one property of a layer described by a
:class:`LayerCase` and raises ``AssertionError`` saying what is wrong, or
``pytest.skip`` where the property cannot be checked here (no GPU, a backend
without XLA). Only public Keras API is used, so the checks run on the
TensorFlow, JAX and PyTorch backends; the few backend-specific steps (input
gradients, devices, tf.distribute) are marked as such.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import inspect
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}
# XLA may fuse and reorder floating-point operations.
XLA_TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}
GPU_TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}
MIXED_PRECISION_POLICIES = ("mixed_float16", "mixed_bfloat16")
FOREIGN_FRAMEWORKS = ("tensorflow", "jax", "torch")


def load_layer(test_file: str, layer_file: str, class_name: str) -> type:
    """Import a layer class from a module file given relative to ``test_file``.

    Used by generated tests whose layer is not in an importable package; the
    module is registered in ``sys.modules`` (under its file name when free), so
    the layer's Keras registration runs once.
    """
    path = (Path(test_file).parent / layer_file).resolve()
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
    mask_mode: str | None = None
    # The call arguments that receive masks, checked one by one in "consume"
    # mode: ``mask`` for one input, ``<input>_mask`` for several.
    mask_arguments: Sequence[str] = ("mask",)
    is_cell: bool = False
    sequence_length: int = 4
    differentiable: bool = True
    variable_axes: dict[str, Sequence[int]] = field(default_factory=dict)

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


# -- inputs and values --------------------------------------------------------


def random_inputs(
    shapes: Mapping[str, Sequence[int]],
    dtypes: Mapping[str, str] | None = None,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Unit-scale random arrays for each input: normal floats, or ints in [0, 10)."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for name, shape in shapes.items():
        dtype = (dtypes or {}).get(name) or "float32"
        if "int" in dtype:
            arrays[name] = rng.integers(0, 10, size=shape).astype(dtype)
        elif dtype == "bool":
            arrays[name] = rng.random(size=shape) < 0.5
        else:
            arrays[name] = rng.standard_normal(size=shape).astype(dtype)
    return arrays


def random_mask(shape: Sequence[int], seed: int = 1) -> np.ndarray:
    """A boolean mask with at least one True and one False in every row."""
    rng = np.random.default_rng(seed)
    mask = rng.random(size=shape) < 0.6
    flat = mask.reshape(shape[0], -1)
    flat[:, 0] = True
    if flat.shape[1] > 1:
        flat[:, -1] = False
    return flat.reshape(shape)


def apply_mask(inputs: np.ndarray, mask: np.ndarray) -> Any:
    """``inputs`` with a Keras mask attached, through a ``keras.layers.Masking``.

    Masked-out steps are zeroed so that ``Masking(0.0)`` computes ``mask``.
    """
    zeroed = np.where(mask[..., None], inputs, 0).astype(inputs.dtype)
    return keras.layers.Masking(mask_value=0.0)(zeroed)


def to_numpy(value: Any) -> np.ndarray:
    """A tensor, variable or array as a numpy array, on any backend."""
    return keras.ops.convert_to_numpy(value)


def reset_keras_state(seed: int = 1234) -> None:
    """Start a test from a clean Keras session with fixed random seeds.

    Python's full garbage collection, which clear_session runs by default, is
    skipped: it takes ~0.2 s with TensorFlow loaded, most of a small test, and
    no check depends on it (the collector still runs on its own schedule).
    """
    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(seed)


# -- devices --------------------------------------------------------------------


def visible_gpus() -> list[str]:
    """Names of the GPUs the active Keras backend can use (empty when none)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return [d.name for d in tf.config.list_logical_devices("GPU")]
    if backend == "jax":
        import jax

        return [str(d) for d in jax.devices() if d.platform == "gpu"]
    if backend == "torch":
        import torch

        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        return [torch.cuda.get_device_name(i) for i in range(count)]
    return []


def tensor_device(tensor: Any) -> str:
    """Where a backend tensor lives, for example ``/device:GPU:0`` or ``cuda:0``."""
    if hasattr(tensor, "devices"):  # jax.Array
        return ",".join(str(d) for d in tensor.devices())
    return str(getattr(tensor, "device", "cpu"))


def is_gpu_device(device: str) -> bool:
    """Whether a device string from :func:`tensor_device` names a GPU."""
    lowered = device.lower()
    return "gpu" in lowered or "cuda" in lowered


def no_gpu_reason() -> str | None:
    """The skip reason for GPU tests, or None when a GPU is visible."""
    if visible_gpus():
        return None
    return f"no GPU visible to {keras.backend.backend()}"


def device_description() -> str:
    """One line for reports: the GPU used, or that the CPU ran the tests."""
    gpus = visible_gpus()
    backend = keras.backend.backend()
    if gpus:
        return f"GPU: {gpus[0]} ({backend})"
    return f"CPU: no GPU found ({backend})"


def configure_logical_cpus(count: int = 2) -> bool:
    """Split TensorFlow's CPU into ``count`` logical devices for tf.distribute.

    Must run before TensorFlow initialises its devices (layergen's pytest
    plugin does it at start-up); returns whether the devices exist.
    """
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    with contextlib.suppress(RuntimeError):  # already initialised: keep it
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * count
        )
    return len(tf.config.list_logical_devices("CPU")) >= count


# -- the checks -----------------------------------------------------------------


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
    own = [w for w in layer.weights if w.path.split("/")[-2] == layer.name]
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
    no weight depends on, runs two input sizes and matches eager calls."""
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
                dim + 1 if grow and variable[name][axis] is None else dim
                for axis, dim in enumerate(shape)
            )
            for name, shape in case.call_shapes().items()
        }
        inputs = case.make_inputs(seed=grow, shapes=shapes)
        expected = to_numpy(case.run(layer, inputs, **case.inference()))
        actual = to_numpy(model(inputs, training=False))
        np.testing.assert_allclose(actual, expected, **TOLERANCE)


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


def check_save_and_load(case: LayerCase, built: BuiltModel | None = None) -> None:
    """A model using the layer saved as ``.keras`` loads with equal outputs."""
    built = built or build_model(case)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "model.keras"
        built.model.save(path)
        loaded = keras.models.load_model(path)
    layers = [getattr(layer, "cell", layer) for layer in loaded.layers]
    assert any(isinstance(layer, case.cls) for layer in layers), "layer not restored"
    np.testing.assert_allclose(
        to_numpy(loaded(built.inputs, training=False)), built.output, **TOLERANCE
    )


def _targets(model: Any, inputs: Sequence[np.ndarray]) -> np.ndarray:
    shape = tuple(model.outputs[0].shape)[1:]
    return np.random.default_rng(1).standard_normal((len(inputs[0]), *shape))


def check_fit_step(case: LayerCase) -> None:
    """One compiled ``fit`` step changes every trainable weight (a gradient
    reaches it) and no non-trainable weight that ``updated_weights`` omits."""
    layer = case.make_layer()
    model = case.make_model(layer)
    inputs = case.make_inputs()
    before = {w.path: to_numpy(w) for w in layer.trainable_weights}
    frozen = {
        w.path: to_numpy(w)
        for w in layer.non_trainable_weights
        if w.name not in case.updated_weights
    }
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    model.fit(inputs, _targets(model, inputs), batch_size=len(inputs[0]), verbose=0)
    assert before, "the layer has no trainable weights"
    for weight in layer.trainable_weights:
        assert not np.allclose(
            to_numpy(weight), before[weight.path]
        ), f"trainable weight {weight.path} did not change: no gradient reaches it"
    for weight in layer.non_trainable_weights:
        if weight.path in frozen:
            np.testing.assert_array_equal(
                to_numpy(weight), frozen[weight.path], err_msg=f"{weight.path} changed"
            )


def check_no_trainable_weights(case: LayerCase) -> None:
    layer = case.make_layer()
    case.run(layer, case.make_inputs(), **case.inference())
    assert layer.trainable_weights == []


def check_inference_is_deterministic(case: LayerCase) -> None:
    layer = case.make_layer()
    inputs = case.make_inputs()
    first = to_numpy(case.run(layer, inputs, training=False))
    second = to_numpy(case.run(layer, inputs, training=False))
    np.testing.assert_array_equal(first, second)


def check_training_changes_output(case: LayerCase) -> None:
    layer = case.make_layer()
    inputs = case.make_inputs()
    inference = to_numpy(case.run(layer, inputs, training=False))
    training = to_numpy(case.run(layer, inputs, training=True))
    assert not np.allclose(inference, training), "training=True is ignored"


def check_updates_only_in_training(case: LayerCase) -> None:
    """Non-trainable state changes in training calls only (``None`` is inference)."""
    layer = case.make_layer()
    inputs = case.make_inputs()
    case.run(layer, inputs, training=False)
    initial = {name: to_numpy(getattr(layer, name)) for name in case.updated_weights}
    case.run(layer, inputs, training=False)
    case.run(layer, inputs)
    for name in case.updated_weights:
        np.testing.assert_array_equal(
            to_numpy(getattr(layer, name)),
            initial[name],
            err_msg=f"{name} was updated at inference",
        )
    case.run(layer, inputs, training=True)
    for name in case.updated_weights:
        assert not np.array_equal(
            to_numpy(getattr(layer, name)), initial[name]
        ), f"{name} was not updated in training"


def check_mask(case: LayerCase) -> None:
    """The mask behaves as ``mask_mode`` says: none, propagate, consume, compute."""
    layer = case.make_layer()
    inputs = case.make_inputs()
    mask = random_mask(inputs[0].shape[:-1])
    if case.mask_mode == "none":
        assert not layer.supports_masking, "supports_masking without a mask mode"
    elif case.mask_mode == "propagate":
        assert layer.supports_masking, "the mask is dropped: set supports_masking"
        output = layer(apply_mask(inputs[0], mask), *inputs[1:])
        np.testing.assert_array_equal(to_numpy(output._keras_mask), mask)
    elif case.mask_mode == "consume":
        _check_mask_consumed(case, layer, inputs, mask)
    elif case.mask_mode == "compute":
        masked = apply_mask(inputs[0], mask)
        output = layer(masked, *inputs[1:])
        computed = layer.compute_mask(masked, masked._keras_mask)
        assert computed is not None, "compute_mask returned None"
        assert to_numpy(computed).dtype == bool
        np.testing.assert_array_equal(to_numpy(output._keras_mask), to_numpy(computed))


def _check_mask_consumed(case: LayerCase, layer: Any, inputs: list, mask: Any) -> None:
    """Each mask argument in turn: the output keeps no mask, values at the
    masked positions of its input do not reach the output, and the mask
    changes the output."""
    names = list(case.input_shapes)
    for argument in case.mask_arguments:
        index = 0 if argument == "mask" else names.index(argument[: -len("_mask")])
        target = inputs[index]
        own = mask if index == 0 else random_mask(target.shape[:-1], seed=1 + index)
        output = layer(*inputs, **{argument: own})
        assert (
            getattr(output, "_keras_mask", None) is None
        ), f"the output keeps a mask ({argument})"
        expand = (...,) + (None,) * (target.ndim - own.ndim)
        perturbed = list(inputs)
        perturbed[index] = np.where(own[expand], target, target + 100.0).astype(
            target.dtype
        )
        again = layer(*perturbed, **{argument: own})
        np.testing.assert_allclose(
            to_numpy(again),
            to_numpy(output),
            **TOLERANCE,
            err_msg=f"values masked by {argument} reach the output",
        )
        unmasked = layer(*inputs, **{argument: np.ones_like(own)})
        assert not np.allclose(
            to_numpy(unmasked), to_numpy(output)
        ), f"{argument} does not change the output"


def check_xla_matches_eager(case: LayerCase) -> None:
    """``compile(jit_compile=True)`` predictions equal eager outputs."""
    if keras.backend.backend() == "torch":
        pytest.skip("XLA compilation is not available on the torch backend")
    layer = case.make_layer()
    model = case.make_model(layer)
    inputs = case.make_inputs()
    eager = to_numpy(model(inputs, training=False))
    model.compile(jit_compile=True)
    compiled = model.predict(inputs, batch_size=len(inputs[0]), verbose=0)
    np.testing.assert_allclose(compiled, eager, **XLA_TOLERANCE)


def check_mixed_precision(case: LayerCase, policy: str) -> None:
    """Under a mixed policy the layer builds, keeps float32 variables, outputs
    the compute dtype without NaN/Inf; the global policy is restored after."""
    if keras.backend.backend() == "torch" and not visible_gpus():
        pytest.skip("torch on the CPU lacks half-precision kernels")
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        layer = case.make_layer()
        compute = layer.compute_dtype
        output = case.run(layer, case.make_inputs(), **case.inference())
        symbolic = case.make_model(case.make_layer()).outputs[0]
    finally:
        keras.mixed_precision.set_global_policy(previous)
    assert keras.backend.standardize_dtype(output.dtype) == compute, (
        f"output is {keras.backend.standardize_dtype(output.dtype)}, not {compute}: "
        "a constant or cast in call() is float32; make constants Python numbers "
        "or cast them to the input's dtype"
    )
    assert symbolic.dtype == compute, "symbolic output dtype"
    for weight in layer.weights:
        if keras.backend.is_float_dtype(weight.dtype):
            assert weight.dtype == "float32", f"{weight.path} is {weight.dtype}"
    values = to_numpy(keras.ops.cast(output, "float32"))
    assert np.isfinite(values).all(), "NaN or Inf under mixed precision"


def check_input_gradient(case: LayerCase, points: int = 6, eps: float = 1e-4) -> None:
    """In float64, the gradient w.r.t. the first input matches central finite
    differences at a few points (catches non-differentiable outputs)."""
    name = next(iter(case.input_shapes))
    if "int" in case.dtype(name):
        pytest.skip(f"input {name} is an integer input")
    backend = keras.backend.backend()
    if backend == "tensorflow":
        _check_input_gradient(case, points, "float64", eps, 1e-4)
    elif backend == "torch" or case.is_cell:
        # Float32, with a step and tolerance to match: on torch some Keras ops
        # (ops.matmul, ops.maximum) return float32 for float64 inputs, and on
        # JAX Keras's RNN loop fails in float64 (its own SimpleRNN does too).
        _check_input_gradient(case, points, "float32", 1e-2, 2e-2)
    else:
        import jax

        x64 = jax.config.read("jax_enable_x64")
        jax.config.update("jax_enable_x64", True)  # float64, restored below
        try:
            _check_input_gradient(case, points, "float64", eps, 1e-4)
        finally:
            jax.config.update("jax_enable_x64", x64)


def _check_input_gradient(
    case: LayerCase, points: int, dtype: str, eps: float, rtol: float
) -> None:
    layer = case.make_layer(dtype=dtype)
    inputs = [x.astype(dtype) if x.dtype.kind == "f" else x for x in case.make_inputs()]
    projection = np.random.default_rng(2).standard_normal(
        tuple(to_numpy(case.run(layer, inputs, **case.inference())).shape)
    )

    def objective(first: Any) -> Any:
        first = keras.ops.convert_to_tensor(first, dtype=dtype)  # not floatx
        output = case.run(layer, [first, *inputs[1:]], **case.inference())
        weights = keras.ops.convert_to_tensor(projection, dtype=output.dtype)
        return keras.ops.sum(keras.ops.multiply(output, weights))

    gradient = _input_gradient(objective, inputs[0])
    assert gradient is not None, (
        "no gradient flows from the output to the input; if the output is meant "
        "to be non-differentiable, set `[test] differentiable = false`"
    )
    rng = np.random.default_rng(3)
    for flat in rng.choice(
        inputs[0].size, size=min(points, inputs[0].size), replace=False
    ):
        index = np.unravel_index(flat, inputs[0].shape)
        up, down = inputs[0].copy(), inputs[0].copy()
        up[index] += eps
        down[index] -= eps
        numeric = (_value(objective(up)) - _value(objective(down))) / (2 * eps)
        assert np.isclose(gradient[index], numeric, rtol=rtol, atol=rtol / 100), (
            f"gradient at {index}: {gradient[index]} by backprop, {numeric} by "
            "finite differences"
        )


def _value(tensor: Any) -> float:
    return float(to_numpy(keras.ops.stop_gradient(tensor)))


def _input_gradient(objective: Callable[[Any], Any], value: np.ndarray) -> Any:
    """d objective / d value on the active backend, or None when none flows."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tensor = tf.constant(value)
        with tf.GradientTape() as tape:
            tape.watch(tensor)
            result = objective(tensor)
        gradient = tape.gradient(result, tensor)
        return None if gradient is None else gradient.numpy()
    if backend == "jax":
        import jax

        gradient = np.asarray(jax.grad(lambda v: objective(v))(value))
        return None if not np.any(gradient) else gradient
    if backend == "torch":
        import torch

        tensor = torch.tensor(value, requires_grad=True)
        result = objective(tensor)
        if not result.requires_grad:
            return None
        result.backward()
        return None if tensor.grad is None else tensor.grad.numpy()
    pytest.skip(f"no gradients on the {backend} backend")


def check_distribution(case: LayerCase) -> None:
    """One training step spread over two devices matches the same step on one:
    ``tf.distribute.MirroredStrategy`` on TensorFlow (where every non-trainable
    weight must also hold one value on all replicas afterwards),
    ``keras.distribution.DataParallel`` on JAX."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        results = _train_mirrored(case)
    elif backend == "jax":
        results = _train_data_parallel(case)
    else:
        pytest.skip(f"no multi-device training check on the {backend} backend")
    if not case.random_in_training:  # replicas draw other random numbers
        for plain, spread in zip(*results, strict=True):
            np.testing.assert_allclose(spread, plain, **XLA_TOLERANCE)


def _even_batch(case: LayerCase) -> list[np.ndarray]:
    """Inputs with a batch of 4, so that two replicas get equal halves."""
    shapes = {name: (4, *shape[1:]) for name, shape in case.call_shapes().items()}
    return case.make_inputs(shapes=shapes)


def _one_step(case: LayerCase, model: Any, inputs: list, weights: list | None) -> list:
    if weights is not None:
        model.set_weights(weights)
    model.fit(inputs, _targets(model, inputs), batch_size=len(inputs[0]), verbose=0)
    return model.get_weights()


def _compiled_model(case: LayerCase) -> tuple[Any, Any]:
    layer = case.make_layer()
    model = case.make_model(layer)
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.1),
        loss="mse",
        jit_compile=False,  # XLA under MirroredStrategy fails even for Dense
    )
    return layer, model


def _train_mirrored(case: LayerCase) -> list[list[np.ndarray]]:
    import tensorflow as tf

    devices = [d.name for d in tf.config.list_logical_devices("GPU")]
    if len(devices) < 2:
        devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    if len(devices) < 2:
        pytest.skip(
            "needs two devices: run through layergen, or call "
            "layergen.testing.configure_logical_cpus() before TensorFlow starts"
        )
    inputs = _even_batch(case)
    mirrored = tf.distribute.MirroredStrategy(
        devices[:2], cross_device_ops=tf.distribute.ReductionToOneDevice()
    )
    with tf.distribute.get_strategy().scope():
        _, model = _compiled_model(case)
    initial = model.get_weights()
    results = [_one_step(case, model, inputs, None)]
    with mirrored.scope():
        layer, model = _compiled_model(case)
    results.append(_one_step(case, model, inputs, initial))
    for weight in layer.non_trainable_weights:
        copies = mirrored.experimental_local_results(weight.value)
        for copy in copies[1:]:
            np.testing.assert_array_equal(
                to_numpy(copy),
                to_numpy(copies[0]),
                err_msg=f"{weight.path} differs between replicas",
            )
    return results


def _train_data_parallel(case: LayerCase) -> list[list[np.ndarray]]:
    import jax

    devices = jax.devices()
    if len(devices) < 2:
        pytest.skip(
            "needs two devices: run through layergen, or set "
            "XLA_FLAGS=--xla_force_host_platform_device_count=2 before JAX starts"
        )
    inputs = _even_batch(case)
    _, model = _compiled_model(case)
    initial = model.get_weights()
    results = [_one_step(case, model, inputs, None)]
    previous = keras.distribution.distribution()
    keras.distribution.set_distribution(
        keras.distribution.DataParallel(devices=devices[:2])
    )
    try:
        _, model = _compiled_model(case)
        results.append(_one_step(case, model, inputs, initial))
    finally:
        keras.distribution.set_distribution(previous)
    return results


def check_runs_on_gpu(case: LayerCase) -> None:
    """On a visible GPU the output is computed there and matches the CPU."""
    reason = no_gpu_reason()
    if reason is not None:
        pytest.skip(reason)
    inputs = case.make_inputs()
    layer = case.make_layer()
    with keras.device("gpu:0"):
        on_gpu = case.run(layer, inputs, **case.inference())
    assert is_gpu_device(tensor_device(on_gpu)), tensor_device(on_gpu)
    with keras.device("cpu:0"):
        on_cpu = case.run(layer, inputs, **case.inference())
    np.testing.assert_allclose(to_numpy(on_gpu), to_numpy(on_cpu), **GPU_TOLERANCE)


def check_backend_neutral_source(case: LayerCase) -> None:
    """The layer's module imports no TensorFlow, JAX or PyTorch: only
    ``keras.ops``/``keras.random`` run on every backend."""
    module = inspect.getmodule(case.cls)
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError):
        pytest.skip(f"the source of {case.cls.__name__}'s module is not available")
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            root = name.split(".")[0]
            assert root not in FOREIGN_FRAMEWORKS, (
                f"{module.__name__} imports {name}: use keras.ops instead, "
                "so the layer runs on every backend"
            )


# -- everything at once ----------------------------------------------------------


def layer_checks(case: LayerCase) -> dict[str, Callable[[], None]]:
    """The checks that apply to ``case``, by name; those that only read a built
    model share one."""
    built = cache(lambda: build_model(case))
    checks: dict[str, Callable[[], None]] = {
        "build_and_weights": lambda: check_build_and_weights(case),
        "output_shapes": lambda: check_output_shapes(case, built()),
        "config_round_trip": lambda: check_config_round_trip(case),
        "save_and_load": lambda: check_save_and_load(case, built()),
        "backend_neutral_source": lambda: check_backend_neutral_source(case),
        "xla_matches_eager": lambda: check_xla_matches_eager(case),
        "distribution": lambda: check_distribution(case),
        "runs_on_gpu": lambda: check_runs_on_gpu(case),
    }
    if not case.is_cell:
        checks["batch_polymorphism"] = lambda: check_batch_polymorphism(case)
    if case.mask_mode is not None:
        checks["mask"] = lambda: check_mask(case)
    for policy in MIXED_PRECISION_POLICIES:
        checks[policy] = lambda p=policy: check_mixed_precision(case, p)
    if case.differentiable:
        checks["input_gradient"] = lambda: check_input_gradient(case)
    if case.uses_training:
        checks["inference_is_deterministic"] = lambda: check_inference_is_deterministic(
            case
        )
        if case.training_changes_output:
            checks["training_changes_output"] = lambda: check_training_changes_output(
                case
            )
    if case.updated_weights:
        checks["updates_only_in_training"] = lambda: check_updates_only_in_training(
            case
        )
    probe = case.make_layer()
    case.run(probe, case.make_inputs(), **case.inference())
    if probe.trainable_weights:
        checks["fit_step"] = lambda: check_fit_step(case)
    return checks


def check_layer(
    cls: type,
    init_kwargs: Mapping[str, Any],
    input_shapes: Mapping[str, Sequence[int]],
    **expectations: Any,
) -> dict[str, str]:
    """Run every applicable check on a layer; returns ``{check: outcome}`` where
    the outcome is ``"passed"``, ``"skipped: <reason>"`` or ``"failed: <why>"``.

    ``expectations`` are :class:`LayerCase` fields (``mask_mode="propagate"``,
    ``updated_weights=["moving_mean"]``, ``uses_training=True``, ...).
    """
    case = LayerCase(
        cls,
        dict(init_kwargs),
        {name: tuple(shape) for name, shape in input_shapes.items()},
        **expectations,
    )
    outcomes = {}
    for name, run in layer_checks(case).items():
        reset_keras_state()
        try:
            run()
        except pytest.skip.Exception as exc:
            outcomes[name] = f"skipped: {exc.msg}"
        except Exception as exc:  # a broken layer may raise anything
            first_line = (str(exc).strip().splitlines() or [""])[0]
            outcomes[name] = f"failed: {type(exc).__name__}: {first_line}"
        else:
            outcomes[name] = "passed"
    return outcomes
