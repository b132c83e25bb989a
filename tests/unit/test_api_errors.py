"""The API's one error shape and the signed file route, without any server."""

from __future__ import annotations

import io
import json
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


def _chunked(client: FlaskClient, path: str, body: bytes, method: str = "POST"):  # type: ignore[no-untyped-def]
    """Send ``body`` as a server that frames it itself would pass it: no Content-Length."""
    return client.open(path, method=method, input_stream=io.BytesIO(body),
                       content_type="application/json",
                       headers={"Transfer-Encoding": "chunked"},
                       environ_overrides={"wsgi.input_terminated": True})


@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/v1/auth/register",
                                  "/api/v1/auth/refresh"])
def test_deeply_nested_json_is_refused_naming_the_limit(client: FlaskClient, path: str) -> None:
    deep = "[" * 1000 + "]" * 1000
    body = _problem(client.post(path, data=deep, content_type="application/json"), 400)
    assert body["code"] == "too_deep"
    assert body["detail"] == "the body nests deeper than 32 levels"
    nested_object = '{"a":' * 40 + "1" + "}" * 40
    assert _problem(client.post(path, data=nested_object, content_type="application/json"),
                    400)["code"] == "too_deep"
    # Brackets inside strings are text, not nesting.
    text = json.dumps({"login": "[" * 1000, "password": "{" * 100})
    assert client.post(path, data=text, content_type="application/json").status_code != 400


@pytest.mark.parametrize("raw", [b'{"login": "\\udcff", "password": "x"}',
                                 b'{"\\ud800": 1, "login": "a", "password": "x"}',
                                 b'{"login": "\xed\xb3\xbf", "password": "x"}',
                                 b'{"login": "\xff", "password": "x"}'],
                         ids=["escaped lone surrogate", "in a key", "encoded surrogate",
                              "invalid utf-8"])
def test_text_that_is_not_unicode_is_400(client: FlaskClient, raw: bytes) -> None:
    body = _problem(client.post("/api/v1/auth/login", data=raw,
                                content_type="application/json"), 400)
    assert body["code"] == "bad_encoding"
    # A surrogate pair is a character like any other: the request goes on (to the database).
    paired = b'{"login": "\\ud83c\\udfb5", "password": "x"}'
    assert client.post("/api/v1/auth/login", data=paired,
                       content_type="application/json").status_code == 503


def test_chunked_json_past_the_limit_is_413_and_within_it_is_read(client: FlaskClient) -> None:
    big = json.dumps({"login": "x" * (1024 * 1024), "password": "y"}).encode()
    body = _problem(_chunked(client, "/api/v1/auth/register", big), 413)
    assert (body["code"], body["detail"]) == ("too_large", "request body exceeds 65536 bytes")
    assert _problem(_chunked(client, "/api/v1/auth/refresh", big), 413)["code"] == "too_large"
    # Exactly at the limit is still a body, read whole: its too long password is the answer.
    head = b'{"login": "a", "password": "'
    exact = head + b"y" * (65536 - len(head) - 2) + b'"}'
    assert len(exact) == 65536
    response = _chunked(client, "/api/v1/auth/login", exact)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "password"


def test_a_body_shorter_than_its_content_length_is_incomplete(client: FlaskClient) -> None:
    for terminated in (False, True):  # Werkzeug's server, then gunicorn
        response = client.post("/api/v1/auth/login", input_stream=io.BytesIO(b'{"login": '),
                               content_type="application/json",
                               environ_overrides={"CONTENT_LENGTH": "100",
                                                  "wsgi.input_terminated": terminated})
        body = _problem(response, 400)
        assert (body["code"], body["detail"]) == (
            "incomplete", "the request body ended after 10 of 100 bytes")
