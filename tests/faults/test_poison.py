"""Poison inputs: files that pass the upload probe but break processing part-way. Each fails
with a reason, lands in the dead-letter queue, and the worker goes on serving other jobs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from pipeline.synth import music
from tests.faults.conftest import TRACK_S, StackFactory
from tests.faults.stack import (
    assert_nothing_stuck,
    assert_stream_intact,
    queue_depth,
    rows,
    wait_for,
)
from tests.helpers import write_float_wav

pytestmark = pytest.mark.faults

RATE = 44100


@pytest.fixture(scope="module")
def nan_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A float WAV whose samples turn to NaN 8 s in, as a broken export writes them: the upload
    probe passes, and decoding finds the bad samples part-way."""
    y = music(duration_s=14.0, sample_rate=RATE, channels=2, seed=3)
    y[:, 8 * RATE:8 * RATE + RATE // 10] = np.nan
    path = tmp_path_factory.mktemp("poison") / "nan.wav"
    write_float_wav(path, y, sample_rate=RATE)
    return path


@pytest.fixture(scope="module")
def corrupt_mp3(tmp_path_factory: pytest.TempPathFactory, track_wav: Path) -> Path:
    """An MP3 whose middle fifth was overwritten with noise, as a damaged download is."""
    path = tmp_path_factory.mktemp("poison") / "corrupt.mp3"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(track_wav),
                    "-c:a", "libmp3lame", "-b:a", "128k", str(path)], check=True, timeout=60)
    data = bytearray(path.read_bytes())
    start, end = len(data) // 2, len(data) * 7 // 10
    data[start:end] = np.random.default_rng(5).integers(0, 256, end - start, np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return path


def test_poison_inputs_fail_with_a_reason_and_the_worker_keeps_serving(
    make_stack: StackFactory, database_url: str, vhost_url: str, nan_wav: Path,
    corrupt_mp3: Path, track_wav: Path, tmp_path: Path,
) -> None:
    stack = make_stack()
    stack.api()
    stack.relay()
    worker = stack.worker()
    nan = stack.upload(nan_wav, "nan.wav")
    corrupt = stack.upload(corrupt_mp3, "corrupt.mp3")
    good = stack.upload(track_wav, "good.wav")

    nan_body, corrupt_body, good_body = stack.wait_settled([nan["id"], corrupt["id"], good["id"]])

    # Bad audio is the user's input: failed at once, not retried, saying where.
    assert nan_body["status"] == "failed", nan_body
    assert nan_body["error"] == {
        "code": "not_audio",
        "message": "the audio holds NaN or infinite samples at 00:08",
    }
    assert nan_body["job"]["attempts"] == 1
    assert nan_body["stream"] is None
    assert corrupt_body["status"] == "failed", corrupt_body
    assert corrupt_body["error"]["code"] == "not_audio"
    assert corrupt_body["error"]["message"].startswith("truncated or corrupt audio:")
    assert corrupt_body["job"]["attempts"] == 1
    # Both messages are in the dead-letter queue for operators to see.
    wait_for(lambda: queue_depth(vhost_url, stack.dead_letter_queue) == 2, "two dead letters", 30,
             (worker,))

    # The same worker process, still running, completed the good track.
    assert worker.process.poll() is None
    assert_stream_intact(stack, good_body, duration_s=TRACK_S, tmp=tmp_path)
    [job] = rows(database_url, "SELECT worker FROM jobs WHERE track_id = %s", (good["id"],))
    ran_in = int(job["worker"].split("/")[1])
    # Dramatiq runs tasks in the worker process; Celery in a child of it (its prefork pool).
    assert ran_in == worker.process.pid or _parent(ran_in) == worker.process.pid
    assert_nothing_stuck(database_url)


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])
