"""layergen: generate complete, tested Keras 3 layers from a short TOML spec.

The pipeline, one package per step::

    spec/ (TOML -> validated LayerSpec; expressions)  ->  codegen/ (render, generate)
    -> files/ (black, plans with statuses, locked all-or-nothing writes)
    -> run/ (pytest on the generated tests)  ->  check/ (drift, report)

``app`` runs the steps for ``layergen new`` and ``layergen check``; ``cli``
maps options, errors and signals to it. The public API below is imported
lazily, so ``import layergen`` costs nothing and never imports Keras or
TensorFlow (only ``layergen.testing``, the checks that generated tests call
at run time, does)::

    from layergen import Options, run_new, run_check
    result = run_new([Path("specs/glu.toml")], Options(out_dir=Path("layers")))
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_spec": "layergen.spec.validate",
    "generate": "layergen.codegen.generate",
    "check_tree": "layergen.check.drift",
    "Drift": "layergen.check.drift",
    "Options": "layergen.app",
    "run_new": "layergen.app",
    "run_check": "layergen.app",
    "NewResult": "layergen.app",
    "CheckResult": "layergen.app",
    "Diagnostic": "layergen.errors",
    "LayergenError": "layergen.errors",
    "SpecError": "layergen.errors",
    "ConflictError": "layergen.errors",
    "UnsafePathError": "layergen.errors",
    "WriteError": "layergen.errors",
    "TestRunError": "layergen.errors",
    "InternalError": "layergen.errors",
    "Interrupted": "layergen.errors",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'layergen' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    return sorted(__all__)
