"""Format generated source with black, as the project's users would.

black is deterministic, so results are cached on disk by the hash of black's
version, mode and the unformatted source: re-checking an unchanged tree
(``layergen check --no-run``) then costs no formatting and no black import.
The cache lives under :func:`layergen.cache.cache_root`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from functools import cache

from layergen.errors import LayergenError
from layergen.files.cache import cache_root

TARGET_VERSION = "py311"


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
    with contextlib.suppress(OSError):
        return cached.read_text(encoding="utf-8")
    formatted = _run_black(source, what)
    with contextlib.suppress(OSError):  # a cache that cannot be written is no error
        cached.parent.mkdir(parents=True, exist_ok=True)
        temp = cached.with_suffix(f".{os.getpid()}.tmp")
        temp.write_text(formatted, encoding="utf-8")
        os.replace(temp, cached)
    return formatted


def _run_black(source: str, what: str) -> str:
    import black

    mode = black.Mode(target_versions={black.TargetVersion[TARGET_VERSION.upper()]})
    try:
        return black.format_str(source, mode=mode)
    except black.InvalidInput as exc:
        raise LayergenError(
            f"internal error: the code generated for {what} does not parse ({exc}); "
            "please report this with the spec"
        ) from exc
