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

CATALOG_PATH = (
    Path(__file__).resolve().parent.parent / "layergen/data/keras_catalog.json"
)
OPS_SUBMODULES = ("nn", "linalg", "image", "numpy")


def _public(module: object) -> list[str]:
    return sorted(n for n in dir(module) if not n.startswith("_"))


def build_catalog() -> dict[str, list[str]]:
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
    return catalog


def render(catalog: dict[str, list[str]]) -> str:
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
