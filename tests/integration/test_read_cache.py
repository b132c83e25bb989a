"""The read cache of public answers: it never serves a private track or an owner's view to
anyone else, a write through this process takes effect at once, and a write behind its back
(another process) within the cache's time to live."""

from __future__ import annotations

import time
from pathlib import Path
from uuid import UUID

import pytest
from flask.testing import FlaskClient

from api import create_app
from api.cache import read_cache
from tests.integration.track_api import (
    client,
    make_playable,
    register,
    services,
    set_visibility,
    upload,
    user_id,
)
from veza.runtime import Services

pytestmark = pytest.mark.integration
__all__ = ["client", "services"]  # fixtures


@pytest.fixture
def owner(client: FlaskClient) -> dict[str, str]:
    return register(client, "olivia", role="artist")


@pytest.fixture
def track(client: FlaskClient, services: Services, owner: dict[str, str],
          demo_wav: Path) -> UUID:
    """A public, ready track of ``owner`` called "Lantern"."""
    track_id = upload(services, demo_wav, user_id(client, owner))
    make_playable(services, track_id)
    assert client.patch(f"/api/v1/tracks/{track_id}", json={"title": "Lantern"},
                        headers=owner).status_code == 200
    return track_id


def listed(client: FlaskClient, **headers: str) -> list[str]:
    response = client.get("/api/v1/tracks?limit=20", headers=headers)
    assert response.status_code == 200
    return [item["id"] for item in response.get_json()["items"]]


def found(client: FlaskClient) -> list[str]:
    response = client.get("/api/v1/search?q=lantern")
    assert response.status_code == 200
    return [item["id"] for item in response.get_json()["items"]]


def test_a_track_made_private_is_not_served_again(
        client: FlaskClient, owner: dict[str, str], track: UUID) -> None:
    url = f"/api/v1/tracks/{track}"
    # Anonymous reads fill the cache...
    assert client.get(url).status_code == 200
    assert str(track) in listed(client) and str(track) in found(client)
    assert len(read_cache(client.application)) == 3
    # ...and the owner's write empties it: the track is gone at once, not after the TTL.
    response = client.patch(url, json={"visibility": "private"}, headers=owner)
    assert response.status_code == 200
    assert client.get(url).status_code == 404
    assert str(track) not in listed(client)
    assert str(track) not in found(client)
    # The owner still sees it, with a token.
    assert client.get(url, headers=owner).get_json()["visibility"] == "private"


def test_an_owners_change_is_served_at_once(
        client: FlaskClient, owner: dict[str, str], track: UUID) -> None:
    url = f"/api/v1/tracks/{track}"
    assert client.get(url).get_json()["title"] == "Lantern"
    assert client.get(url).get_json()["title"] == "Lantern"  # from the cache
    assert client.patch(url, json={"title": "Lighthouse"}, headers=owner).status_code == 200
    assert client.get(url).get_json()["title"] == "Lighthouse"
    assert client.delete(url, headers=owner).status_code == 204
    assert client.get(url).status_code == 404


def test_owner_only_fields_never_reach_anonymous_callers(
        client: FlaskClient, services: Services, owner: dict[str, str], track: UUID,
        demo_wav: Path) -> None:
    url = f"/api/v1/tracks/{track}"
    mine = client.get(url, headers=owner).get_json()
    assert mine["original_filename"] == "song.wav" and mine["job"] is not None
    assert len(read_cache(client.application)) == 0  # a token holder's answer is not kept
    for _ in range(2):  # filling the cache, then from it
        theirs = client.get(url).get_json()
        assert theirs["title"] == "Lantern"
        assert theirs["original_filename"] is None and theirs["size_bytes"] is None
        assert theirs["job"] is None
    # A private track read by its owner is never kept for anybody else either.
    hidden = upload(services, demo_wav, user_id(client, owner), visibility="private")
    assert client.get(f"/api/v1/tracks/{hidden}", headers=owner).status_code == 200
    assert client.get(f"/api/v1/tracks/{hidden}").status_code == 404
    # Nor the owner's own listing, which shows their private tracks.
    own = client.get("/api/v1/tracks?owner=olivia", headers=owner).get_json()["items"]
    assert str(hidden) in [item["id"] for item in own]
    public = client.get("/api/v1/tracks?owner=olivia").get_json()["items"]
    assert str(hidden) not in [item["id"] for item in public]


def test_a_write_behind_the_apis_back_shows_within_the_ttl(
        client: FlaskClient, services: Services, track: UUID) -> None:
    # Another process (a second API worker) made the track private: this one is not told.
    cache = read_cache(client.application)
    cache.ttl_s = 0.3
    url = f"/api/v1/tracks/{track}"
    assert client.get(url).status_code == 200
    set_visibility(services, track, "private")
    time.sleep(cache.ttl_s + 0.05)
    assert client.get(url).status_code == 404
    assert str(track) not in listed(client)


def test_answers_depend_on_every_query_parameter(
        client: FlaskClient, owner: dict[str, str], track: UUID) -> None:
    assert str(track) in listed(client)
    other = client.get("/api/v1/tracks?limit=20&genre=Nothing").get_json()["items"]
    assert other == []
    # Repeated parameters keep their order: the first one counts.
    first = client.get("/api/v1/search?q=lantern&q=nothing").get_json()["items"]
    second = client.get("/api/v1/search?q=nothing&q=lantern").get_json()["items"]
    assert [item["id"] for item in first] == [str(track)] and second == []


def test_with_the_cache_off_a_write_behind_the_apis_back_shows_at_once(
        services: Services, track: UUID) -> None:
    settings = services.settings.replace(read_cache_ttl_s=0)
    uncached = create_app(settings, services).test_client()
    url = f"/api/v1/tracks/{track}"
    assert uncached.get(url).status_code == 200
    set_visibility(services, track, "private")
    assert uncached.get(url).status_code == 404


def test_behind_a_trusted_proxy_each_client_address_has_its_own_read_budget(
        services: Services, track: UUID) -> None:
    url = f"/api/v1/tracks/{track}"

    def statuses(app_client: FlaskClient, forwarded_for: str) -> list[int]:
        return [app_client.get(url, headers={"X-Forwarded-For": forwarded_for},
                               environ_base={"REMOTE_ADDR": "10.0.0.2"}).status_code
                for _ in range(3)]

    limited = services.settings.replace(rate_limit_read="2/minute")
    # Behind HAProxy (one trusted hop) the budget is the client's, not the proxy's.
    proxied = create_app(limited.replace(trusted_proxies=1), services).test_client()
    assert statuses(proxied, "192.0.2.1") == [200, 200, 429]
    assert statuses(proxied, "192.0.2.2") == [200, 200, 429]
    # Without a trusted proxy the header is the client's word: it cannot buy a new budget.
    direct = create_app(limited, services).test_client()
    assert statuses(direct, "192.0.2.3") == [200, 200, 429]
    assert statuses(direct, "192.0.2.4") == [429, 429, 429]
