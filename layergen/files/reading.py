"""Read files that may be hostile: regular files only, never a FIFO or a device,
and never more than a size limit.

A spec or a file in a checked tree can be anything with the right name: a FIFO
(``open`` would block until a writer appears), ``/dev/zero`` (``read`` would
never end), a symbolic link to either. Each is refused from ``os.stat`` (or
``os.lstat``) before it is opened, and opened with ``O_NONBLOCK`` and checked
again with ``fstat`` so that swapping the file in between gains nothing.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

SPEC_LIMIT = 1 << 20  # 1 MiB: a spec is a page of TOML
GENERATED_LIMIT = 4 << 20  # a generated module or test file
_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISLNK, "a symbolic link"),
)


class UnreadableFile(OSError):
    """A file layergen refuses to read; ``strerror`` says why in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(errno.EINVAL, reason)


def _refuse_irregular(mode: int, limit: int, size: int) -> None:
    for is_kind, kind in _KINDS:
        if is_kind(mode):
            raise UnreadableFile(f"is {kind}, not a regular file")
    if not stat.S_ISREG(mode):
        raise UnreadableFile("is not a regular file")
    if size > limit:
        raise UnreadableFile(f"is {size:,} bytes, over the limit of {limit:,}")


def read_bytes(path: Path, *, limit: int, follow_symlinks: bool = True) -> bytes:
    """The content of the regular file at ``path``, at most ``limit`` bytes.

    Raises ``UnreadableFile`` (an ``OSError``) for anything else; with
    ``follow_symlinks=False`` a symbolic link is refused too."""
    info = os.stat(path) if follow_symlinks else os.lstat(path)
    _refuse_irregular(info.st_mode, limit, info.st_size)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a link swapped in
            raise UnreadableFile("is a symbolic link, not a regular file") from None
        raise
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        _refuse_irregular(info.st_mode, limit, info.st_size)
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise UnreadableFile(f"grew over the limit of {limit:,} bytes while read")
    return data


def read_text(path: Path, *, limit: int, follow_symlinks: bool = True) -> str:
    """``read_bytes`` decoded as UTF-8 (``UnicodeDecodeError`` if it is not)."""
    return read_bytes(path, limit=limit, follow_symlinks=follow_symlinks).decode(
        "utf-8"
    )


def read_spec(path: Path) -> str:
    """A spec's text (at most ``SPEC_LIMIT`` bytes), newlines read as Python's
    text mode reads them."""
    text = read_text(path, limit=SPEC_LIMIT)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def peek(path: Path, size: int) -> bytes:
    """The first ``size`` bytes of the regular file at ``path`` (not a link)."""
    info = os.lstat(path)
    _refuse_irregular(info.st_mode, 1 << 62, 0)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as handle:
        _refuse_irregular(os.fstat(fd).st_mode, 1 << 62, 0)
        return handle.read(size)
