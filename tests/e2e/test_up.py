"""`veza up` as a user runs it: embedded database, objects on disk, in-process queue."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import start, stop, wait_http, wait_ready
from tests.helpers import artist_token, decode_strictly, fetch_stream, ffprobe_duration

pytestmark = pytest.mark.e2e


def test_veza_up_ingests_an_upload_and_streams_it(
    short_dir: Path, port: int, demo_wav: Path, tmp_path: Path
) -> None:
    env = {"VEZA_DATA_DIR": str(short_dir / "data"), "VEZA_API_PORT": str(port),
           "VEZA_MAX_UPLOAD_BYTES": str(10 * 1024 * 1024),
           "VEZA_WEB_DIR": str(tmp_path / "no-web-build")}  # /play/{id}: the minimal player
    proc = start(["up"], env, tmp_path / "up.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/healthz", proc)
        assert f"Veza is up at {base}" in proc.output()
        # The server does not name itself (Werkzeug, Python and their versions).
        assert "Server" not in requests.get(f"{base}/healthz", timeout=10).headers

        anonymous = requests.post(f"{base}/api/v1/tracks?filename=demo.wav",
                                  data=demo_wav.read_bytes(), timeout=60)
        assert anonymous.status_code == 401 and anonymous.json()["code"] == "unauthorized"
        artist = artist_token(base)
        response = requests.post(f"{base}/api/v1/tracks?filename=demo.wav",
                                 data=demo_wav.read_bytes(), headers=artist, timeout=60)
        assert response.status_code == 202, response.text
        track = wait_ready(response.json()["status_url"])
        assert track["status"] == "ready", track

        # Every URL the API returns works: master → media playlist → signed segments.
        joined = fetch_stream(track["stream"]["master_url"], tmp_path / "stream.mp4")
        wav = tmp_path / "decoded.wav"
        decode_strictly(joined, wav)
        assert ffprobe_duration(wav) == pytest.approx(30.0, abs=0.1)
        # ffmpeg follows the playlists itself, as a player would.
        wav2 = tmp_path / "decoded2.wav"
        decode_strictly(track["stream"]["master_url"], wav2)
        assert ffprobe_duration(wav2) == pytest.approx(30.0, abs=0.1)

        # Signed segment URLs: a tampered one is refused, a range request is honoured.
        media = requests.get(f"{base}/api/v1/tracks/{track['id']}/hls/aac_128k/index.m3u8",
                             timeout=10).text
        segment_url = next(line for line in media.splitlines() if line.startswith("http"))
        assert requests.get(segment_url, timeout=10).status_code == 200
        tampered = segment_url.replace("signature=", "signature=0")
        refused = requests.get(tampered, timeout=10)
        assert refused.status_code == 403
        assert refused.headers["Content-Type"] == "application/problem+json"
        ranged = requests.get(segment_url, headers={"Range": "bytes=0-99"}, timeout=10)
        assert ranged.status_code == 206 and len(ranged.content) == 100

        # The owner downloads the original through a short-lived signed redirect, in ranges.
        original = requests.get(f"{base}/api/v1/tracks/{track['id']}/original",
                                headers={**artist, "Range": "bytes=100-199"}, timeout=10)
        assert original.history and original.history[0].status_code == 302
        assert original.status_code == 206
        assert original.content == demo_wav.read_bytes()[100:200]

        player = requests.get(track["stream"]["player_url"], timeout=10)
        assert player.status_code == 200 and "master.m3u8" in player.text

        # A declared length over the limit is refused before the body is sent.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"POST /api/v1/tracks HTTP/1.1\r\nHost: x\r\n"
                         b"Authorization: " + artist["Authorization"].encode() + b"\r\n"
                         b"Content-Type: audio/wav\r\nContent-Length: 10737418240\r\n\r\n")
            reply = sock.recv(65536).decode()
        assert reply.startswith("HTTP/1.1 413"), reply
        assert "application/problem+json" in reply

        # No length declared (chunked): refused once the limit is passed.
        def chunks():  # type: ignore[no-untyped-def]
            for _ in range(40):
                yield b"\0" * (1024 * 1024)

        response = requests.post(f"{base}/api/v1/tracks", data=chunks(), headers=artist,
                                 timeout=60)
        assert response.status_code == 413
        assert response.json()["code"] == "too_large"
    finally:
        assert stop(proc) == 0, proc.output()[-3000:]
    assert "Traceback" not in proc.output()


def test_veza_up_demo_prints_a_playable_url(short_dir: Path, port: int, tmp_path: Path) -> None:
    env = {"VEZA_DATA_DIR": str(short_dir / "data"), "VEZA_API_PORT": str(port)}
    proc = start(["up", "--demo"], env, tmp_path / "demo.log")
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", proc)
        import time

        deadline = time.monotonic() + 180
        while "play it:" not in proc.output() and time.monotonic() < deadline:
            assert proc.process.poll() is None, proc.output()
            time.sleep(0.5)
        lines = [line for line in proc.output().splitlines() if "HLS URL:" in line]
        assert lines, proc.output()
        master_url = lines[0].split("HLS URL:", 1)[1].split()[0]
        saved = short_dir / "data" / "demo-account.json"
        assert f"demo artist: demo (password in {saved})" in proc.output()
        assert saved.stat().st_mode & 0o777 == 0o600
        wav = tmp_path / "demo.wav"
        decode_strictly(master_url, wav)
        assert ffprobe_duration(wav) == pytest.approx(30.0, abs=0.1)
    finally:
        assert stop(proc) == 0, proc.output()[-3000:]


def test_veza_up_on_a_busy_port_says_so(short_dir: Path, tmp_path: Path) -> None:
    import subprocess

    from tests.e2e.conftest import VEZA

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [VEZA, "up"], capture_output=True, text=True, timeout=120,
            env={"PATH": "/usr/bin:/bin", "VEZA_DATA_DIR": str(short_dir / "data"),
                 "VEZA_API_PORT": str(port)},
        )
    assert result.returncode == 2
    assert f"veza: cannot listen on 127.0.0.1:{port}: Address already in use" in result.stderr
    assert "Traceback" not in result.stderr
