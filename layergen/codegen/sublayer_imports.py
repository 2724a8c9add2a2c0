"""The imports a layer module needs for its sublayers' classes: the modules
the project allows (``import keras_hub``), and the modules generated from
other specs of the run, which sit beside it (``from .rms_norm import
RMSNorm`` in a package, ``from rms_norm import RMSNorm`` in a plain
directory, which the generated tests put on the import path)."""

from __future__ import annotations

from layergen.codegen.literals import Code
from layergen.spec.model import LayerSpec


def sublayer_imports(spec: LayerSpec) -> list[Code]:
    """``import keras_hub``: one line per top-level module, sorted."""
    tops = {sub.module.split(".")[0] for sub in spec.sublayers if sub.module}
    return [Code(f"import {top}") for top in sorted(tops)]


def layer_imports(spec: LayerSpec, in_package: bool) -> list[Code]:
    """``from .rms_norm import RMSNorm``: one line per generated layer the
    sublayers and ``layer`` params use, sorted by module."""
    prefix = "." if in_package else ""
    made = {sub.spec.module: sub.spec.name for sub in spec.sublayers if sub.spec}
    made |= {p.spec.module: p.spec.name for p in spec.params if p.spec}
    return [
        Code(f"from {prefix}{module} import {name}")
        for module, name in sorted(made.items())
    ]
