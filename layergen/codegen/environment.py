"""The Jinja2 environment the layer and test templates render in: layergen's
templates, under the user's override directory when one is configured, and
the rules every template follows, overrides included.

**Overrides.** A directory of the project (``[tool.layergen] templates`` or
``--templates``) may hold ``layer.py.j2`` and ``test_layer.py.j2``; each
extends layergen's own (``{% extends "layergen/layer.py.j2" %}``) and
replaces the blocks it names (:data:`BLOCKS`). Overrides are the user's code,
trusted like the pyproject that names them, but they must stay inside the
project: a directory or a template reached through ``..`` or a symbolic link
out of it is refused.

**A sandbox.** An override comes from the checkout, and ``check --no-run``
must run nothing a checkout wrote: templates render in Jinja2's immutable
sandbox, where ``{{ x.__class__ }}``-style escapes to Python and calls that
change objects raise ``SecurityError`` (a one-line error).

**Spec text only as literals.** The views give the templates code layergen
built (:class:`~layergen.codegen.literals.Code`), numbers and flags, and spec
text as :class:`~layergen.codegen.literals.Text` (``layer.docstring_text``),
which the environment's ``finalize`` prints as a Python literal. layergen's
own templates print nothing else: a plain string reaching their output is an
:class:`~layergen.errors.InternalError` (a view that forgot to say what it
built). An override is the user's code: a string it computes
(``{{ "x" ~ layer.docstring_text }}``) is printed as a literal, so it cannot
paste spec text into source either. The filters keep code as code only when
all they combine is code.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from importlib.resources import files
from pathlib import Path
from typing import Any

import jinja2
import jinja2.filters
import jinja2.sandbox

from layergen.codegen import literals as lit
from layergen.codegen.literals import Code, Text
from layergen.errors import InternalError, LayergenError
from layergen.files.cache import TemplateCache

# The blocks an override may replace, per template, with what each holds.
BLOCKS = {
    "layer.py.j2": {
        "preamble": "the first lines of the module (a licence header); empty",
        "class_docstring": "the class docstring: `{{ layer.docstring }}`",
    },
    "test_layer.py.j2": {
        "preamble": "the first lines of the test module; empty",
    },
}
# Part of the compiled templates' cache key: templates compiled under other
# environment rules (another finalize) are never reused.
RULES_VERSION = "sandbox-code-finalize-3"


def template_dir() -> Path:
    """Templates ship inside the wheel; in a source checkout they sit beside it."""
    packaged = Path(str(files("layergen"))) / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"


def _finalize(value: Any) -> Any:
    """What ``{{ ... }}`` prints in layergen's templates: code, numbers and
    flags as they are, spec text as a literal; a plain string is a bug."""
    if isinstance(value, Code) or _is_number(value):
        return value
    if isinstance(value, Text):
        return lit.value(str(value))
    raise InternalError(
        f"a template printed {type(value).__name__} {str(value)[:80]!r}, "
        "which no view typed as code (literals.Code) or text (literals.Text)"
    )


def _finalize_override(value: Any) -> Any:
    """What ``{{ ... }}`` prints where the user's overrides render: a string
    the override computed becomes a literal too."""
    if isinstance(value, str) and not isinstance(value, Code):
        return lit.value(str(value))
    return _finalize(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float)


def _is_code(value: Any) -> bool:
    return isinstance(value, Code) or _is_number(value)


def _join(values: Iterable[Any], separator: str = "") -> str:
    items = list(values)
    joined = separator.join(map(str, items))
    return Code(joined) if all(map(_is_code, items)) else joined


def _indent(text: str, width: int = 4, first: bool = False, blank: bool = False) -> str:
    indented = jinja2.filters.do_indent(str(text), width, first, blank)
    return Code(indented) if isinstance(text, Code) else indented


def _pyrepr(value: Any) -> Code:
    return Code(lit.value(value))


def _docstring(text: Any) -> Code:
    return Code(lit.docstring(str(text)))


FILTERS: dict[str, Callable[..., Any]] = {
    "pyrepr": _pyrepr,
    "docstring": _docstring,
    "join": _join,
    "indent": _indent,
}


class _InsideLoader(jinja2.FileSystemLoader):
    """A directory's templates, read only when the file is a regular file
    inside the directory (no symbolic link out of it)."""

    def __init__(self, directory: Path) -> None:
        super().__init__(str(directory))
        self.root = directory.resolve()

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        source, filename, uptodate = super().get_source(environment, template)
        path = Path(filename or "")
        if not path.resolve().is_relative_to(self.root) or not path.is_file():
            raise LayergenError(
                f"{path}: template override leads outside {self.root} "
                "(through a symbolic link); refusing to read it"
            )
        return source, filename, uptodate


def make_environment(overrides: Path | None) -> jinja2.Environment:
    """layergen's templates, under ``overrides`` (a checked directory)."""
    shipped = jinja2.FileSystemLoader(template_dir())
    loaders: list[jinja2.BaseLoader] = [
        jinja2.PrefixLoader({"layergen": shipped}),
        shipped,
    ]
    if overrides is not None:
        loaders.insert(0, _InsideLoader(overrides))
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        finalize=_finalize if overrides is None else _finalize_override,
        bytecode_cache=TemplateCache(salt=RULES_VERSION),
    )
    env.filters.update(FILTERS)
    return env


def check_overrides(directory: Path, project: Path, option: str) -> Path:
    """``directory`` as an absolute path, when it is a directory inside
    ``project`` (no ``..`` above it, no symbolic link out of it); else one
    line of error."""
    absolute = Path(os.path.abspath(directory))
    root = project.resolve()
    if not absolute.resolve().is_relative_to(root):
        raise LayergenError(
            f"{option} {directory}: the template overrides must be inside the "
            f"project ({root})"
        )
    if not absolute.is_dir():
        raise LayergenError(f"{option} {directory}: not a directory")
    return absolute
