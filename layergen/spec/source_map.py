"""Where each key and array element sits in a TOML file (``tomllib`` gives values only).

A small scanner over the text: table headers, ``key = value`` lines, keys of
inline tables and elements of (possibly multi-line) arrays. Positions are
1-based ``(line, column)``.
"""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

from layergen.errors import Diagnostic, SpecError
from layergen.spec.guards import one_line

Path = tuple[str | int, ...]

# One key: bare, "basic" (with escapes) or 'literal'.
_ONE_KEY = r"""(?:[A-Za-z0-9_\-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_HEADER = re.compile(
    r"^\s*\[(?!\[)\s*(" + _ONE_KEY + r"(?:\s*\.\s*" + _ONE_KEY + r")*)\s*\]"
)
_KEY = re.compile(r"^(\s*)(" + _ONE_KEY + r"(?:\s*\.\s*" + _ONE_KEY + r")*)\s*=")
_OWNER = re.compile("(" + _ONE_KEY + r")\s*=\s*$")
_INLINE_KEY = re.compile(r"([{,]\s*)(" + _ONE_KEY + r")\s*=")
_BARE = re.compile(r"[A-Za-z0-9_\-]+\Z")
_BARE_DOTTED = re.compile(r"[A-Za-z0-9_\-]+(?:\s*\.\s*[A-Za-z0-9_\-]+)*\Z")


def _split_key(key: str) -> tuple[str, ...]:
    """The parts of a (dotted, quoted) key as TOML reads them."""
    if _BARE_DOTTED.match(key):
        return tuple(part.strip() for part in key.split("."))
    try:
        table: Any = tomllib.loads(f"{key} = 0")
    except tomllib.TOMLDecodeError:
        return (key,)
    parts = []
    while isinstance(table, dict) and len(table) == 1:
        part, table = next(iter(table.items()))
        parts.append(part)
    return tuple(parts)


def format_path(path: Path) -> str:
    """``("weights", "kernel", "shape", 0)`` -> ``weights.kernel.shape[0]``;
    keys that are not bare are quoted: ``params."units.count"``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        key = part if _BARE.match(part) else json.dumps(part, ensure_ascii=False)
        out += f".{key}" if out else key
    return out


class SourceMap:
    """Maps key paths of a TOML document to the position where they are written."""

    def __init__(self, text: str) -> None:
        self.positions: dict[Path, tuple[int, int]] = {}
        self._lines = text.splitlines()
        table: Path = ()
        lineno = 0
        while lineno < len(self._lines):
            line = self._lines[lineno]
            if header := _HEADER.match(line):
                table = _split_key(header.group(1))
                # `[weight.bias]` also creates `weight`: locate it here too.
                for end in range(1, len(table) + 1):
                    self.positions.setdefault(
                        table[:end], (lineno + 1, header.start(1) + 1)
                    )
            elif key := _KEY.match(line):
                path = table + _split_key(key.group(2))
                self.positions[path] = (lineno + 1, key.start(2) + 1)
                value_col = key.end()
                lineno = self._scan_value(path, lineno, value_col)
            lineno += 1

    def _scan_value(self, path: Path, lineno: int, col: int) -> int:
        """Record inline-table keys and array elements; return the last line used."""
        stack: list[tuple[Path, int]] = []  # (path, next array index or -1)
        quote = ""
        expecting_element = False
        while True:
            line = self._lines[lineno]
            i = col
            while i < len(line):
                ch = line[i]
                if quote:
                    if ch == "\\" and quote[0] == '"':
                        i += 2
                        continue
                    if line.startswith(quote, i):
                        i += len(quote) - 1
                        quote = ""
                elif ch == "#":
                    break
                elif ch in "\"'":
                    quote = ch * 3 if line.startswith(ch * 3, i) else ch
                    i += len(quote) - 1
                elif ch in "[{":
                    here = stack[-1][0] if stack else path
                    if stack and stack[-1][1] >= 0 and expecting_element:
                        here = self._element(stack, lineno, i)
                    elif stack and (owner := _OWNER.search(line, 0, i)):
                        here = here + _split_key(owner.group(1))
                    stack.append((here, 0 if ch == "[" else -1))
                    expecting_element = ch == "["
                    if ch == "{":
                        self._inline_keys(here, lineno, line, i)
                    i += 1
                    continue
                elif ch in "]}":
                    stack.pop()
                    if not stack:
                        return lineno
                elif ch == ",":
                    expecting_element = bool(stack) and stack[-1][1] >= 0
                if (
                    expecting_element
                    and stack
                    and stack[-1][1] >= 0
                    and not ch.isspace()
                    and ch not in ",]"
                ):
                    self._element(stack, lineno, i)
                    expecting_element = False
                i += 1
            if not stack and not quote:
                return lineno
            lineno += 1
            col = 0
            if lineno >= len(self._lines):
                return lineno - 1

    def _element(self, stack: list[tuple[Path, int]], lineno: int, col: int) -> Path:
        parent, index = stack[-1]
        stack[-1] = (parent, index + 1)
        element = parent + (index,)
        self.positions[element] = (lineno + 1, col + 1)
        return element

    def _inline_keys(self, path: Path, lineno: int, line: str, start: int) -> None:
        depth = 0
        for match in _INLINE_KEY.finditer(line, start):
            depth = line.count("{", start, match.start(2)) - line.count(
                "}", start, match.start(2)
            )
            if depth == 1:
                key = _split_key(match.group(2))
                self.positions.setdefault(path + key, (lineno + 1, match.start(2) + 1))

    def locate(self, path: Path) -> tuple[int, int]:
        """Position of ``path``, or of its nearest written ancestor."""
        for end in range(len(path), 0, -1):
            if path[:end] in self.positions:
                return self.positions[path[:end]]
        return (1, 1)


def parse_toml(text: str, file: str) -> dict[str, Any]:
    """``tomllib.loads``, with a syntax error (or nesting too deep for Python)
    reported as a diagnostic at its line and column in ``file``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = re.search(r"\(at line (\d+), column (\d+)\)", message)
        line, column = (int(found[1]), int(found[2])) if found else (1, 1)
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", message)
        if message.endswith(" (at end of document)"):  # where the text stops
            message = message.removesuffix(" (at end of document)")
            message += " at the end of the file"
            written = text.rstrip().split("\n")
            line, column = len(written), len(written[-1]) + 1
        message = _duplicate_message(message, text.splitlines()[line - 1 : line])
        diagnostic = Diagnostic(file, line, column, "", f"invalid TOML: {message}")
    except RecursionError:
        message = "invalid TOML: arrays or tables nested too deeply"
        diagnostic = Diagnostic(file, 1, 1, "", message)
    raise SpecError([diagnostic])


def _duplicate_message(message: str, lines: list[str]) -> str:
    """tomllib's words for a key or table given twice, with the key named:
    ``Cannot overwrite a value`` says neither which key nor why."""
    if message.startswith("Cannot declare ("):
        header = _HEADER.match(lines[0]) if lines else None
        if header:
            return f"table [{one_line(header[1])}] is declared twice"
    if message == "Cannot overwrite a value" and lines:
        key = _KEY.match(lines[0]) or _HEADER.match(lines[0])
        if key:
            name = one_line(key[key.lastindex or 0].strip())
            return (
                f"`{name}` clashes with an earlier key (a key is given once per table)"
            )
    return message
