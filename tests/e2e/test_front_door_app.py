"""The web app behind the front door, configured as compose configures it: HAProxy on
compose/haproxy.cfg sends / to the API, which serves the app, and /api/v1/config tells the app
that the chat is at /ws on the same origin, where the gateways answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from websockets.sync.client import connect

from tests.conftest import rabbit_vhost
from tests.e2e.chat_cluster import ChatCluster
from tests.helpers import PASSWORD

pytestmark = pytest.mark.e2e

INDEX = "<!doctype html><html><head><title>Veza</title></head><body></body></html>"


@pytest.fixture
def cluster(database_url: str, redis_url: str, key_prefix: str,
            tmp_path: Path) -> Iterator[ChatCluster]:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "app-1a2b.js").write_text("export {}")
    with rabbit_vhost("veza-chat") as broker_url:
        cluster = ChatCluster.for_test(database_url=database_url, broker_url=broker_url,
                                       redis_url=redis_url, key_prefix=key_prefix,
                                       workdir=tmp_path)
        cluster.env.update({"VEZA_CHAT_PUBLIC_URL": "/ws", "VEZA_WEB_DIR": str(dist),
                            "VEZA_TRUSTED_PROXIES": "1"})
        try:
            yield cluster
        finally:
            cluster.close()


def test_the_front_door_serves_the_app_and_its_chat_on_one_origin(
    cluster: ChatCluster,
) -> None:
    cluster.api()
    cluster.gateway("chat1")
    cluster.gateway("chat2")
    cluster.haproxy()
    front = cluster.front

    page = requests.get(f"{front}/tracks/some-track", timeout=10)
    assert page.status_code == 200 and page.text == INDEX
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "connect-src 'self'" in policy
    asset = requests.get(f"{front}/assets/app-1a2b.js", timeout=10)
    assert asset.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert requests.get(f"{front}/api/v1/none", timeout=10).json()["code"] == "not_found"

    config = requests.get(f"{front}/api/v1/config", timeout=10).json()
    assert config["chat_url"] == "/ws"

    # The app signs up in cookie mode from a page of the front door's origin...
    register = requests.post(f"{front}/api/v1/auth/register", json={
        "handle": "ada", "email": "ada@example.org", "password": PASSWORD, "role": "artist"},
        headers={"X-Veza-Session": "cookie", "Origin": front}, timeout=30)
    assert register.status_code == 201, register.text
    assert "veza_refresh=" in register.headers["Set-Cookie"]
    token = register.json()["access_token"]
    # ...and opens the chat where the config said, resolved against the page.
    chat = front.replace("http://", "ws://") + config["chat_url"]
    with connect(f"{chat}?token={token}", open_timeout=10) as ws:
        welcome = json.loads(ws.recv(timeout=10))
    assert welcome["type"] == "welcome" and welcome["user"]["handle"] == "ada"
