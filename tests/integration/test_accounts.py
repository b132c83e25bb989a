"""Accounts over HTTP against a real PostgreSQL (and Redis for shared rate limits)."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jwt
import pytest
import redis
from flask.testing import FlaskClient

from storage.repositories import unit_of_work
from tests.helpers import assert_problem, track_owner
from veza.accounts import AccountService, signing_key
from veza.errors import AuthError
from veza.ratelimit import RateLimiter
from veza.runtime import Services
from veza.uploads import accept

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def settings_changes() -> dict[str, Any]:
    # No grace for a spent refresh token here: these tests assert that reuse is caught at once.
    return {"login_limit_account": "4/minute", "login_limit_ip": "6/minute",
            "refresh_reuse_grace_s": 0}


GRACE = {"login_limit_account": "4/minute", "login_limit_ip": "6/minute",
         "refresh_reuse_grace_s": 10}


def register(client: FlaskClient, handle: str, role: str = "listener",
             password: str = PASSWORD) -> dict[str, Any]:
    response = client.post("/api/v1/auth/register", json={
        "handle": handle, "email": f"{handle}@example.org", "password": password, "role": role})
    assert response.status_code == 201, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def test_register_then_use_the_access_token(client: FlaskClient) -> None:
    tokens = register(client, "ada", role="artist")
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 300
    assert tokens["user"]["handle"] == "ada" and tokens["user"]["role"] == "artist"
    me = client.get("/api/v1/me", headers=bearer(tokens))
    assert me.status_code == 200
    assert me.get_json() == {**tokens["user"], "email": "ada@example.org"}


def test_registration_names_every_bad_field_and_taken_values(client: FlaskClient) -> None:
    body = assert_problem(client.post("/api/v1/auth/register", json={
        "handle": "-bad handle", "email": "not-an-email", "password": "short",
        "role": "admin"}), 422, "invalid")
    assert {e["field"] for e in body["errors"]} == {"handle", "email", "password", "role"}
    register(client, "grace")
    # A taken handle (public anyway) and a taken email answer alike: the answer does not say
    # whether an email is registered.
    handle_taken = assert_problem(client.post("/api/v1/auth/register", json={
        "handle": "Grace", "email": "other@example.org", "password": PASSWORD}), 409, "conflict")
    email_taken = assert_problem(client.post("/api/v1/auth/register", json={
        "handle": "grace2", "email": "GRACE@example.org", "password": PASSWORD}), 409,
        "conflict")
    assert handle_taken == email_taken
    assert email_taken["detail"] == "that handle or email is already taken"
    assert "errors" not in email_taken
    assert_problem(client.post("/api/v1/auth/register", data="{nope",
                               content_type="application/json"), 400, "bad_input")
    assert_problem(client.post("/api/v1/auth/register", data="handle=x"), 400, "bad_input")


def test_login_by_handle_or_email_and_wrong_credentials_look_alike(
    client: FlaskClient, services: Services
) -> None:
    register(client, "linus")
    for login in ("linus", "LINUS@example.org"):
        response = client.post("/api/v1/auth/login", json={"login": login, "password": PASSWORD})
        assert response.status_code == 200, response.get_json()
        assert client.get("/api/v1/me", headers=bearer(response.get_json())).status_code == 200
    wrong = assert_problem(client.post("/api/v1/auth/login", json={
        "login": "linus", "password": "not the password"}), 401, "bad_credentials")
    nobody = assert_problem(client.post("/api/v1/auth/login", json={
        "login": "nobody", "password": "not the password"}), 401, "bad_credentials")
    assert wrong["detail"] == nobody["detail"] == "wrong login or password"
    with unit_of_work(services.db) as uow:
        uow.cur.execute("SELECT password_hash FROM users WHERE handle = 'linus'")
        stored = uow.cur.fetchone()["password_hash"]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    missing = assert_problem(client.post("/api/v1/auth/login", json={}), 422, "invalid")
    assert {e["field"] for e in missing["errors"]} == {"login", "password"}


def test_refresh_rotates_and_a_reused_token_signs_the_session_out(client: FlaskClient) -> None:
    first = register(client, "rosa")
    second = client.post("/api/v1/auth/refresh",
                         json={"refresh_token": first["refresh_token"]}).get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert client.get("/api/v1/me", headers=bearer(second)).status_code == 200

    # The spent token comes back (a thief's copy): the whole session ends.
    assert_problem(client.post("/api/v1/auth/refresh",
                               json={"refresh_token": first["refresh_token"]}), 401,
                   "token_reused")
    assert_problem(client.post("/api/v1/auth/refresh",
                               json={"refresh_token": second["refresh_token"]}), 401,
                   "session_revoked")
    revoked = client.get("/api/v1/me", headers=bearer(second))
    assert_problem(revoked, 401, "session_revoked")
    assert 'error="invalid_token"' in revoked.headers["WWW-Authenticate"]
    assert_problem(client.post("/api/v1/auth/refresh", json={"refresh_token": "made-up"}), 401,
                   "invalid_token")


def refresh(client: FlaskClient, token: str) -> Any:
    return client.post("/api/v1/auth/refresh", json={"refresh_token": token})


@pytest.mark.parametrize("settings_changes", [GRACE])
def test_a_spent_token_presented_again_at_once_gets_a_fresh_pair(client: FlaskClient) -> None:
    first = register(client, "hedy")
    lost = refresh(client, first["refresh_token"]).get_json()  # the answer a reload aborted
    again = refresh(client, first["refresh_token"])
    assert again.status_code == 200, again.get_json()
    fresh = again.get_json()
    assert fresh["refresh_token"] not in (first["refresh_token"], lost["refresh_token"])
    assert client.get("/api/v1/me", headers=bearer(fresh)).status_code == 200
    # The replacement nobody received is spent in its stead: one live refresh token remains.
    assert_problem(refresh(client, lost["refresh_token"]), 401, "token_reused")


@pytest.mark.parametrize("settings_changes", [GRACE])
def test_the_grace_ends_once_the_replacement_was_used(client: FlaskClient) -> None:
    first = register(client, "barbara")
    second = refresh(client, first["refresh_token"]).get_json()
    third = refresh(client, second["refresh_token"]).get_json()  # the replacement was used
    assert_problem(refresh(client, first["refresh_token"]), 401, "token_reused")
    assert_problem(refresh(client, third["refresh_token"]), 401, "session_revoked")
    assert_problem(client.get("/api/v1/me", headers=bearer(third)), 401, "session_revoked")


@pytest.mark.parametrize("settings_changes", [{**GRACE, "refresh_reuse_grace_s": 1}])
def test_the_grace_ends_after_its_window(client: FlaskClient) -> None:
    first = register(client, "radia")
    second = refresh(client, first["refresh_token"]).get_json()
    time.sleep(1.3)
    assert_problem(refresh(client, first["refresh_token"]), 401, "token_reused")
    assert_problem(refresh(client, second["refresh_token"]), 401, "session_revoked")


@pytest.mark.parametrize("settings_changes", [GRACE])
def test_a_spent_token_presented_twice_at_once_yields_one_live_token(
    client: FlaskClient, services: Services
) -> None:
    first = register(client, "frances")
    refresh(client, first["refresh_token"])
    accounts = AccountService(services)
    barrier = threading.Barrier(2)

    def present() -> str:
        barrier.wait()
        try:
            return accounts.refresh({"refresh_token": first["refresh_token"]}).refresh_token
        except AuthError as exc:
            return exc.code

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(lambda _: present(), range(2)))
    # One gets the fresh pair; the other finds the replacement spent, which is reuse.
    assert sorted(o == "token_reused" for o in outcomes) == [False, True], outcomes
    [winner] = [o for o in outcomes if o != "token_reused"]
    assert_problem(refresh(client, winner), 401, "session_revoked")


def test_other_sessions_survive_a_reuse_in_one(client: FlaskClient) -> None:
    phone = register(client, "maria")
    laptop = client.post("/api/v1/auth/login",
                         json={"login": "maria", "password": PASSWORD}).get_json()
    client.post("/api/v1/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    client.post("/api/v1/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    assert client.get("/api/v1/me", headers=bearer(laptop)).status_code == 200


def test_logout_ends_the_session_at_once(client: FlaskClient) -> None:
    tokens = register(client, "edsger")
    assert client.post("/api/v1/auth/logout", headers=bearer(tokens)).status_code == 204
    assert_problem(client.get("/api/v1/me", headers=bearer(tokens)), 401, "session_revoked")
    assert_problem(client.post("/api/v1/auth/refresh",
                               json={"refresh_token": tokens["refresh_token"]}), 401,
                   "session_revoked")


def test_changing_the_password_signs_out_every_session(client: FlaskClient) -> None:
    one = register(client, "barbara")
    two = client.post("/api/v1/auth/login",
                      json={"login": "barbara", "password": PASSWORD}).get_json()
    assert_problem(client.post("/api/v1/auth/password", headers=bearer(one), json={
        "current_password": "wrong password", "new_password": "a new long password"}), 401,
        "bad_credentials")
    assert_problem(client.post("/api/v1/auth/password", headers=bearer(one), json={
        "current_password": PASSWORD, "new_password": "short"}), 422, "invalid")
    changed = client.post("/api/v1/auth/password", headers=bearer(one), json={
        "current_password": PASSWORD, "new_password": "a new long password"})
    assert changed.status_code == 200
    for old in (one, two):
        assert_problem(client.get("/api/v1/me", headers=bearer(old)), 401, "session_revoked")
        assert_problem(client.post("/api/v1/auth/refresh",
                                   json={"refresh_token": old["refresh_token"]}), 401,
                       "session_revoked")
    assert client.get("/api/v1/me", headers=bearer(changed.get_json())).status_code == 200
    assert client.post("/api/v1/auth/login", json={
        "login": "barbara", "password": PASSWORD}).status_code == 401
    assert client.post("/api/v1/auth/login", json={
        "login": "barbara", "password": "a new long password"}).status_code == 200


def _forge(claims: dict[str, Any], key: bytes) -> str:
    return jwt.encode(claims, key, algorithm="HS256")


def test_expired_tampered_and_foreign_tokens_are_refused(
    client: FlaskClient, services: Services
) -> None:
    tokens = register(client, "ken")
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    key = signing_key(services)

    expired = _forge({**claims, "iat": int(time.time()) - 900, "exp": int(time.time()) - 60}, key)
    assert_problem(client.get("/api/v1/me", headers={"Authorization": f"Bearer {expired}"}),
                   401, "token_expired")

    header, payload, signature = tokens["access_token"].split(".")
    promoted = base64.urlsafe_b64encode(json.dumps({**claims, "role": "admin"}).encode())
    tampered = f"{header}.{promoted.decode().rstrip('=')}.{signature}"
    assert_problem(client.get("/api/v1/me", headers={"Authorization": f"Bearer {tampered}"}),
                   401, "invalid_token")
    foreign = _forge(claims, b"another platform's key, just as long as ours")
    assert_problem(client.get("/api/v1/me", headers={"Authorization": f"Bearer {foreign}"}),
                   401, "invalid_token")
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert_problem(client.get("/api/v1/me", headers={"Authorization": f"Bearer {unsigned}"}),
                   401, "invalid_token")
    other_user = _forge({**claims, "sub": str(uuid.uuid4())}, key)
    assert_problem(client.get("/api/v1/me", headers={"Authorization": f"Bearer {other_user}"}),
                   401, "session_revoked")
    anonymous = assert_problem(client.get("/api/v1/me"), 401, "unauthorized")
    assert "access token" in anonymous["detail"]
    assert_problem(client.get("/api/v1/me", headers={"Authorization": "Basic a2VuOng="}), 401,
                   "invalid_token")


def test_login_attempts_are_limited_per_account_and_per_address(client: FlaskClient) -> None:
    register(client, "alan")
    register(client, "joan")
    for _ in range(4):
        assert client.post("/api/v1/auth/login", json={
            "login": "alan", "password": "guessing wrong"}).status_code == 401
    limited = client.post("/api/v1/auth/login", json={"login": "alan", "password": PASSWORD})
    assert_problem(limited, 429, "rate_limited")
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    # Another account from the same address still gets in, until the address's own limit.
    assert client.post("/api/v1/auth/login",
                       json={"login": "joan", "password": PASSWORD}).status_code == 200
    assert_problem(client.post("/api/v1/auth/login", json={
        "login": "joan", "password": PASSWORD}), 429, "rate_limited")
    other_ip = client.post("/api/v1/auth/login", json={"login": "joan", "password": PASSWORD},
                           environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other_ip.status_code == 200


def test_the_login_limit_counts_an_account_whichever_name_is_tried(
    client: FlaskClient
) -> None:
    register(client, "bob")
    # Four guesses (this module's limit), under the handle and the email in turn, from
    # addresses of their own so that only the account's limit is in play.
    for n, login in enumerate(("bob", "BOB@example.org", "bob", "bob@example.org")):
        assert client.post("/api/v1/auth/login", json={"login": login, "password": "wrong one"},
                           environ_base={"REMOTE_ADDR": f"192.0.2.{n + 1}"}).status_code == 401
    for login in ("bob", "bob@example.org"):
        limited = assert_problem(client.post(
            "/api/v1/auth/login", json={"login": login, "password": PASSWORD},
            environ_base={"REMOTE_ADDR": "192.0.2.50"}), 429, "rate_limited")
    # A login naming nobody is limited the same way, and says the same thing.
    for n in range(4):
        assert_problem(client.post("/api/v1/auth/login", json={
            "login": "nobody@example.org", "password": "wrong one"},
            environ_base={"REMOTE_ADDR": f"198.51.100.{n + 1}"}), 401, "bad_credentials")
    nobody = assert_problem(client.post("/api/v1/auth/login", json={
        "login": "Nobody@example.org", "password": "wrong one"},
        environ_base={"REMOTE_ADDR": "198.51.100.50"}), 429, "rate_limited")
    assert nobody["detail"].split(";")[0] == limited["detail"].split(";")[0] == \
        "too many login attempts for this account"


def test_an_address_that_keeps_meeting_taken_emails_is_slowed_down(
    client: FlaskClient
) -> None:
    from veza.accounts import REGISTER_TAKEN_LIMIT

    register(client, "eve")
    allowed = int(REGISTER_TAKEN_LIMIT.split("/")[0])
    prober = {"REMOTE_ADDR": "203.0.113.66"}
    for n in range(allowed):
        assert_problem(client.post("/api/v1/auth/register", json={
            "handle": f"probe{n}", "email": "eve@example.org", "password": PASSWORD},
            environ_base=prober), 409, "conflict")
    # Past the limit this address learns nothing more for a while, even about a new email.
    limited = client.post("/api/v1/auth/register", json={
        "handle": "probe-new", "email": "new@example.org", "password": PASSWORD},
        environ_base=prober)
    assert_problem(limited, 429, "rate_limited")
    assert int(limited.headers["Retry-After"]) > 60
    # Others still register.
    assert client.post("/api/v1/auth/register", json={
        "handle": "probe-new", "email": "new@example.org", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "203.0.113.67"}).status_code == 201


def test_rate_limits_in_redis_hold_across_processes(services: Services) -> None:
    prefix = f"veza-test-{uuid.uuid4().hex[:10]}:limits"
    settings = services.settings.replace(redis_url=REDIS_URL)
    limiters = [RateLimiter.for_settings(settings, key_prefix=prefix) for _ in range(2)]
    a, b = (AccountService(services, limiter) for limiter in limiters)
    a.create("hedy", "hedy@example.org", PASSWORD, "artist")
    try:
        for service in (a, b, a, b):
            with pytest.raises(Exception, match="wrong login"):
                service.login({"login": "hedy", "password": "wrong guess!"}, ip="198.51.100.1")
        with pytest.raises(Exception, match="too many login attempts for this account"):
            b.login({"login": "hedy", "password": PASSWORD}, ip="198.51.100.2")
    finally:
        r = redis.Redis.from_url(REDIS_URL)
        keys = list(r.scan_iter(f"{prefix}*"))
        assert keys, "the limiter kept nothing in Redis"
        r.delete(*keys)


def test_admin_retry_api_needs_the_admin_role(
    client: FlaskClient, services: Services, demo_wav: Path
) -> None:
    from veza.ingest import run_ingest

    accepted = accept(services, demo_wav, owner_id=track_owner(services), filename="x.wav")
    services.store.put(accepted.track.original_key or "", b"broken" * 100,
                       content_type="audio/wav")
    assert run_ingest(services, job_id=str(accepted.job.id),
                      track_id=str(accepted.track.id)) == "failed"
    url = f"/api/v1/admin/jobs/{accepted.job.id}/retry"

    assert_problem(client.post(url), 401, "unauthorized")
    listener = register(client, "lis")
    artist = register(client, "art", role="artist")
    for who in (listener, artist):
        body = assert_problem(client.post(url, headers=bearer(who)), 403, "forbidden")
        assert "admin role" in body["detail"]
        assert_problem(client.get(f"/api/v1/admin/jobs/{accepted.job.id}", headers=bearer(who)),
                       403, "forbidden")
    AccountService(services).create("root", "root@example.org", PASSWORD, "admin")
    admin = client.post("/api/v1/auth/login",
                        json={"login": "root", "password": PASSWORD}).get_json()

    job = client.get(f"/api/v1/admin/jobs/{accepted.job.id}", headers=bearer(admin)).get_json()
    assert job["state"] == "failed" and job["error"]["code"]
    retried = client.post(url, headers=bearer(admin))
    assert retried.status_code == 202
    assert retried.get_json()["state"] == "queued" and retried.get_json()["attempts"] == 0
    with unit_of_work(services.db) as uow:
        assert uow.tracks.get(accepted.track.id).status == "queued"  # type: ignore[union-attr]
    assert_problem(client.post(url, headers=bearer(admin)), 409, "conflict")
    assert_problem(client.post(f"/api/v1/admin/jobs/{uuid.uuid4()}/retry",
                               headers=bearer(admin)), 404, "not_found")


def test_veza_users_create_makes_an_admin(
    services: Services, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    client: FlaskClient,
) -> None:
    from veza.cli import main

    monkeypatch.setenv("VEZA_DATABASE_URL", services.settings.database_url or "")
    monkeypatch.setenv("VEZA_SIGNING_KEY", services.settings.signing_key)
    monkeypatch.setenv("VEZA_PASSWORD", PASSWORD)
    assert main(["users", "create", "ops", "--email", "ops@example.org", "--role", "admin"]) == 0
    assert "admin ops created" in capsys.readouterr().out
    assert main(["users", "create", "ops", "--email", "x@example.org"]) == 2
    assert capsys.readouterr().err.strip() == "veza: that handle is already taken"
    assert main(["users", "create", "Bad Handle", "--email", "y@example.org"]) == 2
    assert "handle" in capsys.readouterr().err
    login = client.post("/api/v1/auth/login", json={"login": "ops", "password": PASSWORD})
    assert login.get_json()["user"]["role"] == "admin"
