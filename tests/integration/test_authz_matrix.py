"""The authorization matrix: every documented operation against every kind of caller.

Columns: the owner, another user, anonymous, an admin, and three bad credentials (an expired
access token, a tampered one, and one whose session was revoked by a refresh-token reuse). The
bad-credential and anonymous columns are derived from the OpenAPI document, so a new endpoint is
covered the day it is documented; the owner / other / admin columns are asserted cell by cell on
private and public resources of the owner. (The track routes have a fuller matrix of their own
in test_tracks_access.py.)
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from flask.testing import FlaskClient

from api import create_app
from storage.db import Database
from storage.local import LocalStore
from storage.repositories import unit_of_work
from veza.accounts import AccountService, signing_key
from veza.runtime import Services
from veza.settings import Settings
from veza.uploads import accept

pytestmark = pytest.mark.integration

PASSWORD = "matrix password 1"
ISSUING = {("/api/v1/auth/register", "post"), ("/api/v1/auth/login", "post"),
           ("/api/v1/auth/refresh", "post")}


@dataclass
class World:
    client: FlaskClient
    services: Services
    headers: dict[str, dict[str, str]]
    ids: dict[str, str]


@pytest.fixture
def world(database_url: str, local_store: LocalStore, tmp_path: Path,
          demo_wav: Path) -> Iterator[World]:
    settings = Settings(database_url=database_url, data_dir=tmp_path, signing_key="k" * 64,
                        rate_limit_auth="0", rate_limit_read="0", rate_limit_upload="0")
    services = Services(settings=settings, db=Database(database_url), store=local_store)
    client = create_app(settings, services).test_client()
    accounts = AccountService(services)
    owner = accounts.create("owner", "owner@example.org", PASSWORD, "artist")
    other = accounts.create("other", "other@example.org", PASSWORD, "artist")
    admin = accounts.create("root", "root@example.org", PASSWORD, "admin")

    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    claims = jwt.decode(owner.access_token, options={"verify_signature": False})
    now = int(time.time())
    expired = jwt.encode({**claims, "iat": now - 900, "exp": now - 60}, signing_key(services),
                         algorithm="HS256")
    head, _, sig = owner.access_token.split(".")
    forged = jwt.encode({**claims, "role": "admin"}, "not the key, but long enough to pass",
                        algorithm="HS256")
    tampered = f"{head}.{forged.split('.')[1]}.{sig}"
    # A second session of the owner, ended by presenting a spent refresh token again once its
    # replacement was used (within the reuse grace, an unused replacement is only skipped).
    second = accounts.login({"login": "owner", "password": PASSWORD}, ip="192.0.2.1")
    third = accounts.refresh({"refresh_token": second.refresh_token})
    accounts.refresh({"refresh_token": third.refresh_token})
    with pytest.raises(Exception, match="already used"):
        accounts.refresh({"refresh_token": second.refresh_token})

    private = accept(services, demo_wav, owner_id=owner.user.id, filename="private.wav",
                     visibility="private")
    public = accept(services, demo_wav, owner_id=owner.user.id, filename="public.wav")
    with unit_of_work(services.db) as uow:
        for accepted in (private, public):
            uow.tracks.set_analysis(accepted.track.id, {
                "duration_s": 30.0, "loudness": {"integrated_lufs": -14.0}, "gain_db": 0.0,
                "tempo_bpm": 120.0, "key": "A minor", "key_confidence": 0.4,
                "cue_in_s": 0.0, "cue_out_s": 30.0})
            uow.tracks.set_status(accepted.track.id, "ready")
        uow.jobs.fail(private.job.id, code="not_audio", message="for the matrix")
    headers = {"owner": bearer(owner.access_token), "other": bearer(other.access_token),
               "admin": bearer(admin.access_token), "anonymous": {},
               "expired": bearer(expired), "tampered": bearer(tampered),
               "revoked": bearer(third.access_token)}
    playlist = client.post("/api/v1/playlists", headers=headers["owner"],
                           json={"title": "Mine", "visibility": "private"}).get_json()
    item = client.post(f"/api/v1/playlists/{playlist['id']}/items", headers=headers["owner"],
                       json={"track_id": str(public.track.id)}).get_json()
    ids = {"private": str(private.track.id), "public": str(public.track.id),
           "job": str(private.job.id), "playlist": playlist["id"], "item": item["item_id"]}
    yield World(client, services, headers, ids)
    services.close()


def _operations(world: World) -> list[tuple[str, str, dict[str, Any]]]:
    spec = world.client.get("/api/docs/openapi.json").get_json()
    return [(path, method, op) for path, item in spec["paths"].items()
            for method, op in item.items()
            if method in ("get", "post", "put", "patch", "delete")]


def _url(world: World, path: str) -> str:
    values = {"track_id": world.ids["private"], "job_id": world.ids["job"],
              "playlist_id": world.ids["playlist"], "item_id": world.ids["item"],
              "handle": "owner", "name": "aac_64k"}
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, f"no value for a parameter of {path}"
    return path


def _call(world: World, method: str, url: str, actor: str, body: Any = None) -> Any:
    return world.client.open(url, method=method.upper(), headers=world.headers[actor],
                             json=body if body is not None else
                             ({} if method in ("post", "put", "patch") else None))


def test_bad_credentials_are_refused_by_every_operation(world: World) -> None:
    failures = []
    operations = _operations(world)
    assert len(operations) >= 40
    for path, method, _ in operations:
        if (path, method) in ISSUING:
            continue
        for actor, code in (("expired", "token_expired"), ("tampered", "invalid_token"),
                            ("revoked", "session_revoked")):
            response = _call(world, method, _url(world, path), actor)
            body = response.get_json(silent=True) or {}
            if response.status_code != 401 or body.get("code") != code:
                failures.append(f"{method.upper()} {path} as {actor}: "
                                f"{response.status_code} {body.get('code')}")
    assert not failures, "\n".join(failures)


def test_anonymous_callers_get_401_exactly_where_a_token_is_documented(world: World) -> None:
    failures = []
    for path, method, operation in _operations(world):
        response = _call(world, method, _url(world, path), "anonymous")
        needs_token = bool(operation.get("security"))
        if needs_token != (response.status_code == 401):
            failures.append(f"{method.upper()} {path}: security={needs_token}, "
                            f"answered {response.status_code}")
    assert not failures, "\n".join(failures)


# (method, path, body, expected status for owner, other, admin, anonymous)
CELLS: list[tuple[str, str, Any, int, int, int, int]] = [
    ("get", "/api/v1/tracks/{private}", None, 200, 404, 200, 404),
    ("get", "/api/v1/tracks/{private}/analysis", None, 200, 404, 200, 404),
    ("get", "/api/v1/tracks/{private}/analysis/key", None, 200, 404, 200, 404),
    ("get", "/api/v1/tracks/{private}/stats", None, 200, 404, 200, 401),
    ("get", "/api/v1/tracks/{public}/stats", None, 200, 403, 200, 401),
    ("get", "/api/v1/tracks/{private}/original", None, 302, 404, 302, 401),
    ("get", "/api/v1/tracks/{private}/cover", None, 404, 404, 404, 404),
    ("put", "/api/v1/tracks/{private}/like", None, 200, 404, 200, 401),
    ("put", "/api/v1/tracks/{public}/like", None, 200, 200, 200, 401),
    ("patch", "/api/v1/tracks/{public}", {"genre": "ambient"}, 200, 403, 200, 401),
    ("get", "/api/v1/playlists/{playlist}", None, 200, 404, 200, 404),
    ("patch", "/api/v1/playlists/{playlist}", {"title": "Renamed"}, 200, 404, 200, 401),
    ("post", "/api/v1/playlists/{playlist}/items", {"track_id": "{public}"}, 201, 404, 201,
     401),
    ("put", "/api/v1/playlists/{playlist}/like", None, 200, 404, 200, 401),
    ("get", "/api/v1/admin/jobs/{job}", None, 403, 403, 200, 401),
    ("get", "/api/v1/me", None, 200, 200, 200, 401),
    ("get", "/api/v1/me/history", None, 200, 200, 200, 401),
    ("get", "/api/v1/me/likes", None, 200, 200, 200, 401),
    ("get", "/api/v1/users/owner", None, 200, 200, 200, 200),
    ("get", "/api/v1/users/owner/playlists", None, 200, 200, 200, 200),
    ("get", "/api/v1/search?q=private", None, 200, 200, 200, 200),
    ("post", "/api/v1/admin/jobs/{job}/retry", None, 403, 403, 202, 401),
]


def _fill(world: World, text: str) -> str:
    for name, value in world.ids.items():
        text = text.replace("{" + name + "}", value)
    return text


def test_owner_other_admin_and_anonymous_cell_by_cell(world: World) -> None:
    failures = []
    for method, path, body, *expected in CELLS:
        url = _fill(world, path)
        filled = ({k: _fill(world, v) for k, v in body.items()} if isinstance(body, dict)
                  else body)
        for actor, status in zip(("owner", "other", "admin", "anonymous"), expected,
                                 strict=True):
            if method == "post" and path.endswith("/retry") and actor == "admin":
                continue  # last, below: it changes the job
            response = _call(world, method, url, actor, filled)
            if response.status_code != status:
                failures.append(f"{method.upper()} {path} as {actor}: expected {status}, "
                                f"got {response.status_code} "
                                f"{response.get_data(as_text=True)[:120]}")
    retried = _call(world, "post", _fill(world, "/api/v1/admin/jobs/{job}/retry"), "admin")
    if retried.status_code != 202:
        failures.append(f"admin retry: {retried.status_code}")
    assert not failures, "\n".join(failures)


def test_what_others_see_leaves_out_the_private(world: World) -> None:
    for actor in ("other", "anonymous"):
        playlists = _call(world, "get", "/api/v1/users/owner/playlists", actor).get_json()
        assert world.ids["playlist"] not in str(playlists)
        found = _call(world, "get", "/api/v1/tracks?owner=owner", actor).get_json()
        assert world.ids["private"] not in str(found) and world.ids["public"] in str(found)
    mine = _call(world, "get", "/api/v1/tracks?owner=owner", "owner").get_json()
    assert world.ids["private"] in str(mine)
    assert world.ids["playlist"] in str(
        _call(world, "get", "/api/v1/users/owner/playlists", "owner").get_json())
    assert uuid.UUID(world.ids["private"])
