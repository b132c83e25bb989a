"""The distributed stack as separate processes: `veza serve api` and `veza serve worker` against
real PostgreSQL, RabbitMQ and an S3 server that checks signatures."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import VEZA, start, stop, wait_http, wait_ready
from tests.helpers import artist_token, decode_strictly, fetch_stream, ffprobe_duration
from tests.plugins.s3 import S3Server

pytestmark = pytest.mark.e2e


def test_api_and_worker_processes_turn_an_upload_into_a_stream(
    empty_database_url: str, broker_url: str, nanio_server: S3Server, port: int,
    demo_wav: Path, tmp_path: Path,
) -> None:
    env = {
        "VEZA_DATABASE_URL": empty_database_url,
        "VEZA_BROKER_URL": broker_url,
        "VEZA_S3_ENDPOINT": nanio_server.endpoint,
        "VEZA_S3_ACCESS_KEY": nanio_server.access_key,
        "VEZA_S3_SECRET_KEY": nanio_server.secret_key,
        "VEZA_S3_BUCKET": f"veza-e2e-{port}",
        "VEZA_API_PORT": str(port),
        "VEZA_DATA_DIR": str(tmp_path / "data"),
    }
    upgrade = subprocess.run([VEZA, "db", "upgrade"], env={**env, "PATH": "/usr/bin:/bin"},
                             capture_output=True, text=True, timeout=120)
    assert upgrade.returncode == 0, upgrade.stderr
    api = start(["serve", "api", "--workers", "2"], env, tmp_path / "api.log")
    worker = start(["serve", "worker", "--threads", "1"], env, tmp_path / "worker.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/healthz", api)
        uploads = []
        artist = artist_token(base)
        for i in range(2):
            response = requests.post(f"{base}/api/v1/tracks?filename=take{i}.wav",
                                     data=demo_wav.read_bytes(), headers=artist, timeout=60)
            assert response.status_code == 202, response.text
            uploads.append(response.json())
        for accepted in uploads:
            track = wait_ready(accepted["status_url"])
            assert track["status"] == "ready", (track, worker.output()[-3000:])
            joined = fetch_stream(track["stream"]["master_url"], tmp_path / "stream.mp4")
            wav = tmp_path / "decoded.wav"
            decode_strictly(joined, wav)
            assert ffprobe_duration(wav) == pytest.approx(30.0, abs=0.1)
        # Segment URLs point at the S3 server itself, signed for it: for the signed-URL lifetime
        # (600 s) plus the track's 30 s, so a player can play to the end.
        media = requests.get(
            f"{base}/api/v1/tracks/{uploads[0]['id']}/hls/aac_128k/index.m3u8", timeout=10).text
        assert f"http://{nanio_server.endpoint}/veza-e2e-{port}/hls/" in media
        assert "X-Amz-Expires=630" in media
    finally:
        worker_code = stop(worker)
        stop(api)
    assert worker_code == 0, worker.output()[-3000:]
    for proc in (api, worker):
        assert "Traceback" not in proc.output(), proc.output()[-3000:]


def test_worker_without_a_broker_url_says_what_is_missing(tmp_path: Path) -> None:
    result = subprocess.run([VEZA, "serve", "worker"], capture_output=True, text=True,
                            timeout=60, env={"PATH": "/usr/bin:/bin",
                                             "VEZA_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "veza: `veza serve worker` needs VEZA_BROKER_URL (amqp://...); "
        "`veza up` runs API and workers in one process instead"
    ]
