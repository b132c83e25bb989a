"""Plays over HTTP: one per listener per listening session, history, and per-track statistics."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from api import create_app
from api.plays import count_play
from storage.repositories import unit_of_work
from tests.helpers import assert_problem, operator, track_owner
from tests.integration.track_api import (
    make_admin,
    make_playable,
    register,
    set_visibility,
    upload,
    user_id,
)
from veza import plays
from veza.catalogue import delete_track
from veza.layout import hls_prefix
from veza.runtime import Services

pytestmark = pytest.mark.integration

BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"}


@pytest.fixture
def track(services: Services, demo_wav: Path) -> uuid.UUID:
    track_id = upload(services, demo_wav, track_owner(services))
    make_playable(services, track_id)
    return track_id


def master(client: FlaskClient, track_id: uuid.UUID, headers: dict[str, str] | None = None,
           address: str = "203.0.113.7") -> None:
    response = client.get(f"/api/v1/tracks/{track_id}/master.m3u8", headers=headers or BROWSER,
                          environ_base={"REMOTE_ADDR": address})
    assert response.status_code == 200, response.get_data(as_text=True)


def play_rows(services: Services, track_id: uuid.UUID) -> list[dict[str, object]]:
    with unit_of_work(services.db) as uow:
        uow.cur.execute("SELECT * FROM plays WHERE track_id = %s ORDER BY id", (track_id,))
        return list(uow.cur.fetchall())


def age_plays(services: Services, by: timedelta, track_id: uuid.UUID | None = None) -> None:
    """Move plays into the past, as if their listening sessions had happened earlier."""
    with unit_of_work(services.db) as uow:
        uow.cur.execute("UPDATE plays SET started_at = started_at - %s,"
                        " last_seen_at = last_seen_at - %s"
                        " WHERE %s::uuid IS NULL OR track_id = %s",
                        (by, by, track_id, track_id))


def stats(client: FlaskClient, track_id: uuid.UUID, auth: dict[str, str]) -> dict[str, object]:
    response = client.get(f"/api/v1/tracks/{track_id}/stats", headers=auth)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()  # type: ignore[no-any-return]


def admin(client: FlaskClient, services: Services) -> dict[str, str]:
    auth = register(client, "root")
    make_admin(services, user_id(client, auth))
    return auth


def test_an_anonymous_listening_session_counts_once(client: FlaskClient, services: Services,
                                                    track: uuid.UUID) -> None:
    for _ in range(3):
        master(client, track)
    rows = play_rows(services, track)
    assert len(rows) == 1
    assert rows[0]["listener_id"] is None
    key = str(rows[0]["listener_key"])
    # Only a keyed hash is kept: neither the address nor the agent can be read back.
    assert key.startswith("anon:") and len(key) == 5 + 64
    assert "203.0.113.7" not in key and "Firefox" not in key
    assert rows[0]["last_seen_at"] > rows[0]["started_at"]


def test_other_clients_are_other_listeners(client: FlaskClient, services: Services,
                                           track: uuid.UUID) -> None:
    master(client, track)
    master(client, track, address="198.51.100.9")
    master(client, track, headers={"User-Agent": "VLC/3.0.21"})
    master(client, track, headers={"User-Agent": "VLC/3.0.21"})
    found = stats(client, track, admin(client, services))
    assert found["total_plays"] == 3 and found["unique_listeners"] == 3


def test_a_head_request_never_counts(client: FlaskClient, services: Services,
                                     track: uuid.UUID) -> None:
    for _ in range(3):
        response = client.head(f"/api/v1/tracks/{track}/master.m3u8", headers=BROWSER)
        assert response.status_code == 200
    assert play_rows(services, track) == []
    master(client, track)
    assert len(play_rows(services, track)) == 1


def test_fetching_a_renditions_playlist_never_counts(client: FlaskClient, services: Services,
                                                    track: uuid.UUID) -> None:
    # A gapless player fetches the next track's media playlist (playlist_url) ahead of time:
    # only its master playlist, fetched when it starts, is a play.
    media = ('#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:6\n#EXT-X-PLAYLIST-TYPE:VOD\n'
             '#EXT-X-MAP:URI="init.mp4"\n#EXTINF:6.0,\nseg_00001.m4s\n#EXT-X-ENDLIST\n')
    services.store.put(hls_prefix(track) + "aac_128k/index.m3u8", media.encode(),
                       content_type="application/vnd.apple.mpegurl")
    body = client.get(f"/api/v1/tracks/{track}", headers=BROWSER).get_json()
    path = urlsplit(body["stream"]["renditions"][0]["playlist_url"]).path
    assert play_rows(services, track) == []
    for _ in range(3):
        response = client.get(path, headers=BROWSER, environ_base={"REMOTE_ADDR": "203.0.113.7"})
        assert response.status_code == 200, response.get_data(as_text=True)
        assert "seg_00001.m4s?" in response.get_data(as_text=True)  # signed
    assert play_rows(services, track) == []
    master(client, track)
    assert len(play_rows(services, track)) == 1


def test_changing_the_user_agent_does_not_inflate_plays(client: FlaskClient,
                                                        services: Services,
                                                        track: uuid.UUID) -> None:
    for n in range(10):
        master(client, track, {"User-Agent": f"Agent/{n}"})
        master(client, track, {"User-Agent": f"Agent/{n}"}, address=f"2001:db8:5::{n + 1}")
    found = stats(client, track, admin(client, services))
    # Per address (an IPv6 client: per /64) and track, ANONYMOUS_PLAYS sessions a window.
    assert found["total_plays"] == found["unique_listeners"] == 2 * plays.ANONYMOUS_PLAYS
    # The listeners counted keep their sessions; other addresses and accounts still count.
    master(client, track, {"User-Agent": "Agent/0"})
    master(client, track, address="198.51.100.9")
    master(client, track, {**register(client, "lis"), **BROWSER})
    assert len(play_rows(services, track)) == 2 * plays.ANONYMOUS_PLAYS + 2


def test_a_new_session_after_the_window_counts_again(client: FlaskClient, services: Services,
                                                     track: uuid.UUID) -> None:
    auth = register(client, "lis")
    master(client, track, auth)
    age_plays(services, timedelta(seconds=plays.SESSION_WINDOW_S - 60))
    master(client, track, auth)  # still within 30 min of the last fetch: the same session
    assert len(play_rows(services, track)) == 1
    age_plays(services, timedelta(seconds=plays.SESSION_WINDOW_S + 1))
    master(client, track, auth)
    rows = play_rows(services, track)
    assert len(rows) == 2 and rows[0]["listener_id"] == rows[1]["listener_id"]
    found = stats(client, track, admin(client, services))
    assert found["total_plays"] == 2 and found["unique_listeners"] == 1


def test_an_account_is_one_listener_wherever_it_listens(client: FlaskClient,
                                                        services: Services,
                                                        track: uuid.UUID) -> None:
    auth = register(client, "lis")
    master(client, track, {**auth, **BROWSER})
    master(client, track, {**auth, "User-Agent": "VLC/3.0.21"}, address="198.51.100.9")
    assert len(play_rows(services, track)) == 1


def test_simultaneous_fetches_count_once(services: Services, track: uuid.UUID) -> None:
    listeners = [plays.Listener(key=f"anon:{n}", user_id=None) for n in range(6)]
    barrier = threading.Barrier(4)
    started: list[bool] = []
    lock = threading.Lock()

    def fetch(listener: plays.Listener) -> None:
        barrier.wait()
        new = plays.record_play(services, track, listener)
        with lock:
            started.append(new)

    for listener in listeners:
        threads = [threading.Thread(target=fetch, args=(listener,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert started.count(True) == len(listeners)
    assert len(play_rows(services, track)) == len(listeners)


def test_a_track_that_cannot_stream_counts_nothing(client: FlaskClient, services: Services,
                                                   demo_wav: Path) -> None:
    queued = upload(services, demo_wav, track_owner(services))
    response = client.get(f"/api/v1/tracks/{queued}/master.m3u8")
    assert_problem(response, 404, "not_found")
    assert play_rows(services, queued) == []


def test_a_stale_token_counts_as_an_anonymous_listener(services: Services,
                                                       track: uuid.UUID) -> None:
    app = create_app(services.settings, services)
    with app.test_request_context(headers={"Authorization": "Bearer expired", **BROWSER},
                                  environ_base={"REMOTE_ADDR": "203.0.113.7"}):
        count_play(track)
    rows = play_rows(services, track)
    assert len(rows) == 1 and str(rows[0]["listener_key"]).startswith("anon:")


def test_history_newest_first_in_pages(client: FlaskClient, services: Services,
                                       demo_wav: Path) -> None:
    auth = register(client, "lis")
    tracks = []
    for _ in range(5):
        track_id = upload(services, demo_wav, track_owner(services))
        make_playable(services, track_id)
        master(client, track_id, auth)
        age_plays(services, timedelta(minutes=1))  # each play a minute before the next
        tracks.append(track_id)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = f"?limit=2&cursor={cursor}" if cursor else "?limit=2"
        response = client.get(f"/api/v1/me/history{query}", headers=auth)
        assert response.status_code == 200
        body = response.get_json()
        seen += [item["track"]["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [str(t) for t in reversed(tracks)]
    first = client.get("/api/v1/me/history", headers=auth).get_json()["items"][0]
    assert first["track"]["title"] == "song" and first["track"]["duration_s"] == 30.0
    assert datetime.fromisoformat(first["started_at"]) <= datetime.fromisoformat(
        first["last_seen_at"])


def test_history_holds_only_the_callers_plays(client: FlaskClient, services: Services,
                                              track: uuid.UUID) -> None:
    mine = register(client, "lis")
    theirs = register(client, "other")
    master(client, track, theirs)
    master(client, track)  # anonymous
    assert client.get("/api/v1/me/history", headers=mine).get_json() == {
        "items": [], "next_cursor": None}
    master(client, track, mine)
    items = client.get("/api/v1/me/history", headers=mine).get_json()["items"]
    assert [item["track"]["id"] for item in items] == [str(track)]


def test_history_leaves_out_tracks_the_caller_can_no_longer_see(
        client: FlaskClient, services: Services, demo_wav: Path) -> None:
    artist = register(client, "artist", role="artist")
    lis = register(client, "lis")
    hidden = upload(services, demo_wav, user_id(client, artist))
    gone = upload(services, demo_wav, user_id(client, artist))
    for track_id in (hidden, gone):
        make_playable(services, track_id)
        master(client, track_id, lis)
        master(client, track_id, artist)
    set_visibility(services, hidden, "private")
    delete_track(services, gone, operator())
    assert client.get("/api/v1/me/history", headers=lis).get_json()["items"] == []
    # The owner still sees their own private track in their history.
    items = client.get("/api/v1/me/history", headers=artist).get_json()["items"]
    assert [item["track"]["id"] for item in items] == [str(hidden)]


def test_history_refuses_bad_requests(client: FlaskClient) -> None:
    auth = register(client, "lis")
    assert_problem(client.get("/api/v1/me/history"), 401, "unauthorized")
    for query in ("limit=0", "limit=101", "limit=many"):
        assert_problem(client.get(f"/api/v1/me/history?{query}", headers=auth), 422, "invalid")
    for cursor in ("garbage!", "bm90IGEgY3Vyc29y", "MjAyNi0wMS0wMXwx"):  # "not a cursor", naive
        body = assert_problem(client.get(f"/api/v1/me/history?cursor={cursor}", headers=auth),
                              422, "invalid")
        assert body["errors"] == [{"field": "cursor", "message": "not a cursor this API gave out"}]


def test_stats_per_day_for_the_last_30_days(client: FlaskClient, services: Services,
                                            demo_wav: Path) -> None:
    artist = register(client, "artist", role="artist")
    track_id = upload(services, demo_wav, user_id(client, artist))
    make_playable(services, track_id)
    master(client, track_id, register(client, "old"))
    age_plays(services, timedelta(days=40))
    master(client, track_id, register(client, "three"))
    age_plays(services, timedelta(days=3))
    master(client, track_id, register(client, "today"))
    master(client, track_id)
    found = stats(client, track_id, artist)
    assert found["track_id"] == str(track_id)
    assert found["total_plays"] == 4 and found["unique_listeners"] == 4
    days = found["days"]
    assert isinstance(days, list) and len(days) == 30
    today = datetime.now(UTC).date()
    assert days[-1] == {"date": today.isoformat(), "plays": 2}
    assert days[0]["date"] == (today - timedelta(days=29)).isoformat()
    assert {d["date"]: d["plays"] for d in days}[(today - timedelta(days=3)).isoformat()] == 1
    assert sum(d["plays"] for d in days) == 3  # the play 40 days ago is in the total only


def test_the_owners_own_plays_are_history_not_statistics(client: FlaskClient,
                                                         services: Services,
                                                         demo_wav: Path) -> None:
    artist = register(client, "artist", role="artist")
    track_id = upload(services, demo_wav, user_id(client, artist))
    make_playable(services, track_id)
    master(client, track_id, artist)
    found = stats(client, track_id, artist)
    assert found["total_plays"] == 0 and found["unique_listeners"] == 0
    items = client.get("/api/v1/me/history", headers=artist).get_json()["items"]
    assert [item["track"]["id"] for item in items] == [str(track_id)]


def test_stats_only_for_the_owner_and_admins(client: FlaskClient, services: Services,
                                             demo_wav: Path) -> None:
    artist = register(client, "artist", role="artist")
    other = register(client, "other")
    track_id = upload(services, demo_wav, user_id(client, artist))
    url = f"/api/v1/tracks/{track_id}/stats"
    assert_problem(client.get(url), 401, "unauthorized")
    assert_problem(client.get(url, headers=other), 403, "forbidden")
    set_visibility(services, track_id, "private")
    assert_problem(client.get(url, headers=other), 404, "not_found")
    assert_problem(client.get(f"/api/v1/tracks/{uuid.uuid4()}/stats", headers=artist),
                   404, "not_found")
    assert stats(client, track_id, admin(client, services))["total_plays"] == 0
    assert stats(client, track_id, artist)["total_plays"] == 0


def test_anonymous_keys_depend_on_the_servers_secret() -> None:
    def key(secret: bytes, agent: str = "VLC/3.0.21") -> str:
        return plays.listener_for(None, address="203.0.113.7", user_agent=agent,
                                  secret=secret).key

    assert key(b"a") == key(b"a")
    assert key(b"a") != key(b"b")
    assert key(b"a") != key(b"a", agent="VLC/3.0.22")
    assert key(b"a", agent="x" * 600) == key(b"a", agent="x" * 512)
