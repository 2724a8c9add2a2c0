"""Render a LayerSpec into layer and test source through the Jinja2 templates.

Python decides what each piece of code says (:mod:`.layer_view` for the
layer, :mod:`.test_view` for its tests); the templates in ``templates/``
decide only where it goes.
"""

from __future__ import annotations

import traceback
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
    """Render template ``name``; a mistake in a template (the user's override
    most likely) is one line at its file and line, not a traceback."""
    try:
        template = _environment(overrides).get_template(name)
        return template.render(**context)
    except RecursionError:
        raise LayergenError(
            f"{name}: template error: templates extend or include each other in "
            f"a loop (an override extends `layergen/{name}`, not `{name}`)"
        ) from None
    except jinja2.TemplateError as exc:
        where = _template_line(exc, strict=False) or name
        if getattr(exc, "lineno", None):
            where = f"{exc.filename or name}:{exc.lineno}"
        raise LayergenError(
            f"{where}: template error: {type(exc).__name__}: {exc.message}"
        ) from None
    except (ArithmeticError, LookupError, TypeError, ValueError) as exc:
        where = _template_line(exc)
        if where is None:
            raise  # raised by layergen's own code: a bug, not a template's
        raise LayergenError(
            f"{where}: template error: {type(exc).__name__}: {exc}"
        ) from None


def _template_line(exc: BaseException, strict: bool = True) -> str | None:
    """``file:line`` of the innermost template statement in ``exc``'s traceback
    (Jinja2 rewrites it to show template lines). ``strict``: None unless the
    template raised it itself, through Jinja2's code only (a builtin, a filter),
    since an error raised in layergen's code is layergen's bug."""
    frames = traceback.extract_tb(exc.__traceback__)
    for index in range(len(frames) - 1, -1, -1):
        frame = frames[index]
        if frame.filename.endswith(".j2"):
            below = frames[index + 1 :]
            if not strict or all(
                Path(f.filename).is_relative_to(_JINJA) for f in below
            ):
                return f"{frame.filename}:{frame.lineno}"
            return None
    return None


_JINJA = Path(jinja2.__file__).parent


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
