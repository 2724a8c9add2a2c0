"""Format generated source with black, as the project's users would.

black is deterministic, so results are cached on disk by the hash of black's
version, mode and the unformatted source, under
:func:`layergen.files.cache.cache_root`. A cache entry is a claim, like a
header: it is used only after :func:`same_code` shows it is the same program
as the source (black guarantees its output is), so a poisoned entry can at
worst change the layout, never the code. Re-checking an unchanged tree
(``layergen check --no-run``) then costs no black import.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import types
from functools import cache
from pathlib import Path

from layergen.errors import InternalError
from layergen.files.cache import cache_root
from layergen.files.reading import read_text

TARGET_VERSION = "py311"
_CACHE_LIMIT = 4 << 20


@cache
def _black_version() -> str:
    from importlib.metadata import version

    return version("black")


def format_source(source: str, what: str) -> str:
    """Black-format ``source``; a parse failure is layergen's bug, reported as such."""
    key = hashlib.sha256(
        f"{_black_version()}\0{TARGET_VERSION}\0{source}".encode()
    ).hexdigest()
    cached = cache_root() / "black" / key[:2] / key
    with contextlib.suppress(OSError, UnicodeDecodeError):
        text = read_text(cached, limit=_CACHE_LIMIT, follow_symlinks=False)
        if same_code(source, text):
            return text
    formatted = _run_black(source, what)
    with contextlib.suppress(OSError):  # a cache that cannot be written is no error
        _store(cached, formatted)
    return formatted


def _store(cached: Path, text: str) -> None:
    """Write a cache entry through a fresh temporary file (never through a
    link planted in the cache), then rename it into place."""
    cached.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=cached.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(temp, cached)
    except OSError:
        os.unlink(temp)
        raise


def same_code(first: str, second: str) -> bool:
    """Whether two sources are one program laid out differently, as black
    promises of its output: this verifies a cached output without black.

    Both compile to the same code objects once line numbers are set aside
    (equal bytecode, constants, names: the same behaviour), and the text from
    the first ``#`` of each line that has one is the same, line for line (the
    same comments, in order; a string holding ``#`` that black moves makes
    this fail, which only costs a run of black). The second may not declare
    a source encoding. Source that does not compile is never the same."""
    if _ENCODING_COOKIE.search("\n".join(second.split("\n", 2)[:2])):
        return False
    if _hashed_tails(first) != _hashed_tails(second):
        return False
    try:
        return _code(first) == _code(second)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False


_ENCODING_COOKIE = re.compile(r"^[ \t\f]*#.*?coding[:=]", re.MULTILINE)


def _hashed_tails(source: str) -> list[str]:
    return [
        line[line.index("#") :].rstrip() for line in source.splitlines() if "#" in line
    ]


def _code(source: str) -> types.CodeType:
    return _without_positions(compile(source, "<generated>", "exec", dont_inherit=True))


def _without_positions(code: types.CodeType) -> types.CodeType:
    consts = tuple(
        _without_positions(c) if isinstance(c, types.CodeType) else c
        for c in code.co_consts
    )
    return code.replace(co_firstlineno=1, co_linetable=b"", co_consts=consts)


def _run_black(source: str, what: str) -> str:
    import black

    mode = black.Mode(target_versions={black.TargetVersion[TARGET_VERSION.upper()]})
    try:
        return black.format_str(source, mode=mode)
    except black.InvalidInput as exc:
        raise InternalError(
            f"the code generated for {what} does not parse ({exc}); "
            "please report this with the spec"
        ) from exc
