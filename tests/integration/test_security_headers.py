"""Security headers on every kind of answer, and redirects that ignore the client's Host."""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient

from veza.runtime import Services

pytestmark = pytest.mark.integration

STRICT = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
EVIL = {"Host": "evil.example"}


def policy(response: Any) -> dict[str, list[str]]:
    """The Content-Security-Policy of a response, by directive."""
    header = response.headers["Content-Security-Policy"]
    return {name: values for name, *values in
            (part.split() for part in header.split(";") if part.strip())}


def sha256(source: str) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()}'"


def assert_common(response: Any) -> None:
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert policy(response)["frame-ancestors"] == ["'none'"]


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/api/v1/tracks", 200),
    ("GET", f"/api/v1/tracks/{uuid.uuid4()}", 404),
    ("POST", "/api/v1/auth/login", 422),
    ("GET", "/api/docs/openapi.json", 200),
    ("GET", "/files/originals/x/source.wav", 403),
    ("GET", "/healthz", 200),
    ("GET", "/metrics", 200),
    ("BREW", "/api/v1/tracks", 405),
    ("GET", "/no/such/page", 404),
])
def test_json_errors_and_objects_get_the_policy_that_allows_nothing(
    client: FlaskClient, method: str, path: str, status: int
) -> None:
    response = client.open(path, method=method, json={} if method == "POST" else None)
    assert response.status_code == status
    assert_common(response)
    assert response.headers["Content-Security-Policy"] == STRICT


def test_a_signed_object_gets_the_policy_that_allows_nothing(
    client: FlaskClient, services: Services
) -> None:
    services.store.put("covers/x/cover.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64,
                       content_type="image/png", length=72)
    url = services.store.presign_get("covers/x/cover.png", expires_s=60)
    response = client.get(url.removeprefix(services.settings.base_url))
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert_common(response)
    assert response.headers["Content-Security-Policy"] == STRICT


def test_the_player_page_may_load_its_style_and_the_stream_only(
    client: FlaskClient, services: Services
) -> None:
    response = client.get(f"/play/{uuid.uuid4()}")
    assert response.status_code == 200
    assert_common(response)
    page = response.get_data(as_text=True)
    [style] = re.findall(r"<style>(.*?)</style>", page, re.S)
    assert "<script" not in page
    assert policy(response) == {
        "default-src": ["'none'"], "style-src": [sha256(style)],
        "media-src": ["'self'", services.settings.base_url],
        "frame-ancestors": ["'none'"], "base-uri": ["'none'"], "form-action": ["'none'"],
    }


def test_the_player_may_fetch_segments_from_the_object_store(services: Services) -> None:
    from api.security import media_origins

    settings = services.settings.replace(s3_endpoint="minio:9000",
                                         s3_public_endpoint="media.example.org:9000",
                                         s3_secure=True, s3_access_key="x", s3_secret_key="x")
    assert media_origins(settings) == ["'self'", settings.base_url,
                                       "https://media.example.org:9000"]


@pytest.mark.parametrize("path", ["/api/docs/", "/api/docs/swagger",
                                  "/api/docs/oauth2-redirect.html"])
def test_the_docs_pages_may_run_exactly_the_inline_code_they_carry(
    client: FlaskClient, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert_common(response)
    page = response.get_data(as_text=True)
    found = policy(response)
    inline = re.findall(r"<script>(.*?)</script>", page, re.S)
    handlers = re.findall(r'\son[a-z]+="([^"]*)"', page)
    assert inline or handlers
    allowed = {sha256(code) for code in inline + handlers}
    assert set(found["script-src"]) - {"'self'", "'unsafe-hashes'"} == allowed
    assert ("'unsafe-hashes'" in found["script-src"]) == bool(handlers)
    assert "'unsafe-inline'" not in found["script-src"]
    assert found["default-src"] == ["'none'"] and found["connect-src"] == ["'self'"]
    # Swagger UI's own files load from here, and answer with the strict policy themselves.
    for src in re.findall(r'<script src="([^"]+)"', page):
        asset = client.get(f"/api/docs/{src}")
        assert asset.status_code == 200, src
        assert asset.headers["Content-Security-Policy"] == STRICT


@pytest.mark.parametrize(("path", "location"), [
    ("/api//v1/tracks?limit=2", "/api/v1/tracks?limit=2"),
    ("/api/v1//tracks", "/api/v1/tracks"),
    ("/api/docs", "/api/docs/"),
])
def test_redirects_never_name_the_host_the_client_claimed(
    client: FlaskClient, path: str, location: str
) -> None:
    response = client.get(path, headers=EVIL)
    assert response.status_code == 308
    assert response.headers["Location"] == location
    assert_common(response)
    followed = client.get(location)
    assert followed.status_code == 200
