"""The ingest stage: original in the store → fMP4 HLS in the store, track ready.

Idempotent and safe under at-least-once delivery: object keys are fixed by the track id,
rendition rows are upserted, and a job already finished is left alone.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

from pipeline.hls import CODECS, MASTER, Rung, timeline_priming
from storage.repositories import unit_of_work
from veza import events, logs, metrics, parts
from veza.catalogue import remove_objects
from veza.errors import CancelledError, InputError, NotFoundError, ServiceError, VezaError
from veza.jobs import wait_for_services
from veza.layout import analysis_prefix, hls_prefix
from veza.media import process
from veza.publish import Publisher
from veza.records import Rendition
from veza.runtime import Services
from veza.settings import Settings

log = logging.getLogger(__name__)


DONE, FAILED, SKIPPED = "done", "failed", "skipped"


class RetryLater(Exception):
    """Raised to hand a transient failure back to the task engine for another attempt."""


@logs.in_job_context
@metrics.count_outcomes(retry=RetryLater)
def run_ingest(services: Services, *, job_id: str, track_id: str) -> str:
    """Run the ingest stage for one job and return DONE, FAILED (for good) or SKIPPED (nothing
    to do); raise RetryLater when another attempt may succeed."""
    try:
        return _run(services, job_id=job_id, track_id=track_id)
    except ServiceError:
        # PostgreSQL was down before the job could be claimed: hand the message back once it
        # answers, or the engine spends its retries on the outage and drops the message.
        wait_for_services(services)
        raise


def _run(services: Services, *, job_id: str, track_id: str) -> str:
    settings = services.settings
    jid, tid = UUID(job_id), UUID(track_id)
    with unit_of_work(services.db) as uow:
        job = uow.jobs.get(jid, for_update=True)
        track = uow.tracks.get(tid, for_update=True)
        if job is None or track is None:
            log.info("job %s: track %s no longer exists; nothing to do", jid, tid)
            return SKIPPED
        if job.state in ("succeeded", "failed"):
            log.info("job %s already %s; delivery ignored", jid, job.state)
            return SKIPPED
        started = uow.jobs.start(jid, worker=worker_id(), lease_s=settings.job_lease_s)
        if started is None:
            log.info("job %s is running on another worker; delivery ignored", jid)
            return SKIPPED
        job = started
        uow.tracks.set_status(tid, "processing")
    log.info("job %s attempt %d: ingesting track %s", jid, job.attempts, tid)

    try:
        with Lease(services, jid) as lease:
            try:
                if job.plan is not None:  # cut into parts by an earlier attempt
                    parts.resume(services, jid, tid)
                elif parts.wanted(settings, track.duration_s):
                    _ingest_in_parts(services, jid, tid, track.original_key or "", lease.stop)
                else:
                    _ingest(services, jid, tid, track.original_key or "", lease.stop)
            except ServiceError:
                # An outage is not the track's fault: end the attempt once the services
                # answer again, holding the job, so the next attempt does not meet it too.
                wait_for_services(services)
                raise
    except CancelledError:
        # The track was deleted while we worked: remove what this run uploaded after the
        # deletion removed the rest.
        removed = remove_objects(services.store, tid)
        log.info("job %s cancelled: track %s deleted (%d late objects removed)", jid, tid,
                 removed)
        return SKIPPED
    except InterruptedError:
        # The lease saw the job go: deleted with its track, or taken over by another worker,
        # which now owns the job and its objects.
        if _deleted(services, tid):
            removed = remove_objects(services.store, tid)
            log.info("job %s cancelled: track %s deleted (%d late objects removed)", jid, tid,
                     removed)
        else:
            log.warning("job %s: lease lost; stopped, another worker has the job", jid)
        return SKIPPED
    except InputError as exc:
        _fail(services, jid, tid, exc.code, exc.message)
        # What was published before the audio proved bad (segments of a file that ran past
        # the limit) is of no use: only the original stays, for a retry.
        try:
            for prefix in (hls_prefix(tid), analysis_prefix(tid)):
                services.store.delete_prefix(prefix)
        except VezaError as cleanup:
            log.warning("job %s: could not remove its late objects: %s", jid, cleanup)
        log.info("job %s failed: %s", jid, exc.message)
        return FAILED
    except Exception as exc:
        if _deleted(services, tid):  # the deletion surfaced as some other failure
            remove_objects(services.store, tid)
            log.info("job %s cancelled: track %s deleted", jid, tid)
            return SKIPPED
        reason = exc.message if isinstance(exc, VezaError) else f"{type(exc).__name__}: {exc}"
        code = exc.code if isinstance(exc, VezaError) else "internal"
        if job.attempts >= settings.job_max_attempts:
            log.exception("job %s failed after %d attempts", jid, job.attempts)
            _fail(services, jid, tid, code, f"processing failed after {job.attempts} attempts: "
                  f"{reason}")
            return FAILED
        log.warning("job %s attempt %d failed, will retry: %s", jid, job.attempts, reason)
        try:
            with unit_of_work(services.db) as uow:
                uow.jobs.record_error(jid, code=code, message=reason)
        except Exception:
            log.exception("job %s: could not record the error", jid)
        raise RetryLater(reason) from exc
    return DONE


def _deleted(services: Services, tid: UUID) -> bool:
    try:
        with unit_of_work(services.db) as uow:
            return uow.tracks.get(tid) is None
    except VezaError:
        return False


def worker_id() -> str:
    """Name this worker thread, so a lease says who holds it."""
    return f"{socket.gethostname()}/{os.getpid()}/{threading.get_ident()}"


# How often a running job's lease is renewed, which also tells its worker that the job was
# deleted or taken over: the pass stops within a block of that (``stop``).
LEASE_CHECK_S = 1.0


class Lease:
    """Renew a running job's lease on a background thread while the block runs; set ``stop``
    once the job is gone (its track deleted) or held by another worker."""

    def __init__(self, services: Services, job_id: UUID) -> None:
        self.services = services
        self.job_id = job_id
        self.worker = ""  # set by the thread that enters the block
        self.stop = threading.Event()
        self._done = threading.Event()
        self._thread = logs.thread(self._run, name=f"lease-{str(job_id)[:8]}")

    def _run(self) -> None:
        lease_s = self.services.settings.job_lease_s
        while not self._done.wait(min(LEASE_CHECK_S, lease_s / 3)):
            try:
                with unit_of_work(self.services.db) as uow:
                    held = uow.jobs.extend_lease(self.job_id, worker=self.worker,
                                                 lease_s=lease_s)
                    job = None if held else uow.jobs.get(self.job_id)
            except VezaError as exc:
                log.warning("job %s: lease not renewed: %s", self.job_id, exc)
                continue
            if held:
                continue
            self.stop.set()
            if job is None or job.state == "running":
                log.warning("job %s: lease lost (%s); stopping", self.job_id,
                            "deleted" if job is None else "taken over")
            # else the job ended (this run finished it moments ago, or the reaper failed it)
            return

    def __enter__(self) -> Lease:
        self.worker = worker_id()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(timeout=10)


def _fail(services: Services, jid: UUID, tid: UUID, code: str, message: str) -> None:
    with unit_of_work(services.db) as uow:
        uow.jobs.fail(jid, code=code, message=message)
        uow.tracks.set_status(tid, "failed", error_code=code, error_message=message)
        events.record(uow, "track.failed", track_id=tid, job_id=jid,
                      error={"code": code, "message": message})


def ladder(settings: Settings) -> tuple[Rung, ...]:
    """Return the ABR ladder the settings ask for."""
    rungs = [Rung(f"aac_{bitrate // 1000}k", "aac", bitrate) for bitrate in settings.ladder]
    if settings.flac_rung:
        rungs.append(Rung("flac", "flac", None))
    return tuple(rungs)


def _nominal(rung: Rung) -> int:
    return rung.bitrate or 1_000_000


def _progress_reporter(services: Services, jid: UUID, tid: UUID, *,
                       share: int) -> Callable[[float], None]:
    """Return a callback that records the fraction done (scaled to ``share`` percent) at most
    every 5 % and half second, with an event every 10 %; it raises CancelledError once the
    track is deleted, which stops the pass."""
    last = {"progress": -1, "at": 0.0, "event": 0}

    def progress(fraction: float) -> None:
        value = int(fraction * share)
        now = time.monotonic()
        if value >= last["progress"] + 5 and now - last["at"] > 0.5:
            last.update(progress=value, at=now)
            try:
                with unit_of_work(services.db) as uow:
                    if not uow.jobs.set_progress(jid, value) and uow.jobs.get(jid) is None:
                        raise CancelledError(f"track {tid} was deleted")
                    if value // 10 > last["event"] // 10:
                        last["event"] = value
                        events.record(uow, "track.progress", track_id=tid, job_id=jid,
                                      progress=value)
            except CancelledError:
                raise  # stops the pass: the ladder aborts and removes its files
            except VezaError as exc:
                log.warning("job %s: progress not recorded: %s", jid, exc)

    return progress


def _ingest_in_parts(services: Services, jid: UUID, tid: UUID, original_key: str,
                     stop: threading.Event) -> None:
    """Analyse a long track and queue its parts, which any worker encodes (veza.parts)."""
    if not original_key:
        raise NotFoundError(f"track {tid} has no original")
    progress = _progress_reporter(services, jid, tid, share=parts.PLANNED_PROGRESS)
    with tempfile.TemporaryDirectory(prefix="veza-plan-") as tmp:
        work = Path(tmp)
        src = work / ("source" + Path(original_key).suffix)
        services.store.download(original_key, src)
        parts.plan(services, jid, tid, src, work, rungs=ladder(services.settings),
                   progress=progress, stop=stop)


def _ingest(services: Services, jid: UUID, tid: UUID, original_key: str,
            stop: threading.Event) -> None:
    settings = services.settings
    store = services.store
    if not original_key:
        raise NotFoundError(f"track {tid} has no original")
    rungs = ladder(settings)
    # Decoding and encoding are ~95% of the stage; the last uploads take the rest.
    progress = _progress_reporter(services, jid, tid, share=95)

    def on_published(relative: str) -> None:
        # The first master in the store makes the track playable while processing goes on.
        if relative != MASTER or playable.is_set():
            return
        playable.set()
        with unit_of_work(services.db) as uow:
            for rung in rungs:
                uow.renditions.upsert(Rendition(
                    track_id=tid, name=rung.name, codec=CODECS[rung.codec],
                    bitrate=rung.bitrate or 0, bandwidth=_nominal(rung),
                    average_bandwidth=_nominal(rung),
                    playlist_key=f"{hls_prefix(tid)}{rung.name}/index.m3u8", segment_count=0,
                    priming_samples=timeline_priming(rungs),  # the length is known at the end
                ))
            uow.tracks.set_playable(tid)
        log.info("job %s: track %s playable after %.2f s", jid, tid, time.monotonic() - started)

    playable = threading.Event()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="veza-ingest-") as tmp:
        work = Path(tmp)
        src = work / ("source" + Path(original_key).suffix)
        store.download(original_key, src)
        publisher = Publisher(store, str(tid), on_published=on_published)
        try:
            result = process(src, work / "out", rungs=rungs, segment_s=settings.segment_seconds,
                             target_lufs=settings.target_lufs, on_file=publisher.submit,
                             progress=progress, max_duration_s=settings.max_duration_s,
                             stop=stop)
        except BaseException:
            publisher.abandon()
            raise
        publisher.close()
    metrics.observe_stages(result.timings, audio_s=result.duration_s)

    analysis = result.analysis()
    analysis.pop("beats_s", None)  # kept in analysis/{id}/analysis.json
    with unit_of_work(services.db) as uow:
        if uow.tracks.get(tid, for_update=True) is None:
            raise CancelledError(f"track {tid} was deleted")
        for r in result.package.renditions:
            uow.renditions.upsert(Rendition(
                track_id=tid, name=r.name, codec=r.codec, bitrate=r.bitrate or 0,
                bandwidth=r.bandwidth, average_bandwidth=r.average_bandwidth,
                playlist_key=hls_prefix(tid) + r.playlist, segment_count=len(r.segments),
                priming_samples=result.package.priming_samples, samples=result.package.samples,
            ))
        uow.tracks.set_analysis(tid, analysis)
        # The length is what was decoded, as in the analysis and the playlists: the upload's
        # probe only read what the header says.
        uow.tracks.set_duration(tid, round(result.duration_s, 6))
        uow.tracks.set_status(tid, "ready")
        uow.tracks.set_playable(tid)
        uow.jobs.finish(jid)
        events.record(uow, "track.ready", track_id=tid, job_id=jid,
                      duration_s=round(result.duration_s, 3),
                      renditions=[r.name for r in result.package.renditions])
    log.info("job %s: track %s ready (%.1f s of audio in %.1f s)", jid, tid, result.duration_s,
             time.monotonic() - started)
