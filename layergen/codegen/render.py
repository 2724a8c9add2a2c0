"""Render a LayerSpec into layer and test source through the Jinja2 templates.

Python decides what each piece of code says (:mod:`.layer_view` for the
layer, :mod:`.test_view` for its tests); the templates in ``templates/``
decide only where it goes.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2

from layergen.codegen import test_view
from layergen.codegen.docstrings import class_doc
from layergen.codegen.environment import make_environment, template_dir
from layergen.codegen.layer_view import LayerView, shape_var
from layergen.codegen.literals import Text
from layergen.codegen.test_view import LayerImport
from layergen.errors import LayergenError
from layergen.spec.model import LayerSpec

__all__ = ["LayerImport", "render_layer", "render_test", "shape_var", "template_dir"]


@cache
def _environment(overrides: Path | None = None) -> jinja2.Environment:
    return make_environment(overrides)


def _render(name: str, overrides: Path | None, **context: object) -> str:
    try:
        template = _environment(overrides).get_template(name)
        return template.render(**context)
    except jinja2.TemplateError as exc:
        where = f"{exc.filename}:{exc.lineno}" if hasattr(exc, "lineno") else name
        raise LayergenError(
            f"{where}: template error: {type(exc).__name__}: {exc.message}"
        ) from None


def render_layer(
    spec: LayerSpec, overrides: Path | None = None, *, in_package: bool = False
) -> str:
    """Unformatted source of the layer module (``overrides``: the user's
    template directory; ``in_package``: the module sits in an importable
    package, so it imports the layers of other specs relatively)."""
    layer = LayerView(spec, in_package=in_package).context()
    # Text, not code: printed raw it becomes a literal (see environment).
    layer["docstring_text"] = Text(class_doc(spec, layer["params"]))
    return _render("layer.py.j2", overrides, layer=layer)


def render_test(
    spec: LayerSpec, layer_import: LayerImport, overrides: Path | None = None
) -> str:
    """Unformatted source of the layer's pytest file."""
    context = test_view.context(spec, layer_import)
    return _render("test_layer.py.j2", overrides, t=context)
