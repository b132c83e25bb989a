"""`veza serve api` (gunicorn) as a browser and a hostile client meet it: security headers on
every answer, redirects that ignore the Host header, /metrics for the allowed addresses only
with bounded labels, and (where Chromium is installed) the docs and player pages working under
their Content-Security-Policy."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import start, stop, wait_http
from tests.plugins.s3 import free_port

pytestmark = pytest.mark.e2e

SCRAPER = {"X-Forwarded-For": "192.0.2.10"}  # the one address allowed to scrape, below


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[str]:
    """`veza serve api` believing one proxy, with /metrics allowed to 192.0.2.0/28 only."""
    port = free_port()
    env = {"VEZA_DATABASE_URL": database_url, "VEZA_DATA_DIR": str(tmp_path / "data"),
           "VEZA_API_PORT": str(port), "VEZA_RATE_LIMIT_AUTH": "0",
           "VEZA_TRUSTED_PROXIES": "1", "VEZA_METRICS_ALLOW": "192.0.2.0/28",
           "VEZA_WEB_DIR": str(tmp_path / "no-web-build")}  # /play/{id}: the minimal player
    proc = start(["serve", "api", "--workers", "1", "--threads", "2"], env,
                 tmp_path / "api.log")
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", proc, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        assert stop(proc) == 0, proc.output()[-3000:]
        assert "Traceback" not in proc.output(), proc.output()[-5000:]


def test_headers_and_redirects_under_gunicorn(api: str) -> None:
    for path in ("/healthz", "/api/v1/tracks", f"/api/v1/tracks/{uuid.uuid4()}",
                 f"/play/{uuid.uuid4()}", "/api/docs/swagger", "/api/docs/openapi.json"):
        response = requests.get(api + path, timeout=10)
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["Referrer-Policy"] == "no-referrer", path
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], path
    for path, location in [("/api//v1/tracks?limit=1", "/api/v1/tracks?limit=1"),
                           ("/api/docs", "/api/docs/")]:
        moved = requests.get(api + path, headers={"Host": "evil.example"}, timeout=10,
                             allow_redirects=False)
        assert moved.status_code == 308 and moved.headers["Location"] == location, path


def test_metrics_answer_the_allowed_addresses_and_invented_methods_add_no_series(
    api: str
) -> None:
    refused = requests.get(f"{api}/metrics", timeout=10)
    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json()["code"] == "forbidden"
    assert requests.get(f"{api}/metrics", headers={"X-Forwarded-For": "192.0.2.99"},
                        timeout=10).status_code == 403

    def series() -> set[tuple[str, tuple[tuple[str, str], ...]]]:
        text = requests.get(f"{api}/metrics", headers=SCRAPER, timeout=10).text
        return {(s.name, tuple(sorted(s.labels.items())))
                for family in text_string_to_metric_families(text) for s in family.samples
                if s.name.startswith("veza_http_")}

    requests.request("BREW", f"{api}/api/v1/tracks", timeout=10)
    before = series()
    for method in ("PROPFIND", "XYZZY", "LOCK"):
        assert requests.request(method, f"{api}/api/v1/tracks", timeout=10).status_code == 405
    after = series()
    methods = {dict(labels).get("method") for _, labels in after}
    assert methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}
    # The scrape itself is a GET counted on its route: nothing else is new.
    assert {s for s in after - before if dict(s[1]).get("endpoint") != "/metrics"} == set()


def _chromium(url: str, profile: Path) -> tuple[str, list[str]]:
    """Load ``url`` in headless Chromium; return the DOM after scripts ran and the console."""
    browser = shutil.which("chromium")
    assert browser is not None
    result = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
         "--virtual-time-budget=10000", "--dump-dom", url],
        capture_output=True, text=True, timeout=120)
    return result.stdout, [line for line in result.stderr.splitlines() if "CONSOLE" in line]


def test_the_docs_and_the_player_work_under_their_policies(api: str, tmp_path: Path) -> None:
    dom, console = _chromium(f"{api}/api/docs/swagger", tmp_path / "docs")
    assert not [line for line in console if "Content Security Policy" in line], console
    # Swagger UI ran: it drew an operation block per documented operation.
    assert dom.count('class="opblock ') > 20, dom[:2000]
    dom, console = _chromium(f"{api}/play/{uuid.uuid4()}", tmp_path / "player")
    assert not [line for line in console if "Content Security Policy" in line], console
    assert '<audio id="player"' in dom
