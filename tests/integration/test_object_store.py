"""One contract for every object store: the local directory and S3 (on nanio)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO, cast
from urllib.parse import parse_qs, quote, unquote, urlsplit, urlunsplit

import pytest
import requests

from storage.local import LocalStore
from storage.objects import ObjectStore
from storage.s3 import PART_SIZE, S3Store
from tests.plugins.s3 import S3Server, free_port, make_s3_store
from veza.errors import InputError, ObjectNotFoundError, SignatureError, StoreError

pytestmark = pytest.mark.integration

MiB = 1024 * 1024


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest) -> ObjectStore:
    """Return each store in turn, empty."""
    return request.getfixturevalue("local_store" if request.param == "local" else "s3_store")


class GeneratedStream:
    """A file object whose bytes are made as they are read, remembering every read size."""

    def __init__(self, total: int, block: int = 64 * 1024) -> None:
        self._left = total
        self._block = block
        self._counter = 0
        self._buffer = b""
        self.read_sizes: list[int] = []
        self.sha256 = hashlib.sha256()

    def _next_block(self) -> bytes:
        self._counter += 1
        seed = hashlib.sha256(self._counter.to_bytes(8, "big")).digest()
        block = (seed * (self._block // len(seed) + 1))[: min(self._block, self._left)]
        self._left -= len(block)
        self.sha256.update(block)
        return block

    def read(self, size: int | None = -1) -> bytes:
        self.read_sizes.append(-1 if size is None else size)
        if size is None or size < 0:
            while self._left:
                self._buffer += self._next_block()
            out, self._buffer = self._buffer, b""
            return out
        if not self._buffer and self._left:
            self._buffer = self._next_block()
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out


def as_file(stream: GeneratedStream) -> BinaryIO:
    """Return stream typed as the binary file object it imitates."""
    return cast(BinaryIO, stream)


# --- writing and reading ---------------------------------------------------------------------


def test_put_bytes_reports_what_stat_reports(store: ObjectStore) -> None:
    info = store.put("originals/t1/source.flac", b"fLaC audio", content_type="audio/flac")
    stat = store.stat("originals/t1/source.flac")

    assert (info.key, info.size) == ("originals/t1/source.flac", 10)
    assert info.content_type == "audio/flac"
    assert (stat.key, stat.size, stat.etag, stat.content_type) == (
        info.key, info.size, info.etag, info.content_type
    )
    assert info.etag == hashlib.md5(b"fLaC audio").hexdigest()
    assert abs(stat.modified - datetime.now(UTC)) < timedelta(minutes=1)
    assert store.get("originals/t1/source.flac") == b"fLaC audio"


def test_put_streams_a_file_object_of_unknown_length(store: ObjectStore) -> None:
    total = PART_SIZE + 3 * MiB + 17  # more than one S3 part: a multipart upload
    stream = GeneratedStream(total)

    info = store.put("originals/t2/source.wav", as_file(stream), content_type="audio/wav")

    # Streamed: never asked for everything at once, never for more than a part and a byte.
    assert min(stream.read_sizes) >= 0
    assert max(stream.read_sizes) <= PART_SIZE + 1
    assert info.size == total == store.stat("originals/t2/source.wav").size
    assert hashlib.sha256(store.get("originals/t2/source.wav")).digest() == stream.sha256.digest()
    assert store.stat("originals/t2/source.wav").content_type == "audio/wav"


def test_put_stream_of_known_length(store: ObjectStore) -> None:
    stream = GeneratedStream(300_000)
    info = store.put("a/known", as_file(stream), content_type="audio/mpeg", length=300_000)
    assert info.size == 300_000
    assert hashlib.sha256(store.get("a/known")).digest() == stream.sha256.digest()


def test_put_refuses_a_stream_shorter_than_its_length(store: ObjectStore) -> None:
    with pytest.raises(InputError, match="stream ended after 1000 of 2000 bytes"):
        store.put("a/short", as_file(GeneratedStream(1000)), content_type="audio/mpeg",
                  length=2000)
    assert not store.exists("a/short")


def test_put_replaces_content_and_content_type(store: ObjectStore) -> None:
    store.put("a/x", b"first version", content_type="text/plain")
    store.put("a/x", b"second", content_type="application/json")
    assert store.get("a/x") == b"second"
    assert store.stat("a/x").content_type == "application/json"
    assert store.stat("a/x").size == 6


def test_put_file_and_download_round_trip(store: ObjectStore, tmp_path: Path) -> None:
    source = tmp_path / "in.m4s"
    source.write_bytes(bytes(range(256)) * 4000)
    info = store.put_file("hls/t3/128k/seg_00001.m4s", source, content_type="video/iso.segment")
    assert info.size == 1_024_000

    target = tmp_path / "deep" / "er" / "out.m4s"
    store.download("hls/t3/128k/seg_00001.m4s", target)
    assert target.read_bytes() == source.read_bytes()

    store.put("hls/t3/128k/seg_00001.m4s", b"short", content_type="video/iso.segment")
    store.download("hls/t3/128k/seg_00001.m4s", target)
    assert target.read_bytes() == b"short"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.m4s"]  # no temp left behind


def test_get_range(store: ObjectStore) -> None:
    store.put("a/r", b"0123456789", content_type="application/octet-stream")
    assert store.get_range("a/r", 3, 4) == b"3456"
    assert store.get_range("a/r", 7) == b"789"
    assert store.get_range("a/r", 0) == b"0123456789"
    assert store.get_range("a/r", 8, 100) == b"89"
    assert store.get_range("a/r", 10) == b""
    assert store.get_range("a/r", 50, 5) == b""
    assert store.get_range("a/r", 2, 0) == b""


def test_get_range_refuses_negative_numbers(store: ObjectStore) -> None:
    store.put("a/r", b"0123456789", content_type="application/octet-stream")
    with pytest.raises(InputError, match="offset must not be negative, got -1"):
        store.get_range("a/r", -1)
    with pytest.raises(InputError, match="length must not be negative, got -2"):
        store.get_range("a/r", 0, -2)


def test_iter_chunks(store: ObjectStore) -> None:
    data = bytes(range(256)) * 1000
    store.put("a/c", data, content_type="application/octet-stream")

    chunks = list(store.iter_chunks("a/c", chunk_size=10_000))
    assert b"".join(chunks) == data
    assert len(chunks) >= 26 and all(len(chunk) <= 10_000 for chunk in chunks)

    part = list(store.iter_chunks("a/c", offset=1000, length=25_000, chunk_size=4096))
    assert b"".join(part) == data[1000:26_000]
    assert all(len(chunk) <= 4096 for chunk in part)


def test_iter_chunks_can_be_abandoned(store: ObjectStore) -> None:
    store.put("a/c", b"x" * 100_000, content_type="application/octet-stream")
    chunks = store.iter_chunks("a/c", chunk_size=1000)
    assert next(chunks) == b"x" * 1000
    del chunks
    assert store.get("a/c") == b"x" * 100_000  # the connection went back to the pool in order


def test_keys_with_spaces_and_unicode(store: ObjectStore) -> None:
    key = "hls/ünï cödé/seg 1+2.m4s"
    store.put(key, b"data", content_type="video/iso.segment")
    assert store.get(key) == b"data"
    assert [info.key for info in store.list("hls/")] == [key]


# --- stat, exists, list, delete --------------------------------------------------------------


def test_exists(store: ObjectStore) -> None:
    assert not store.exists("a/b")
    store.put("a/b", b"1", content_type="text/plain")
    assert store.exists("a/b")
    assert not store.exists("a")  # a prefix is not an object


def test_list_is_recursive_sorted_and_respects_segment_boundaries(store: ObjectStore) -> None:
    for key in ["a/b/2/3", "a/bc", "a/b/1", "top", "a/b.txt", "b/x", "a/b/10"]:
        store.put(key, key.encode(), content_type="text/plain")

    assert [info.key for info in store.list("a/b/")] == ["a/b/1", "a/b/10", "a/b/2/3"]
    assert [info.key for info in store.list()] == [
        "a/b.txt", "a/b/1", "a/b/10", "a/b/2/3", "a/bc", "b/x", "top"
    ]
    assert list(store.list("nothing/here/")) == []
    [info] = store.list("b/")
    assert (info.key, info.size, info.etag) == ("b/x", 3, hashlib.md5(b"b/x").hexdigest())
    # Listings do not carry content types (S3 reports none); stat() does.
    assert info.content_type == ""


def test_delete_is_idempotent(store: ObjectStore) -> None:
    store.put("a/b", b"1", content_type="text/plain")
    store.put("a/bb", b"2", content_type="text/plain")
    store.delete("a/b")
    store.delete("a/b")
    store.delete("never/was")
    assert not store.exists("a/b")
    assert store.get("a/bb") == b"2"


def test_delete_prefix(store: ObjectStore) -> None:
    for key in ["hls/t1/master.m3u8", "hls/t1/64k/seg_1.m4s", "hls/t1/64k/seg_2.m4s",
                "hls/t10/master.m3u8", "hls/t1x"]:
        store.put(key, b"#", content_type="text/plain")

    assert store.delete_prefix("hls/t1/") == 3
    assert [info.key for info in store.list()] == ["hls/t10/master.m3u8", "hls/t1x"]
    assert store.delete_prefix("hls/t1/") == 0


def test_a_key_can_reuse_a_deleted_prefix(store: ObjectStore) -> None:
    store.put("a/b/c", b"1", content_type="text/plain")
    store.delete("a/b/c")
    store.put("a/b", b"2", content_type="text/plain")
    assert store.get("a/b") == b"2"


READERS: dict[str, Callable[[ObjectStore, str, Path], object]] = {
    "get": lambda s, k, p: s.get(k),
    "get_range": lambda s, k, p: s.get_range(k, 1, 2),
    "stat": lambda s, k, p: s.stat(k),
    "download": lambda s, k, p: s.download(k, p / "out"),
    "iter_chunks": lambda s, k, p: s.iter_chunks(k),
}


@pytest.mark.parametrize("method", sorted(READERS))
def test_reading_a_missing_key_raises_object_not_found(
    store: ObjectStore, method: str, tmp_path: Path
) -> None:
    store.put("a/other", b"x", content_type="text/plain")
    with pytest.raises(ObjectNotFoundError, match="no object under key 'a/missing'"):
        READERS[method](store, "a/missing", tmp_path)
    assert not (tmp_path / "out").exists()


# --- bad keys --------------------------------------------------------------------------------

BAD_KEYS = ["../x", "/abs", "a//b", "a/./b", "", "a\\b", "a/", "a/..", "nul\x00", "k" * 1025]

ALL_METHODS: dict[str, Callable[[ObjectStore, str, Path], object]] = {
    **READERS,
    "put": lambda s, k, p: s.put(k, b"x", content_type="text/plain"),
    "put_file": lambda s, k, p: s.put_file(k, p / "src", content_type="text/plain"),
    "exists": lambda s, k, p: s.exists(k),
    "delete": lambda s, k, p: s.delete(k),
    "presign_get": lambda s, k, p: s.presign_get(k, expires_s=60),
}


@pytest.mark.parametrize("key", BAD_KEYS, ids=repr)
@pytest.mark.parametrize("method", sorted(ALL_METHODS))
def test_every_method_refuses_invalid_keys(
    store: ObjectStore, method: str, key: str, tmp_path: Path
) -> None:
    (tmp_path / "src").write_bytes(b"x")
    with pytest.raises(InputError, match="invalid object key") as caught:
        ALL_METHODS[method](store, key, tmp_path)
    assert repr(key)[:40] in str(caught.value)


@pytest.mark.parametrize("prefix", ["a", "/a/", "a//", "../", "a/./"])
def test_list_and_delete_prefix_refuse_invalid_prefixes(store: ObjectStore, prefix: str) -> None:
    with pytest.raises(InputError, match="invalid key prefix"):
        store.list(prefix)
    with pytest.raises(InputError, match="invalid key prefix"):
        store.delete_prefix(prefix)


# --- presigned URLs on S3 (nanio checks SigV4 and expiry) ------------------------------------


def _with_query_param(url: str, name: str, change: Callable[[str], str]) -> str:
    parts = urlsplit(url)
    pairs = [pair.split("=", 1) for pair in parts.query.split("&")]
    query = "&".join(f"{k}={change(v) if k == name else v}" for k, v in pairs)
    return urlunsplit(parts._replace(query=query))


def _flip_last(text: str) -> str:
    return text[:-1] + ("0" if text[-1] != "0" else "1")


def test_s3_presigned_get_serves_the_exact_bytes(s3_store: S3Store) -> None:
    data = bytes(range(256)) * 300
    key = "hls/t1/64k/seg 00001.m4s"
    s3_store.put(key, data, content_type="video/iso.segment")

    response = requests.get(s3_store.presign_get(key, expires_s=60), timeout=10)

    assert response.status_code == 200
    assert response.content == data
    assert response.headers["Content-Type"] == "video/iso.segment"


def test_s3_presigned_get_refuses_a_tampered_signature(s3_store: S3Store) -> None:
    s3_store.put("a/seg", b"secret", content_type="video/iso.segment")
    url = _with_query_param(s3_store.presign_get("a/seg", expires_s=60), "X-Amz-Signature",
                            _flip_last)
    response = requests.get(url, timeout=10)
    assert response.status_code == 403
    assert b"secret" not in response.content


def test_s3_presigned_get_refuses_another_key(s3_store: S3Store) -> None:
    s3_store.put("a/seg1", b"one", content_type="video/iso.segment")
    s3_store.put("a/seg2", b"two", content_type="video/iso.segment")
    url = s3_store.presign_get("a/seg1", expires_s=60).replace("/a/seg1?", "/a/seg2?")
    response = requests.get(url, timeout=10)
    assert response.status_code == 403
    assert b"two" not in response.content


def test_s3_presigned_get_expires(s3_store: S3Store) -> None:
    s3_store.put("a/seg", b"secret", content_type="video/iso.segment")
    url = s3_store.presign_get("a/seg", expires_s=1)
    time.sleep(2.1)
    response = requests.get(url, timeout=10)
    assert response.status_code == 403
    assert b"secret" not in response.content


def test_s3_presigns_for_the_public_endpoint_without_a_request(
    s3_store: S3Store, nanio_server: S3Server
) -> None:
    s3_store.put("a/seg", b"public", content_type="video/iso.segment")
    port = nanio_server.endpoint.rsplit(":", 1)[1]
    # The platform's own endpoint is dead: signing must not need it.
    signer = S3Store(endpoint=f"127.0.0.1:{free_port()}", access_key=nanio_server.access_key,
                     secret_key=nanio_server.secret_key, bucket=s3_store.bucket,
                     public_endpoint=f"http://localhost:{port}")

    url = signer.presign_get("a/seg", expires_s=60)

    assert url.startswith(f"http://localhost:{port}/{s3_store.bucket}/a/seg?")
    assert requests.get(url, timeout=10).content == b"public"


def test_presign_refuses_lifetimes_outside_one_second_to_seven_days(store: ObjectStore) -> None:
    for expires_s in (0, -5, 7 * 24 * 3600 + 1):
        with pytest.raises(InputError, match="expires_s must be between 1 and 604800"):
            store.presign_get("a/b", expires_s=expires_s)


# --- signed URLs of the local store ------------------------------------------------------------


def _parse_local(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url)
    query = parse_qs(parts.query, strict_parsing=True)
    assert parts.path.startswith("/files/")
    return unquote(parts.path[len("/files/"):]), query["expires"][0], query["signature"][0]


def test_local_presigned_url_shape_and_verify(local_store: LocalStore) -> None:
    key = "hls/t1/ü 64k/seg+1.m4s"
    local_store.put(key, b"data", content_type="video/iso.segment")
    before = int(time.time())

    url = local_store.presign_get(key, expires_s=600)

    assert url.startswith(f"http://127.0.0.1:8000/files/{quote(key, safe='/')}?expires=")
    parsed_key, expires, signature = _parse_local(url)
    assert parsed_key == key
    assert before + 600 <= int(expires) <= int(time.time()) + 600
    assert len(signature) == 64
    local_store.verify(parsed_key, expires, signature)
    assert local_store.path_for(parsed_key).read_bytes() == b"data"


def test_local_verify_refuses_tampering(local_store: LocalStore) -> None:
    key, expires, signature = _parse_local(local_store.presign_get("a/seg1", expires_s=600))

    with pytest.raises(SignatureError, match="signature does not match"):
        local_store.verify(key, expires, _flip_last(signature))
    with pytest.raises(SignatureError, match="signature does not match"):
        local_store.verify("a/seg2", expires, signature)
    with pytest.raises(SignatureError, match="signature does not match"):
        local_store.verify(key, str(int(expires) + 3600), signature)
    with pytest.raises(SignatureError, match="signature does not match"):
        local_store.verify(key, "not-a-number", signature)


def test_local_verify_refuses_another_stores_signature(
    local_store: LocalStore, tmp_path: Path
) -> None:
    other = LocalStore(tmp_path / "other", base_url="http://x", signing_key="another key")
    key, expires, signature = _parse_local(other.presign_get("a/seg", expires_s=600))
    with pytest.raises(SignatureError, match="signature does not match"):
        local_store.verify(key, expires, signature)


def test_local_verify_refuses_an_expired_url(local_store: LocalStore) -> None:
    key, expires, signature = _parse_local(local_store.presign_get("a/seg", expires_s=1))
    time.sleep(2.1)
    with pytest.raises(SignatureError, match="URL expired"):
        local_store.verify(key, expires, signature)


def test_local_path_for_refuses_a_symlink_out_of_the_root(
    local_store: LocalStore, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("secret")
    (local_store.root / "objects" / "link").symlink_to(outside)
    with pytest.raises(InputError, match="escapes the store root"):
        local_store.path_for("link/secret")
    with pytest.raises(InputError, match="escapes the store root"):
        local_store.get("link/secret")
    assert list(local_store.list("link/")) == []


def test_local_store_refuses_a_key_below_an_object(local_store: LocalStore) -> None:
    # A file cannot also be a directory: S3 allows "a" beside "a/b", a local disk does not.
    local_store.put("a", b"1", content_type="text/plain")
    with pytest.raises(InputError, match="conflicts with an existing key"):
        local_store.put("a/b", b"2", content_type="text/plain")
    local_store.put("c/d", b"3", content_type="text/plain")
    with pytest.raises(InputError, match="conflicts with an existing key"):
        local_store.put("c", b"4", content_type="text/plain")
    assert [(i.key, local_store.get(i.key)) for i in local_store.list()] == [
        ("a", b"1"), ("c/d", b"3")
    ]
    assert not local_store.exists("c")
    assert sorted(p.name for p in (local_store.root / "tmp").iterdir()) == []


# --- failures of the S3 server -----------------------------------------------------------------


def test_s3_server_down_raises_store_error_quickly(tmp_path: Path) -> None:
    dead = S3Store(endpoint=f"127.0.0.1:{free_port()}", access_key="k", secret_key="s",
                   bucket="veza")
    calls: list[Callable[[], object]] = [
        dead.ensure_bucket,
        lambda: dead.put("a/b", b"x", content_type="text/plain"),
        lambda: dead.get("a/b"),
        lambda: dead.stat("a/b"),
        lambda: dead.exists("a/b"),
        lambda: list(dead.list("a/")),
        lambda: dead.delete("a/b"),
        lambda: dead.download("a/b", tmp_path / "out"),
    ]
    for call in calls:
        started = time.monotonic()
        with pytest.raises(StoreError, match="object store failed") as caught:
            call()
        assert time.monotonic() - started < 15
        assert caught.value.__cause__ is not None


def test_s3_missing_bucket_raises_object_not_found(nanio_server: S3Server) -> None:
    store = S3Store(endpoint=nanio_server.endpoint, access_key=nanio_server.access_key,
                    secret_key=nanio_server.secret_key, bucket="no-such-bucket-here")
    with pytest.raises(ObjectNotFoundError):
        store.get("a/b")


def test_s3_wrong_credentials_raise_store_error(nanio_server: S3Server) -> None:
    store = S3Store(endpoint=nanio_server.endpoint, access_key=nanio_server.access_key,
                    secret_key="wrong", bucket="veza")
    with pytest.raises(StoreError, match="object store refused 'a/b': SignatureDoesNotMatch"):
        store.get("a/b")
    # HEAD answers carry no body, so minio only knows the status.
    with pytest.raises(StoreError, match="object store refused 'a/b': AccessDenied"):
        store.stat("a/b")


def test_moto_server_keeps_the_basic_contract(moto_server: S3Server) -> None:
    store = make_s3_store(moto_server)
    store.put("a/b", b"moto", content_type="audio/flac")
    assert store.get("a/b") == b"moto"
    assert store.stat("a/b").content_type == "audio/flac"
    assert [info.key for info in store.list("a/")] == ["a/b"]
    assert store.delete_prefix("a/") == 1
