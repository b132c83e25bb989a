"""The object store on S3 or MinIO, through the minio client."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import BinaryIO
from urllib.parse import urlsplit

import certifi
import urllib3
from minio import Minio
from minio.deleteobjects import DeleteObject
from minio.error import MinioException, S3Error
from urllib3 import BaseHTTPResponse

from storage.objects import (
    ObjectInfo,
    ObjectStore,
    validate_expiry,
    validate_key,
    validate_prefix,
)
from veza.errors import ConfigError, InputError, ObjectNotFoundError, StoreError

# Parts of a stream of unknown length are read into memory one at a time (S3 minimum: 5 MiB).
PART_SIZE = 8 * 1024 * 1024
_DELETE_BATCH = 1000
_NOT_FOUND_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "NoSuchObject", "ResourceNotFound"})


@contextlib.contextmanager
def _translated(what: str) -> Iterator[None]:
    """Turn minio and urllib3 exceptions raised while working on what into Veza errors."""
    try:
        yield
    except S3Error as exc:
        if exc.code in _NOT_FOUND_CODES:
            raise ObjectNotFoundError(f"no object under key {what!r} ({exc.code})") from exc
        raise StoreError(f"object store refused {what!r}: {exc.code}: {exc.message}") from exc
    except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
        raise StoreError(f"object store failed on {what!r}: {exc}") from exc


def _http_client() -> urllib3.PoolManager:
    # minio's default waits 5 minutes per attempt and retries 5 times; fail within seconds instead.
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=5.0, read=60.0),
        maxsize=10,
        cert_reqs="CERT_REQUIRED",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        retries=urllib3.Retry(
            total=3,
            connect=2,
            read=1,
            backoff_factor=0.2,
            status_forcelist=[500, 502, 503, 504],
        ),
    )


def _host(endpoint: str, secure: bool) -> tuple[str, bool]:
    """Split "http(s)://host:port" or "host:port" into the host:port and whether to use TLS."""
    if "://" not in endpoint:
        return endpoint.rstrip("/"), secure
    parts = urlsplit(endpoint)
    if parts.scheme not in {"http", "https"} or parts.path.strip("/") or not parts.netloc:
        raise ConfigError(f"S3 endpoint must be host:port or an http(s) origin, got {endpoint!r}")
    return parts.netloc, parts.scheme == "https"


class _CountingReader:
    """Count the bytes read from a stream and refuse one that ends before its stated length."""

    def __init__(self, source: BinaryIO, length: int | None) -> None:
        self._source = source
        self._length = length
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        chunk = bytes(self._source.read(size))
        self.count += len(chunk)
        if not chunk and size != 0 and self._length is not None and self.count < self._length:
            raise InputError(f"stream ended after {self.count} of {self._length} bytes")
        return chunk


class S3Store(ObjectStore):
    """Objects in one bucket of an S3-compatible server."""

    def __init__(
        self,
        *,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        region: str = "us-east-1",
        secure: bool = False,
        public_endpoint: str | None = None,
    ) -> None:
        host, tls = _host(endpoint, secure)
        self.endpoint = host
        self.bucket = bucket
        self.region = region
        # An explicit region keeps minio from asking the server for the bucket's location.
        self._client = Minio(host, access_key=access_key, secret_key=secret_key, secure=tls,
                             region=region, http_client=_http_client())
        if public_endpoint:
            public_host, public_tls = _host(public_endpoint, secure)
            # Only signs URLs, offline: it never sends a request.
            self._signer = Minio(public_host, access_key=access_key, secret_key=secret_key,
                                 secure=public_tls, region=region, http_client=_http_client())
        else:
            self._signer = self._client

    def __repr__(self) -> str:
        return f"S3Store(endpoint={self.endpoint!r}, bucket={self.bucket!r})"

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist."""
        with _translated(self.bucket):
            if self._client.bucket_exists(self.bucket):
                return
            try:
                self._client.make_bucket(self.bucket, location=self.region)
            except S3Error as exc:
                if exc.code != "BucketAlreadyOwnedByYou":  # created meanwhile by another process
                    raise

    def _put(
        self, key: str, data: BinaryIO, *, length: int | None, content_type: str
    ) -> ObjectInfo:
        reader = _CountingReader(data, length)
        with _translated(key):
            result = self._client.put_object(
                self.bucket,
                key,
                reader,  # type: ignore[arg-type]
                length=-1 if length is None else length,
                content_type=content_type,
                part_size=0 if length is not None else PART_SIZE,
                # One part in memory at a time, and failures surface in this thread.
                num_parallel_uploads=1,
            )
        etag = (result.etag or "").strip('"')
        modified = result.last_modified or datetime.now(UTC)
        return ObjectInfo(key, reader.count, etag, content_type, modified)

    def get(self, key: str) -> bytes:
        """Return the whole object."""
        return b"".join(self.iter_chunks(key, chunk_size=self.download_chunk))

    def get_range(self, key: str, offset: int, length: int | None = None) -> bytes:
        """Return up to length bytes from offset (to the end when length is None)."""
        return b"".join(
            self.iter_chunks(key, offset=offset, length=length, chunk_size=self.download_chunk)
        )

    def _chunks(
        self, key: str, offset: int, length: int | None, chunk_size: int
    ) -> Iterator[bytes]:
        if length == 0:
            self.stat(key)  # still say when the object is missing
            return
        with _translated(key):
            try:
                response = self._open(key, offset, length)
            except S3Error as exc:
                # Real S3 reads an offset past the end as empty and clamps a range past the end;
                # nanio refuses both (InvalidArgument). Answer as S3 and a file would.
                if exc.code not in {"InvalidRange", "InvalidArgument"}:
                    raise
                size = self.stat(key).size
                if offset >= size:
                    return
                if length is None or offset + length <= size:
                    raise
                response = self._open(key, offset, size - offset)
            try:
                yield from response.stream(chunk_size)
            finally:
                response.close()
                response.release_conn()

    def _open(self, key: str, offset: int, length: int | None) -> BaseHTTPResponse:
        # minio reads length=0 as "to the end".
        return self._client.get_object(self.bucket, key, offset=offset, length=length or 0)

    def stat(self, key: str) -> ObjectInfo:
        """Return the object's metadata."""
        validate_key(key)
        with _translated(key):
            obj = self._client.stat_object(self.bucket, key)
        return ObjectInfo(
            key=key,
            size=obj.size or 0,
            etag=(obj.etag or "").strip('"'),
            content_type=obj.content_type or "application/octet-stream",
            modified=obj.last_modified or datetime.now(UTC),
        )

    def exists(self, key: str) -> bool:
        """Return whether an object is stored under key."""
        try:
            self.stat(key)
        except ObjectNotFoundError:
            return False
        return True

    def _list(self, prefix: str) -> Iterator[ObjectInfo]:
        with _translated(prefix or self.bucket):
            for obj in self._client.list_objects(self.bucket, prefix=prefix or None,
                                                 recursive=True):
                if obj.is_dir or obj.object_name is None:
                    continue
                yield ObjectInfo(
                    key=obj.object_name,
                    size=obj.size or 0,
                    etag=(obj.etag or "").strip('"'),
                    content_type="",
                    modified=obj.last_modified or datetime.now(UTC),
                )

    def delete(self, key: str) -> None:
        """Delete the object; deleting a missing key does nothing."""
        validate_key(key)
        with _translated(key):
            try:
                self._client.remove_object(self.bucket, key)
            except S3Error as exc:
                if exc.code not in _NOT_FOUND_CODES - {"NoSuchBucket"}:
                    raise

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under prefix and return how many were deleted."""
        validate_prefix(prefix)
        # List everything first: deleting while paging could make a server skip keys.
        keys = [info.key for info in self._list(prefix)]
        for start in range(0, len(keys), _DELETE_BATCH):
            batch = [DeleteObject(key) for key in keys[start : start + _DELETE_BATCH]]
            with _translated(prefix):
                # remove_objects is lazy: nothing is deleted until its errors are read.
                errors = list(self._client.remove_objects(self.bucket, batch))
            if errors:
                first = errors[0]
                raise StoreError(
                    f"could not delete {len(errors)} objects under {prefix!r}, "
                    f"first {first.name!r}: {first.code}: {first.message}"
                )
        return len(keys)

    def presign_get(self, key: str, *, expires_s: int) -> str:
        """Return a URL that anyone can GET without credentials for expires_s seconds."""
        validate_key(key)
        validate_expiry(expires_s)
        with _translated(key):
            return self._signer.presigned_get_object(
                self.bucket, key, expires=timedelta(seconds=expires_s)
            )
