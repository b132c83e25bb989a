"""The refresh token in an HttpOnly cookie for browsers (X-Veza-Session: cookie), its CSRF
defence, and the JSON body mode beside it unchanged."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.helpers import PASSWORD, assert_problem

pytestmark = pytest.mark.integration

COOKIE_MODE = {"X-Veza-Session": "cookie"}
OWN = {**COOKIE_MODE, "Origin": "http://localhost"}  # the test client's own host
TTL = 30 * 24 * 3600


@pytest.fixture
def settings_changes() -> dict[str, Any]:
    # No grace for a spent refresh token unless a test asks: reuse is caught at once.
    return {"refresh_reuse_grace_s": 0}


def account(handle: str) -> dict[str, str]:
    return {"handle": handle, "email": f"{handle}@example.org", "password": PASSWORD,
            "role": "artist"}


def set_cookie(response: Any, name: str = "veza_refresh") -> Any:
    """The one Set-Cookie of ``name`` in ``response``, parsed (attribute names lower-cased)."""
    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    cookie = SimpleCookie()
    cookie.load(header)
    return header, cookie[name]


def cookie_login(client: FlaskClient, handle: str) -> dict[str, Any]:
    response = client.post("/api/v1/auth/register", json=account(handle), headers=OWN)
    assert response.status_code == 201, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def refresh_by_cookie(client: FlaskClient) -> Any:
    return client.post("/api/v1/auth/refresh", headers=OWN)


def test_cookie_mode_keeps_the_refresh_token_out_of_the_body(client: FlaskClient) -> None:
    response = client.post("/api/v1/auth/register", json=account("ada"), headers=OWN)
    assert response.status_code == 201
    body = response.get_json()
    assert "refresh_token" not in body
    assert body["access_token"] and body["user"]["handle"] == "ada"
    header, morsel = set_cookie(response)
    assert morsel["httponly"] and morsel["secure"]
    assert morsel["samesite"] == "Strict" and morsel["path"] == "/api/v1/auth"
    assert morsel["max-age"] == str(TTL)
    assert len(morsel.value) >= 32
    # Logging in again sets it the same way.
    login = client.post("/api/v1/auth/login", json={"login": "ada", "password": PASSWORD},
                        headers=COOKIE_MODE)
    assert login.status_code == 200 and "refresh_token" not in login.get_json()
    assert set_cookie(login)[1]["path"] == "/api/v1/auth"


def test_refresh_by_cookie_rotates_it_and_a_reused_one_signs_the_session_out(
    client: FlaskClient
) -> None:
    tokens = cookie_login(client, "grace")
    first = client.get_cookie("veza_refresh", path="/api/v1/auth")
    assert first is not None
    again = refresh_by_cookie(client)  # no body at all: the cookie is the credential
    assert again.status_code == 200, again.get_json()
    assert "refresh_token" not in again.get_json()
    second = set_cookie(again)[1].value
    assert second != first.value
    me = client.get("/api/v1/me", headers={
        "Authorization": f"Bearer {again.get_json()['access_token']}"})
    assert me.status_code == 200 and me.get_json()["handle"] == "grace"
    # Someone replays the first cookie: the whole session ends, the stolen copy and ours.
    client.set_cookie("veza_refresh", first.value, path="/api/v1/auth")
    assert_problem(refresh_by_cookie(client), 401, "token_reused")
    # The refused cookie is dropped (Max-Age=0), and the session's tokens no longer work.
    client.set_cookie("veza_refresh", second, path="/api/v1/auth")
    refused = refresh_by_cookie(client)
    assert_problem(refused, 401, "session_revoked")
    assert set_cookie(refused)[1]["max-age"] == "0"
    assert client.get_cookie("veza_refresh", path="/api/v1/auth") is None
    assert_problem(client.get("/api/v1/me", headers={
        "Authorization": f"Bearer {tokens['access_token']}"}), 401, "session_revoked")


@pytest.mark.parametrize("settings_changes", [{"refresh_reuse_grace_s": 10}])
def test_a_reload_that_aborts_the_refresh_stays_signed_in(client: FlaskClient) -> None:
    cookie_login(client, "katherine")
    first = client.get_cookie("veza_refresh", path="/api/v1/auth")
    assert first is not None
    # The page refreshes, then reloads before the answer (and its new cookie) arrives.
    lost = set_cookie(refresh_by_cookie(client))[1].value
    client.set_cookie("veza_refresh", first.value, path="/api/v1/auth")
    restored = refresh_by_cookie(client)
    assert restored.status_code == 200, restored.get_json()
    assert restored.get_json()["user"]["handle"] == "katherine"
    fresh = set_cookie(restored)[1].value
    assert fresh not in (first.value, lost)
    # The next load goes on with the new cookie; the lost one was spent in its stead.
    assert refresh_by_cookie(client).status_code == 200
    client.set_cookie("veza_refresh", lost, path="/api/v1/auth")
    assert_problem(refresh_by_cookie(client), 401, "token_reused")


def test_refresh_in_cookie_mode_without_a_cookie_is_unauthorized(client: FlaskClient) -> None:
    body = assert_problem(refresh_by_cookie(client), 401, "unauthorized")
    assert "log in again" in body["detail"]


def test_logout_in_cookie_mode_clears_the_cookie(client: FlaskClient) -> None:
    tokens = cookie_login(client, "linus")
    response = client.post("/api/v1/auth/logout", headers={
        **OWN, "Authorization": f"Bearer {tokens['access_token']}"})
    assert response.status_code == 204
    header, morsel = set_cookie(response)
    assert morsel.value == "" and morsel["max-age"] == "0"
    assert morsel["path"] == "/api/v1/auth"
    assert client.get_cookie("veza_refresh", path="/api/v1/auth") is None
    assert_problem(refresh_by_cookie(client), 401, "unauthorized")


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://localhost:8080",
                                    "https://localhost"])
def test_a_cookie_mode_call_from_another_origin_is_refused(
    client: FlaskClient, origin: str
) -> None:
    cookie_login(client, "margaret")
    for path, body in (("/api/v1/auth/refresh", None),
                       ("/api/v1/auth/login", {"login": "margaret", "password": PASSWORD}),
                       ("/api/v1/auth/register", account("mallory"))):
        response = client.post(path, json=body, headers={**COOKIE_MODE, "Origin": origin})
        problem = assert_problem(response, 403, "bad_origin")
        assert origin in problem["detail"]
        assert "Set-Cookie" not in response.headers
    # Nothing was created for the foreign page.
    assert_problem(client.post("/api/v1/auth/login", json={
        "login": "mallory", "password": PASSWORD}), 401, "bad_credentials")


def test_the_public_url_is_an_origin_of_our_own(client: FlaskClient) -> None:
    cookie_login(client, "barbara")
    # The test app's public URL is http://127.0.0.1:8000, whatever Host the request named.
    response = client.post("/api/v1/auth/refresh", headers={
        **COOKIE_MODE, "Origin": "http://127.0.0.1:8000"})
    assert response.status_code == 200, response.get_json()


def test_without_the_header_the_cookie_is_never_read(client: FlaskClient) -> None:
    cookie_login(client, "edsger")
    assert client.get_cookie("veza_refresh", path="/api/v1/auth") is not None
    # What a cross-site form could send: the cookie rides along, but without the header the
    # call is in body mode and the body has no token.
    assert_problem(client.post("/api/v1/auth/refresh"), 400, "bad_input")
    body = assert_problem(client.post("/api/v1/auth/refresh", json={}), 422, "invalid")
    assert body["errors"][0]["field"] == "refresh_token"
    assert_problem(client.post("/api/v1/auth/refresh",
                               headers={"X-Veza-Session": "body"}), 400, "bad_input")


def test_the_json_body_mode_is_unchanged(client: FlaskClient) -> None:
    response = client.post("/api/v1/auth/register", json=account("donald"))
    assert response.status_code == 201
    assert "Set-Cookie" not in response.headers
    tokens = response.get_json()
    assert set(tokens) == {"access_token", "token_type", "expires_in", "refresh_token", "user"}
    again = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 200 and "Set-Cookie" not in again.headers
    assert again.get_json()["refresh_token"] != tokens["refresh_token"]
    assert_problem(client.post("/api/v1/auth/refresh",
                               json={"refresh_token": tokens["refresh_token"]}),
                   401, "token_reused")
    assert_problem(client.post("/api/v1/auth/refresh",
                               json={"refresh_token": "x", "extra": 1}), 422, "invalid")


def test_a_password_change_in_cookie_mode_sets_the_new_session_cookie(
    client: FlaskClient
) -> None:
    tokens = cookie_login(client, "frances")
    response = client.post("/api/v1/auth/password", headers={
        **OWN, "Authorization": f"Bearer {tokens['access_token']}"},
        json={"current_password": PASSWORD, "new_password": "another long password"})
    assert response.status_code == 200, response.get_json()
    assert "refresh_token" not in response.get_json()
    assert set_cookie(response)[1]["httponly"]
    assert refresh_by_cookie(client).status_code == 200


def test_a_readable_session_cookie_comes_and_goes_with_the_refresh_cookie(
    client: FlaskClient
) -> None:
    # It holds no secret: the app reads it to know whether restoring a session is worth asking.
    registered = client.post("/api/v1/auth/register", json=account("grete"), headers=OWN)
    morsel = set_cookie(registered, "veza_session")[1]
    assert morsel.value == "1" and not morsel["httponly"] and morsel["secure"]
    assert morsel["samesite"] == "Strict" and morsel["path"] == "/"
    assert morsel["max-age"] == str(TTL)
    refreshed = refresh_by_cookie(client)
    assert set_cookie(refreshed, "veza_session")[1]["max-age"] == str(TTL)
    logout = client.post("/api/v1/auth/logout", headers={
        **OWN, "Authorization": f"Bearer {refreshed.get_json()['access_token']}"})
    assert logout.status_code == 204
    assert set_cookie(logout, "veza_session")[1]["max-age"] == "0"
    assert client.get_cookie("veza_session", path="/") is None
    # A refused refresh cookie takes it along too.
    client.set_cookie("veza_refresh", "not-a-token", path="/api/v1/auth")
    refused = refresh_by_cookie(client)
    assert refused.status_code == 401
    assert set_cookie(refused, "veza_session")[1]["max-age"] == "0"
    # The JSON body mode sets neither.
    plain = client.post("/api/v1/auth/login", json={"login": "grete", "password": PASSWORD})
    assert plain.status_code == 200 and "Set-Cookie" not in plain.headers


def test_the_document_describes_cookie_mode(client: FlaskClient) -> None:
    spec = client.get("/api/docs/openapi.json").get_json()
    for path in ("register", "login", "refresh", "logout", "password"):
        operation = spec["paths"][f"/api/v1/auth/{path}"]["post"]
        assert any(p["name"] == "X-Veza-Session" and p["in"] == "header"
                   for p in operation["parameters"]), path
        assert "403" in operation["responses"], path
    refresh = spec["paths"]["/api/v1/auth/refresh"]["post"]
    assert refresh["requestBody"]["required"] is False
    assert "refresh_token" in refresh["requestBody"]["content"]["application/json"][
        "schema"]["properties"]
    assert "refresh_token" not in spec["components"]["schemas"]["Tokens"].get("required", [])
