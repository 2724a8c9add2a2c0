"""The one way spec text enters generated source: as a literal layergen builds.

Nothing a spec says is pasted into code. Values become ``ast`` constants
unparsed with ``ast.unparse`` (Python's own quoting); error messages become
f-strings whose literal parts are ``ast.Constant`` nodes and whose only
replacement fields are expressions layergen wrote; docstrings are checked to
parse back to exactly the text they were built from.
"""

from __future__ import annotations

import ast
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# Characters a docstring keeps as they are; everything else that could end the
# literal, start an escape, break a line or vanish is written as an escape.
_SAFE_CATEGORIES = ("L", "M", "N", "P", "S")
_WORDS = re.compile(r"[^ ]+ *| +")


class Code(str):
    """Source text layergen built (from ``ast``, these literals, checked
    expressions, validated identifiers): what the templates print as is."""

    __slots__ = ()


class Text(str):
    """Spec text handed to a template as text (the docstring's text, for an
    override to reshape): printed, it becomes a Python literal."""

    __slots__ = ()


@dataclass(frozen=True)
class Shown:
    """A value an error message shows: the code of an expression layergen
    built (``units``, ``input_shape``), shown with ``repr`` or, with
    ``conversion=""``, with ``format``."""

    code: str
    conversion: str = "r"

    @property
    def size(self) -> int:
        """Characters it takes in the source: ``{code!r}``."""
        return len(self.code) + 2 + len(self.conversion) * 2


def value(obj: Any) -> Code:
    """Python source for a plain value: None, bool, int, float (``inf`` and
    ``nan`` too), str, and lists, tuples and str- or int-keyed dicts of them."""
    return Code(ast.unparse(_node(obj)))


def _node(obj: Any) -> ast.expr:
    if isinstance(obj, float) and not math.isfinite(obj):
        return ast.Call(ast.Name("float", ast.Load()), [ast.Constant(repr(obj))], [])
    if isinstance(obj, str) and type(obj) is not str:
        obj = str(obj)  # a StrEnum (a mask mode): its value, not its repr
    if obj is None or isinstance(obj, bool | int | float | str):
        return ast.Constant(obj)
    if isinstance(obj, list):
        return ast.List([_node(o) for o in obj], ast.Load())
    if isinstance(obj, tuple):
        return ast.Tuple([_node(o) for o in obj], ast.Load())
    if isinstance(obj, dict) and all(isinstance(k, str | int) for k in obj):
        return ast.Dict(
            [ast.Constant(k) for k in obj], [_node(v) for v in obj.values()]
        )
    raise TypeError(f"no literal for a {type(obj).__name__}")


def message(parts: Sequence[str | Shown], width: int = 60) -> Code:
    """Code for an error message: text (any characters) and shown values, as
    implicitly concatenated f-string pieces of about ``width`` characters, one
    per line, for use inside parentheses. The pieces concatenate to exactly the
    given text."""
    if sum(p.size if isinstance(p, Shown) else len(p) for p in parts) <= width + 6:
        return Code(_piece(list(parts)))
    atoms: list[list[str | Shown]] = [[]]
    for part in parts:
        for chunk in _WORDS.findall(part) if isinstance(part, str) else [part]:
            atoms[-1].append(chunk)
            if isinstance(chunk, str) and chunk.endswith(" "):
                atoms.append([])
    lines: list[list[str | Shown]] = [[]]
    used = 0
    for atom in filter(None, atoms):
        size = sum(a.size if isinstance(a, Shown) else len(a) for a in atom)
        end = atom[-1] if isinstance(atom[-1], str) else ""
        spaces = len(end) - len(end.rstrip(" "))
        if lines[-1] and used + size - spaces > width:
            lines.append([])
            used = 0
        lines[-1].extend(atom)
        used += size
    return Code("\n".join(_piece(line) for line in lines))


def _piece(line: list[str | Shown]) -> str:
    if all(isinstance(part, str) for part in line):
        return ast.unparse(ast.Constant("".join(line)))  # type: ignore[arg-type]
    values: list[ast.expr] = []
    for part in line:
        if isinstance(part, Shown):
            node = ast.parse(part.code, mode="eval").body
            conversion = ord(part.conversion) if part.conversion else -1
            values.append(ast.FormattedValue(node, conversion, None))
        elif values and isinstance(values[-1], ast.Constant):
            values[-1] = ast.Constant(values[-1].value + part)
        else:
            values.append(ast.Constant(part))
    return ast.unparse(ast.JoinedStr(values))


def docstring(text: str, indent: str = "    ") -> Code:
    """A docstring literal for ``text``: lines after the first are indented by
    ``indent``, and the closing quotes get a line of their own when ``text``
    has several lines. The literal evaluates to exactly that indented text
    (checked), and black leaves it so: characters a triple-quoted string cannot
    hold as they are, and the spaces and quotes black would strip or pad at the
    ends of lines, become escapes. Text that check refuses becomes a plain
    string literal."""
    lines = text.split("\n")
    indented = "\n".join(
        [lines[0]] + [indent + line if line else "" for line in lines[1:]]
    )
    if len(lines) > 1:
        indented += "\n" + indent
    last = len(indented) - 1
    tokens = [_docstring_char(c) for c in indented]
    lines = _lines(indented, indent)
    if not any(line.strip() for _, line in lines[1:]):
        # Black drops blank lines after the first: keep the text on one line.
        tokens = [t if t != "\n" else "\\n" for t in tokens]
        lines = [(0, indented)]
    # Black re-indents the lines after the first to their least indentation.
    shifted = all(line.startswith(" ") for _, line in lines[1:] if line.strip())
    for number, (n, line) in enumerate(lines):
        # Black strips trailing spaces, the first line's leading ones, and pads
        # a quote at either end of the docstring.
        ends = [n, n + len(line) - 1] if number == 0 or shifted else [n + len(line) - 1]
        for at in ends if line else ():
            if indented[at] == " " or (indented[at] == '"' and at in (0, last)):
                tokens[at] = f"\\x{ord(indented[at]):02x}"
    run = 0
    for n, token in enumerate(tokens):
        run = run + 1 if token == '"' else 0
        if run == 3:  # a third quote in a row would close the literal
            tokens[n], run = '\\"', 0
    literal = f'"""{"".join(tokens)}"""'
    try:
        if ast.literal_eval(literal) == indented:
            return Code(literal)
    except (SyntaxError, ValueError):
        pass
    return Code(repr(indented))


def _lines(text: str, indent: str) -> list[tuple[int, str]]:
    """Each line's text after its indent, with the offset where that starts."""
    found, offset = [], 0
    for number, line in enumerate(text.split("\n")):
        skip = len(indent) if number and line.startswith(indent) else 0
        found.append((offset + skip, line[skip:]))
        offset += len(line) + 1
    return found


def _docstring_char(char: str) -> str:
    if char == "\\":
        return "\\\\"
    if char in ' "\n' or unicodedata.category(char)[0] in _SAFE_CATEGORIES:
        return char
    return char.encode("unicode_escape").decode("ascii")
