"""Errors layergen reports to its user, each mapped to an exit code by the CLI."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Diagnostic:
    """One problem in a spec, located like a compiler error."""

    file: str
    line: int
    column: int
    key: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        key = f"{self.key}: " if self.key else ""
        return f"{where}: {self.severity}: {key}{self.message}"


class LayergenError(Exception):
    """Base class: a problem with the user's input, reported without traceback."""

    exit_code = 2


class SpecError(LayergenError):
    """A spec failed validation; carries every diagnostic found."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        super().__init__("\n".join(str(d) for d in diagnostics))


class ConflictError(LayergenError):
    """Writing would clobber a file that layergen must not overwrite."""
