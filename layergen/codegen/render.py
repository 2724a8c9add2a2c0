"""Render a LayerSpec into layer and test source through the Jinja2 templates.

Python decides what each piece of code says (:mod:`.layer_view` for the
layer, :mod:`.test_view` for its tests); the templates in ``templates/``
decide only where it goes.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

import jinja2

from layergen.codegen import literals as lit
from layergen.codegen import test_view
from layergen.codegen.layer_view import LayerView, shape_var
from layergen.codegen.test_view import LayerImport
from layergen.files.cache import TemplateCache
from layergen.spec.model import LayerSpec

__all__ = ["LayerImport", "render_layer", "render_test", "shape_var", "template_dir"]


def template_dir() -> Path:
    """Templates ship inside the wheel; in a source checkout they sit beside it."""
    packaged = Path(str(files("layergen"))) / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(template_dir()),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        bytecode_cache=TemplateCache(),
    )
    env.filters["pyrepr"] = lit.value
    return env


def render_layer(spec: LayerSpec) -> str:
    """Unformatted source of the layer module."""
    return (
        _environment()
        .get_template("layer.py.j2")
        .render(layer=LayerView(spec).context())
    )


def render_test(spec: LayerSpec, layer_import: LayerImport) -> str:
    """Unformatted source of the layer's pytest file."""
    context = test_view.context(spec, layer_import)
    return _environment().get_template("test_layer.py.j2").render(t=context)
