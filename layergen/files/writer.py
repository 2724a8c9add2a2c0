"""Write a plan to disk: all or nothing, each file atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from layergen.errors import ConflictError
from layergen.files.plan import CHANGED, CONFLICT, CREATE, PlannedFile


def write_plan(files: Sequence[PlannedFile]) -> list[PlannedFile]:
    """Write created and changed files; refuse the whole plan on any conflict."""
    conflicts = [f for f in files if f.status == CONFLICT]
    if conflicts:
        raise ConflictError(
            "\n".join(f"{f.path}: error: {f.reason}" for f in conflicts)
        )
    written = [f for f in files if f.status in (CREATE, CHANGED)]
    for planned in written:
        write_atomically(planned.path, planned.content)
    return written


def write_atomically(path: Path, content: str) -> None:
    """Write via a temporary file in the same directory, fsync, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
