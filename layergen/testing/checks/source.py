"""The layer's source imports no backend framework."""

from __future__ import annotations

import ast
import inspect

import pytest

from layergen.testing.case import LayerCase

FOREIGN_FRAMEWORKS = ("tensorflow", "jax", "torch")


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
