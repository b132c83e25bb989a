"""Long tracks are encoded in parts by any worker and published once, like a single pass."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline.chunks import read_window
from pipeline.hls import package_ladder
from pipeline.synth import music, write_wav
from storage.db import Database
from storage.repositories import unit_of_work
from tests.clicks import block_rms, boundary_ratios, decode_playlist
from tests.helpers import decode_strictly, operator, running_worker, track_owner
from veza import parts
from veza.catalogue import delete_track
from veza.ingest import DONE, ladder, run_ingest
from veza.originals import ORIGINALS, Originals
from veza.records import Part
from veza.runtime import Services
from veza.settings import Settings
from veza.uploads import accept

pytestmark = pytest.mark.integration

RATE = 44_100
# Short tracks and parts: 2 s segments, parts of 3 segments, tracks from 10 s in parts.
SMALL = {"segment_seconds": 2.0, "chunk_seconds": 6.0, "parallel_min_s": 10.0}


def _settings(database_url: str, **extra: Any) -> Settings:
    return Settings(database_url=database_url, ladder=(64_000, 128_000), **SMALL, **extra)


@pytest.fixture(scope="module")
def long_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """22 s: a held chord (where a click would show) then music."""
    t = np.arange(10 * RATE) / RATE
    chord = (0.2 * np.sin(2 * np.pi * 220 * t) + 0.15 * np.sin(2 * np.pi * 331 * t + 1)
             + 0.1 * np.sin(2 * np.pi * 554.4 * t))
    y = np.concatenate([np.stack([chord, chord]).astype(np.float32),
                        music(duration_s=12.0, sample_rate=RATE)], axis=1)
    path = tmp_path_factory.mktemp("parallel") / "long.wav"
    write_wav(path, y, sample_rate=RATE)
    return path


@pytest.fixture
def services(database_url: str, local_store) -> Iterator[Services]:  # type: ignore[no-untyped-def]
    svc = Services(settings=_settings(database_url, job_max_attempts=2, job_lease_s=1),
                   db=Database(database_url), store=local_store)
    yield svc
    svc.close()


def _planned(services: Services, wav: Path) -> tuple[uuid.UUID, uuid.UUID, list[Part]]:
    """Upload ``wav`` and run its ingest job by hand (no engine): analysed, parts queued."""
    accepted = accept(services, wav, owner_id=track_owner(services), filename="long.wav")
    assert run_ingest(services, job_id=str(accepted.job.id),
                      track_id=str(accepted.track.id)) == DONE
    with unit_of_work(services.db) as uow:
        job_parts = uow.parts.for_job(accepted.job.id)
    return accepted.job.id, accepted.track.id, job_parts


def _run(services: Services, jid: uuid.UUID, tid: uuid.UUID, index: int) -> str:
    return parts.run_part(services, job_id=str(jid), track_id=str(tid), index=index)


def _events(services: Services, tid: uuid.UUID, kind: str) -> int:
    with unit_of_work(services.db) as uow:
        uow.cur.execute(
            "SELECT count(*) AS n FROM outbox WHERE task = 'veza.events'"
            " AND payload->>'routing_key' = %s AND payload->'event'->>'track_id' = %s",
            (kind, str(tid)),
        )
        return int(uow.cur.fetchone()["n"])


def _state(services: Services, jid: uuid.UUID, index: int) -> str | None:
    with unit_of_work(services.db) as uow:
        part = uow.parts.get(jid, index)
    return None if part is None else part.state


def _objects(services: Services, tid: uuid.UUID) -> list[str]:
    return [o.key for prefix in ("hls/", "analysis/", "originals/")
            for o in services.store.list(f"{prefix}{tid}/")]


def test_a_long_track_is_stitched_from_parts_encoded_by_workers(
    database_url: str, broker_url: str, local_store, long_wav: Path, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    settings = _settings(database_url, broker_url=broker_url)
    services = Services(settings=settings, db=Database(database_url), store=local_store)
    try:
        accepted = accept(services, long_wav, owner_id=track_owner(services),
                          filename="long.wav")
        tid, jid = accepted.track.id, accepted.job.id
        with running_worker(services):
            deadline = time.monotonic() + 180
            while True:
                with unit_of_work(services.db) as uow:
                    track = uow.tracks.get(tid)
                    job = uow.jobs.get(jid)
                    job_parts = uow.parts.for_job(jid)
                    renditions = uow.renditions.for_track(tid)
                assert track is not None and job is not None
                if track.status in ("ready", "failed") or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
    finally:
        services.close()
    assert track.status == "ready", (track.status, track.error_message)
    assert job.state == "succeeded" and job.progress == 100 and job.finalised_at is not None
    # 22 s and 21 ms of priming in 6 s chunks: three of 6 s, and the 4 s rest (at least half
    # a chunk) as a fourth.
    assert job.part_count == len(job_parts) == 4
    assert all(p.state == "succeeded" and p.attempts == 1 for p in job_parts)
    assert track.analysis is not None and track.analysis["tempo_bpm"] is not None
    assert [r.segment_count for r in renditions] == [12, 12]
    assert _events(services, tid, "track.ready") == 1

    # Same package as a single pass of the same source, and no click at any part boundary.
    single = package_ladder(long_wav, tmp_path / "single", rungs=ladder(settings),
                            segment_s=settings.segment_seconds)
    # The same timeline: the priming, then exactly the 22 s of the source at 48 kHz.
    assert (single.priming_samples, single.samples) == (1024, 22 * 48_000)
    assert [(r.priming_samples, r.samples) for r in renditions] == [(1024, 22 * 48_000)] * 2
    for rendition in single.renditions:
        stitched = local_store.path_for(f"hls/{tid}/{rendition.playlist}")
        assert stitched.read_text() == (tmp_path / "single" / rendition.playlist).read_text()
        decode_strictly(stitched, tmp_path / f"{rendition.name}.wav")
    master = local_store.path_for(f"hls/{tid}/master.m3u8").read_text()
    assert master.count("#EXT-X-STREAM-INF:BANDWIDTH=") == 2
    assert 'DATA-ID="com.veza.loudness"' in master
    one = decode_playlist(tmp_path / "single" / "aac_128k" / "index.m3u8", tmp_path / "a.raw")
    many = decode_playlist(local_store.path_for(f"hls/{tid}/aac_128k/index.m3u8"),
                           tmp_path / "b.raw")
    assert many.shape == one.shape
    source = np.concatenate([np.zeros((2, 1024), np.float32), read_window(long_wav, 0, None)],
                            axis=1)
    boundaries = [p.start_sample for p in job_parts[1:]]
    assert max(boundary_ratios(block_rms(many, source), boundaries)) <= 1.5
    assert max(boundary_ratios(block_rms(many, one), boundaries)) <= 1.5


def test_fan_in_publishes_once_however_often_parts_and_finaliser_are_delivered(
    services: Services, long_wav: Path
) -> None:
    jid, tid, job_parts = _planned(services, long_wav)
    assert len(job_parts) == 4
    for part in job_parts[:-1]:
        assert _run(services, jid, tid, part.index) == parts.DONE
    # The last part is encoded and recorded, but its worker stops before the finalisation...
    last = job_parts[-1]
    with unit_of_work(services.db) as uow:
        job = uow.jobs.get(jid)
        started = uow.parts.start(jid, last.index, worker="w", lease_s=60)
    assert job is not None and started is not None
    result = parts.encode(services, job, started, f"originals/{tid}/source.wav", tid)
    assert parts.complete(services, jid, tid, last.index, result) is True
    with unit_of_work(services.db) as uow:
        assert uow.tracks.get(tid).status == "processing"  # type: ignore[union-attr]
    # ... so the finaliser is delivered several times, at once.
    outcomes: list[bool] = []
    threads = [threading.Thread(target=lambda: outcomes.append(parts.finalise(services, jid, tid)))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [False, False, False, True]
    playlists = {k: services.store.get(k) for k in _objects(services, tid) if k.endswith(".m3u8")}
    assert len(playlists) == 3
    # The last part delivered again, and every other part: nothing changes.
    for part in job_parts:
        assert _run(services, jid, tid, part.index) == parts.SKIPPED
    assert parts.finalise(services, jid, tid) is False
    assert {k: services.store.get(k) for k in playlists} == playlists
    assert _events(services, tid, "track.ready") == 1
    with unit_of_work(services.db) as uow:
        track, job = uow.tracks.get(tid), uow.jobs.get(jid)
        assert [p.attempts for p in uow.parts.for_job(jid)] == [1, 1, 1, 1]
    assert track is not None and track.status == "ready"
    assert job is not None and job.state == "succeeded" and job.progress == 100


def test_parts_recorded_before_they_reported_their_end_still_make_a_ready_track(
    services: Services, long_wav: Path
) -> None:
    jid, tid, job_parts = _planned(services, long_wav)
    for part in job_parts[:-1]:
        assert _run(services, jid, tid, part.index) == parts.DONE
    with unit_of_work(services.db) as uow:
        ends = [p.result["content_end"] for p in uow.parts.for_job(jid)  # type: ignore[index]
                if p.state == "succeeded"]
        # As a worker of the previous release left them: segments only.
        uow.cur.execute("UPDATE job_parts SET result = result - 'content_end'"
                        " WHERE job_id = %s", (jid,))
    # Each part but the last ends at the next one's first sample.
    assert ends == [p.start_sample for p in job_parts[1:]]
    assert _run(services, jid, tid, job_parts[-1].index) == parts.DONE
    with unit_of_work(services.db) as uow:
        track = uow.tracks.get(tid)
        renditions = uow.renditions.for_track(tid)
        last = uow.parts.get(jid, job_parts[-1].index)
    assert track is not None and track.status == "ready"
    # The timeline starts as it always does; its length is not known.
    assert [(r.priming_samples, r.samples) for r in renditions] == [(1024, None)] * 2
    assert last is not None and last.result is not None
    assert last.result["content_end"] == 1024 + 22 * 48_000


def test_a_part_that_fails_for_good_fails_the_job_with_its_reason(
    services: Services, long_wav: Path
) -> None:
    jid, tid, job_parts = _planned(services, long_wav)
    assert _run(services, jid, tid, 0) == parts.DONE
    ORIGINALS.forget(tid)
    services.store.put(f"originals/{tid}/source.wav", b"RIFF" + b"\x00" * 4000,
                       content_type="audio/wav")
    assert _run(services, jid, tid, 1) == parts.FAILED
    with unit_of_work(services.db) as uow:
        track, job = uow.tracks.get(tid), uow.jobs.get(jid)
        rows = uow.parts.for_job(jid)
    assert track is not None and track.status == "failed" and track.error_code == "not_audio"
    assert job is not None and job.state == "failed" and job.error_code == "not_audio"
    assert [p.state for p in rows] == ["succeeded", "failed", "queued", "queued"]
    # The parts still queued find the job failed and do nothing.
    assert _run(services, jid, tid, 2) == parts.SKIPPED
    assert _events(services, tid, "track.failed") == 1
    assert _events(services, tid, "track.ready") == 0


def test_a_transient_failure_retries_the_part_then_it_succeeds(
    services: Services, long_wav: Path
) -> None:
    jid, tid, job_parts = _planned(services, long_wav)
    key = f"originals/{tid}/source.wav"
    original = services.store.get(key)
    services.store.delete(key)
    with pytest.raises(parts.RetryPartLater, match="originals/"):
        _run(services, jid, tid, 0)
    with unit_of_work(services.db) as uow:
        row = uow.parts.get(jid, 0)
    assert row is not None and row.state == "queued" and row.attempts == 1
    services.store.put(key, original, content_type="audio/wav")
    for part in job_parts:
        assert _run(services, jid, tid, part.index) == parts.DONE
    with unit_of_work(services.db) as uow:
        assert uow.tracks.get(tid).status == "ready"  # type: ignore[union-attr]
        assert uow.parts.get(jid, 0).attempts == 2  # type: ignore[union-attr]


def test_deleting_the_track_mid_job_cancels_the_parts_and_removes_objects(
    services: Services, long_wav: Path
) -> None:
    jid, tid, job_parts = _planned(services, long_wav)
    assert _run(services, jid, tid, 0) == parts.DONE
    outcome: list[str] = []
    worker = threading.Thread(target=lambda: outcome.append(_run(services, jid, tid, 3)))
    worker.start()
    deadline = time.monotonic() + 30
    while _state(services, jid, 3) != "running":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    delete_track(services, tid, operator())
    worker.join(timeout=60)
    assert outcome == [parts.SKIPPED]
    assert _run(services, jid, tid, 1) == parts.SKIPPED
    with unit_of_work(services.db) as uow:
        assert uow.parts.for_job(jid) == []
        assert uow.jobs.get(jid) is None
    assert _objects(services, tid) == []


def test_a_part_whose_worker_died_is_queued_again_by_the_reaper(
    services: Services, long_wav: Path
) -> None:
    from veza.jobs import reap_expired

    jid, tid, job_parts = _planned(services, long_wav)
    with unit_of_work(services.db) as uow:
        assert uow.parts.start(jid, 2, worker="dead", lease_s=0.01) is not None
        uow.cur.execute("SELECT count(*) AS n FROM outbox WHERE task = %s", (parts.PART_TASK,))
        queued = int(uow.cur.fetchone()["n"])
    time.sleep(0.05)
    assert reap_expired(services) == 1
    with unit_of_work(services.db) as uow:
        assert uow.parts.get(jid, 2).state == "queued"  # type: ignore[union-attr]
        uow.cur.execute("SELECT count(*) AS n FROM outbox WHERE task = %s", (parts.PART_TASK,))
        assert int(uow.cur.fetchone()["n"]) == queued + 1
        assert uow.jobs.get(jid).state == "running"  # type: ignore[union-attr]


def test_short_tracks_keep_the_single_pass(services: Services, tmp_path: Path) -> None:
    short = tmp_path / "short.wav"  # under the 10 s threshold
    write_wav(short, music(duration_s=8.0, sample_rate=RATE), sample_rate=RATE)
    accepted = accept(services, short, owner_id=track_owner(services), filename="x.wav")
    assert run_ingest(services, job_id=str(accepted.job.id),
                      track_id=str(accepted.track.id)) == DONE
    with unit_of_work(services.db) as uow:
        job = uow.jobs.get(accepted.job.id)
        assert uow.parts.for_job(accepted.job.id) == []
    assert job is not None and job.state == "succeeded" and job.plan is None


def test_a_worker_keeps_the_originals_it_downloaded(local_store) -> None:  # type: ignore[no-untyped-def]
    cache = Originals(keep=1)
    for name in ("a", "b"):
        local_store.put(f"originals/{name}/source.wav", name.encode() * 10,
                        content_type="audio/wav")
    with cache.fetch(local_store, "originals/a/source.wav") as first:
        assert first.read_bytes() == b"a" * 10
    with cache.fetch(local_store, "originals/a/source.wav") as again:
        assert again == first  # the next part of the same track: no second download
        with cache.fetch(local_store, "originals/b/source.wav") as other:
            assert first.exists()  # in use: never removed under a reader
            assert other.read_bytes() == b"b" * 10
    assert [first.exists(), other.exists()].count(True) == 1  # keep=1 once neither is in use
    cache.forget("a")
    cache.forget("b")
    assert not first.exists() and not other.exists()
