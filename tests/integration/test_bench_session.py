"""The benchmarks' user session against a running `veza serve api` whose access tokens live
10 s: it refreshes through /api/v1/auth/refresh when one expires, keeps each rotated refresh
token, and stops with a clear error when the API refuses to refresh."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.api import api_server
from benchmarks.session import Session, http_transport
from veza.errors import VezaError

pytestmark = pytest.mark.integration

TOKEN_TTL_S = 10


@pytest.fixture
def base_url(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("VEZA_ACCESS_TOKEN_TTL", str(TOKEN_TTL_S))
    # No grace for a spent refresh token: presenting one again signs the session out at once.
    monkeypatch.setenv("VEZA_REFRESH_REUSE_GRACE_S", "0")
    with api_server(database_url, tmp_path) as (port, _):
        yield f"http://127.0.0.1:{port}"


def _register(base_url: str, handle: str) -> Session:
    send = http_transport(base_url)
    reply = send("POST", "/api/v1/auth/register", {"Content-Type": "application/json"},
                 json.dumps({"handle": handle, "email": f"{handle}@example.org",
                             "password": "a long bench password", "role": "artist"}).encode())
    assert reply.status == 201, reply.body
    return Session(reply.json(), send)


def test_a_session_outlives_its_access_token_and_keeps_the_rotated_refresh_token(
    base_url: str,
) -> None:
    session = _register(base_url, "lasting")
    first_refresh_token = session.refresh_token
    assert session.request("GET", "/api/v1/me").json()["handle"] == "lasting"
    assert session.refreshes == 0

    time.sleep(TOKEN_TTL_S + 1.5)
    me = session.request("GET", "/api/v1/me")
    assert me.status == 200 and me.json()["handle"] == "lasting", me.body
    assert session.refreshes == 1 and session.refresh_token != first_refresh_token

    # The session holds the new refresh token: had it kept the spent one, this refresh would
    # present it again and the API would sign the session out.
    session.refresh()
    assert session.refreshes == 2
    assert session.request("GET", "/api/v1/me").status == 200


def test_a_refused_refresh_is_a_clear_error_and_other_401s_are_not_retried(
    base_url: str,
) -> None:
    session = _register(base_url, "leaving")
    assert session.request("POST", "/api/v1/auth/logout").status == 204
    # A signed-out session is not an expired token: the answer is the caller's, unrefreshed.
    gone = session.request("GET", "/api/v1/me")
    assert (gone.status, gone.code, session.refreshes) == (401, "session_revoked", 0)
    with pytest.raises(VezaError, match="could not be refreshed: /api/v1/auth/refresh "
                                        "answered 401"):
        session.refresh()

    forged = Session({"access_token": "not.a.jwt", "refresh_token": "x"},
                     http_transport(base_url))
    reply = forged.request("GET", "/api/v1/me")
    assert (reply.status, reply.code, forged.refreshes) == (401, "invalid_token", 0)


def test_a_session_needs_a_refresh_token() -> None:
    # What a login answers in cookie mode: the refresh token is in a cookie, not the body.
    with pytest.raises(VezaError, match="needs an access token and a refresh token"):
        Session({"access_token": "a", "token_type": "Bearer"})
