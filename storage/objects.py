"""The object store interface: keys, object metadata and the operations every back end offers."""

from __future__ import annotations

import abc
import io
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from veza.errors import InputError

MAX_KEY_BYTES = 1024
# S3 caps presigned URLs at seven days; the local store keeps the same bounds.
MAX_EXPIRES_S = 7 * 24 * 3600
DEFAULT_CHUNK_SIZE = 256 * 1024


@dataclass(frozen=True)
class ObjectInfo:
    """What the store knows about one object.

    ``content_type`` is the type given at put time; objects yielded by ``list()`` carry ``""``
    because S3 listings do not report it (call ``stat()`` when it matters). ``etag`` has no quotes.
    ``modified`` is timezone-aware UTC.
    """

    key: str
    size: int
    etag: str
    content_type: str
    modified: datetime


class ObjectStore(abc.ABC):
    """A flat namespace of ``/``-separated keys holding bytes and a content type.

    The port every back end implements: the checks and the streaming shared by all of them are
    here, each back end supplies the primitives (``_put``, ``_chunks``, ``_list`` and the rest).
    """

    #: Bytes read at a time by :meth:`download`.
    download_chunk = 1024 * 1024

    def put(
        self,
        key: str,
        data: bytes | BinaryIO,
        *,
        content_type: str,
        length: int | None = None,
    ) -> ObjectInfo:
        """Store bytes or stream a binary file object under key, replacing any object there."""
        validate_key(key)
        validate_content_type(content_type)
        if isinstance(data, bytes | bytearray | memoryview):
            if length is not None and length != len(data):
                raise InputError(f"length {length} does not match {len(data)} bytes of data")
            length = len(data)
            data = io.BytesIO(bytes(data))
        elif length is not None and length < 0:
            raise InputError(f"length must not be negative, got {length}")
        return self._put(key, data, length=length, content_type=content_type)

    def put_file(self, key: str, path: str | os.PathLike[str], *, content_type: str) -> ObjectInfo:
        """Stream a local file into the store under key."""
        validate_key(key)
        with open(path, "rb") as source:
            return self.put(key, source, content_type=content_type,
                            length=os.fstat(source.fileno()).st_size)

    @abc.abstractmethod
    def get(self, key: str) -> bytes:
        """Return the whole object."""

    @abc.abstractmethod
    def get_range(self, key: str, offset: int, length: int | None = None) -> bytes:
        """Return up to length bytes from offset (to the end when length is None)."""

    def download(self, key: str, path: str | os.PathLike[str]) -> None:
        """Stream the object into a local file, replacing it atomically."""
        write_atomically(path, self.iter_chunks(key, chunk_size=self.download_chunk))

    def iter_chunks(
        self,
        key: str,
        *,
        offset: int = 0,
        length: int | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> Iterator[bytes]:
        """Open the object now and stream it in chunks of at most chunk_size bytes."""
        validate_key(key)
        validate_range(offset, length)
        if chunk_size < 1:
            raise InputError(f"chunk_size must be positive, got {chunk_size}")
        return start_eagerly(self._chunks(key, offset, length, chunk_size))

    @abc.abstractmethod
    def stat(self, key: str) -> ObjectInfo:
        """Return the object's metadata."""

    @abc.abstractmethod
    def exists(self, key: str) -> bool:
        """Return whether an object is stored under key."""

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Yield every object under prefix, recursively, sorted by key."""
        validate_prefix(prefix)
        return self._list(prefix)

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Delete the object; deleting a missing key does nothing."""

    @abc.abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under prefix and return how many were deleted."""

    @abc.abstractmethod
    def presign_get(self, key: str, *, expires_s: int) -> str:
        """Return a URL that anyone can GET without credentials for expires_s seconds."""

    @abc.abstractmethod
    def ensure_bucket(self) -> None:
        """Create the bucket (or root directory) if it does not exist."""

    # -- what each back end supplies -------------------------------------------------------

    @abc.abstractmethod
    def _put(
        self, key: str, data: BinaryIO, *, length: int | None, content_type: str
    ) -> ObjectInfo:
        """Store a checked stream of ``length`` bytes (None: to its end) under a checked key."""

    @abc.abstractmethod
    def _chunks(
        self, key: str, offset: int, length: int | None, chunk_size: int
    ) -> Iterator[bytes]:
        """Yield a checked range of the object in chunks of at most ``chunk_size`` bytes."""

    @abc.abstractmethod
    def _list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Yield every object under a checked prefix, sorted by key."""


def validate_key(key: str) -> str:
    """Return key unchanged, or raise InputError naming it when it cannot be an object key."""
    reason = _key_problem(key)
    if reason:
        raise InputError(f"invalid object key {key!r}: {reason}", code="bad_key")
    return key


def validate_prefix(prefix: str) -> str:
    """Return prefix unchanged if it is "" or a valid key plus "/"; else raise InputError."""
    if prefix == "":
        return prefix
    if not isinstance(prefix, str) or not prefix.endswith("/"):
        raise InputError(f"invalid key prefix {prefix!r}: must be empty or end with '/'",
                         code="bad_key")
    reason = _key_problem(prefix[:-1])
    if reason:
        raise InputError(f"invalid key prefix {prefix!r}: {reason}", code="bad_key")
    return prefix


def validate_range(offset: int, length: int | None) -> None:
    """Raise InputError when a byte range is negative."""
    if offset < 0:
        raise InputError(f"offset must not be negative, got {offset}")
    if length is not None and length < 0:
        raise InputError(f"length must not be negative, got {length}")


def validate_expiry(expires_s: int) -> None:
    """Raise InputError when a signed URL lifetime is outside 1 s .. 7 days."""
    if not 1 <= expires_s <= MAX_EXPIRES_S:
        raise InputError(f"expires_s must be between 1 and {MAX_EXPIRES_S}, got {expires_s}")


def validate_content_type(content_type: str) -> None:
    """Raise InputError when a content type is empty or spans lines."""
    if not content_type or any(c in content_type for c in "\r\n\x00"):
        raise InputError(f"invalid content type {content_type!r}")


def start_eagerly(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Run a chunk generator up to its first chunk now, so opening errors raise here."""
    try:
        first = next(chunks)
    except StopIteration:
        return iter(())
    return _prepend(first, chunks)


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def write_atomically(path: str | os.PathLike[str], chunks: Iterable[bytes]) -> None:
    """Write chunks to a temporary file beside path, then rename it over path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _key_problem(key: object) -> str | None:
    if not isinstance(key, str):
        return "must be a string"
    if not key:
        return "must not be empty"
    if "\\" in key:
        return "must not contain a backslash"
    if "\x00" in key:
        return "must not contain a NUL character"
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        return "must be valid Unicode"
    if size > MAX_KEY_BYTES:
        return f"longer than {MAX_KEY_BYTES} bytes"
    if key.startswith("/"):
        return "must not start with '/'"
    for segment in key.split("/"):
        if segment == "":
            return "must not contain an empty segment"
        if segment in {".", ".."}:
            return f"must not contain a {segment!r} segment"
    return None
