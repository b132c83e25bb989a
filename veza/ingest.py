"""The ingest stage: original in the store → fMP4 HLS in the store, track ready.

Idempotent and safe under at-least-once delivery: object keys are fixed by the track id,
rendition rows are upserted, and a job already finished is left alone.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from uuid import UUID

from storage.repositories import unit_of_work
from veza.errors import InputError, NotFoundError, VezaError
from veza.media import content_type_for, package
from veza.records import Rendition
from veza.runtime import Services

log = logging.getLogger(__name__)


def hls_prefix(track_id: UUID | str) -> str:
    return f"hls/{track_id}/"


class RetryLater(Exception):
    """Raised to hand a transient failure back to the task engine for another attempt."""


def run_ingest(services: Services, *, job_id: str, track_id: str) -> None:
    """Run the ingest stage for one job; raise RetryLater when another attempt may succeed."""
    settings = services.settings
    jid, tid = UUID(job_id), UUID(track_id)
    with unit_of_work(services.db) as uow:
        job = uow.jobs.get(jid, for_update=True)
        track = uow.tracks.get(tid, for_update=True)
        if job is None or track is None:
            log.info("job %s: track %s no longer exists; nothing to do", jid, tid)
            return
        if job.state in ("succeeded", "failed"):
            log.info("job %s already %s; delivery ignored", jid, job.state)
            return
        job = uow.jobs.start(jid)
        uow.tracks.set_status(tid, "processing")
    log.info("job %s attempt %d: ingesting track %s", jid, job.attempts, tid)

    try:
        _ingest(services, jid, tid, track.original_key or "")
    except InputError as exc:
        _fail(services, jid, tid, exc.code, exc.message)
        log.info("job %s failed: %s", jid, exc.message)
    except Exception as exc:
        reason = exc.message if isinstance(exc, VezaError) else f"{type(exc).__name__}: {exc}"
        code = exc.code if isinstance(exc, VezaError) else "internal"
        if job.attempts >= settings.job_max_attempts:
            log.exception("job %s failed after %d attempts", jid, job.attempts)
            _fail(services, jid, tid, code, f"processing failed after {job.attempts} attempts: "
                  f"{reason}")
            return
        log.warning("job %s attempt %d failed, will retry: %s", jid, job.attempts, reason)
        try:
            with unit_of_work(services.db) as uow:
                uow.jobs.record_error(jid, code=code, message=reason)
        except Exception:
            log.exception("job %s: could not record the error", jid)
        raise RetryLater(reason) from exc


def _fail(services: Services, jid: UUID, tid: UUID, code: str, message: str) -> None:
    with unit_of_work(services.db) as uow:
        uow.jobs.fail(jid, code=code, message=message)
        uow.tracks.set_status(tid, "failed", error_code=code, error_message=message)


def _ingest(services: Services, jid: UUID, tid: UUID, original_key: str) -> None:
    settings = services.settings
    store = services.store
    if not original_key:
        raise NotFoundError(f"track {tid} has no original")
    last = {"progress": -1, "at": 0.0}

    def progress(fraction: float) -> None:
        # Encoding is ~90% of the stage; uploads take the rest.
        value = int(fraction * 90)
        now = time.monotonic()
        if value >= last["progress"] + 5 and now - last["at"] > 0.5:
            last.update(progress=value, at=now)
            try:
                with unit_of_work(services.db) as uow:
                    uow.jobs.set_progress(jid, value)
            except VezaError as exc:
                log.warning("job %s: progress not recorded: %s", jid, exc)

    with tempfile.TemporaryDirectory(prefix="veza-ingest-") as tmp:
        work = Path(tmp)
        src = work / ("source" + Path(original_key).suffix)
        store.download(original_key, src)
        out = work / "hls"
        result = package(src, out, bitrate=settings.aac_bitrate,
                         segment_s=settings.segment_seconds, progress=progress)
        prefix = hls_prefix(tid)
        # Segments and init before playlists, the master last: a master in the store means
        # everything it points to is there.
        for rendition in result.renditions:
            for rel in (*rendition.segments, rendition.init, rendition.playlist):
                store.put_file(prefix + rel, out / rel, content_type=content_type_for(rel))
        store.put_file(prefix + result.master, out / result.master,
                       content_type=content_type_for(result.master))

    with unit_of_work(services.db) as uow:
        for r in result.renditions:
            uow.renditions.upsert(Rendition(
                track_id=tid, name=r.name, codec=r.codec, bitrate=r.bitrate,
                bandwidth=r.bandwidth, average_bandwidth=r.average_bandwidth,
                playlist_key=prefix + r.playlist, segment_count=len(r.segments),
            ))
        uow.tracks.set_status(tid, "ready")
        uow.jobs.finish(jid)
    log.info("job %s: track %s ready (%.1f s of audio)", jid, tid, result.duration_s)
