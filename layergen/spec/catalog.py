"""Keras's public names (ops, random, activations, ...), read without importing Keras.

The data file is produced by ``tools/update_keras_catalog.py`` from the
installed Keras; a test keeps it in step.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files


@cache
def catalog() -> dict[str, frozenset[str]]:
    """Every catalogued namespace mapped to its set of public names."""
    raw = json.loads(files("layergen").joinpath("data/keras_catalog.json").read_text())
    return {key: frozenset(names) for key, names in raw.items()}


def names(namespace: str) -> frozenset[str]:
    """Public names of one namespace such as ``"ops"``, ``"ops.nn"`` or ``"layers"``."""
    return catalog().get(namespace, frozenset())
