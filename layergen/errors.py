"""Errors layergen reports, each with the exit code the CLI maps it to.

``LayergenError`` is bad input (a spec, a file, an option: exit 2);
``InternalError`` is layergen's own bug (exit 2, reported as such);
``Interrupted`` is SIGINT or SIGTERM (exit 128 + the signal's number).
"""

from __future__ import annotations

import signal
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


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

    def report(self) -> list[str]:
        """The lines a command line prints for this error."""
        return [f"error: {self}"]


class SpecError(LayergenError):
    """A spec failed validation; carries every diagnostic found."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        super().__init__("\n".join(str(d) for d in diagnostics))

    def report(self, writes: bool = True) -> list[str]:
        """Each diagnostic, then a count (and, for a command that writes files,
        that it wrote none)."""
        count = len(self.diagnostics)
        summary = f"{count} error{'s' * (count != 1)}"
        summary += "; nothing was written" if writes else ""
        return [*map(str, self.diagnostics), summary]


class ConflictError(LayergenError):
    """Writing would clobber a file that layergen must not overwrite; nothing
    was written. ``conflicts`` holds each file with the reason."""

    def __init__(self, conflicts: Sequence[tuple[Path, str]]) -> None:
        self.conflicts = list(conflicts)
        super().__init__("\n".join(self.report()))

    def report(self) -> list[str]:
        return [f"{path}: error: {reason}" for path, reason in self.conflicts]


class UnsafePathError(LayergenError):
    """A path (a file name, an option, a header's reference) that layergen will
    not read, write or put into a generated file."""


class WriteError(LayergenError):
    """A file could not be written; everything the run wrote was rolled back."""


class TestRunError(LayergenError):
    """pytest could not run the generated tests (not: a test failed);
    ``output`` is pytest's own account."""

    __test__ = False  # not a pytest test class

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output

    def report(self) -> list[str]:
        return [self.output, f"error: {self}"]


class InternalError(LayergenError):
    """layergen's own bug, e.g. generated code that black cannot parse."""

    def report(self) -> list[str]:
        return [f"internal error: {self}"]


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived; whatever was being written was rolled back.

    A ``BaseException`` like ``KeyboardInterrupt``, so that no ``except
    Exception`` swallows it."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum
