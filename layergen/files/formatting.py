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

import ast
import contextlib
import hashlib
import io
import os
import tokenize
from functools import cache

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
        cached.parent.mkdir(parents=True, exist_ok=True)
        temp = cached.with_suffix(f".{os.getpid()}.tmp")
        temp.write_text(formatted, encoding="utf-8")
        os.replace(temp, cached)
    return formatted


def same_code(first: str, second: str) -> bool:
    """Whether two sources are one program laid out differently: equal ASTs
    (``ast.dump``, without positions) and the same comments in the same order.

    This is what black promises of its output, so it verifies a cached output
    without importing black; source that does not parse is never the same."""
    try:
        return ast.dump(ast.parse(first)) == ast.dump(ast.parse(second)) and (
            _comments(first) == _comments(second)
        )
    except (SyntaxError, ValueError, RecursionError, MemoryError, tokenize.TokenError):
        return False


def _comments(source: str) -> list[str]:
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return [t.string.rstrip() for t in tokens if t.type == tokenize.COMMENT]


def _run_black(source: str, what: str) -> str:
    import black

    mode = black.Mode(target_versions={black.TargetVersion[TARGET_VERSION.upper()]})
    try:
        return black.format_str(source, mode=mode)
    except black.InvalidInput as exc:
        raise InternalError(
            f"internal error: the code generated for {what} does not parse ({exc}); "
            "please report this with the spec"
        ) from exc
