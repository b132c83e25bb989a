"""The object store on a local directory, with URLs signed by the API that serves it."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import mimetypes
import os
import stat as stat_mode
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from storage.objects import (
    ObjectInfo,
    ObjectStore,
    validate_expiry,
    validate_key,
    validate_prefix,
    validate_range,
)
from veza.errors import (
    ConfigError,
    InputError,
    ObjectNotFoundError,
    SignatureError,
    StoreError,
)

_COPY_CHUNK = 1024 * 1024
# A rename can race with delete() pruning an emptied parent directory; retry that many times.
_RENAME_ATTEMPTS = 3


@contextlib.contextmanager
def _translated(key: str, *, writing: bool = False) -> Iterator[None]:
    """Turn filesystem errors about key into Veza errors."""
    try:
        yield
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError, FileExistsError) as exc:
        if writing:
            # The path is blocked: an object "a" exists where "a/b" needs a directory, or back.
            raise InputError(
                f"object key {key!r} conflicts with an existing key in the local store",
                code="key_conflict",
            ) from exc
        raise ObjectNotFoundError(f"no object under key {key!r}") from exc
    except OSError as exc:
        raise StoreError(f"local object store failed on {key!r}: {exc}") from exc


class LocalStore(ObjectStore):
    """Objects as files under ``root/objects``, content types and ETags in ``root/meta``.

    Writes go to ``root/tmp`` first and are renamed into place, so readers never see half a file.
    """

    def __init__(self, root: Path, *, base_url: str, signing_key: str) -> None:
        if not signing_key:
            raise ConfigError("LocalStore needs a non-empty signing key")
        self.root = Path(root)
        self.base_url = base_url.rstrip("/")
        self._key = signing_key.encode("utf-8")
        self._objects = self.root / "objects"
        self._meta = self.root / "meta"
        self._tmp = self.root / "tmp"

    def __repr__(self) -> str:
        return f"LocalStore(root={str(self.root)!r}, base_url={self.base_url!r})"

    def ensure_bucket(self) -> None:
        """Create the root directory and its subfolders if they do not exist."""
        with _translated(""):
            for folder in (self._objects, self._meta, self._tmp):
                folder.mkdir(parents=True, exist_ok=True)

    def path_for(self, key: str) -> Path:
        """Return the file holding key, refusing any path that resolves outside the root."""
        validate_key(key)
        base = self._objects.resolve()
        path = (self._objects / key).resolve()
        if not path.is_relative_to(base) or path == base:
            raise InputError(f"invalid object key {key!r}: escapes the store root", code="bad_key")
        return path

    def _put(
        self, key: str, data: BinaryIO, *, length: int | None, content_type: str
    ) -> ObjectInfo:
        target = self.path_for(key)
        with _translated(key, writing=True):
            self._tmp.mkdir(parents=True, exist_ok=True)
            fd, tmp_data = tempfile.mkstemp(dir=self._tmp, suffix=".data")
            tmp_meta = tmp_data[: -len(".data")] + ".json"
            try:
                with os.fdopen(fd, "wb") as out:
                    size, md5 = _copy(data, out, length)
                meta = {"content_type": content_type, "etag": md5}
                Path(tmp_meta).write_text(json.dumps(meta))
                self._rename(tmp_meta, self._meta_path(key))
                self._rename(tmp_data, target)
            finally:
                Path(tmp_data).unlink(missing_ok=True)
                Path(tmp_meta).unlink(missing_ok=True)
            modified = _mtime(target.stat())
        return ObjectInfo(key, size, md5, content_type, modified)

    def get(self, key: str) -> bytes:
        """Return the whole object."""
        with _translated(key), open(self._file(key), "rb") as source:
            return source.read()

    def get_range(self, key: str, offset: int, length: int | None = None) -> bytes:
        """Return up to length bytes from offset (to the end when length is None)."""
        validate_range(offset, length)
        with _translated(key), open(self._file(key), "rb") as source:
            source.seek(offset)
            return source.read() if length is None else source.read(length)

    def _chunks(
        self, key: str, offset: int, length: int | None, chunk_size: int
    ) -> Iterator[bytes]:
        with _translated(key):
            source = open(self._file(key), "rb")
        with source:
            source.seek(offset)
            remaining = length
            while remaining is None or remaining > 0:
                want = chunk_size if remaining is None else min(chunk_size, remaining)
                with _translated(key):
                    chunk = source.read(want)
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    def stat(self, key: str) -> ObjectInfo:
        """Return the object's metadata."""
        path = self._file(key)
        with _translated(key):
            st = path.stat()
            if not stat_mode.S_ISREG(st.st_mode):
                raise FileNotFoundError(path)
        content_type, etag = self._read_meta(key, st)
        return ObjectInfo(key, st.st_size, etag, content_type, _mtime(st))

    def exists(self, key: str) -> bool:
        """Return whether an object is stored under key."""
        return self._file(key).is_file()

    def _list(self, prefix: str) -> Iterator[ObjectInfo]:
        with _translated(prefix):
            keys = _walk_keys(self._objects, prefix)
        for key in keys:
            try:
                st = (self._objects / key).stat()
            except FileNotFoundError:
                continue  # deleted while we were listing
            yield ObjectInfo(key, st.st_size, self._read_meta(key, st)[1], "", _mtime(st))

    def delete(self, key: str) -> None:
        """Delete the object; deleting a missing key does nothing."""
        path = self._file(key)
        with _translated(key):
            for file, root in ((path, self._objects), (self._meta_path(key), self._meta)):
                try:
                    file.unlink()
                except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                    continue
                _prune_empty_parents(file, root)

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under prefix and return how many were deleted."""
        validate_prefix(prefix)
        keys = [info.key for info in self._list(prefix)]
        for key in keys:
            self.delete(key)
        return len(keys)

    def presign_get(self, key: str, *, expires_s: int) -> str:
        """Return an API URL that serves the object without credentials for expires_s seconds."""
        validate_key(key)
        validate_expiry(expires_s)
        expires = str(int(time.time()) + expires_s)
        query = f"expires={expires}&signature={self._sign(key, expires)}"
        return f"{self.base_url}/files/{quote(key, safe='/')}?{query}"

    def verify(self, key: str, expires: str, signature: str) -> None:
        """Raise SignatureError unless signature signs (key, expires) and expires is still ahead."""
        validate_key(key)
        if not (expires.isascii() and expires.isdigit()):
            raise SignatureError("signature does not match")
        if not hmac.compare_digest(self._sign(key, expires), signature.lower()):
            raise SignatureError("signature does not match")
        if int(expires) < time.time():
            raise SignatureError("URL expired")

    def _sign(self, key: str, expires: str) -> str:
        # expires is all digits, so the last newline splits the message without ambiguity.
        message = f"{key}\n{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def _file(self, key: str) -> Path:
        return self.path_for(key)

    def _meta_path(self, key: str) -> Path:
        return self._meta / (key + ".json")

    def _read_meta(self, key: str, st: os.stat_result) -> tuple[str, str]:
        try:
            meta = json.loads(self._meta_path(key).read_text())
            return str(meta["content_type"]), str(meta["etag"])
        except (OSError, ValueError, KeyError, TypeError):
            # A file put there by hand: guess rather than fail.
            guessed = mimetypes.guess_type(key)[0] or "application/octet-stream"
            return guessed, f"{st.st_size:x}-{st.st_mtime_ns:x}"

    def _rename(self, source: str, target: Path) -> None:
        for attempt in range(_RENAME_ATTEMPTS):
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(source, target)
                return
            except FileNotFoundError:
                if attempt == _RENAME_ATTEMPTS - 1:
                    raise


def _copy(source: BinaryIO, out: BinaryIO, length: int | None) -> tuple[int, str]:
    md5 = hashlib.md5(usedforsecurity=False)
    size = 0
    while length is None or size < length:
        want = _COPY_CHUNK if length is None else min(_COPY_CHUNK, length - size)
        chunk = source.read(want)
        if not chunk:
            break
        md5.update(chunk)
        out.write(chunk)
        size += len(chunk)
    if length is not None and size < length:
        raise InputError(f"stream ended after {size} of {length} bytes")
    return size, md5.hexdigest()


def _walk_keys(objects: Path, prefix: str) -> list[str]:
    top = objects / prefix if prefix else objects
    if not top.resolve().is_relative_to(objects.resolve()):
        return []  # a symlink out of the root holds no objects of ours
    keys: list[str] = []
    for folder, _dirs, files in os.walk(top):
        rel = Path(folder).relative_to(objects).as_posix()
        base = "" if rel == "." else rel + "/"
        keys.extend(base + name for name in files)
    # Python orders str by code point, which is the UTF-8 byte order S3 lists in.
    return sorted(keys)


def _prune_empty_parents(path: Path, root: Path) -> None:
    for parent in path.parents:
        if parent == root or not parent.is_relative_to(root):
            return
        try:
            parent.rmdir()
        except OSError:
            return


def _mtime(st: os.stat_result) -> datetime:
    return datetime.fromtimestamp(st.st_mtime, UTC)

