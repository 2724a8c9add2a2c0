"""Project configuration: the ``[tool.layergen]`` table of ``pyproject.toml``.

Found by walking up from the working directory to the nearest
``pyproject.toml`` that has the table. Keys (paths relative to the
pyproject's directory, and never outside it)::

    [tool.layergen]
    specs = ["specs/*.toml"]      # globs: what a bare `layergen new` generates
    output = "src/myproj/layers"  # -o / --output
    tests-dir = "tests/layers"    # --tests-dir
    package = "myproj"            # registration package for specs that set none
    backend = "tensorflow"        # --backend
    templates = "templates"       # template overrides (--templates)
    allow-imports = ["keras_hub"] # modules a sublayer's class may come from

The command line wins over the pyproject, which wins over the defaults.
Unknown keys and wrong types are diagnostics located like a spec's
(``pyproject.toml:12:1: error: tool.layergen.output: ...``). The file is read
as untrusted input: a regular file of at most 1 MiB (``files.reading``).
"""

from __future__ import annotations

import difflib
import glob
import keyword
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from layergen.codegen.environment import check_overrides
from layergen.errors import Diagnostic, LayergenError, SpecError
from layergen.files.plan import unsafe_characters
from layergen.files.reading import read_spec
from layergen.spec.expressions.symbols import did_you_mean
from layergen.spec.source_map import SourceMap, format_path, parse_toml
from layergen.spec.validate import IDENTIFIER, PACKAGE
from layergen.spec.validate.reporting import kind

PYPROJECT = "pyproject.toml"
TABLE = ("tool", "layergen")
BACKENDS = ("tensorflow", "jax", "torch", "all")
# What people also call the backends: a did-you-mean difflib cannot find.
BACKEND_ALIASES = {"tf": "tensorflow", "pytorch": "torch"}
KEYS = (
    "specs",
    "output",
    "tests-dir",
    "package",
    "backend",
    "templates",
    "allow-imports",
)


@dataclass(frozen=True)
class ProjectConfig:
    """``[tool.layergen]`` of one pyproject.toml, validated. Paths are
    absolute (resolved against ``root``)."""

    pyproject: Path
    specs: tuple[str, ...] = ()
    output: Path | None = None
    tests_dir: Path | None = None
    package: str | None = None
    backend: str | None = None
    templates: Path | None = None
    # Top-level modules whose classes a spec's sublayers may construct.
    allow_imports: tuple[str, ...] = ()
    # Where each key was written, as "file:line:col", for later messages.
    locations: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def root(self) -> Path:
        return self.pyproject.parent

    def spec_paths(self) -> list[Path]:
        """Every file the ``specs`` globs match, sorted, each once, never the
        pyproject itself (``*.toml`` beside it); a glob that matches nothing,
        or a match outside the project, is an error."""
        found: dict[Path, None] = {}
        errors = []
        root = self.root.resolve()
        for index, pattern in enumerate(self.specs):
            matches = sorted(
                Path(m)
                for m in glob.glob(str(self.root / pattern), recursive=True)
                if Path(m).is_file() and not Path(m).samefile(self.pyproject)
            )
            if not matches:
                errors.append(
                    self._diagnostic(
                        "specs", f"`{pattern}` matches no file", index=index
                    )
                )
            for match in matches:
                if not match.resolve().is_relative_to(root):
                    errors.append(
                        self._diagnostic(
                            "specs",
                            f"`{pattern}` matches {match}, outside the project "
                            f"{self.root} (through a symbolic link)",
                            index=index,
                        )
                    )
                    continue
                found[Path(os.path.relpath(match))] = None
        if errors:
            raise SpecError(errors)
        return list(found)

    def _diagnostic(
        self, key: str, message: str, index: int | None = None
    ) -> Diagnostic:
        where = self.locations.get(f"{key}[{index}]" if index is not None else key)
        where = where or self.locations.get(key) or f"{shown(self.pyproject)}:1:1"
        file, line, column = where.rsplit(":", 2)
        label = f"tool.layergen.{key}" + (f"[{index}]" if index is not None else "")
        return Diagnostic(file, int(line), int(column), label, message)

    def warning(self, key: str, message: str) -> Diagnostic:
        diagnostic = self._diagnostic(key, message)
        return Diagnostic(
            diagnostic.file,
            diagnostic.line,
            diagnostic.column,
            diagnostic.key,
            message,
            severity="warning",
        )


def shown(path: Path) -> str:
    """``path`` relative to the working directory (``../pyproject.toml``)."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def find_pyproject(start: Path | None = None) -> Path | None:
    """The nearest ``pyproject.toml`` at or above ``start`` (default: the
    working directory) that has a ``[tool.layergen]`` table."""
    directory = Path(os.path.abspath(start or Path.cwd()))
    for candidate in (directory, *directory.parents):
        path = candidate / PYPROJECT
        if not path.is_file():
            continue
        try:
            text = read_spec(path)
        except (OSError, UnicodeDecodeError):
            continue
        if _mentions_table(text):
            return path
    return None


def _mentions_table(text: str) -> bool:
    """Whether the text has a ``[tool.layergen]`` table (or looks like it
    meant to: a pyproject that does not parse counts when it names it)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return "tool.layergen" in text
    tool = data.get("tool")
    return isinstance(tool, dict) and "layergen" in tool


def load_config(start: Path | None = None) -> ProjectConfig | None:
    """The project's configuration, or None when no pyproject.toml above the
    working directory has a ``[tool.layergen]`` table. Raises ``SpecError``
    with every problem found."""
    path = find_pyproject(start)
    return None if path is None else read_config(path)


def read_config(path: Path) -> ProjectConfig:
    """Read and validate ``[tool.layergen]`` of the pyproject at ``path``."""
    name = shown(path)
    try:
        text = read_spec(path)
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise LayergenError(f"{name}: cannot read: {reason}") from None
    data = parse_toml(text, name)
    return _Reader(Path(os.path.abspath(path)), name, text).read(
        data.get("tool", {}).get("layergen", {})
    )


class _Reader:
    """Validates the table's keys, collecting every problem."""

    def __init__(self, path: Path, name: str, text: str) -> None:
        self.path, self.name = path, name
        self.source = SourceMap(text)
        self.errors: list[Diagnostic] = []
        self.locations: dict[str, str] = {}

    def where(self, *keys: str | int) -> tuple[int, int]:
        return self.source.locate((*TABLE, *keys))

    def error(self, keys: tuple[str | int, ...], message: str) -> None:
        line, column = self.where(*keys)
        label = format_path((*TABLE, *keys))
        self.errors.append(Diagnostic(self.name, line, column, label, message))

    def read(self, table: Any) -> ProjectConfig:
        if not isinstance(table, dict):
            self.error((), f"expected a table, found {kind(table)}")
            raise SpecError(self.errors)
        for key in table:
            line, column = self.where(key)
            self.locations[key] = f"{self.name}:{line}:{column}"
            if key not in KEYS:
                hint = did_you_mean(key, KEYS)
                self.error(
                    (key,),
                    f"unknown key{hint} (expected one of {', '.join(KEYS)})",
                )
        config = ProjectConfig(
            pyproject=self.path,
            specs=self.specs(table),
            output=self.directory(table, "output"),
            tests_dir=self.directory(table, "tests-dir"),
            package=self.string(
                table, "package", PACKAGE.match, "a dotted Python package name"
            ),
            backend=self.string(
                table,
                "backend",
                lambda v: v in BACKENDS,
                "one of " + ", ".join(f'"{b}"' for b in BACKENDS),
                suggest=_backend,
            ),
            templates=self.directory(table, "templates", must_exist=True),
            allow_imports=self.modules(table),
            locations=self.locations,
        )
        if self.errors:
            raise SpecError(sorted(self.errors, key=lambda d: (d.line, d.column)))
        return config

    def specs(self, table: dict[str, Any]) -> tuple[str, ...]:
        value = table.get("specs")
        if value is None:
            return ()
        if isinstance(value, str):
            self.error(
                ("specs",), f'expected a list of globs, found a string: use ["{value}"]'
            )
            return ()
        if not isinstance(value, list):
            self.error(("specs",), f"expected a list of globs, found {kind(value)}")
            return ()
        patterns = []
        for index, pattern in enumerate(value):
            line, column = self.where("specs", index)
            self.locations[f"specs[{index}]"] = f"{self.name}:{line}:{column}"
            if not isinstance(pattern, str) or not pattern:
                found = kind(pattern) if pattern != "" else "an empty string"
                self.error(
                    ("specs", index), f"expected a glob (a string), found {found}"
                )
            elif problem := _path_problem(pattern):
                self.error(("specs", index), problem)
            else:
                patterns.append(pattern)
        return tuple(patterns)

    def modules(self, table: dict[str, Any]) -> tuple[str, ...]:
        """``allow-imports``: top-level module names (``keras_hub``)."""
        value = table.get("allow-imports")
        if value is None:
            return ()
        if not isinstance(value, list):
            self.error(
                ("allow-imports",),
                f"expected a list of module names, found {kind(value)}",
            )
            return ()
        modules = []
        for index, name in enumerate(value):
            if (
                not isinstance(name, str)
                or not IDENTIFIER.match(name)
                or keyword.iskeyword(name)
            ):
                found = f'"{name}"' if isinstance(name, str) else kind(name)
                self.error(
                    ("allow-imports", index),
                    "expected a top-level module name (`keras_hub`, not "
                    f"`keras_hub.layers`), found {found}",
                )
            else:
                modules.append(name)
        return tuple(modules)

    def directory(
        self, table: dict[str, Any], key: str, *, must_exist: bool = False
    ) -> Path | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            found = kind(value) if value != "" else "an empty string"
            self.error((key,), f"expected a directory (a string), found {found}")
            return None
        if problem := _path_problem(value):
            self.error((key,), problem)
            return None
        path = self.path.parent / value
        if not path.resolve().is_relative_to(self.path.parent.resolve()):
            self.error(
                (key,),
                f"`{value}` leads outside the project (through a symbolic link)",
            )
            return None
        if path.exists() and not path.is_dir():
            self.error((key,), f"`{value}` exists and is not a directory")
            return None
        if must_exist and not path.is_dir():
            self.error((key,), f"`{value}` is not a directory")
            return None
        return path

    def string(
        self,
        table: dict[str, Any],
        key: str,
        valid: Callable[[str], object],
        expected: str,
        suggest: Callable[[str], str | None] = lambda value: None,
    ) -> str | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.error((key,), f"expected {expected}, found {kind(value)}")
            return None
        if not valid(value):
            close = suggest(value)
            hint = f" - did you mean `{close}`?" if close else ""
            self.error((key,), f'expected {expected}, found "{value}"{hint}')
            return None
        return value


def _backend(value: str) -> str | None:
    """The backend a misspelled or nicknamed ``value`` most likely means."""
    close = difflib.get_close_matches(value, BACKENDS, n=1)
    return BACKEND_ALIASES.get(value.lower()) or (close[0] if close else None)


def template_overrides(
    project: ProjectConfig | None, option: Path | None
) -> Path | None:
    """The template overrides: ``--templates``, else the project's; either
    must be a directory inside the project (the pyproject's directory, else
    the working directory)."""
    root = project.root if project is not None else Path.cwd()
    if option is not None:
        return check_overrides(option, root, "--templates")
    if project is not None and project.templates is not None:
        where = f"{shown(project.pyproject)}: templates"
        return check_overrides(project.templates, root, where)
    return None


def checked_tree(project: ProjectConfig) -> tuple[Path, ...]:
    """What a bare ``layergen check`` checks: the configured output and tests
    directories, and the configured specs (whose layers must exist)."""
    specs = project.spec_paths() if project.specs else []
    if project.output is None:
        raise LayergenError(
            f"{shown(project.pyproject)}: [tool.layergen] has no `output`: "
            "give the directories to check"
        )
    roots = [project.output]
    if project.tests_dir is not None and project.tests_dir != project.output:
        roots.append(project.tests_dir)
    for root in roots:
        if not root.is_dir():
            raise LayergenError(
                f"{shown(root)}: no such directory (tool.layergen in "
                f"{shown(project.pyproject)}); run `layergen new` first"
            )
    return (*(Path(shown(r)) for r in roots), *specs)


def _path_problem(value: str) -> str | None:
    """Paths stay inside the project: relative, no `..` above its directory,
    no control characters."""
    if unsafe_characters(value):
        return f"{ascii(value)} contains control characters"
    if Path(value).is_absolute() or value.startswith("~"):
        return f"`{value}` is not relative to the pyproject's directory"
    if os.path.normpath(value).split(os.sep)[0] == "..":
        return f"`{value}` leads outside the project"
    return None
