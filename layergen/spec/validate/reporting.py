"""The diagnostics collector: every problem becomes a :class:`Diagnostic`
with file, line, column and key path, and validation goes on.

:class:`Report` also reads the shapes every table shares (a table, a typed
value, an expression, an identifier) and records each expression it accepts,
for the checks that run once every table is read.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from layergen.errors import Diagnostic
from layergen.spec import catalog, guards
from layergen.spec import expressions as ex
from layergen.spec.expressions.symbols import did_you_mean
from layergen.spec.model import Expr, LayerSpec
from layergen.spec.source_map import SourceMap, format_path
from layergen.spec.validate.schema import IDENTIFIER, RESERVED, TABLE_KEYS, KeyPath

MAX_ERRORS = 25


class Report:
    """Collects one document's diagnostics instead of stopping at the first."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.source = SourceMap(text)
        self.errors: list[Diagnostic] = []
        self.warnings: list[Diagnostic] = []
        self.key_paths: dict[str, KeyPath] = {}  # an Expr's key -> its path
        self.exprs: list[tuple[KeyPath, ast.AST]] = []  # every checked one

    def expr(self, source: str, node: ast.AST, path: KeyPath) -> Expr:
        """An Expr, remembering where it was written."""
        self.key_paths[format_path(path)] = path
        self.exprs.append((path, node))
        return Expr(source, node, format_path(path))

    def error(self, path: KeyPath, message: str, *, warning: bool = False) -> None:
        line, column = self.source.locate(path)
        diag = Diagnostic(
            str(self.path),
            line,
            column,
            format_path(path),
            guards.one_line(message),
            "warning" if warning else "error",
        )
        (self.warnings if warning else self.errors).append(diag)

    def table(self, value: Any, path: KeyPath, schema: str | None) -> dict[str, Any]:
        """``value`` as a table, reporting a wrong type and unknown keys."""
        if not isinstance(value, dict):
            self.error(path, f"expected a table, found {kind(value)}")
            return {}
        if schema is not None:
            allowed = TABLE_KEYS[schema]
            for key in value:
                if key not in allowed:
                    suggestion = did_you_mean(key, allowed)
                    expected = ", ".join(f"`{k}`" for k in allowed)
                    self.error(
                        (*path, key),
                        f"unknown key `{key}`{suggestion} (expected one of {expected})",
                    )
        return value

    def typed(
        self, table: dict[str, Any], key: str, path: KeyPath, kinds: tuple, what: str
    ) -> Any:
        value = table.get(key)
        if value is None:
            return None
        if isinstance(value, bool) and bool not in kinds:
            self.error((*path, key), f"expected {what}, found {kind(value)}")
            return None
        if not isinstance(value, kinds):
            self.error((*path, key), f"expected {what}, found {kind(value)}")
            return None
        return value

    def expression(
        self, source: Any, path: KeyPath, scope: ex.Scope, what: str = "expression"
    ) -> Expr | None:
        if not isinstance(source, str):
            self.error(path, f"expected an {what} string, found {kind(source)}")
            return None
        try:
            node = ex.parse_expression(source)
            ex.check_expression(node, scope, suggest=self.suggesting)
        except ex.ExpressionError as exc:
            self.error(path, f"{exc} (in `{source.strip()}`)")
            return None
        return self.expr(source, node, path)

    @property
    def suggesting(self) -> bool:
        """Whether a did-you-mean is still worth its time: only the first
        MAX_ERRORS errors are shown."""
        return len(self.errors) < MAX_ERRORS

    def hint(self, value: str, choices: Any) -> str:
        return hint(value, choices) if self.suggesting else ""

    def identifier(self, name: str, path: KeyPath, what: str) -> bool:
        problem = guards.name_problem(name, what)
        if problem is not None:
            self.error(path, problem)
        elif not IDENTIFIER.match(name):
            self.error(path, f"{what} `{name}` is not a valid Python identifier")
        elif name in RESERVED or name in catalog.names("layer_attributes"):
            self.error(
                path,
                f"{what} `{name}` is reserved (it clashes with keras.layers.Layer "
                "or with names layergen generates)",
            )
        elif name.startswith("_"):
            self.error(path, f"{what} `{name}` must not start with `_`")
        else:
            return True
        return False


class Declarations:
    """The names [params], [inputs], [weights], [sublayers] and [states]
    declare: one namespace, since call() sees them all."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.kinds: dict[str, str] = {}  # name -> what declared it

    def claim(self, name: str, path: KeyPath, what: str) -> bool:
        """Claim ``name`` for one declaration; report clashes across sections."""
        if not self.report.identifier(name, path, what):
            return False
        if name in self.kinds:
            self.report.error(
                path, f"{what} `{name}` is already declared as a {self.kinds[name]}"
            )
            return False
        self.kinds[name] = what
        return True

    def failed(self, spec: LayerSpec) -> frozenset[str]:
        """Names claimed by an entry that then failed validation."""
        kept = {p.name for p in spec.params} | {i.name for i in spec.inputs}
        kept |= {w.name for w in spec.weights} | {s.name for s in spec.sublayers}
        kept |= {s.name for s in spec.states} | {a.name for a in spec.call_args}
        return frozenset(self.kinds) - kept


def hint(value: str, choices: Iterable[str]) -> str:
    """`` - did you mean `x`?`` for the closest of ``choices``, or nothing."""
    return did_you_mean(value, choices)


def kind(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a float",
        str: "a string",
        list: "an array",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"
