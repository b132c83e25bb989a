"""The API's one error shape and the signed file route, without any server."""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

from api import create_app
from storage.db import Database
from storage.local import LocalStore
from veza.runtime import Services
from veza.settings import Settings


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    s = LocalStore(tmp_path / "store", base_url="http://testserver",
                   signing_key=secrets.token_hex(32))
    s.ensure_bucket()
    return s


@pytest.fixture
def client(store: LocalStore) -> FlaskClient:
    settings = Settings(public_url="http://testserver")
    # The pool connects lazily: nothing here touches the database.
    services = Services(settings, Database("postgresql://nobody@127.0.0.1:1/none"), store)
    return create_app(settings, services).test_client()


def _problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert set(body) == {"type", "title", "status", "detail", "code"}
    assert body["status"] == status
    return body


def test_unknown_route_and_wrong_method_use_the_problem_shape(client: FlaskClient) -> None:
    assert _problem(client.get("/api/v1/nothing"), 404)["code"] == "not_found"
    assert _problem(client.delete("/healthz"), 405)["code"] == "method_not_allowed"


def test_database_down_is_503_with_retry_after(client: FlaskClient) -> None:
    response = client.get("/api/v1/tracks/4f1c4cf6-0a54-4c0b-9a54-3a0b0b1f6f00")
    body = _problem(response, 503)
    assert body["code"] == "database_unavailable"
    assert response.headers["Retry-After"] == "5"


def _path_and_query(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    return parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}


def test_signed_file_is_served_with_ranges(client: FlaskClient, store: LocalStore) -> None:
    store.put("hls/t/aac_128k/seg_00001.m4s", b"0123456789" * 100, content_type="video/iso.segment")
    path, query = _path_and_query(store.presign_get("hls/t/aac_128k/seg_00001.m4s",
                                                    expires_s=60))
    response = client.get(path, query_string=query)
    assert response.status_code == 200 and response.data == b"0123456789" * 100
    assert response.mimetype == "video/iso.segment"
    ranged = client.get(path, query_string=query, headers={"Range": "bytes=10-19"})
    assert ranged.status_code == 206 and ranged.data == b"0123456789"


def test_tampered_unsigned_and_expired_file_urls_are_refused(
    client: FlaskClient, store: LocalStore
) -> None:
    store.put("hls/t/a.m4s", b"secret", content_type="video/iso.segment")
    store.put("hls/t/b.m4s", b"other", content_type="video/iso.segment")
    path, query = _path_and_query(store.presign_get("hls/t/a.m4s", expires_s=60))
    flipped = "1" if query["signature"][0] == "0" else "0"
    bad_sig = {**query, "signature": flipped + query["signature"][1:]}
    assert _problem(client.get(path, query_string=bad_sig), 403)["code"] == "bad_signature"
    other_key = path.replace("a.m4s", "b.m4s")
    assert _problem(client.get(other_key, query_string=query), 403)["code"] == "bad_signature"
    assert "not signed" in _problem(client.get(path), 403)["detail"]
    _, expired = _path_and_query(store.presign_get("hls/t/a.m4s", expires_s=1))
    expired["expires"] = str(int(expired["expires"]) - 3600)
    assert _problem(client.get(path, query_string=expired), 403)["code"] == "bad_signature"


@pytest.mark.parametrize("key", ["../signing.key", "hls/../../etc/passwd", "%2e%2e/x"])
def test_path_traversal_in_file_urls_is_refused(client: FlaskClient, key: str) -> None:
    response = client.get(f"/files/{key}", query_string={"expires": "9999999999",
                                                         "signature": "00"})
    assert response.status_code in (400, 403, 404)
    assert response.mimetype == "application/problem+json"
