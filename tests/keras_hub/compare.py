"""Compare generated layers with keras-hub's, run as a script on one backend.

``python compare.py GENERATED_DIR CASES_JSON`` imports each generated layer from
GENERATED_DIR and its keras-hub counterpart and checks, for each case:

- the signatures: ``__init__`` and ``call`` take the same arguments in the
  same order with the same defaults;
- the weights: both layers, built with the same constructor arguments, hold
  weights of the same paths below the layer (a sublayer's weights under the
  sublayer's name) and shapes; keras-hub's values are copied into ours;
- each call of ``case["calls"]`` (default: one call with the inputs alone):
  equal outputs (each of a tuple) and equal masks of the first output
  (``_keras_mask``) on random inputs, and symbolic output shapes equal to
  keras-hub's outputs' shapes;
- a ``.keras`` round trip: a model of the generated layer (rebuilt from its
  config, with its weights) for each call is saved, reloaded, and still gives
  keras-hub's outputs.

A constructor argument that is a layer (MaskedLMHead's ``token_embedding``) is
``{"layer": CLASS, "module": MODULE, "args": {...}}``: the generated CLASS of
MODULE for ours, keras-hub's for theirs, each made with ``args``.

A tensor is described as a shape (random normal float32) or as
``{"shape": [...], "dtype": "int32", "high": N}`` (integers in ``[0, N)``),
``"low"`` too, or ``"dtype": "bool"``, or given: ``{"value": [...], "dtype": ...}``.
``"mask": true`` on a main input gives it a Keras mask over its leading axes,
a padded batch (each row keeps its first k >= 1 steps; the others are zeros,
which ``keras.layers.Masking`` masks, in the eager calls and in the saved
models alike). A call may give a main input another
description (ReversibleEmbedding's ``reverse=True`` takes vectors, not ids);
its other arguments are literals (``{"start_index": 2}``) or tensors. It prints one JSON record per case:
``{"case": ..., "ok": bool, "error": str}``.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

import keras
import keras_hub
import numpy as np
from keras.src.backend import get_keras_mask


def load_class(directory: Path, module: str, name: str) -> type:
    """The class ``name`` of the generated module ``directory/module.py``."""
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))  # for sublayers' modules
    if module in sys.modules:  # one class per module: `isinstance` holds
        return getattr(sys.modules[module], name)
    spec = importlib.util.spec_from_file_location(module, directory / f"{module}.py")
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[module] = loaded
    spec.loader.exec_module(loaded)
    return getattr(loaded, name)


def parameters(function: Any) -> list[tuple[str, Any]]:
    """``(name, default)`` of each argument but ``self`` and ``**kwargs``."""
    return [
        (p.name, p.default)
        for p in inspect.signature(function).parameters.values()
        if p.name != "self" and p.kind != p.VAR_KEYWORD
    ]


def compare_signatures(ours: type, theirs: type) -> None:
    """The same constructor and call arguments, in order, with equal defaults;
    ours may also take ``mask=None`` and ``inputs_mask=None``, the arguments
    Keras passes the inputs' mask in (alone, and beside other tensors), where
    keras-hub reads the mask off ``inputs``."""
    if parameters(ours.__init__) != parameters(theirs.__init__):
        raise AssertionError(
            f"constructors differ: {parameters(ours.__init__)} vs "
            f"{parameters(theirs.__init__)}"
        )
    theirs_call = parameters(theirs.call)
    ours_call = [
        (name, default)
        for name, default in parameters(ours.call)
        if name not in ("mask", "inputs_mask")
        or name in dict(theirs_call)
        or default is not None
    ]
    if ours_call != theirs_call:
        raise AssertionError(
            f"call signatures differ: {parameters(ours.call)} vs "
            f"{parameters(theirs.call)}"
        )


def weight_paths(layer: keras.layers.Layer) -> dict[str, Any]:
    """The layer's weights by path, with the layer's own name left out."""
    paths = {w.path.removeprefix(f"{layer.name}/"): w for w in layer.weights}
    assert len(paths) == len(layer.weights), f"two weights share a path: {paths}"
    return paths


def copy_weights(source: keras.layers.Layer, target: keras.layers.Layer) -> None:
    """Give ``target`` the values of ``source``'s weights, matched by path."""
    theirs, ours = weight_paths(source), weight_paths(target)
    if sorted(theirs) != sorted(ours):
        raise AssertionError(f"weights differ: {sorted(theirs)} vs {sorted(ours)}")
    for path, weight in ours.items():
        if tuple(weight.shape) != tuple(theirs[path].shape):
            raise AssertionError(
                f"weight {path}: shape {weight.shape} vs {theirs[path].shape}"
            )
        weight.assign(keras.ops.convert_to_numpy(theirs[path]))


def tensor(description: Any, rng: np.random.Generator) -> Any:
    """A random array as ``description`` says (see the module docstring)."""
    if isinstance(description, list):
        description = {"shape": description}
    if "value" in description:
        return np.array(description["value"], dtype=description["dtype"])
    shape, dtype = description["shape"], description.get("dtype", "float32")
    if description.get("mask"):
        values = rng.standard_normal(shape).astype(dtype)
        kept = rng.integers(1, shape[1] + 1, shape[0])
        padded = np.arange(shape[1])[None, :] >= kept[:, None]
        values[padded] = 0.0
        return values
    if dtype == "bool":
        return rng.random(shape) < 0.7
    if dtype.startswith("int"):
        low, high = description.get("low", 0), description["high"]
        return rng.integers(low, high, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def is_tensor_description(value: Any) -> bool:
    return isinstance(value, list) or (
        isinstance(value, dict) and ("shape" in value or "value" in value)
    )


def arguments(case: dict, call: dict, seed: int) -> tuple[dict, dict]:
    """The main inputs and the call's other arguments (numpy or literals)."""
    rng = np.random.default_rng(seed)
    described = {**case["inputs"], **{n: call[n] for n in case["inputs"] if n in call}}
    inputs = {name: tensor(d, rng) for name, d in described.items()}
    others = {
        name: tensor(value, rng) if is_tensor_description(value) else value
        for name, value in call.items()
        if name not in case["inputs"]
    }
    return inputs, others


def masked_names(case: dict, call: dict) -> set[str]:
    """The main inputs this call gives a Keras mask (``"mask": true``)."""
    described = {**case["inputs"], **{n: call[n] for n in case["inputs"] if n in call}}
    return {n for n, d in described.items() if isinstance(d, dict) and d.get("mask")}


def with_masks(tensors: dict, masked: set[str]) -> dict:
    """The tensors, those in ``masked`` through ``keras.layers.Masking`` (a
    Keras mask where all features are zero)."""
    return {
        n: keras.layers.Masking(mask_value=0.0)(v) if n in masked else v
        for n, v in tensors.items()
    }


def as_tuple(outputs: Any) -> tuple:
    return tuple(outputs) if isinstance(outputs, (tuple, list)) else (outputs,)


def assert_close(actual: Any, expected: Any, what: str) -> None:
    actual, expected = as_tuple(actual), as_tuple(expected)
    if len(actual) != len(expected):
        raise AssertionError(f"{what}: {len(actual)} outputs vs {len(expected)}")
    for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(a),
            keras.ops.convert_to_numpy(e),
            rtol=1e-5,
            atol=1e-5,
            err_msg=f"{what} (output {i})",
        )


def assert_same_masks(actual: Any, expected: Any, what: str) -> None:
    """The first outputs' Keras masks agree. (keras-hub's attention scores
    carry the mask of the Softmax layer inside MultiHeadAttention, a
    by-product no layer after them is meant to read.)"""
    ours, theirs = get_keras_mask(as_tuple(actual)[0]), get_keras_mask(
        as_tuple(expected)[0]
    )
    if (ours is None) != (theirs is None):
        raise AssertionError(f"{what}: output mask {ours} vs {theirs}")
    if ours is not None:
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(ours),
            keras.ops.convert_to_numpy(theirs),
            err_msg=f"{what}: output masks",
        )


def symbolic(inputs: dict, others: dict) -> tuple[dict, dict]:
    """``keras.Input``s of the inputs' full shapes, and of tensor arguments."""
    model_inputs = {
        n: keras.Input(batch_shape=v.shape, dtype=str(v.dtype), name=n)
        for n, v in inputs.items()
    }
    model_others = {
        n: keras.Input(batch_shape=v.shape, dtype=str(v.dtype), name=n)
        for n, v in others.items()
        if isinstance(v, np.ndarray)
    }
    return model_inputs, model_others


def shapes(outputs: Any) -> list[tuple]:
    return [tuple(o.shape) for o in as_tuple(outputs)]


def round_trip(model: keras.Model) -> keras.Model:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        model.save(path)
        return keras.saving.load_model(path)


def constructor_args(directory: Path, args: dict) -> tuple[dict, dict]:
    """The constructor arguments of our layer and of keras-hub's: equal, but
    for an argument that is a layer, ``{"layer": CLASS, "module": MODULE,
    "args": {...}}``: the generated class (from MODULE) for ours, keras-hub's
    for theirs, each made with those arguments."""
    ours, theirs = dict(args), dict(args)
    for name, value in args.items():
        if isinstance(value, dict) and "layer" in value:
            made = load_class(directory, value["module"], value["layer"])
            ours[name] = made(**value["args"])
            theirs[name] = getattr(keras_hub.layers, value["layer"])(**value["args"])
    return ours, theirs


def compare(directory: Path, case: dict) -> None:
    """Raise AssertionError where the generated layer and keras-hub's differ."""
    ours_class = load_class(directory, case["module"], case["class"])
    theirs_class = getattr(keras_hub.layers, case["class"])
    compare_signatures(ours_class, theirs_class)
    ours_args, theirs_args = constructor_args(directory, case["args"])
    ours, theirs = ours_class(**ours_args), theirs_class(**theirs_args)
    calls = case.get("calls", [{}])
    for number, call in enumerate(calls):
        what = f"call {number} {sorted(call)}"
        inputs, others = arguments(case, call, seed=number)
        masked = masked_names(case, call)
        theirs_out = theirs(**with_masks(inputs, masked), **others)
        if number == 0:
            ours(**with_masks(inputs, masked), **others)
            copy_weights(theirs, ours)
        ours_out = ours(**with_masks(inputs, masked), **others)
        assert_close(ours_out, theirs_out, f"{what}: outputs")
        assert_same_masks(ours_out, theirs_out, what)
        model_inputs, model_others = symbolic(inputs, others)
        literals = {n: v for n, v in others.items() if n not in model_others}
        # A fresh layer per model: Keras's functional graph mixes up the nodes
        # of one layer whose calls return different numbers of outputs. Its
        # shapes are held to keras-hub's eager outputs: keras-hub's symbolic
        # ones can be wrong (TransformerEncoder's ignore the scores).
        fresh = ours_class.from_config(ours.get_config())
        symbolic_ours = fresh(
            **with_masks(model_inputs, masked), **model_others, **literals
        )
        fresh.set_weights(ours.get_weights())
        if shapes(symbolic_ours) != shapes(theirs_out):
            raise AssertionError(
                f"{what}: symbolic output shapes {shapes(symbolic_ours)} vs "
                f"{shapes(theirs_out)} (keras-hub's outputs)"
            )
        model = keras.Model({**model_inputs, **model_others}, symbolic_ours)
        feed = {**inputs, **{n: v for n, v in others.items() if n in model_others}}
        reloaded = round_trip(model)
        assert_close(reloaded(feed), theirs_out, f"{what}: after a .keras round trip")


def main() -> None:
    directory, cases = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text())
    for case in cases:
        try:
            compare(directory, case)
            record = {"case": case["class"], "ok": True, "error": ""}
        except Exception:  # noqa: BLE001 - every failure is reported, not raised
            record = {
                "case": case["class"],
                "ok": False,
                "error": traceback.format_exc(),
            }
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
