"""Regenerate ``layergen/data/keras_catalog.json`` from the installed Keras.

layergen validates specs without importing Keras (so ``layergen validate`` and
``layergen new --no-test`` stay fast); this catalogue of Keras's public names
is what it checks against. ``tests/test_keras_catalog.py`` fails when the
committed catalogue no longer matches the installed Keras.

Usage: ``python tools/update_keras_catalog.py [--check]``
"""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path
from typing import Any

CATALOG_PATH = (
    Path(__file__).resolve().parent.parent / "layergen/data/keras_catalog.json"
)
OPS_SUBMODULES = ("nn", "linalg", "image", "numpy")
# The type of a constructor argument whose default says too little (None, or
# an int where Keras takes a float): what a spec may pass for it.
ARGUMENT_TYPES = {
    "seed": "int | None",
    "input_axes": "int | list[int] | None",
    "output_axes": "int | list[int] | None",
    "axis": "int | list[int]",
    "max_value": "float",
}
# Base classes: exported, but not initializers, regularizers or constraints.
BASE_CLASSES = ("Initializer", "Regularizer", "Constraint")


def _public(module: object) -> list[str]:
    return sorted(n for n in dir(module) if not n.startswith("_"))


def _argument_type(name: str, default: object) -> str:
    if name in ARGUMENT_TYPES:
        return ARGUMENT_TYPES[name]
    for kind in (bool, str, int, float):  # bool before int: True is an int
        if isinstance(default, kind):
            return kind.__name__
    raise SystemExit(f"no type for argument `{name}` (default {default!r})")


def _signatures(module: object, classes: dict) -> dict[str, list[list[str]]]:
    """Each exported class's constructor arguments, in order, with the type a
    spec may give them: ``{"Constant": [["value", "float"]], ...}``."""
    signatures = {}
    for name, cls in sorted(classes.items()):
        if not (inspect.isclass(cls) and getattr(module, name, None) is cls):
            continue
        if not name[0].isupper() or name in BASE_CLASSES:
            continue
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
        signatures[name] = [
            [p.name, _argument_type(p.name, p.default)]
            for p in params
            if p.kind is p.POSITIONAL_OR_KEYWORD
        ]
    return signatures


def build_catalog() -> dict[str, Any]:
    """Read Keras's public names for ops, random, activations and friends."""
    import keras
    from keras.src.activations import ALL_OBJECTS_DICT as activations
    from keras.src.constraints import ALL_OBJECTS_DICT as constraints
    from keras.src.initializers import ALL_OBJECTS_DICT as initializers
    from keras.src.regularizers import ALL_OBJECTS_DICT as regularizers

    ops = [n for n in _public(keras.ops) if not inspect.ismodule(getattr(keras.ops, n))]
    catalog: dict[str, list[str]] = {
        "keras_version": [keras.__version__],
        "ops": ops,
        "random": [n for n in _public(keras.random) if n != "SeedGenerator"],
        "activations": sorted(activations),
        "initializers": sorted(initializers),
        "regularizers": sorted(regularizers),
        "constraints": sorted(constraints),
        "layer_attributes": _public(keras.layers.Layer()),
        "layers": [
            n
            for n in _public(keras.layers)
            if inspect.isclass(getattr(keras.layers, n))
        ],
    }
    for sub in OPS_SUBMODULES:
        catalog[f"ops.{sub}"] = _public(getattr(keras.ops, sub))
    catalog["signatures"] = {
        "initializers": _signatures(keras.initializers, initializers),
        "regularizers": _signatures(keras.regularizers, regularizers),
        "constraints": _signatures(keras.constraints, constraints),
    }
    return catalog


def render(catalog: dict[str, Any]) -> str:
    return json.dumps(catalog, indent=1, sort_keys=True) + "\n"


def main() -> int:
    text = render(build_catalog())
    if "--check" in sys.argv:
        return 0 if CATALOG_PATH.read_text() == text else 1
    CATALOG_PATH.write_text(text)
    print(f"wrote {CATALOG_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
