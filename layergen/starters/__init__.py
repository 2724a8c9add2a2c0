"""Starter specs for ``layergen init NAME --from KIND``: commented TOML files
shipped in this package, one per kind, with ``__NAME__`` where the class name
goes; the written spec starts with a ``#:schema`` line for editors. Each one
validates and passes its generated tests as written (tests/test_init.py)."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from layergen.errors import LayergenError, SpecError
from layergen.files.plan import check_path_text
from layergen.spec import guards
from layergen.spec.expressions.symbols import did_you_mean
from layergen.spec.json_schema import schema_line
from layergen.spec.validate import PASCAL_CASE, RESERVED, load_spec, snake_case

PLACEHOLDER = "__NAME__"
# kind -> what its starter is; the file is starters/<kind>.toml.
KINDS = {
    "dense": "a fully connected layer, activation(x @ kernel + bias), with a reference",
    "normalization": "RMS normalization over the last axis with a learned scale",
    "attention": "multi-head self-attention with its own q/k/v/output kernels",
    "dropout": "dropout: random in training, the identity at inference",
    "masked-pooling": "the mean over time of a sequence's unmasked steps",
    "recurrent-cell": "a minimal RNN cell for keras.layers.RNN",
    "convolution": "a 2D convolution with a bias and [checks] on the input size",
}


@dataclass(frozen=True)
class Starter:
    kind: str
    name: str
    path: Path
    text: str


def template(kind: str) -> str:
    """The starter's text, with the placeholder."""
    if kind not in KINDS:
        raise LayergenError(
            f"no starter for `{guards.one_line(kind)}`{did_you_mean(kind, KINDS)} "
            f"(the kinds are {', '.join(KINDS)}: layergen init --list)"
        )
    return (resources.files(__name__) / f"{kind}.toml").read_text(encoding="utf-8")


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a generated layer's class name, or None."""
    if problem := guards.name_problem(name, "class name"):
        return problem
    if not PASCAL_CASE.match(name):
        return f"`{name}` is not a PascalCase class name like `SimpleDense`"
    if name in RESERVED:
        return f"class name `{name}` is reserved"
    return guards.module_problem(snake_case(name))


def render(kind: str, name: str) -> str:
    if problem := name_problem(name):
        raise LayergenError(f"NAME: {problem}")
    return template(kind).replace(PLACEHOLDER, name)


def target_path(name: str, output: Path | None) -> Path:
    """``<module>.toml`` in the working directory; ``output`` itself when it
    ends in ``.toml`` (and is not a directory), else ``<module>.toml`` in the
    directory ``output``."""
    default = f"{snake_case(name)}.toml"
    if output is None:
        return Path(default)
    if output.suffix == ".toml" and not output.is_dir():
        return output
    return output / default


def write_starter(kind: str, name: str, output: Path | None = None) -> Starter:
    """Write the starter of ``kind`` for class ``name``; never over an existing
    file, and never a half file: the text goes to a temporary file beside the
    target, is validated there, and is then linked into place (which fails if
    the target appeared meanwhile)."""
    path = target_path(name, output)
    check_path_text(path, "output path")
    text = schema_line(path) + render(kind, name)
    if path.exists() or path.is_symlink():
        raise LayergenError(f"{path}: already exists; refusing to overwrite it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise LayergenError(
            f"{path.parent}: not a directory (-o takes a .toml file or a directory)"
        ) from None
    except OSError as exc:
        raise LayergenError(f"{path}: cannot write: {exc.strerror}") from None
    try:
        fd, temporary = tempfile.mkstemp(
            prefix=f".{path.name}.layergen-", suffix=".tmp", dir=path.parent
        )
    except OSError as exc:
        raise LayergenError(f"{path}: cannot write: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o666 & ~_umask())
        try:
            load_spec(Path(temporary))
        except SpecError as exc:  # a starter must always validate: our bug
            raise LayergenError(
                f"the {kind} starter does not validate for {name}: "
                f"{exc.diagnostics[0].message}"
            ) from None
        _link_new(Path(temporary), path, text)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    return Starter(kind, name, path, text)


def _link_new(temporary: Path, path: Path, text: str) -> None:
    """Give the complete file its name, failing if the name is taken."""
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise LayergenError(
            f"{path}: already exists; refusing to overwrite it"
        ) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
            raise LayergenError(f"{path}: cannot write: {exc.strerror}") from None
        # No hard links here (some network and FUSE file systems): create the
        # name exclusively and remove it again if writing fails.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            raise LayergenError(
                f"{path}: already exists; refusing to overwrite it"
            ) from None
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
        except BaseException:
            os.unlink(path)
            raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
