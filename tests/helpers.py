"""Checks shared by the integration and end-to-end tests."""

from __future__ import annotations

import json
import struct
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import m3u8
import numpy as np
import requests

PASSWORD = "correct horse battery"


def artist_token(client_or_base_url: Any, handle: str | None = None, *,
                 role: str = "artist") -> dict[str, str]:
    """Register a new account (an artist unless ``role`` says otherwise) through the API and
    return the headers that act for it.

    ``client_or_base_url`` is a Flask test client or the base URL of a running API.
    """
    handle = handle or f"{role}-{uuid.uuid4().hex[:12]}"
    body = {"handle": handle, "email": f"{handle}@example.org", "password": PASSWORD,
            "role": role}
    if isinstance(client_or_base_url, str):
        response = requests.post(f"{client_or_base_url}/api/v1/auth/register", json=body,
                                 timeout=30)
        status, tokens = response.status_code, response.json()
    else:
        response = client_or_base_url.post("/api/v1/auth/register", json=body)
        status, tokens = response.status_code, response.get_json()
    assert status == 201, tokens
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def sign_in(client: Any, *, role: str = "artist") -> Any:
    """Register a new account on a Flask test client and make every later request of that
    client act for it; return the client."""
    headers = artist_token(client, role=role)
    client.environ_base["HTTP_AUTHORIZATION"] = headers["Authorization"]
    return client


def track_owner(services: Any, handle: str = "owner") -> uuid.UUID:
    """Return the id of a user (created when missing) to own tracks made without the API."""
    from storage.repositories import unit_of_work

    with unit_of_work(services.db) as uow:
        return uow.users.ensure(handle).id


def ffprobe_duration(path: Path | str) -> float:
    """Return the duration ffprobe reads from a file or URL."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
        check=True, capture_output=True, text=True, timeout=120,
    ).stdout
    return float(json.loads(out)["format"]["duration"])


def decode_strictly(source: str | Path, wav: Path) -> None:
    """Decode ``source`` to WAV with ffmpeg, failing on the first decode error."""
    result = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-xerror", "-y", "-i", str(source), "-vn",
         "-f", "wav", str(wav)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


def fetch_stream(master_url: str, dest: Path, session: requests.Session | None = None) -> Path:
    """Follow a master playlist to its media playlist, fetch init and every segment through
    the URLs given, and join them into one fMP4 file."""
    http = session or requests.Session()
    response = http.get(master_url, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/vnd.apple.mpegurl")
    master = m3u8.loads(response.text)
    assert len(master.playlists) >= 1
    variant = master.playlists[0]
    assert "mp4a.40.2" in variant.stream_info.codecs
    media_response = http.get(variant.uri, timeout=30)
    assert media_response.status_code == 200, media_response.text
    media = m3u8.loads(media_response.text)
    assert media.is_endlist and media.playlist_type == "vod"
    assert media.segments, "media playlist lists no segments"
    for segment in media.segments:
        assert segment.duration <= media.target_duration
    init_url = media.segments[0].init_section.uri
    parts = [init_url] + [s.uri for s in media.segments]
    with open(dest, "wb") as out:
        for url in parts:
            part = http.get(url, timeout=30)
            assert part.status_code == 200, (url, part.status_code, part.text[:200])
            out.write(part.content)
    return dest


@contextmanager
def running_worker(services: Any) -> Iterator[Any]:
    """Run an outbox relay and one worker thread on ``services`` for the block; yield the engine."""
    from tasks.actors import build_engine, build_relay

    engine = build_engine(services)
    relay = build_relay(services, engine)
    relay.start()
    engine.start_worker(threads=1)
    try:
        yield engine
    finally:
        relay.stop()
        engine.stop()


def operator() -> Any:
    """Return a caller with the admin role, for plain calls that check who acts."""
    from veza.accounts import Principal

    return Principal(user_id=uuid.uuid4(), role="admin", session_id=uuid.uuid4())


def write_float_wav(path: Path, y: np.ndarray, *, sample_rate: int) -> None:
    """Write planar samples as a 32-bit float WAV, exactly as given (NaN included)."""
    data = np.ascontiguousarray(y.T, dtype="<f4").tobytes()
    channels = y.shape[0]
    fmt = struct.pack("<HHIIHH", 3, channels, sample_rate, sample_rate * channels * 4,
                      channels * 4, 32)
    with open(path, "wb") as out:
        out.write(b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)) + b"WAVE")
        out.write(b"fmt " + struct.pack("<I", len(fmt)) + fmt)
        out.write(b"data" + struct.pack("<I", len(data)) + data)


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """Check a Flask test response is the problem+json answer ``status`` with ``code``."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == code, body
    return body  # type: ignore[no-any-return]


def silent_flac(path: Path, seconds: float, *, sample_rate: int = 8000,
                claim_s: float | None = None) -> Path:
    """Write ``seconds`` of mono silence as FLAC: a few KB a minute, a decompression bomb.

    ``claim_s`` rewrites STREAMINFO's sample count, so the header lies about the length
    (0 says nothing at all, as a FLAC written to a pipe).
    """
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"anullsrc=r={sample_rate}:cl=mono", "-t", str(seconds), "-c:a", "flac",
                    str(path)], check=True, timeout=120)
    if claim_s is not None:
        data = bytearray(path.read_bytes())
        # "fLaC", a 4-byte block header, then STREAMINFO: the 36-bit sample count ends the
        # 8 bytes at offset 10 (after sample rate, channels and bits per sample).
        assert data[:4] == b"fLaC" and data[4] & 0x7F == 0
        at = 8 + 10
        fields = int.from_bytes(data[at:at + 8], "big")
        fields = (fields >> 36 << 36) | round(claim_s * sample_rate)
        data[at:at + 8] = fields.to_bytes(8, "big")
        path.write_bytes(bytes(data))
    return path
