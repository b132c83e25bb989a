"""Who may see, stream, change, delete and reprocess a track; what never becomes an object key;
uploads that are too large or cut short leave nothing behind."""

from __future__ import annotations

import base64
import io
import json
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from flask.testing import FlaskClient

from api import create_app
from storage.repositories import unit_of_work
from tests.helpers import PASSWORD, artist_token, assert_problem
from veza.accounts import AccountService, signing_key
from veza.records import Rendition
from veza.runtime import Services

pytestmark = pytest.mark.integration

ORIGINAL = bytes(range(256)) * 16  # 4 KiB whose every byte says where it is
SEGMENT = b"segment one"
MASTER = ('#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-STREAM-INF:BANDWIDTH=140000,CODECS="mp4a.40.2"\n'
          "aac_128k/index.m3u8\n")
MEDIA = ('#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:6\n#EXT-X-PLAYLIST-TYPE:VOD\n'
         '#EXT-X-MAP:URI="init.mp4"\n#EXTINF:6.0,\nseg_00001.m4s\n#EXT-X-ENDLIST\n')


class People:
    """Everyone the matrix asks: their headers and user ids."""

    def __init__(self, client: FlaskClient, services: Services) -> None:
        self.headers: dict[str, dict[str, str]] = {
            "owner": artist_token(client, "olivia"),
            "other": artist_token(client, "oscar", role="listener"),
            "anonymous": {},
        }
        admin = AccountService(services).create("ada", "ada@example.org", PASSWORD, "admin")
        self.headers["admin"] = {"Authorization": f"Bearer {admin.access_token}"}
        token = self.headers["owner"]["Authorization"].split()[1]
        claims = jwt.decode(token, options={"verify_signature": False})
        expired = jwt.encode({**claims, "iat": int(time.time()) - 900,
                              "exp": int(time.time()) - 60}, signing_key(services),
                             algorithm="HS256")
        self.headers["expired"] = {"Authorization": f"Bearer {expired}"}
        header, _, signature = token.split(".")
        promoted = base64.urlsafe_b64encode(json.dumps({**claims, "role": "admin"}).encode())
        self.headers["tampered"] = {
            "Authorization": f"Bearer {header}.{promoted.decode().rstrip('=')}.{signature}"}
        self.ids = {name: uuid.UUID(client.get("/api/v1/me", headers=h).get_json()["id"])
                    for name, h in self.headers.items() if name in ("owner", "other")}


@pytest.fixture
def people(client: FlaskClient, services: Services) -> People:
    return People(client, services)


@pytest.fixture
def settings_changes() -> dict[str, Any]:
    return {"max_upload_bytes": 8 * 1024 * 1024}


def make_track(services: Services, owner_id: uuid.UUID, *, visibility: str = "public",
               status: str = "ready", title: str = "Song", genre: str | None = None,
               tags: tuple[str, ...] = (), duration_s: float = 6.0) -> uuid.UUID:
    """Record a track with its original, a finished job and a one-segment stream in the store."""
    track_id = uuid.uuid4()
    store = services.store
    key = f"originals/{track_id}/source.wav"
    store.put(key, ORIGINAL, content_type="audio/wav")
    hls = f"hls/{track_id}/"
    store.put(hls + "master.m3u8", MASTER.encode(), content_type="application/vnd.apple.mpegurl")
    store.put(hls + "aac_128k/index.m3u8", MEDIA.encode(),
              content_type="application/vnd.apple.mpegurl")
    store.put(hls + "aac_128k/init.mp4", b"init", content_type="audio/mp4")
    store.put(hls + "aac_128k/seg_00001.m4s", SEGMENT, content_type="audio/mp4")
    with unit_of_work(services.db) as uow:
        uow.tracks.insert(track_id=track_id, owner_id=owner_id, title=title,
                          original_filename="secret-demo-v3.wav", original_key=key,
                          size_bytes=len(ORIGINAL), source_format="wav", source_codec="pcm_s16le",
                          sample_rate=44100, channels=2, duration_s=duration_s,
                          visibility=visibility)
        uow.tracks.update(track_id, {"genre": genre, "tags": list(tags)})
        job = uow.jobs.insert(job_id=uuid.uuid4(), track_id=track_id, kind="ingest")
        if status == "failed":
            uow.jobs.fail(job.id, code="not_audio", message="decoder error at 00:03 in your file")
            uow.tracks.set_status(track_id, "failed", error_code="not_audio",
                                  error_message="decoder error at 00:03 in your file")
        elif status == "ready":
            uow.jobs.finish(job.id)
            uow.renditions.upsert(Rendition(
                track_id=track_id, name="aac_128k", codec="mp4a.40.2", bitrate=128000,
                bandwidth=140000, average_bandwidth=130000,
                playlist_key=hls + "aac_128k/index.m3u8", segment_count=1,
                priming_samples=1024, samples=round(duration_s * 48_000)))
            uow.tracks.set_analysis(track_id, {"tempo_bpm": 120.0})
            uow.tracks.set_status(track_id, "ready")
            uow.tracks.set_playable(track_id)
    return track_id


def _path(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    return parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}


# ------------------------------------------------------------------ the matrix

CALLERS = ("owner", "admin", "other", "anonymous", "expired", "tampered")
READS = ("get", "master", "media")
SUCCESS = {"get": 200, "master": 200, "media": 200, "original": 302, "patch": 200,
           "delete": 204, "reprocess": 202}
TOKEN_CODES = {"expired": "token_expired", "tampered": "invalid_token",
               "anonymous": "unauthorized"}


def expected(action: str, visibility: str, caller: str) -> tuple[int, str | None]:
    """Return the status and problem code ``caller`` gets for ``action`` on a track."""
    if caller in ("expired", "tampered"):
        return 401, TOKEN_CODES[caller]  # a bad token is refused even where none is needed
    if caller == "anonymous" and action not in READS:
        return 401, "unauthorized"
    if visibility == "private" and caller not in ("owner", "admin"):
        return 404, "not_found"
    if action not in READS and caller not in ("owner", "admin"):
        return 403, "forbidden"
    return SUCCESS[action], None


def call(client: FlaskClient, action: str, track_id: uuid.UUID,
         headers: dict[str, str]) -> Any:
    url = f"/api/v1/tracks/{track_id}"
    if action == "get":
        return client.get(url, headers=headers)
    if action == "master":
        return client.get(f"{url}/master.m3u8", headers=headers)
    if action == "media":
        return client.get(f"{url}/hls/aac_128k/index.m3u8", headers=headers)
    if action == "original":
        return client.get(f"{url}/original", headers=headers)
    if action == "patch":
        return client.patch(url, json={"title": "Renamed"}, headers=headers)
    if action == "delete":
        return client.delete(url, headers=headers)
    return client.post(f"{url}/reprocess", headers=headers)


@pytest.mark.parametrize("action", sorted(SUCCESS))
def test_access_matrix(action: str, client: FlaskClient, services: Services,
                       people: People) -> None:
    for visibility in ("public", "unlisted", "private"):
        for caller in CALLERS:
            track_id = make_track(services, people.ids["owner"], visibility=visibility)
            response = call(client, action, track_id, people.headers[caller])
            status, code = expected(action, visibility, caller)
            where = f"{action} {visibility} as {caller}"
            assert response.status_code == status, (where, response.get_data(as_text=True))
            if code is not None:
                assert response.mimetype == "application/problem+json", where
                assert response.get_json()["code"] == code, where
                if status == 404:  # a private track answers exactly as a missing one
                    assert str(track_id) in response.get_json()["detail"]
            with unit_of_work(services.db) as uow:
                track = uow.tracks.get(track_id)
                job = uow.jobs.latest_for_track(track_id)
            changed = code is None and action in ("patch", "delete", "reprocess")
            if action == "delete":
                assert (track is None) == changed, where
                assert services.store.exists(f"originals/{track_id}/source.wav") != changed
            else:
                assert track is not None
            if action == "patch":
                assert (track.title == "Renamed") == changed, where  # type: ignore[union-attr]
            if action == "reprocess":
                assert (job is not None and job.state == "queued") == changed, where


def test_a_private_stream_has_no_cacheable_playlist(
    client: FlaskClient, services: Services, people: People
) -> None:
    private = make_track(services, people.ids["owner"], visibility="private")
    public = make_track(services, people.ids["owner"])
    owner = people.headers["owner"]
    assert client.get(f"/api/v1/tracks/{private}/master.m3u8",
                      headers=owner).headers["Cache-Control"] == "private, no-cache"
    assert client.get(f"/api/v1/tracks/{public}/master.m3u8").headers["Cache-Control"] \
        == "no-cache"


def test_others_see_a_failure_but_not_its_reason_job_or_file(
    client: FlaskClient, services: Services, people: People
) -> None:
    track_id = make_track(services, people.ids["owner"], status="failed")
    mine = client.get(f"/api/v1/tracks/{track_id}", headers=people.headers["owner"]).get_json()
    assert mine["status"] == "failed"
    assert mine["error"] == {"code": "not_audio",
                             "message": "decoder error at 00:03 in your file"}
    assert mine["job"]["state"] == "failed" and mine["job"]["error"]["code"] == "not_audio"
    assert mine["original_filename"] == "secret-demo-v3.wav" and mine["size_bytes"] == 4096
    admin = client.get(f"/api/v1/tracks/{track_id}", headers=people.headers["admin"]).get_json()
    assert admin["error"] == mine["error"] and admin["job"] == mine["job"]
    for caller in ("other", "anonymous"):
        theirs = client.get(f"/api/v1/tracks/{track_id}",
                            headers=people.headers[caller]).get_json()
        assert theirs["status"] == "failed" and theirs["title"] == "Song"
        assert theirs["error"] is None and theirs["job"] is None
        assert theirs["original_filename"] is None and theirs["size_bytes"] is None
        assert theirs["owner_id"] == str(people.ids["owner"])


# -------------------------------------------------------------------- uploads


def test_uploads_need_an_artist_and_belong_to_them(
    client: FlaskClient, services: Services, people: People, demo_wav: Path
) -> None:
    body = demo_wav.read_bytes()
    assert_problem(client.post("/api/v1/tracks", data=body, content_type="audio/wav"),
                   401, "unauthorized")
    refused = assert_problem(client.post("/api/v1/tracks", data=body, content_type="audio/wav",
                                         headers=people.headers["other"]), 403, "forbidden")
    assert "artist" in refused["detail"]
    assert_problem(client.post("/api/v1/tracks", data=body, content_type="audio/wav",
                               headers=people.headers["expired"]), 401, "token_expired")
    with unit_of_work(services.db) as uow:
        assert uow.tracks.count() == 0
    assert list(services.store.list("originals/")) == []

    response = client.post("/api/v1/tracks?visibility=private&title=Night", data=body,
                           content_type="audio/wav", headers=people.headers["owner"])
    assert response.status_code == 202, response.get_json()
    track_id = response.get_json()["id"]
    track = client.get(f"/api/v1/tracks/{track_id}", headers=people.headers["owner"]).get_json()
    assert track["owner_id"] == str(people.ids["owner"]) and track["visibility"] == "private"
    assert track["title"] == "Night" and track["job"]["state"] == "queued"
    assert_problem(client.get(f"/api/v1/tracks/{track_id}"), 404, "not_found")
    admin = client.post("/api/v1/tracks", data=body, content_type="audio/wav",
                        headers=people.headers["admin"])
    assert admin.status_code == 202


class CountingStream(io.BytesIO):
    """A request body that notes how much of it the server read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.consumed = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.consumed += len(chunk)
        return chunk


def test_an_oversized_upload_is_refused_before_its_body_is_read(
    client: FlaskClient, services: Services, people: People
) -> None:
    stream = CountingStream(b"\0" * (9 * 1024 * 1024))
    response = client.post("/api/v1/tracks", input_stream=stream, headers={
        **people.headers["owner"], "Content-Type": "audio/wav",
        "Content-Length": str(9 * 1024 * 1024)})
    assert "limit of 8388608 bytes" in assert_problem(response, 413, "too_large")["detail"]
    assert stream.consumed == 0
    # Without a token the answer is 401, before the size is even considered.
    assert_problem(client.post("/api/v1/tracks", data=b"\0" * 100, headers={
        "Content-Type": "audio/wav", "Content-Length": str(9 * 1024 * 1024)}),
        401, "unauthorized")
    with unit_of_work(services.db) as uow:
        assert uow.tracks.count() == 0
    assert list(services.store.list("")) == []


@pytest.mark.parametrize("terminated", [False, True], ids=["wsgi", "gunicorn"])
def test_an_upload_cut_short_leaves_nothing(
    terminated: bool, client: FlaskClient, services: Services, people: People, demo_wav: Path
) -> None:
    # The client promised the whole file but the connection ended a third of the way in.
    # Gunicorn marks its input as terminated (werkzeug then does not bound the stream).
    body = demo_wav.read_bytes()
    response = client.post("/api/v1/tracks?filename=x.wav",
                           input_stream=io.BytesIO(body[: len(body) // 3]),
                           content_type="audio/wav", headers=people.headers["owner"],
                           environ_overrides={"CONTENT_LENGTH": str(len(body)),
                                              "wsgi.input_terminated": terminated})
    detail = assert_problem(response, 400, "incomplete")["detail"]
    assert f"ended after {len(body) // 3} of {len(body)} bytes" in detail
    with unit_of_work(services.db) as uow:
        assert uow.tracks.count() == 0
        uow.cur.execute("SELECT count(*) AS n FROM outbox")
        assert uow.cur.fetchone()["n"] == 0
    assert list(services.store.list("")) == []


TRAVERSALS = ["../../etc/passwd.wav", "..%2f..%2fhls%2fother%2fmaster.m3u8", "%2e%2e/x.wav",
              "/etc/passwd", "C:\\Windows\\system.ini", "..\\..\\boot.ini", "a\x00b.wav",
              "originals/../../escape.wav"]


@pytest.mark.parametrize("name", TRAVERSALS)
def test_names_from_a_client_never_become_object_keys(
    name: str, client: FlaskClient, services: Services, people: People, demo_wav: Path
) -> None:
    owner = people.headers["owner"]
    uploads = [
        client.post("/api/v1/tracks", query_string={"filename": name},
                    data=demo_wav.read_bytes(), content_type="audio/wav", headers=owner),
        client.post("/api/v1/tracks", data={"file": (io.BytesIO(demo_wav.read_bytes()), name)},
                    content_type="multipart/form-data", headers=owner),
    ]
    ids = []
    if "\x00" in name:
        # A NUL in the query string is refused, naming the field; a multipart file name is
        # only shown back, cleaned.
        refused = uploads.pop(0)
        assert_problem(refused, 422, "invalid")
        assert refused.get_json()["errors"][0]["field"] == "filename"
    for response in uploads:
        assert response.status_code == 202, response.get_json()
        ids.append(response.get_json()["id"])
    keys = sorted(info.key for info in services.store.list(""))
    assert keys == sorted(f"originals/{i}/source.wav" for i in ids)
    for track_id in ids:
        track = client.get(f"/api/v1/tracks/{track_id}", headers=owner).get_json()
        shown = track["original_filename"] or ""
        assert "/" not in shown and "\\" not in shown and "\x00" not in shown
        assert "\x00" not in track["title"]
        # A title like a path is only text: changing it moves no object.
        renamed = client.patch(f"/api/v1/tracks/{track_id}", json={"title": name.replace(
            "\x00", "")}, headers=owner)
        assert renamed.status_code == 200
    assert sorted(info.key for info in services.store.list("")) == keys
    for bad in (name, name.replace("\x00", "")):
        if "\x00" in bad:
            assert_problem(client.patch(f"/api/v1/tracks/{ids[0]}", json={"title": bad},
                                        headers=owner), 422, "invalid")


@pytest.mark.parametrize("rendition", ["..", "%2e%2e", "..%2f..%2foriginals",
                                       "%2Fetc%2Fpasswd", "aac_128k%00", "AAC_128K"])
def test_rendition_names_outside_the_track_are_refused(
    rendition: str, client: FlaskClient, services: Services, people: People
) -> None:
    track_id = make_track(services, people.ids["owner"])
    response = client.get(f"/api/v1/tracks/{track_id}/hls/{rendition}/index.m3u8",
                          headers=people.headers["owner"])
    assert response.status_code in (404, 422), response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] in ("not_found", "invalid")


def test_a_title_with_a_nul_is_refused_at_upload(
    client: FlaskClient, services: Services, people: People, demo_wav: Path
) -> None:
    body = assert_problem(client.post("/api/v1/tracks", query_string={"title": "a\x00b"},
                                      data=demo_wav.read_bytes(), content_type="audio/wav",
                                      headers=people.headers["owner"]), 422, "invalid")
    assert body["errors"][0]["field"] == "title"
    assert list(services.store.list("")) == []


# ---------------------------------------------------------- signed segment URLs


def test_segment_urls_are_signed_for_one_object_and_refused_when_tampered(
    client: FlaskClient, services: Services, people: People
) -> None:
    track_id = make_track(services, people.ids["owner"])
    media = client.get(f"/api/v1/tracks/{track_id}/hls/aac_128k/index.m3u8").get_data(
        as_text=True)
    segment_url = next(line for line in media.splitlines() if line.startswith("http"))
    path, query = _path(segment_url)
    assert client.get(path, query_string=query).get_data() == SEGMENT
    # The same signature on the original's key, or an altered expiry, is refused.
    original = f"/files/originals/{track_id}/source.wav"
    assert_problem(client.get(original, query_string=query), 403, "bad_signature")
    later = {**query, "expires": str(int(query["expires"]) + 86400)}
    assert_problem(client.get(path, query_string=later), 403, "bad_signature")
    flipped = {**query, "signature": query["signature"][:-1] + (
        "0" if query["signature"][-1] != "0" else "1")}
    assert_problem(client.get(path, query_string=flipped), 403, "bad_signature")


def test_segment_urls_expire(services: Services, people: People) -> None:
    settings = services.settings.replace(signed_url_ttl_s=1)
    client = create_app(settings, Services(settings, services.db, services.store)).test_client()
    track_id = make_track(services, people.ids["owner"], duration_s=0.5)
    media = client.get(f"/api/v1/tracks/{track_id}/hls/aac_128k/index.m3u8").get_data(
        as_text=True)
    path, query = _path(next(line for line in media.splitlines() if line.startswith("http")))
    assert int(query["expires"]) <= time.time() + 1
    time.sleep(2.1)
    assert "expired" in assert_problem(client.get(path, query_string=query), 403,
                                       "bad_signature")["detail"]


def test_segment_urls_last_long_enough_to_play_the_track_to_its_end(
    client: FlaskClient, services: Services, people: People
) -> None:
    # A player reads a finished (VOD) playlist once: its segment URLs must outlive the track.
    hour = make_track(services, people.ids["owner"], duration_s=3600.0)
    media = client.get(f"/api/v1/tracks/{hour}/hls/aac_128k/index.m3u8").get_data(as_text=True)
    _, query = _path(next(line for line in media.splitlines() if line.startswith("http")))
    ttl = services.settings.signed_url_ttl_s
    assert time.time() + 3600 + ttl - 5 <= int(query["expires"]) <= time.time() + 3600 + ttl + 1


# ------------------------------------------------------- private tracks, granted


def _variant(playlist: str) -> str:
    return next(line for line in playlist.splitlines() if line.startswith("http"))


def test_a_private_track_streams_to_anyone_holding_the_urls_its_owner_is_given(
    client: FlaskClient, services: Services, people: People
) -> None:
    track_id = make_track(services, people.ids["owner"], visibility="private")
    stream = client.get(f"/api/v1/tracks/{track_id}",
                        headers=people.headers["owner"]).get_json()["stream"]
    master_path, grant = _path(stream["master_url"])
    assert set(grant) == {"access"}
    # No Authorization header from here on: what an audio element or HLS player does.
    assert_problem(client.get(master_path), 404, "not_found")
    master = client.get(master_path, query_string=grant)
    assert master.status_code == 200, master.get_data(as_text=True)
    assert master.headers["Cache-Control"] == "private, no-cache"
    media_path, media_query = _path(_variant(master.get_data(as_text=True)))
    assert media_query == grant
    assert_problem(client.get(media_path), 404, "not_found")
    media = client.get(media_path, query_string=media_query)
    assert media.status_code == 200, media.get_data(as_text=True)
    segment_path, signed = _path(_variant(media.get_data(as_text=True)))
    assert client.get(segment_path, query_string=signed).get_data() == SEGMENT
    # The player page plays the same stream.
    player_path, player_query = _path(stream["player_url"])
    page = client.get(player_path, query_string=player_query).get_data(as_text=True)
    assert f'src="{master_path}?access={grant["access"]}"' in page
    # An admin who sees the track is given a grant too; others do not see it at all.
    seen = client.get(f"/api/v1/tracks/{track_id}", headers=people.headers["admin"])
    assert "access" in _path(seen.get_json()["stream"]["master_url"])[1]
    assert_problem(client.get(f"/api/v1/tracks/{track_id}", headers=people.headers["other"]),
                   404, "not_found")


def test_a_private_tracks_rendition_playlists_carry_its_grant(
    client: FlaskClient, services: Services, people: People
) -> None:
    track_id = make_track(services, people.ids["owner"], visibility="private", duration_s=7.5)
    stream = client.get(f"/api/v1/tracks/{track_id}",
                        headers=people.headers["owner"]).get_json()["stream"]
    master_path, grant = _path(stream["master_url"])
    [rendition] = stream["renditions"]
    assert (rendition["sample_rate"], rendition["priming_samples"], rendition["samples"]) == (
        48_000, 1024, 7.5 * 48_000)
    playlist_path, query = _path(rendition["playlist_url"])
    assert playlist_path == f"/api/v1/tracks/{track_id}/hls/aac_128k/index.m3u8"
    assert query == grant
    # The very URL the master playlist lists for that rendition.
    master = client.get(master_path, query_string=grant).get_data(as_text=True)
    assert _variant(master) == rendition["playlist_url"]
    # It plays with the grant alone, as a player fetches it, and for the owner signed in.
    for headers in ({}, people.headers["owner"]):
        media = client.get(playlist_path, query_string=query, headers=headers)
        assert media.status_code == 200, media.get_data(as_text=True)
        assert media.mimetype == "application/vnd.apple.mpegurl"
        segment_path, signed = _path(_variant(media.get_data(as_text=True)))
        assert client.get(segment_path, query_string=signed).get_data() == SEGMENT
    assert_problem(client.get(playlist_path), 404, "not_found")
    # Whoever came with the grant is handed the same URLs: a grant never renews itself.
    shared = client.get(f"/api/v1/tracks/{track_id}", query_string=grant).get_json()
    assert shared["stream"]["renditions"][0]["playlist_url"] == rendition["playlist_url"]


def test_public_and_unlisted_stream_urls_carry_no_grant(
    client: FlaskClient, services: Services, people: People
) -> None:
    for visibility in ("public", "unlisted"):
        track_id = make_track(services, people.ids["owner"], visibility=visibility)
        stream = client.get(f"/api/v1/tracks/{track_id}",
                            headers=people.headers["owner"]).get_json()["stream"]
        assert "?" not in stream["master_url"] and "?" not in stream["player_url"]
        assert all("?" not in r["playlist_url"] for r in stream["renditions"])
        media = client.get(_path(stream["renditions"][0]["playlist_url"])[0])
        assert media.status_code == 200, media.get_data(as_text=True)
        master = client.get(f"/api/v1/tracks/{track_id}/master.m3u8").get_data(as_text=True)
        assert "?" not in _variant(master)


def test_a_stream_grant_opens_one_track_only_and_refuses_forgeries(
    client: FlaskClient, services: Services, people: People
) -> None:
    mine = make_track(services, people.ids["owner"], visibility="private")
    theirs = make_track(services, people.ids["other"], visibility="private")
    grant = _path(client.get(f"/api/v1/tracks/{mine}", headers=people.headers["owner"])
                  .get_json()["stream"]["master_url"])[1]["access"]
    for url in (f"/api/v1/tracks/{theirs}/master.m3u8",
                f"/api/v1/tracks/{theirs}/hls/aac_128k/index.m3u8"):
        detail = assert_problem(client.get(url, query_string={"access": grant}), 403,
                                "bad_signature")["detail"]
        assert f"not for track {theirs}" in detail
    # An access token is not a grant; a grant with its payload altered is not one either.
    token = people.headers["owner"]["Authorization"].split()[1]
    header, payload, signature = grant.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**claims, "sub": str(theirs)}).encode())
    for bad in (token, f"{header}.{forged.decode().rstrip('=')}.{signature}", "x"):
        detail = assert_problem(client.get(f"/api/v1/tracks/{theirs}/master.m3u8",
                                           query_string={"access": bad}), 403,
                                "bad_signature")["detail"]
        assert "stream grant (access) is not valid" in detail
    too_long = assert_problem(client.get(f"/api/v1/tracks/{mine}/master.m3u8",
                                         query_string={"access": "x" * 1001}), 422, "invalid")
    assert [e["field"] for e in too_long["errors"]] == ["access"]
    # A deleted track stays gone whatever grant is shown.
    assert client.delete(f"/api/v1/tracks/{mine}",
                         headers=people.headers["owner"]).status_code == 204
    assert_problem(client.get(f"/api/v1/tracks/{mine}/master.m3u8",
                              query_string={"access": grant}), 404, "not_found")


def test_a_private_tracks_shared_link_opens_its_page_to_anyone_with_the_grant(
    client: FlaskClient, services: Services, people: People
) -> None:
    track_id = make_track(services, people.ids["owner"], visibility="private")
    owner_view = client.get(f"/api/v1/tracks/{track_id}", headers=people.headers["owner"])
    grant = _path(owner_view.get_json()["stream"]["player_url"])[1]
    # What /play/{id}?access= asks, with no token and with a stranger's.
    for caller in ("anonymous", "other"):
        seen = client.get(f"/api/v1/tracks/{track_id}", query_string=grant,
                          headers=people.headers[caller])
        assert seen.status_code == 200, seen.get_data(as_text=True)
        body = seen.get_json()
        assert body["title"] == "Song" and body["visibility"] == "private"
        # What any listener sees; never the owner's own fields.
        assert body["original_filename"] is None and body["size_bytes"] is None
        assert body["job"] is None and body["plays"] is None
        # The stream URLs carry the same grant on: it is not renewed by asking again.
        assert _path(body["stream"]["master_url"])[1] == grant
        assert client.get(_path(body["stream"]["master_url"])[0],
                          query_string=grant).status_code == 200
    assert_problem(client.get(f"/api/v1/tracks/{track_id}"), 404, "not_found")
    # A grant of another track, or a forged one, is refused as on the playlists.
    theirs = make_track(services, people.ids["other"], visibility="private")
    detail = assert_problem(client.get(f"/api/v1/tracks/{theirs}", query_string=grant), 403,
                            "bad_signature")["detail"]
    assert f"not for track {theirs}" in detail
    assert_problem(client.get(f"/api/v1/tracks/{track_id}", query_string={"access": "x"}),
                   403, "bad_signature")


def test_a_stream_grant_expires(services: Services, people: People) -> None:
    # Expiry is in whole seconds: 2 s (+0.5 s of track) is good for 1-2 s from now.
    settings = services.settings.replace(signed_url_ttl_s=2)
    client = create_app(settings, Services(settings, services.db, services.store)).test_client()
    track_id = make_track(services, people.ids["owner"], visibility="private", duration_s=0.5)
    url = client.get(f"/api/v1/tracks/{track_id}",
                     headers=people.headers["owner"]).get_json()["stream"]["master_url"]
    path, grant = _path(url)
    assert client.get(path, query_string=grant).status_code == 200
    time.sleep(2.1)
    assert "expired" in assert_problem(client.get(path, query_string=grant), 403,
                                       "bad_signature")["detail"]


# -------------------------------------------------------------------- original


def test_the_original_is_a_short_signed_redirect_that_answers_ranges(
    client: FlaskClient, services: Services, people: People
) -> None:
    track_id = make_track(services, people.ids["owner"], visibility="private")
    response = client.get(f"/api/v1/tracks/{track_id}/original",
                          headers=people.headers["owner"])
    assert response.status_code == 302 and response.headers["Cache-Control"] == "no-store"
    path, query = _path(response.headers["Location"])
    assert path == f"/files/originals/{track_id}/source.wav"
    assert int(query["expires"]) <= time.time() + services.settings.signed_url_ttl_s + 1
    whole = client.get(path, query_string=query)
    assert whole.status_code == 200 and whole.get_data() == ORIGINAL
    ranged = client.get(path, query_string=query, headers={"Range": "bytes=1000-1099"})
    assert ranged.status_code == 206
    assert ranged.get_data() == ORIGINAL[1000:1100]
    assert ranged.headers["Content-Range"] == f"bytes 1000-1099/{len(ORIGINAL)}"
    tail = client.get(path, query_string=query, headers={"Range": "bytes=-16"})
    assert tail.status_code == 206 and tail.get_data() == ORIGINAL[-16:]
    # If-Match: the object itself when it names its version, else a problem, not the object.
    same = client.get(path, query_string=query, headers={"If-Match": whole.headers["ETag"]})
    assert same.status_code == 200 and same.get_data() == ORIGINAL
    other = client.get(path, query_string=query, headers={"If-Match": '"another"'})
    assert_problem(other, 412, "precondition_failed")
    # The URL is the owner's to share for minutes; it opens nothing else.
    assert_problem(client.get(f"/files/hls/{track_id}/master.m3u8", query_string=query), 403,
                   "bad_signature")


def test_an_unknown_track_has_no_original(client: FlaskClient, people: People) -> None:
    assert_problem(client.get(f"/api/v1/tracks/{uuid.uuid4()}/original",
                              headers=people.headers["owner"]), 404, "not_found")
