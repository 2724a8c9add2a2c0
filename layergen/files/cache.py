"""Where layergen keeps what it can recompute: black's output, compiled templates.

Everything here is keyed by content, so a stale entry is never used, and a
cache that cannot be read or written only costs time. The root is
``$LAYERGEN_CACHE_DIR`` (default ``$XDG_CACHE_HOME/layergen``, else
``~/.cache/layergen``).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import jinja2
import jinja2.bccache


def cache_root() -> Path:
    default = (
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "layergen"
    )
    return Path(os.environ.get("LAYERGEN_CACHE_DIR", default))


class TemplateCache(jinja2.FileSystemBytecodeCache):
    """Jinja2's compiled templates on disk (keyed by the template's checksum),
    so a run need not compile the templates again; read and write failures
    are ignored."""

    def __init__(self) -> None:
        super().__init__(str(cache_root() / "templates"))

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().load_bytecode(bucket)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            os.makedirs(self.directory, exist_ok=True)
            super().dump_bytecode(bucket)
