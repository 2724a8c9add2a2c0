"""Where layergen keeps what it can recompute: black's output, compiled templates.

Everything here is keyed by content, so a stale entry is never used, and a
cache that cannot be read or written only costs time. The root is
``$LAYERGEN_CACHE_DIR`` (default ``$XDG_CACHE_HOME/layergen``, else
``~/.cache/layergen``).

The cache is not trusted. black's output is verified before use (see
``formatting``). A compiled template is code (Jinja2 stores it with pickle
and marshal), so loading a forged one would run it: each entry carries an
HMAC-SHA256 under a key that lives *beside* the cache directory
(``<root>.key``, mode 0600, made on first use), never inside it, and an entry
whose HMAC does not verify is not unpickled; the template is compiled again.
A cache restored from elsewhere (a CI cache store) without its key is
therefore only a cache of black's output.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import os
import secrets
import stat
import tempfile
from pathlib import Path

import jinja2
import jinja2.bccache

from layergen.files.reading import read_bytes

KEY_BYTES = 32
_MAC_BYTES = hashlib.sha256().digest_size
_TEMPLATE_LIMIT = 4 << 20


def cache_root() -> Path:
    default = (
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "layergen"
    )
    return Path(os.environ.get("LAYERGEN_CACHE_DIR", default))


def key_path() -> Path:
    """The compiled templates' key: beside the cache directory, not in it."""
    root = cache_root()
    return root.with_name(f"{root.name}.key")


def cache_key() -> bytes | None:
    """This user's key, made on first use; None where it cannot be read or
    made, or where it is not a private file of this user's."""
    path = key_path()
    with contextlib.suppress(FileNotFoundError):
        return _read_key(path)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path, flags, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(KEY_BYTES))
    with contextlib.suppress(OSError):  # ours, or one made at the same time
        return _read_key(path)
    return None


def _read_key(path: Path) -> bytes | None:
    try:
        info = os.lstat(path)
        if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
            return None
        key = read_bytes(path, limit=KEY_BYTES, follow_symlinks=False)
    except FileNotFoundError:
        raise
    except OSError:
        return None
    return key if len(key) == KEY_BYTES else None


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()


class TemplateCache(jinja2.BytecodeCache):
    """Jinja2's compiled templates on disk (keyed by the template's name,
    file and ``salt``, and checked against its source's checksum), so a run
    need not compile the templates again; each entry is signed, and read and
    write failures are ignored. ``salt`` names the environment's rules: code
    compiled under other rules (another ``finalize``) is never reused."""

    def __init__(self, salt: str = "") -> None:
        self.directory = cache_root() / "templates"
        self.salt = salt

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        key = f"{self.salt}|{name}|{filename or ''}"
        return hashlib.sha256(key.encode("utf-8")).hexdigest()

    def _path(self, bucket: jinja2.bccache.Bucket) -> Path:
        return self.directory / f"{bucket.key}.signed"

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        key = cache_key()
        if key is None:
            return
        try:
            data = read_bytes(
                self._path(bucket), limit=_TEMPLATE_LIMIT, follow_symlinks=False
            )
        except OSError:
            return
        mac, payload = data[:_MAC_BYTES], data[_MAC_BYTES:]
        if hmac.compare_digest(mac, _mac(key, payload)):
            bucket.load_bytecode(io.BytesIO(payload))

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        key = cache_key()
        if key is None:
            return
        payload = bucket.bytecode_to_string()
        with contextlib.suppress(OSError):
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(_mac(key, payload) + payload)
                os.replace(temp, self._path(bucket))
            except OSError:
                os.unlink(temp)
                raise
