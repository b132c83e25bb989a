"""Fixtures and helpers for tests of the track sub-resources over HTTP (real PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from uuid import UUID

import numpy as np
from flask.testing import FlaskClient

from pipeline.waveform import Waveform, WaveformLevel
from storage.repositories import unit_of_work
from veza.layout import hls_prefix
from veza.publish import object_key
from veza.records import Rendition
from veza.runtime import Services
from veza.uploads import accept

PASSWORD = "correct horse battery"
ZOOMS = (256, 512, 1024)
ANALYSIS = {
    "duration_s": 30.0, "sample_rate": 44100, "channels": 2, "codec": "pcm_s16le",
    "loudness": {"integrated_lufs": -11.5, "range_lu": 4.2, "momentary_max_lufs": -8.1,
                 "short_term_max_lufs": -9.3, "sample_peak_dbfs": -0.9, "true_peak_dbtp": -0.4},
    "gain_db": -2.5, "tempo_bpm": 120.0, "key": "A minor", "key_confidence": 0.31,
    "cue_in_s": 0.25, "cue_out_s": 29.5,
}
BEATS = [0.5, 1.0, 1.5, 2.0]


def register(client: FlaskClient, handle: str, role: str = "listener") -> dict[str, str]:
    """Register an account; return the Authorization header of its access token."""
    response = client.post("/api/v1/auth/register", json={
        "handle": handle, "email": f"{handle}@example.org", "password": PASSWORD, "role": role})
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def user_id(client: FlaskClient, auth: dict[str, str]) -> UUID:
    return UUID(client.get("/api/v1/me", headers=auth).get_json()["id"])


def make_admin(services: Services, who: UUID) -> None:
    with unit_of_work(services.db) as uow:
        uow.cur.execute("UPDATE users SET role = 'admin' WHERE id = %s", (who,))


def upload(services: Services, wav: Path, owner: UUID, *, visibility: str = "public") -> UUID:
    """Accept a track (no pipeline run) owned by ``owner`` with ``visibility``."""
    track = accept(services, wav, owner_id=owner, filename="song.wav").track
    set_visibility(services, track.id, visibility)
    return track.id


def set_visibility(services: Services, track_id: UUID, visibility: str) -> None:
    with unit_of_work(services.db) as uow:
        uow.cur.execute("UPDATE tracks SET visibility = %s WHERE id = %s",
                        (visibility, track_id))


def waveform_doc(spp: int, length: int = 8) -> dict[str, Any]:
    """Return a waveform level made by the pipeline's own audiowaveform writer."""
    data = np.tile(np.array([-12, 40], np.int16), length)
    level = WaveformLevel(samples_per_pixel=spp, channels=1, data=data)
    others = tuple(WaveformLevel(samples_per_pixel=z, channels=1, data=data) for z in ZOOMS
                   if z != spp)
    return Waveform(sample_rate=44100, channels=1, bits=8,
                    levels=(level, *others)).to_audiowaveform(spp)


def finish_analysis(services: Services, track_id: UUID) -> None:
    """Store the analysis as the pipeline leaves it: the summary row, analysis.json with the
    beats, waveform.json (finest level) and waveform_{spp}.json for the others."""
    files: dict[str, Any] = {"analysis.json": {**ANALYSIS, "beats_s": BEATS},
                             "waveform.json": waveform_doc(ZOOMS[0])}
    files.update({f"waveform_{z}.json": waveform_doc(z) for z in ZOOMS[1:]})
    for name, body in files.items():
        data = json.dumps(body, separators=(",", ":")).encode()
        services.store.put(object_key(str(track_id), name), data,
                           content_type="application/json", length=len(data))
    with unit_of_work(services.db) as uow:
        uow.tracks.set_analysis(track_id, ANALYSIS)


def make_playable(services: Services, track_id: UUID) -> None:
    """Publish a one-rendition master playlist and mark the track ready (no pipeline run)."""
    master = ("#EXTM3U\n#EXT-X-VERSION:7\n"
              '#EXT-X-STREAM-INF:BANDWIDTH=140000,CODECS="mp4a.40.2"\naac_128k/index.m3u8\n')
    services.store.put(hls_prefix(track_id) + "master.m3u8", master.encode(),
                       content_type="application/vnd.apple.mpegurl")
    with unit_of_work(services.db) as uow:
        uow.renditions.upsert(Rendition(
            track_id=track_id, name="aac_128k", codec="mp4a.40.2", bitrate=128000,
            bandwidth=140000, average_bandwidth=130000,
            playlist_key=hls_prefix(track_id) + "aac_128k/index.m3u8", segment_count=1))
        uow.tracks.set_status(track_id, "ready")
