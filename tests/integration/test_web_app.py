"""The built web app served by the API: cache headers, the SPA fallback that never shadows
the API, its Content-Security-Policy, /play/{id}, the page without a build, /api/v1/config."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from api import create_app
from api.config import announce_chat_url
from tests.helpers import assert_problem
from veza.runtime import Services

pytestmark = pytest.mark.integration

INDEX = '<!doctype html><html><head><script type="module" src="/assets/x.js"></script>' \
        '</head><body><div id="root"></div></body></html>'
IMMUTABLE = "public, max-age=31536000, immutable"


@pytest.fixture
def build(tmp_path: Path) -> Path:
    """A small stand-in for what `npm run build` writes."""
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "x.js").write_text("console.log('app')")
    (dist / "sw.js").write_text("self.addEventListener('fetch', () => {})")
    (dist / "manifest.webmanifest").write_text('{"name": "Veza"}')
    (dist / "icon-192.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (dist / ".env").write_text("SECRET=1")
    return dist


@pytest.fixture
def settings_changes(build: Path) -> dict[str, Any]:
    return {"web_dir": build}


def policy(response: Any) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    return {name: values for name, *values in
            (part.split() for part in header.split(";") if part.strip())}


def assert_app_page(response: Any) -> None:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    assert response.get_data(as_text=True) == INDEX
    assert response.headers["Cache-Control"] == "no-cache"
    assert policy(response)["script-src"] == ["'self'"]


def test_the_app_is_served_at_the_root_and_its_assets_are_cached_for_good(
    client: FlaskClient
) -> None:
    assert_app_page(client.get("/"))
    asset = client.get("/assets/x.js")
    assert asset.status_code == 200 and asset.get_data(as_text=True) == "console.log('app')"
    assert asset.mimetype == "text/javascript"
    assert asset.headers["Cache-Control"] == IMMUTABLE
    for name, mimetype in (("sw.js", "text/javascript"),
                           ("manifest.webmanifest", "application/manifest+json"),
                           ("icon-192.png", "image/png")):
        response = client.get(f"/{name}")
        assert response.status_code == 200 and response.mimetype == mimetype, name
        assert response.headers["Cache-Control"] == "no-cache", name
    # Revalidation is cheap: the ETag answers 304.
    etag = client.get("/").headers["ETag"]
    assert client.get("/", headers={"If-None-Match": etag}).status_code == 304


@pytest.mark.parametrize("path", ["/library", "/tracks/abc", "/u/ada.smith", "/search?q=x",
                                  "/play/not-a-uuid", "/playlists/1/edit/",
                                  "/" + "a" * 300, "/tracks/" + "a" * 5000])
def test_the_apps_routes_fall_back_to_index_html(client: FlaskClient, path: str) -> None:
    assert_app_page(client.get(path))


@pytest.mark.parametrize("path", ["/assets/missing.js", "/assets/", "/missing.css",
                                  "/favicon.ico", "/.env", "/assets/../.env",
                                  "/assets/%2e%2e/.env", "/assets/" + "a" * 300 + ".js",
                                  "/" + "a" * 300 + ".css"])
def test_a_missing_file_is_a_404_problem_not_the_app(client: FlaskClient, path: str) -> None:
    body = assert_problem(client.get(path), 404, "not_found")
    assert "SECRET" not in str(body)


@pytest.mark.parametrize(("method", "path", "status", "code"), [
    ("GET", "/api", 404, "not_found"),
    ("GET", "/api/v1/no-such-thing", 404, "not_found"),
    ("GET", "/api/v2/tracks", 404, "not_found"),
    ("GET", "/rest/ping.view", 404, "not_found"),
    ("GET", "/files", 404, "not_found"),
    ("GET", "/metrics/extra", 404, "not_found"),
    ("GET", "/healthz/x", 404, "not_found"),
    ("GET", "/readyz/x", 404, "not_found"),
    ("POST", "/library", 404, "not_found"),
    ("DELETE", "/api/v1/me", 405, "method_not_allowed"),
    ("POST", "/api/v1/no-such-thing", 404, "not_found"),
])
def test_the_fallback_never_shadows_the_api(
    client: FlaskClient, method: str, path: str, status: int, code: str
) -> None:
    assert_problem(client.open(path, method=method), status, code)


def test_the_apis_own_pages_still_answer(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/api/v1/tracks").status_code == 200
    assert client.get("/api/docs/openapi.json").status_code == 200
    assert client.get("/api/docs/").mimetype == "text/html"


def test_play_serves_the_app_and_keeps_the_grant_in_the_url(client: FlaskClient) -> None:
    track = uuid.uuid4()
    response = client.get(f"/play/{track}?access=abc.def")
    assert_app_page(response)
    assert "Location" not in response.headers  # the app reads ?access= where it is


def test_the_apps_pages_get_the_strict_policy_of_the_contract(
    client: FlaskClient, services: Services
) -> None:
    base = services.settings.base_url
    assert policy(client.get("/library")) == {
        "default-src": ["'self'"], "script-src": ["'self'"], "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:", base],
        "media-src": ["'self'", "blob:", base],
        "connect-src": ["'self'", "ws://127.0.0.1:8001", base],
        "worker-src": ["'self'", "blob:"], "manifest-src": ["'self'"],
        "frame-ancestors": ["'none'"], "base-uri": ["'none'"], "form-action": ["'self'"],
        "object-src": ["'none'"],
    }
    # The service worker's own policy governs its fetches: the same.
    assert policy(client.get("/sw.js")) == policy(client.get("/"))
    # The API's answers keep the policy that allows nothing.
    assert policy(client.get("/api/v1/tracks"))["default-src"] == ["'none'"]


def test_the_policy_names_the_object_store_and_the_chat_behind_the_front_door(
    services: Services
) -> None:
    settings = services.settings.replace(
        s3_endpoint="minio:9000", s3_public_endpoint="media.example.org", s3_secure=True,
        s3_access_key="x", s3_secret_key="x", public_url="https://veza.example.org",
        chat_public_url="/ws")
    found = policy(create_app(settings, services).test_client().get("/"))
    store = ["https://veza.example.org", "https://media.example.org"]
    assert found["connect-src"] == ["'self'", *store]
    assert found["media-src"] == ["'self'", "blob:", *store]
    assert found["img-src"] == ["'self'", "data:", "blob:", *store]


def test_config_tells_the_client_where_the_chat_is_and_the_limits(
    client: FlaskClient, services: Services
) -> None:
    response = client.get("/api/v1/config")
    assert response.status_code == 200
    body = response.get_json()
    assert body == {"chat_url": "ws://127.0.0.1:8001/ws", "version": body["version"],
                    "max_upload_bytes": services.settings.max_upload_bytes,
                    "signed_url_ttl_s": services.settings.signed_url_ttl_s}
    assert body["version"]
    # `veza up` announces the port its gateway took; the page may then connect there.
    announce_chat_url(client.application, "ws://127.0.0.1:43123/ws")
    assert client.get("/api/v1/config").get_json()["chat_url"] == "ws://127.0.0.1:43123/ws"
    assert "ws://127.0.0.1:43123" in policy(client.get("/"))["connect-src"]
    spec = client.get("/api/docs/openapi.json").get_json()
    documented = spec["paths"]["/api/v1/config"]["get"]["responses"]["200"]
    assert documented["content"]["application/json"]["schema"]["$ref"].endswith("ClientConfig")


def test_behind_the_front_door_the_chat_is_a_path(services: Services) -> None:
    settings = services.settings.replace(chat_public_url="/ws")
    client = create_app(settings, services).test_client()
    announce_chat_url(client.application, "ws://127.0.0.1:43123/ws")  # the setting wins
    assert client.get("/api/v1/config").get_json()["chat_url"] == "/ws"
    assert policy(client.get("/"))["connect-src"][:1] == ["'self'"]


def test_without_a_build_the_root_says_how_to_build_and_play_still_plays(
    services: Services, tmp_path: Path
) -> None:
    client = create_app(services.settings.replace(web_dir=tmp_path / "nothing"),
                        services).test_client()
    response = client.get("/")
    assert response.status_code == 404 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "web app was not built" in page and "npm run build" in page
    assert "<script" not in page
    assert client.get("/library").status_code == 404
    assert_problem(client.get("/assets/x.js"), 404, "not_found")
    track = uuid.uuid4()
    player = client.get(f"/play/{track}?access=abc")
    assert player.status_code == 200
    assert f"/api/v1/tracks/{track}/master.m3u8?access=abc" in player.get_data(as_text=True)
    assert policy(player)["default-src"] == ["'none'"]


def test_a_build_that_lands_while_the_api_runs_is_served(
    services: Services, tmp_path: Path
) -> None:
    dist = tmp_path / "later"
    client = create_app(services.settings.replace(web_dir=dist), services).test_client()
    assert client.get("/").status_code == 404
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    assert_app_page(client.get("/"))


@pytest.mark.parametrize(("chat_host", "asked", "expected"), [
    ("0.0.0.0", "192.168.1.5:8000", "ws://192.168.1.5:8001/ws"),
    ("::", "[fd00::5]:8000", "ws://[fd00::5]:8001/ws"),
    ("::", "veza.local", "ws://veza.local:8001/ws"),
    ("127.0.0.1", "192.168.1.5:8000", "ws://127.0.0.1:8001/ws"),
])
def test_a_gateway_on_every_address_is_named_as_the_page_named_the_api(
    services: Services, chat_host: str, asked: str, expected: str
) -> None:
    client = create_app(services.settings.replace(chat_host=chat_host),
                        services).test_client()
    response = client.get("/api/v1/config", headers={"Host": asked})
    assert response.get_json()["chat_url"] == expected
