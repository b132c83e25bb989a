"""A track's likes and plays on the track and on pages of tracks: likes for everyone, whether the
caller likes it only with a token, plays (its owner's own left out) only to the owner and
admins, as its stats."""

from __future__ import annotations

import uuid

import pytest
from flask.testing import FlaskClient

from tests.integration.test_tracks_access import People, make_track
from veza.runtime import Services

pytestmark = pytest.mark.integration


@pytest.fixture
def people(client: FlaskClient, services: Services) -> People:
    return People(client, services)

BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"}


def play(client: FlaskClient, track_id: uuid.UUID, headers: dict[str, str],
         address: str = "203.0.113.7") -> None:
    response = client.get(f"/api/v1/tracks/{track_id}/master.m3u8",
                          headers={**BROWSER, **headers}, environ_base={"REMOTE_ADDR": address})
    assert response.status_code == 200, response.get_data(as_text=True)


def like(client: FlaskClient, track_id: uuid.UUID, headers: dict[str, str]) -> None:
    assert client.put(f"/api/v1/tracks/{track_id}/like", headers=headers).status_code == 200


def counts(body: dict[str, object]) -> tuple[object, object, object]:
    return body["likes"], body["liked_by_me"], body["plays"]


def test_a_track_shows_its_likes_to_all_and_its_plays_to_its_owner(
    client: FlaskClient, services: Services, people: People
) -> None:
    track_id = make_track(services, people.ids["owner"])
    url = f"/api/v1/tracks/{track_id}"
    assert counts(client.get(url, headers=people.headers["owner"]).get_json()) == (0, False, 0)
    like(client, track_id, people.headers["other"])
    play(client, track_id, people.headers["other"])
    play(client, track_id, {}, address="198.51.100.9")
    play(client, track_id, people.headers["owner"])  # the owner's own play is not counted
    assert counts(client.get(url, headers=people.headers["owner"]).get_json()) == (1, False, 2)
    assert counts(client.get(url, headers=people.headers["admin"]).get_json()) == (1, False, 2)
    assert counts(client.get(url, headers=people.headers["other"]).get_json()) == (1, True, None)
    assert counts(client.get(url).get_json()) == (1, None, None)
    # The same as the track's stats.
    stats = client.get(f"{url}/stats", headers=people.headers["owner"]).get_json()
    assert stats["total_plays"] == 2


def test_pages_of_tracks_carry_each_tracks_counts(
    client: FlaskClient, services: Services, people: People
) -> None:
    tracks = [make_track(services, people.ids["owner"], title=f"Song {n}") for n in range(4)]
    other = make_track(services, people.ids["other"], title="Theirs")
    for n, track_id in enumerate(tracks):
        for listener in range(n):
            play(client, track_id, {}, address=f"198.51.100.{listener + 1}")
    like(client, tracks[1], people.headers["other"])
    like(client, tracks[1], people.headers["admin"])
    like(client, tracks[3], people.headers["admin"])
    like(client, other, people.headers["owner"])
    handle = client.get("/api/v1/me", headers=people.headers["owner"]).get_json()["handle"]
    mine = client.get("/api/v1/tracks", query_string={"owner": handle},
                      headers=people.headers["owner"]).get_json()["items"]
    by_title = {item["title"]: counts(item) for item in mine}
    assert by_title == {"Song 0": (0, False, 0), "Song 1": (2, False, 1),
                        "Song 2": (0, False, 2), "Song 3": (1, False, 3)}
    # The newest public tracks, as a listener sees them: likes and their own, no plays.
    newest = client.get("/api/v1/tracks", headers=people.headers["admin"]).get_json()["items"]
    assert {item["title"]: counts(item) for item in newest}["Song 3"] == (1, True, 3)
    newest = client.get("/api/v1/tracks", headers=people.headers["other"]).get_json()["items"]
    by_title = {item["title"]: counts(item) for item in newest}
    assert by_title["Song 1"] == (2, True, None) and by_title["Theirs"] == (1, False, 0)
    anonymous = client.get("/api/v1/tracks").get_json()["items"]
    assert {item["title"]: counts(item) for item in anonymous}["Song 1"] == (2, None, None)
