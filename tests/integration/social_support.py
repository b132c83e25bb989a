"""Helpers for the social and playlist API tests: accounts, tokens, tracks and problems."""

from __future__ import annotations

import uuid
from typing import Any

from flask.testing import FlaskClient

from storage.repositories import unit_of_work
from tests.helpers import assert_problem
from veza.accounts import AccountService
from veza.runtime import Services

PASSWORD = "correct horse battery"


def register(client: FlaskClient, handle: str, role: str = "listener") -> dict[str, Any]:
    """Register ``handle`` and return its tokens (with ``user``)."""
    response = client.post("/api/v1/auth/register", json={
        "handle": handle, "email": f"{handle}@example.org", "password": PASSWORD, "role": role})
    assert response.status_code == 201, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def admin(client: FlaskClient, services: Services) -> dict[str, str]:
    """Create an admin account and return its Authorization header."""
    AccountService(services).create("root", "root@example.org", PASSWORD, "admin")
    response = client.post("/api/v1/auth/login", json={"login": "root", "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    return bearer(response.get_json())


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def user_id(tokens: dict[str, Any]) -> uuid.UUID:
    return uuid.UUID(tokens["user"]["id"])


def fields(response: Any) -> set[str]:
    """Return the fields a 422 problem names."""
    return {e["field"] for e in assert_problem(response, 422, "invalid")["errors"]}


def add_track(services: Services, owner_id: uuid.UUID, title: str, *,
              visibility: str = "public", status: str = "ready") -> uuid.UUID:
    """Insert a processed track straight through the repositories."""
    track_id = uuid.uuid4()
    with unit_of_work(services.db) as uow:
        uow.tracks.insert(track_id=track_id, owner_id=owner_id, title=title,
                          original_filename=f"{title}.wav",
                          original_key=f"originals/{track_id}/source.wav", size_bytes=1000,
                          source_format="wav", source_codec="pcm_s16le", sample_rate=44100,
                          channels=2, duration_s=30.0)
        uow.tracks.set_status(track_id, status)
    set_visibility(services, track_id, visibility)
    return track_id


def set_visibility(services: Services, track_id: uuid.UUID, visibility: str) -> None:
    with unit_of_work(services.db) as uow:
        uow.cur.execute("UPDATE tracks SET visibility = %s WHERE id = %s",
                        (visibility, track_id))
