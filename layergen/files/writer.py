"""Write a plan to disk: all or nothing, each file atomically, one run at a time.

A run locks each directory it writes into (``flock`` on the directory itself,
so no lock file is left behind) around planning and writing, so two runs into
one directory cannot interleave. Every file goes first to a temporary file
beside it (named ``.NAME.layergen-XXXXXXXX.tmp``, created with the mode the
umask gives), then all are renamed into place; if anything fails or a signal
arrives, what was renamed is restored, temporary files and the directories
the run created are removed, and the error goes on. Temporary files of
layergen's naming left by a killed run are removed by the next run that locks
their directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import signal
import stat
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from layergen.errors import ConflictError, WriteError
from layergen.files.plan import (
    CHANGED,
    CONFLICT,
    CREATE,
    PlannedFile,
    check_path_text,
)
from layergen.files.reading import GENERATED_LIMIT, UnreadableFile, read_text

_TEMP_INFIX = ".layergen-"
_STALE_TEMP = re.compile(r"\A\..+\.layergen-[a-z0-9_]{8}\.tmp\Z")
_held = threading.local()  # the directories this thread has locked


def write_plan(files: Sequence[PlannedFile]) -> list[PlannedFile]:
    """Write created and changed files; refuse the whole plan on any conflict."""
    conflicts = [f for f in files if f.status == CONFLICT]
    if conflicts:
        raise ConflictError([(f.path, f.reason) for f in conflicts])
    written = [f for f in files if f.status in (CREATE, CHANGED)]
    if written:
        with locked(f.path.parent for f in written):
            _write_all(written)
    return written


def write_text(
    path: Path, content: str, *, replaces: Callable[[str], bool] = lambda old: True
) -> None:
    """Write one file atomically, as a plan would: created, or replacing a
    regular file whose text ``replaces`` accepts; never over a symbolic link,
    a FIFO, a device or a directory."""
    check_path_text(path, "output path")
    try:
        old: str | None = read_text(path, limit=GENERATED_LIMIT, follow_symlinks=False)
    except FileNotFoundError:
        old = None
    except UnreadableFile as exc:
        raise ConflictError(
            [(path, f"{exc.strerror}; refusing to replace it")]
        ) from None
    except (OSError, UnicodeDecodeError):
        raise ConflictError([(path, "exists and cannot be read")]) from None
    if old is not None and not replaces(old):
        reason = "exists and is not an earlier copy of this output; not replaced"
        raise ConflictError([(path, reason)])
    status = CREATE if old is None else CHANGED
    write_plan([PlannedFile(path, content, status, old=old)])


@contextlib.contextmanager
def locked(directories: Iterable[Path]) -> Iterator[None]:
    """Create ``directories`` if needed and hold an exclusive lock on each
    (in a fixed order, so two runs cannot deadlock); remove stale temporary
    files in them. A directory this created and left empty is removed again.
    Re-entrant within a thread."""
    held: set[Path] = getattr(_held, "paths", set())
    _held.paths = held
    wanted = sorted({Path(os.path.abspath(d)) for d in directories} - held)
    created: list[Path] = []
    with contextlib.ExitStack() as stack:
        stack.callback(_remove_empty, created)
        try:
            for directory in wanted:
                created += _make_directories(directory)
                fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
                stack.callback(os.close, fd)
                fcntl.flock(fd, fcntl.LOCK_EX)
                held.add(directory)
                stack.callback(held.discard, directory)
                _remove_stale_temps(directory)
        except OSError as exc:
            raise _write_error(exc) from None
        yield


def _write_all(files: Sequence[PlannedFile]) -> None:
    """Phase one: every file to a temporary file; phase two: rename them all.
    Any failure, or a signal, undoes both phases."""
    temps: dict[Path, str] = {}
    modes: dict[Path, int] = {}
    replaced: list[PlannedFile] = []
    created: list[Path] = []
    try:
        for planned in files:
            created += _make_directories(planned.path.parent)
            modes[planned.path] = _mode_for(planned.path)
            temps[planned.path] = _write_temp(
                planned.path, planned.content, modes[planned.path]
            )
        for planned in files:
            replaced.append(planned)  # first: a signal may come just after
            os.replace(temps[planned.path], planned.path)
            del temps[planned.path]
    except BaseException as exc:
        with _signals_blocked():
            for temp in temps.values():
                with contextlib.suppress(OSError):
                    os.unlink(temp)
            for planned in reversed(replaced):
                _restore(planned, modes[planned.path])
            _remove_empty(created)
        if isinstance(exc, OSError):
            raise _write_error(exc) from None
        raise


def _write_temp(path: Path, content: str, mode: int) -> str:
    fd, temp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}{_TEMP_INFIX}", suffix=".tmp"
    )
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return temp


def _restore(planned: PlannedFile, mode: int) -> None:
    """Put back what ``planned`` replaced: the old content, or no file."""
    with contextlib.suppress(OSError):
        if planned.status == CREATE or planned.old is None:
            os.unlink(planned.path)
        else:
            os.replace(_write_temp(planned.path, planned.old, mode), planned.path)


def _mode_for(path: Path) -> int:
    """An existing file keeps its permissions; a new one gets 0666 & ~umask."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return 0o666 & ~current_umask()
    return stat.S_IMODE(info.st_mode) if stat.S_ISREG(info.st_mode) else 0o644


def current_umask() -> int:
    """The process's umask, read without changing it where Linux allows."""
    with (
        contextlib.suppress(OSError, ValueError),
        open("/proc/self/status", encoding="ascii") as status,
    ):
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _make_directories(directory: Path) -> list[Path]:
    """``mkdir -p``; returns the directories it created, outermost first."""
    missing = []
    for candidate in [directory, *directory.parents]:
        if candidate.exists() or candidate.is_symlink():
            break
        missing.append(candidate)
    for candidate in reversed(missing):
        candidate.mkdir(exist_ok=True)
    return list(reversed(missing))


def _remove_empty(created: Sequence[Path]) -> None:
    for directory in reversed(created):
        with contextlib.suppress(OSError):
            directory.rmdir()


def _remove_stale_temps(directory: Path) -> None:
    """Temporary files of layergen's naming in a directory this run has
    locked: no other run can be writing them, so a killed run left them."""
    with os.scandir(directory) as entries:
        for entry in entries:
            if _STALE_TEMP.match(entry.name) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    """SIGINT and SIGTERM wait while a rollback runs."""
    block = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, block)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _write_error(exc: OSError) -> WriteError:
    where = exc.filename or "a file"
    reason = exc.strerror or type(exc).__name__
    return WriteError(f"cannot write {where}: {reason}; nothing was written")
