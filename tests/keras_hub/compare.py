"""Compare generated layers with keras-hub's, run as a script on one backend.

``python compare.py GENERATED_DIR CASES_JSON`` imports each generated layer from
GENERATED_DIR and its keras-hub counterpart, builds both with the same
constructor arguments, copies keras-hub's weights into the generated layer (by
name), and checks that outputs (and masks) agree on random inputs, also after
the generated layer goes through a ``.keras`` file in a model. It prints one
JSON record per case: ``{"case": ..., "ok": bool, "error": str}``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import tempfile
import traceback
from pathlib import Path

import keras
import keras_hub
import numpy as np


def load_class(directory: Path, module: str, name: str) -> type:
    """The class ``name`` of the generated module ``directory/module.py``."""
    spec = importlib.util.spec_from_file_location(module, directory / f"{module}.py")
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[module] = loaded
    spec.loader.exec_module(loaded)
    return getattr(loaded, name)


def copy_weights(source: keras.layers.Layer, target: keras.layers.Layer) -> None:
    """Give ``target`` the values of ``source``'s weights, matched by name."""
    theirs = {w.name: w for w in source.weights}
    ours = {w.name: w for w in target.weights}
    if sorted(theirs) != sorted(ours):
        raise AssertionError(f"weights differ: {sorted(theirs)} vs {sorted(ours)}")
    for name, weight in ours.items():
        weight.assign(keras.ops.convert_to_numpy(theirs[name]))


def assert_close(actual, expected, what: str) -> None:
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(actual),
        keras.ops.convert_to_numpy(expected),
        rtol=1e-5,
        atol=1e-5,
        err_msg=what,
    )


def compare(directory: Path, case: dict) -> None:
    """Raise AssertionError where the generated layer and keras-hub's differ."""
    ours_class = load_class(directory, case["module"], case["class"])
    theirs_class = getattr(keras_hub.layers, case["class"])
    ours, theirs = ours_class(**case["args"]), theirs_class(**case["args"])
    rng = np.random.default_rng(0)
    inputs = {
        name: rng.standard_normal(shape).astype("float32")
        for name, shape in case["inputs"].items()
    }
    theirs_out = theirs(**inputs)
    ours(**inputs)
    copy_weights(theirs, ours)
    assert_close(ours(**inputs), theirs_out, "outputs")
    model_inputs = {n: keras.Input(v.shape[1:], name=n) for n, v in inputs.items()}
    model = keras.Model(model_inputs, ours(**model_inputs))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        model.save(path)
        reloaded = keras.saving.load_model(path)
    assert_close(reloaded(inputs), theirs_out, "outputs after a .keras round trip")


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
