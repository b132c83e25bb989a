"""Uploads pre-filled from the file's embedded tags, and the cover art they carry."""

from __future__ import annotations

import subprocess
import uuid
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from storage.repositories import unit_of_work
from tests.helpers import assert_problem, operator, sign_in, track_owner
from tests.integration.track_api import (
    register,
    set_visibility,
    user_id,
)
from veza import tags
from veza.catalogue import delete_track
from veza.layout import cover_prefix
from veza.records import Track
from veza.runtime import Services
from veza.uploads import accept

pytestmark = pytest.mark.integration


def ffmpeg(*args: str) -> None:
    result = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def cover_jpg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cover") / "cover.jpg"
    ffmpeg("-f", "lavfi", "-i", "testsrc=s=64x64", "-frames:v", "1", str(path))
    return path


@pytest.fixture(scope="module")
def tagged_mp3(tmp_path_factory: pytest.TempPathFactory, cover_jpg: Path) -> Path:
    """An MP3 with ID3 tags and an APIC front cover."""
    path = tmp_path_factory.mktemp("mp3") / "01 - upload.mp3"
    ffmpeg("-f", "lavfi", "-i", "sine=f=440:d=2", "-i", str(cover_jpg), "-map", "0:a",
           "-map", "1:v", "-c:a", "libmp3lame", "-c:v", "copy", "-id3v2_version", "3",
           "-metadata", "title=Night Drive", "-metadata", "artist=Ada",
           "-metadata", "album=Engines", "-metadata", "genre=Synthwave",
           "-metadata", "date=2024", "-metadata", "track=3/12", str(path))
    return path


def post(client: FlaskClient, path: Path, query: str = "",
         headers: dict[str, str] | None = None) -> uuid.UUID:
    if headers is None and "HTTP_AUTHORIZATION" not in client.environ_base:
        sign_in(client)  # uploads need an artist; later requests act for the same one
    response = client.post(f"/api/v1/tracks?filename={path.name}{query}", data=path.read_bytes(),
                           content_type="application/octet-stream", headers=headers or {})
    assert response.status_code == 202, response.get_data(as_text=True)
    return uuid.UUID(response.get_json()["id"])


def stored(services: Services, track_id: uuid.UUID) -> Track:
    with unit_of_work(services.db) as uow:
        track = uow.tracks.get(track_id)
    assert track is not None
    return track


def test_tags_prefill_the_uploaded_track(client: FlaskClient, services: Services,
                                         tagged_mp3: Path, cover_jpg: Path) -> None:
    track = stored(services, post(client, tagged_mp3))
    assert (track.title, track.artist, track.album, track.genre) == (
        "Night Drive", "Ada", "Engines", "Synthwave")
    assert track.metadata == {"embedded": {"date": "2024", "track_number": 3}}
    assert track.cover_key == f"covers/{track.id}/cover.jpg"
    assert services.store.get(track.cover_key) == cover_jpg.read_bytes()
    assert services.store.stat(track.cover_key).content_type == "image/jpeg"


def test_the_title_given_wins_over_the_tag(client: FlaskClient, services: Services,
                                           tagged_mp3: Path) -> None:
    track = stored(services, post(client, tagged_mp3, "&title=My+Title"))
    assert track.title == "My Title" and track.artist == "Ada"


def test_the_file_name_is_the_last_resort(client: FlaskClient, services: Services,
                                          demo_wav: Path) -> None:
    track = stored(services, post(client, demo_wav))
    assert track.title == "demo"
    assert (track.artist, track.album, track.cover_key, track.metadata) == (None, None, None, {})


def test_control_and_format_characters_leave_a_file_name_as_they_leave_a_tag(
    client: FlaskClient, services: Services, demo_wav: Path, tmp_path: Path
) -> None:
    # U+202E (right-to-left override) makes "song\u202egpj.wav" read as "songvaw.jpg".
    tagged = tmp_path / "tagged.mp3"
    ffmpeg("-i", str(demo_wav), "-t", "2", "-c:a", "libmp3lame", "-metadata",
           "title=Night\u202e\u200bDrive\u2066", str(tagged))
    from_tag = stored(services, post(client, tagged))
    named = tmp_path / "Night\u202e\u200bDrive\u2066.wav"
    named.write_bytes(demo_wav.read_bytes())
    sign_in(client)
    response = client.post("/api/v1/tracks", query_string={"filename": named.name},
                           data=named.read_bytes(), content_type="application/octet-stream")
    assert response.status_code == 202, response.get_data(as_text=True)
    from_name = stored(services, uuid.UUID(response.get_json()["id"]))
    assert from_tag.title == from_name.title == "NightDrive"
    assert from_name.original_filename == "NightDrive.wav"
    given = stored(services, post(client, demo_wav, "&title=%E2%80%AEMine%E2%80%AC"))
    assert given.title == "Mine"
    edited = client.patch(f"/api/v1/tracks/{given.id}",
                          json={"title": "Night\u202e\u200bDrive", "artist": "\u2066Ada",
                                "album": "\u202e"})
    assert edited.status_code == 200, edited.get_data(as_text=True)
    assert (edited.get_json()["title"], edited.get_json()["artist"],
            edited.get_json()["album"]) == ("NightDrive", "Ada", None)
    described = client.patch(f"/api/v1/tracks/{given.id}",
                             json={"description": "Recorded\u202e live.\r\n\r\nTake 2\u2066"})
    assert described.get_json()["description"] == "Recorded live.\n\nTake 2"
    emptied = client.patch(f"/api/v1/tracks/{given.id}", json={"title": "\u202e "})
    assert_problem(emptied, 422, "invalid")


def test_cover_redirects_to_a_signed_url(client: FlaskClient, services: Services,
                                         tagged_mp3: Path, cover_jpg: Path) -> None:
    track_id = post(client, tagged_mp3)
    cover = f"/api/v1/tracks/{track_id}/cover"
    assert client.get(f"/api/v1/tracks/{track_id}").get_json()["cover_url"].endswith(cover)
    owner = client.get("/api/v1/me").get_json()["handle"]
    [listed] = client.get(f"/api/v1/tracks?owner={owner}").get_json()["items"]
    assert listed["cover_url"].endswith(cover)
    response = client.get(cover)
    assert response.status_code == 302
    assert response.headers["Cache-Control"] == "private, max-age=300"
    location = urlsplit(response.headers["Location"])
    assert "signature=" in location.query and "expires=" in location.query
    picture = client.get(f"{location.path}?{location.query}")
    assert picture.status_code == 200 and picture.mimetype == "image/jpeg"
    assert picture.data == cover_jpg.read_bytes()
    tampered = client.get(f"{location.path}?{location.query.replace('signature=', 'signature=0')}")
    assert tampered.status_code == 403


def test_no_cover_and_no_track(client: FlaskClient, services: Services,
                               demo_wav: Path) -> None:
    track_id = post(client, demo_wav)
    # The track says so: a client need not ask for the cover to learn there is none.
    assert client.get(f"/api/v1/tracks/{track_id}").get_json()["cover_url"] is None
    assert_problem(client.get(f"/api/v1/tracks/{track_id}/cover"), 404, "no_cover")
    assert_problem(client.get(f"/api/v1/tracks/{uuid.uuid4()}/cover"), 404, "not_found")


def test_a_private_cover_only_for_its_owner(client: FlaskClient, services: Services,
                                            tagged_mp3: Path) -> None:
    artist = register(client, "artist", role="artist")
    other = register(client, "other")
    track = accept(services, tagged_mp3, owner_id=user_id(client, artist),
                   filename=tagged_mp3.name).track
    set_visibility(services, track.id, "private")
    url = f"/api/v1/tracks/{track.id}/cover"
    assert_problem(client.get(url), 404, "not_found")
    assert_problem(client.get(url, headers=other), 404, "not_found")
    assert client.get(url, headers=artist).status_code == 302


def test_deleting_a_track_removes_its_cover(client: FlaskClient, services: Services,
                                            tagged_mp3: Path) -> None:
    track_id = post(client, tagged_mp3)
    assert list(services.store.list(cover_prefix(track_id)))
    assert client.delete(f"/api/v1/tracks/{track_id}").status_code == 204
    assert list(services.store.list(cover_prefix(track_id))) == []


def test_a_track_deleted_before_its_cover_is_stored_leaves_none(services: Services,
                                                                tagged_mp3: Path) -> None:
    embedded = tags.read(tagged_mp3)
    track = accept(services, Path(tagged_mp3), owner_id=track_owner(services),
                   filename=None).track
    delete_track(services, track.id, operator())
    again = tags.attach_cover(services, replace(track, cover_key=None), embedded)
    assert again.cover_key is None
    assert list(services.store.list(cover_prefix(track.id))) == []
