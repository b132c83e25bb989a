"""Request limits per scope, body limits for JSON calls, and CORS, through the real app."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from api import create_app
from storage.db import Database
from storage.local import LocalStore
from tests.helpers import artist_token
from veza.runtime import Services
from veza.settings import Settings

pytestmark = pytest.mark.integration


def _client(database_url: str, store: LocalStore, tmp_path: Path,
            **changes: object) -> Iterator[FlaskClient]:
    settings = Settings(database_url=database_url, data_dir=tmp_path, signing_key="k" * 64)
    settings = settings.replace(**changes)
    services = Services(settings=settings, db=Database(database_url), store=store)
    yield create_app(settings, services).test_client()
    services.close()


@pytest.fixture
def limited(database_url: str, local_store: LocalStore, tmp_path: Path) -> Iterator[FlaskClient]:
    yield from _client(database_url, local_store, tmp_path, rate_limit_read="5/minute",
                       rate_limit_auth="3/minute", rate_limit_upload="2/hour")


def test_reads_are_limited_per_client_with_retry_after(limited: FlaskClient) -> None:
    url = f"/api/v1/tracks/{uuid.uuid4()}"
    assert [limited.get(url).status_code for _ in range(5)] == [404] * 5
    refused = limited.get(url)
    assert refused.status_code == 429 and refused.get_json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "read requests" in refused.get_json()["detail"]
    # Another client address has its own budget; probes are never limited.
    assert limited.get(url, environ_base={"REMOTE_ADDR": "192.0.2.9"}).status_code == 404
    assert limited.get("/healthz").status_code == 200


def test_account_calls_and_uploads_have_their_own_scopes(limited: FlaskClient) -> None:
    artist = artist_token(limited)  # the first of three account calls
    statuses = [limited.post("/api/v1/auth/login", json={}).status_code for _ in range(3)]
    assert statuses == [422, 422, 429]
    # Reads are still allowed: the scopes are separate.
    assert limited.get(f"/api/v1/tracks/{uuid.uuid4()}").status_code == 404
    uploads = [limited.post("/api/v1/tracks", data=b"", content_type="audio/wav",
                            headers=artist).status_code for _ in range(3)]
    assert uploads == [400, 400, 429]
    # Uploads are counted per artist: without a token the answer is 401, not a spent budget.
    assert limited.post("/api/v1/tracks", data=b"", content_type="audio/wav").status_code == 401


def test_json_bodies_are_bounded(limited: FlaskClient) -> None:
    big = {"login": "x" * (70 * 1024), "password": "y"}
    refused = limited.post("/api/v1/auth/login", json=big)
    assert refused.status_code == 413 and refused.get_json()["code"] == "too_large"


def test_cors_answers_only_the_configured_origins(
    database_url: str, local_store: LocalStore, tmp_path: Path
) -> None:
    for client in _client(database_url, local_store, tmp_path,
                          cors_origins=("https://app.example.org",)):
        preflight = client.options("/api/v1/auth/login", headers={
            "Origin": "https://app.example.org", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type, Authorization"})
        assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example.org"
        assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
        answer = client.get(f"/api/v1/tracks/{uuid.uuid4()}",
                            headers={"Origin": "https://app.example.org"})
        assert answer.headers["Access-Control-Allow-Origin"] == "https://app.example.org"
        assert "Location" in answer.headers["Access-Control-Expose-Headers"]
        stranger = client.get(f"/api/v1/tracks/{uuid.uuid4()}",
                              headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in stranger.headers
    for client in _client(database_url, local_store, tmp_path):
        closed = client.get(f"/api/v1/tracks/{uuid.uuid4()}",
                            headers={"Origin": "https://app.example.org"})
        assert "Access-Control-Allow-Origin" not in closed.headers


def test_an_upload_form_of_many_fields_is_refused_for_its_form(limited: FlaskClient) -> None:
    artist = artist_token(limited)
    fields = {f"f{i}": "x" for i in range(2000)}
    refused = limited.post("/api/v1/tracks", data=fields, content_type="multipart/form-data",
                           headers=artist)
    assert refused.status_code == 413 and refused.get_json()["code"] == "form_too_large"
    assert refused.get_json()["detail"] == (
        "a multipart form may have at most 16 parts, and 500000 bytes in a field that is not a "
        "file")
    # One field too large is the form's limit too, not the upload's.
    big = limited.post("/api/v1/tracks", data={"title": "t" * 600_000},
                       content_type="multipart/form-data", headers=artist)
    assert big.status_code == 413 and big.get_json()["code"] == "form_too_large"


def test_refreshes_have_their_own_budget_apart_from_the_account_calls(
    database_url: str, local_store: LocalStore, tmp_path: Path
) -> None:
    """The web app refreshes on every page load: people behind one address must not spend the
    budget of logins and sign-ups, and the other way round."""
    for client in _client(database_url, local_store, tmp_path, rate_limit_auth="3/minute",
                          rate_limit_refresh="5/minute"):
        refreshes = [client.post("/api/v1/auth/refresh", json={"refresh_token": "made-up"})
                     for _ in range(6)]
        assert [r.status_code for r in refreshes] == [401] * 5 + [429]
        assert "refresh requests" in refreshes[-1].get_json()["detail"]
        logins = [client.post("/api/v1/auth/login", json={}).status_code for _ in range(4)]
        assert logins == [422, 422, 422, 429]
