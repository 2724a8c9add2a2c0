"""Keras's public names (ops, random, activations, ...), read without importing Keras.

The data file is produced by ``tools/update_keras_catalog.py`` from the
installed Keras; a test keeps it in step.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

# The namespaces whose classes a spec may construct with arguments.
SIGNATURE_NAMESPACES = ("initializers", "regularizers", "constraints")


@cache
def _raw() -> dict[str, Any]:
    return json.loads(files("layergen").joinpath("data/keras_catalog.json").read_text())


@cache
def catalog() -> dict[str, frozenset[str]]:
    """Every catalogued namespace mapped to its set of public names."""
    return {
        key: frozenset(names)
        for key, names in _raw().items()
        if isinstance(names, list)
    }


def names(namespace: str) -> frozenset[str]:
    """Public names of one namespace such as ``"ops"``, ``"ops.nn"`` or ``"layers"``."""
    return catalog().get(namespace, frozenset())


def classes(namespace: str) -> frozenset[str]:
    """The classes of ``"initializers"``, ``"regularizers"`` or
    ``"constraints"`` a spec may construct with arguments (``Constant``)."""
    return frozenset(_raw()["signatures"].get(namespace, {}))


def signature(namespace: str, name: str) -> tuple[tuple[str, str], ...]:
    """A class's constructor arguments in order, each with the type a spec may
    give it (``(("value", "float"),)`` for ``Constant``; ``"int | None"``)."""
    return tuple(
        (arg, kind) for arg, kind in _raw()["signatures"][namespace].get(name, [])
    )
