"""A track's analysis as resources over HTTP: each measure, the waveform levels, access rules."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from storage.repositories import unit_of_work
from tests.helpers import assert_problem, operator, track_owner
from tests.integration.track_api import (
    ANALYSIS,
    BEATS,
    ZOOMS,
    finish_analysis,
    make_admin,
    register,
    upload,
    user_id,
)
from veza import streaming
from veza.analysis import camelot
from veza.catalogue import delete_track
from veza.layout import analysis_prefix
from veza.runtime import Services

pytestmark = pytest.mark.integration

RESOURCES = ("", "/loudness", "/gain", "/tempo", "/key", "/cues", "/waveform")


def url(track_id: uuid.UUID, resource: str = "") -> str:
    return f"/api/v1/tracks/{track_id}/analysis{resource}"


@pytest.fixture
def analysed(services: Services, demo_wav: Path) -> uuid.UUID:
    track_id = upload(services, demo_wav, track_owner(services))
    finish_analysis(services, track_id)
    return track_id


def test_every_measure_as_its_own_resource(client: FlaskClient, analysed: uuid.UUID) -> None:
    loudness = client.get(url(analysed, "/loudness"))
    assert loudness.status_code == 200
    assert loudness.get_json() == ANALYSIS["loudness"]
    assert client.get(url(analysed, "/gain")).get_json() == {
        "gain_db": -2.5, "target_lufs": -14.0, "integrated_lufs": -11.5}
    assert client.get(url(analysed, "/tempo")).get_json() == {"bpm": 120.0, "beats_s": BEATS}
    assert client.get(url(analysed, "/key")).get_json() == {
        "name": "A minor", "tonic": "A", "mode": "minor", "confidence": 0.31, "camelot": "8A"}
    assert client.get(url(analysed, "/cues")).get_json() == {
        "cue_in_s": 0.25, "cue_out_s": 29.5, "audible_s": 29.25, "duration_s": 30.0}


def test_the_whole_analysis_lists_the_waveform_zoom_levels(client: FlaskClient,
                                                           analysed: uuid.UUID) -> None:
    response = client.get(url(analysed))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, max-age=300"
    body = response.get_json()
    assert body["track_id"] == str(analysed)
    assert body["duration_s"] == 30.0 and body["sample_rate"] == 44100
    assert body["key"]["camelot"] == "8A" and body["tempo"]["beats_s"] == BEATS
    assert body["cues"]["audible_s"] == 29.25 and body["gain"]["gain_db"] == -2.5
    assert body["loudness"]["true_peak_dbtp"] == -0.4
    assert body["waveform"]["zoom_levels"] == list(ZOOMS)
    assert body["waveform"]["url"].endswith(f"/api/v1/tracks/{analysed}/analysis/waveform")


def test_waveform_at_each_zoom_level_in_audiowaveform_json(client: FlaskClient,
                                                           analysed: uuid.UUID) -> None:
    finest = client.get(url(analysed, "/waveform"))
    assert finest.status_code == 200 and finest.mimetype == "application/json"
    assert finest.get_json()["samples_per_pixel"] == ZOOMS[0]
    for zoom in ZOOMS:
        level = client.get(url(analysed, f"/waveform?zoom={zoom}")).get_json()
        assert level["version"] == 2 and level["samples_per_pixel"] == zoom
        assert len(level["data"]) == level["length"] * level["channels"] * 2


def test_a_zoom_level_the_track_lacks_is_refused(client: FlaskClient,
                                                 analysed: uuid.UUID) -> None:
    body = assert_problem(client.get(url(analysed, "/waveform?zoom=300")), 422, "invalid")
    assert body["errors"] == [{"field": "zoom", "message": "must be one of 256, 512, 1024"}]
    assert_problem(client.get(url(analysed, "/waveform?zoom=wide")), 422, "invalid")
    assert_problem(client.get(url(analysed, "/waveform?zoom=0")), 422, "invalid")


def test_waveform_missing_from_the_store(client: FlaskClient, services: Services,
                                         analysed: uuid.UUID) -> None:
    for info in list(services.store.list(analysis_prefix(analysed))):
        if "waveform" in info.key:
            services.store.delete(info.key)
    assert_problem(client.get(url(analysed, "/waveform")), 404, "no_waveform")
    assert client.get(url(analysed)).get_json()["waveform"]["zoom_levels"] == []


def test_beats_missing_from_the_store_are_null(client: FlaskClient, services: Services,
                                               analysed: uuid.UUID) -> None:
    services.store.delete(analysis_prefix(analysed) + "analysis.json")
    assert client.get(url(analysed, "/tempo")).get_json() == {"bpm": 120.0, "beats_s": None}


def test_silence_has_no_key(client: FlaskClient, services: Services, demo_wav: Path) -> None:
    from storage.repositories import unit_of_work

    track_id = upload(services, demo_wav, track_owner(services))
    with unit_of_work(services.db) as uow:
        uow.tracks.set_analysis(track_id, {**ANALYSIS, "key": None, "key_confidence": None,
                                           "loudness": {"integrated_lufs": None}})
    assert client.get(url(track_id, "/key")).get_json() == {
        "name": None, "tonic": None, "mode": None, "confidence": None, "camelot": None}
    assert client.get(url(track_id, "/loudness")).get_json()["integrated_lufs"] is None


def test_not_ready_until_the_analysis_is_written(client: FlaskClient, services: Services,
                                                 demo_wav: Path) -> None:
    track_id = upload(services, demo_wav, track_owner(services))
    for resource in RESOURCES:
        body = assert_problem(client.get(url(track_id, resource)), 409, "not_ready")
        assert "queued" in body["detail"]


def test_unknown_track_is_not_found(client: FlaskClient) -> None:
    missing = uuid.uuid4()
    for resource in RESOURCES:
        assert_problem(client.get(url(missing, resource)), 404, "not_found")
    assert client.get("/api/v1/tracks/not-a-uuid/analysis").status_code == 404


def test_private_analysis_only_for_its_owner_and_admins(client: FlaskClient,
                                                        services: Services,
                                                        demo_wav: Path) -> None:
    owner = register(client, "owner", role="artist")
    other = register(client, "other")
    track_id = upload(services, demo_wav, user_id(client, owner), visibility="private")
    finish_analysis(services, track_id)
    for resource in RESOURCES:
        assert_problem(client.get(url(track_id, resource)), 404, "not_found")
        assert_problem(client.get(url(track_id, resource), headers=other), 404, "not_found")
        assert client.get(url(track_id, resource), headers=owner).status_code == 200
    make_admin(services, user_id(client, other))
    assert client.get(url(track_id, "/key"), headers=other).status_code == 200
    assert_problem(client.get(url(track_id), headers={"Authorization": "Bearer junk"}),
                   401, "invalid_token")


def test_a_private_tracks_stream_grant_opens_its_analysis_and_no_other(
        client: FlaskClient, services: Services, demo_wav: Path) -> None:
    owner = register(client, "owner", role="artist")
    track_id = upload(services, demo_wav, user_id(client, owner), visibility="private")
    other_id = upload(services, demo_wav, user_id(client, owner), visibility="private")
    for each in (track_id, other_id):
        finish_analysis(services, each)
    with unit_of_work(services.db) as uow:
        track = uow.tracks.get(track_id)
    assert track is not None
    access = {"access": streaming.grant(services, track)}
    # No Authorization header: the player of a shared link draws the waveform and sets the gain.
    for resource in RESOURCES:
        answer = client.get(url(track_id, resource), query_string=access)
        assert answer.status_code == 200, (resource, answer.get_data(as_text=True))
        assert_problem(client.get(url(other_id, resource), query_string=access),
                       403, "bad_signature")
    assert_problem(client.get(url(track_id, "/waveform"),
                              query_string={"access": access["access"][:-2] + "xx"}),
                   403, "bad_signature")


def test_unlisted_analysis_is_visible_by_its_link(client: FlaskClient, services: Services,
                                                  demo_wav: Path) -> None:
    track_id = upload(services, demo_wav, track_owner(services), visibility="unlisted")
    finish_analysis(services, track_id)
    assert client.get(url(track_id, "/key")).status_code == 200


def test_deleted_track_has_no_analysis(client: FlaskClient, services: Services,
                                       analysed: uuid.UUID) -> None:
    delete_track(services, analysed, operator())
    assert_problem(client.get(url(analysed, "/waveform")), 404, "not_found")
    assert list(services.store.list(analysis_prefix(analysed))) == []


@pytest.mark.parametrize(("key", "code"), [
    ("C major", "8B"), ("A minor", "8A"), ("F# major", "2B"), ("Eb minor", "2A"),
    ("C# minor", "12A"), ("Bb major", "6B"), ("B major", "1B"), ("G# minor", "1A"),
    ("H major", None), ("A dorian", None), (None, None),
])
def test_camelot_codes(key: str | None, code: str | None) -> None:
    assert camelot(key) == code
