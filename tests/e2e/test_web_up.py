"""`veza up` serving the web app as a browser meets it: the banner names the app's URL first,
/api/v1/config points at the gateway really listening (even on a port it had to choose), the
app's pages carry their policy, and cookie sessions work over real HTTP."""

from __future__ import annotations

import json
import socket
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
import requests
from websockets.sync.client import connect

from tests.e2e.conftest import start, stop, wait_for, wait_http
from tests.helpers import PASSWORD
from tests.plugins.s3 import free_port

pytestmark = pytest.mark.e2e

INDEX = '<!doctype html><html><head><script type="module" src="/assets/app-1a2b.js">' \
        '</script></head><body><div id="root"></div></body></html>'


def test_veza_up_serves_the_app_and_tells_it_where_the_chat_is(
    short_dir: Path, port: int, tmp_path: Path
) -> None:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "app-1a2b.js").write_text("export {}")
    with socket.socket() as busy:  # the configured chat port is taken: the gateway picks one
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        env = {"VEZA_DATA_DIR": str(short_dir / "data"), "VEZA_API_PORT": str(port),
               "VEZA_CHAT_PORT": str(busy.getsockname()[1]), "VEZA_WEB_DIR": str(dist)}
        proc = start(["up"], env, tmp_path / "up.log")
        base = f"http://127.0.0.1:{port}"
        try:
            wait_http(f"{base}/healthz", proc)
            # The API answers a moment before the banner is printed.
            banner = wait_for(lambda: [line for line in proc.output().splitlines()
                                       if "Veza is up" in line], "the banner", procs=(proc,))
            assert banner[0].startswith(f"Veza is up at {base}/  (open it in a browser;"), \
                proc.output()

            page = requests.get(f"{base}/library", timeout=10)
            assert page.status_code == 200 and page.text == INDEX
            assert page.headers["Cache-Control"] == "no-cache"
            asset = requests.get(f"{base}/assets/app-1a2b.js", timeout=10)
            assert asset.headers["Cache-Control"] == "public, max-age=31536000, immutable"
            assert requests.get(f"{base}/assets/gone.js", timeout=10).status_code == 404
            assert requests.get(f"{base}/api/v1/nothing", timeout=10).json()["code"] == \
                "not_found"

            config = requests.get(f"{base}/api/v1/config", timeout=10).json()
            chat_url = config["chat_url"]
            assert chat_url.startswith("ws://127.0.0.1:") and chat_url.endswith("/ws")
            assert chat_url != f"ws://127.0.0.1:{busy.getsockname()[1]}/ws"
            assert chat_url.rsplit("/", 1)[0] in page.headers["Content-Security-Policy"]

            # A browser's session: the refresh token only in the cookie.
            register = requests.post(f"{base}/api/v1/auth/register", json={
                "handle": "ada", "email": "ada@example.org", "password": PASSWORD,
                "role": "artist"}, headers={"X-Veza-Session": "cookie", "Origin": base},
                timeout=30)
            assert register.status_code == 201 and "refresh_token" not in register.json()
            cookie: SimpleCookie = SimpleCookie()
            for header in register.raw.headers.getlist("Set-Cookie"):
                cookie.load(header)
            refresh = cookie["veza_refresh"]
            # Beside it, a cookie a script may read, saying only that a session may exist.
            assert cookie["veza_session"].value == "1" and not cookie["veza_session"]["httponly"]
            assert refresh["httponly"] and refresh["secure"] and refresh["samesite"] == "Strict"
            again = requests.post(f"{base}/api/v1/auth/refresh", headers={
                "X-Veza-Session": "cookie", "Origin": base,
                "Cookie": f"veza_refresh={refresh.value}"}, timeout=30)
            assert again.status_code == 200, again.text
            token = again.json()["access_token"]
            foreign = requests.post(f"{base}/api/v1/auth/refresh", headers={
                "X-Veza-Session": "cookie", "Origin": "https://evil.example",
                "Cookie": f"veza_refresh={refresh.value}"}, timeout=30)
            assert foreign.status_code == 403 and foreign.json()["code"] == "bad_origin"

            # The chat answers where the config says.
            with connect(f"{chat_url}?token={token}", open_timeout=10) as ws:
                welcome = json.loads(ws.recv(timeout=10))
            assert welcome["type"] == "welcome" and welcome["user"]["handle"] == "ada"
        finally:
            assert stop(proc) == 0, proc.output()[-3000:]
    assert "Traceback" not in proc.output()


CHROMIUM = "/usr/bin/chromium"


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
def test_chromium_keeps_the_session_cookie_on_plain_http_and_a_reload_stays_signed_in(
    short_dir: Path, port: int, tmp_path: Path
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "index.html").write_text("<!doctype html><title>Veza</title>")
    env = {"VEZA_DATA_DIR": str(short_dir / "data"), "VEZA_API_PORT": str(port),
           "VEZA_CHAT_PORT": str(free_port()), "VEZA_WEB_DIR": str(dist)}
    proc = start(["up"], env, tmp_path / "up.log")
    base = f"http://127.0.0.1:{port}"
    register = """async () => { const r = await fetch('/api/v1/auth/register', {method: 'POST',
        headers: {'Content-Type': 'application/json', 'X-Veza-Session': 'cookie'},
        body: JSON.stringify({handle: 'ada', email: 'ada@example.org',
                              password: 'a long passphrase', role: 'artist'})});
        return [r.status, await r.json(), document.cookie]; }"""
    refresh = """async () => { const r = await fetch('/api/v1/auth/refresh', {method: 'POST',
        headers: {'X-Veza-Session': 'cookie'}}); return [r.status, await r.json()]; }"""
    try:
        wait_http(f"{base}/healthz", proc)
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                                 args=["--no-sandbox"])
            try:
                context = browser.new_context()
                page = context.new_page()
                page.goto(f"{base}/")
                status, body, script_sees = page.evaluate(register)
                assert status == 201 and "refresh_token" not in body
                # HttpOnly: no script reads the refresh token, only that a session may exist.
                assert script_sees == "veza_session=1"
                cookie = {c["name"]: c for c in context.cookies()}["veza_refresh"]
                assert (cookie["name"], cookie["path"], cookie["secure"], cookie["httpOnly"],
                        cookie["sameSite"]) == ("veza_refresh", "/api/v1/auth", True, True,
                                                "Strict")
                page.reload()
                status, body = page.evaluate(refresh)
                assert status == 200 and body["user"]["handle"] == "ada", body
            finally:
                browser.close()
    finally:
        assert stop(proc) == 0, proc.output()[-3000:]
