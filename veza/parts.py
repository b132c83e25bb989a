"""Long tracks encoded in parts: plan the chunks, encode each on any worker, publish once.

The ingest job analyses the whole track (one decode pass, no encoding), then records one
``job_parts`` row and one ``veza.encode_chunk`` task per chunk in the same transaction. Any worker
encodes a part and uploads its segments under the keys the single pass would use. Finishing a
part locks the job row and counts the job's distinct finished parts; when all are done, one
delivery claims the finalisation (``jobs.finalised_at``), checks every segment is in the store,
writes the playlists and marks the track ready. Every step may run twice: keys are fixed by the
track id and segment numbers, rows are upserted, and the claim is taken once.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

from pipeline.hls import INIT, Rung
from storage.objects import ObjectStore
from storage.repositories import UnitOfWork, unit_of_work
from veza import events, logs
from veza.catalogue import remove_objects
from veza.errors import CancelledError, InputError, VezaError
from veza.layout import hls_prefix
from veza.media import audio_errors_translated
from veza.originals import ORIGINALS
from veza.publish import Publisher
from veza.records import Job, Part, Rendition
from veza.runtime import Services
from veza.settings import Settings

log = logging.getLogger(__name__)

PART_TASK = "veza.encode_chunk"
DONE, FAILED, SKIPPED = "done", "failed", "skipped"
# How often a running part's lease is renewed (and its loss noticed), in seconds.
LEASE_CHECK_S = 1.0
PLANNED_PROGRESS = 5  # the analysis pass is done and the parts are queued
PARTS_SHARE = 94  # progress the parts add between them; finalisation makes it 100


class RetryPartLater(Exception):
    """Raised to hand a part's transient failure back to the task engine."""


def wanted(settings: Settings, duration_s: float | None) -> bool:
    """Whether a track of ``duration_s`` is encoded in parts rather than in one pass."""
    return duration_s is not None and duration_s >= settings.parallel_min_s


def part_payload(job_id: UUID, track_id: UUID, index: int, chunk_s: float) -> dict[str, Any]:
    """Return a part task's outbox payload (its time limit is ten minutes plus the chunk)."""
    return {"job_id": str(job_id), "track_id": str(track_id), "index": index,
            "time_limit_s": 600.0 + 2 * chunk_s}


def _rungs(plan: dict[str, Any]) -> tuple[Rung, ...]:
    return tuple(Rung(name, codec, bitrate) for name, codec, bitrate in plan["rungs"])


# -- planning (inside the ingest job) ---------------------------------------------------------


def plan(
    services: Services,
    jid: UUID,
    tid: UUID,
    src: Path,
    work: Path,
    *,
    rungs: Sequence[Rung],
    progress: Callable[[float], None] | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Analyse ``src``, publish the analysis, record the parts and queue them; return how many.

    Raises:
        CancelledError: the track was deleted meanwhile.
        InterruptedError: ``stop`` was set (the analysis stops within a block of it).
    """
    from pipeline.hls import check_ladder, plan_chunks, timeline_samples
    from pipeline.process import analyse

    settings = services.settings
    publisher = Publisher(services.store, str(tid))
    try:
        with audio_errors_translated():
            analysed = analyse(src, work / "analysis", target_lufs=settings.target_lufs,
                               on_file=publisher.submit, progress=progress,
                               max_duration_s=settings.max_duration_s, stop=stop)
            segment_samples = check_ladder(rungs, settings.segment_seconds)
    except BaseException:
        publisher.abandon()
        raise
    publisher.close()
    chunk_segments = round(settings.chunk_seconds / settings.segment_seconds)
    total = timeline_samples(analysed.frames, analysed.source.sample_rate, rungs)
    chunks = plan_chunks(total, segment_samples=segment_samples, chunk_segments=chunk_segments)
    layout = {
        "rungs": [[r.name, r.codec, r.bitrate] for r in rungs],
        "segment_s": settings.segment_seconds,
        "segment_samples": segment_samples,
        "timeline_samples": total,
        "duration_s": round(analysed.duration_s, 6),
        "session_data": analysed.session_data(),
    }
    analysis = analysed.analysis()
    analysis.pop("beats_s", None)  # kept in analysis/{id}/analysis.json
    with unit_of_work(services.db) as uow:
        if uow.tracks.get(tid, for_update=True) is None:
            raise CancelledError(f"track {tid} was deleted")
        uow.tracks.set_analysis(tid, analysis)
        uow.tracks.set_duration(tid, round(analysed.duration_s, 6))  # decoded, not declared
        uow.jobs.set_plan(jid, layout, part_count=len(chunks), progress=PLANNED_PROGRESS)
        for chunk in chunks:
            start = chunk.start(segment_samples)
            uow.parts.add(job_id=jid, index=chunk.index, first_segment=chunk.first_segment,
                          segment_count=chunk.segment_count, start_sample=start,
                          end_sample=chunk.stop(segment_samples) or max(total, start + 1))
            uow.outbox.add(PART_TASK, part_payload(jid, tid, chunk.index,
                                                   settings.chunk_seconds))
        events.record(uow, "track.progress", track_id=tid, job_id=jid,
                      progress=PLANNED_PROGRESS)
    log.info("job %s: %.1f s track %s cut into %d parts", jid, analysed.duration_s, tid,
             len(chunks))
    return len(chunks)


def resume(services: Services, jid: UUID, tid: UUID) -> int:
    """Queue again the parts of a planned job that are not done (after its worker stopped);
    finalise it if they all are. Return how many parts were queued."""
    with unit_of_work(services.db) as uow:
        job = uow.jobs.get(jid, for_update=True)
        if job is None or job.plan is None:
            return 0
        uow.jobs.set_plan(jid, job.plan, part_count=job.part_count or 0,
                          progress=PLANNED_PROGRESS)
        queued = 0
        for part in uow.parts.for_job(jid):
            if part.state in ("succeeded", "failed"):
                continue
            if part.state == "running":
                uow.parts.release(jid, part.index)
            uow.outbox.add(PART_TASK, part_payload(jid, tid, part.index,
                                                   services.settings.chunk_seconds))
            queued += 1
    if queued == 0:
        finalise(services, jid, tid)
    log.info("job %s resumed: %d parts queued again", jid, queued)
    return queued


# -- one part (any worker) --------------------------------------------------------------------


@logs.in_job_context
def run_part(services: Services, *, job_id: str, track_id: str, index: int) -> str:
    """Encode one part and record it; return DONE, FAILED (for good) or SKIPPED (nothing to
    do); raise RetryPartLater when another attempt may succeed."""
    settings = services.settings
    worker = f"{socket.gethostname()}/{os.getpid()}/{threading.get_ident()}"
    jid, tid = UUID(job_id), UUID(track_id)
    with unit_of_work(services.db) as uow:
        job = uow.jobs.get(jid)
        part = uow.parts.get(jid, index, for_update=True)
        track = uow.tracks.get(tid)
        if job is None or part is None or track is None or job.plan is None:
            log.info("job %s part %d: the track no longer exists; nothing to do", jid, index)
            return SKIPPED
        if job.state != "running" or part.state == "failed":
            log.info("job %s is %s; part %d not encoded", jid, job.state, index)
            ORIGINALS.forget(tid)
            return SKIPPED
        if part.state == "succeeded":
            done_already = True
        else:
            done_already = False
            started = uow.parts.start(jid, index, worker=worker, lease_s=settings.job_lease_s)
            if started is None:
                log.info("job %s part %d runs on another worker; delivery ignored", jid, index)
                return SKIPPED
            part = started
    if done_already:
        # A redelivery of a finished part: only the finalisation may still be owed.
        finalise(services, jid, tid)
        log.info("job %s part %d already done; delivery ignored", jid, index)
        return SKIPPED
    try:
        with PartLease(services, jid, index, worker) as lease:
            result = encode(services, job, part, track.original_key or "", tid, lease.stop)
    except (CancelledError, InterruptedError):
        if _gone(services, jid):
            removed = remove_objects(services.store, tid)
            log.info("job %s part %d cancelled: track deleted (%d late objects removed)", jid,
                     index, removed)
        return SKIPPED
    except InputError as exc:
        fail(services, jid, tid, index, code=exc.code, message=exc.message)
        return FAILED
    except Exception as exc:
        if _gone(services, jid):
            remove_objects(services.store, tid)
            return SKIPPED
        reason = exc.message if isinstance(exc, VezaError) else f"{type(exc).__name__}: {exc}"
        code = exc.code if isinstance(exc, VezaError) else "internal"
        if part.attempts >= settings.job_max_attempts:
            log.exception("job %s part %d failed after %d attempts", jid, index, part.attempts)
            fail(services, jid, tid, index, code=code,
                 message=f"part {index + 1} failed after {part.attempts} attempts: {reason}")
            return FAILED
        log.warning("job %s part %d attempt %d failed, will retry: %s", jid, index,
                    part.attempts, reason)
        try:
            with unit_of_work(services.db) as uow:
                uow.parts.record_error(jid, index, code=code, message=reason)
        except VezaError:
            log.exception("job %s part %d: could not record the error", jid, index)
        raise RetryPartLater(reason) from exc
    try:
        if complete(services, jid, tid, index, result):
            finalise(services, jid, tid)
    except CancelledError:
        remove_objects(services.store, tid)
        log.info("job %s part %d cancelled: track deleted", jid, index)
        return SKIPPED
    return DONE


def encode(services: Services, job: Job, part: Part, original_key: str, tid: UUID,
           stop: threading.Event | None = None) -> dict[str, Any]:
    """Encode one part and upload its segments; return what it wrote, as the part's result."""
    from pipeline.hls import Chunk, encode_chunk

    assert job.plan is not None
    chunk = Chunk(index=part.index, first_segment=part.first_segment,
                  segment_count=part.segment_count, last=part.index == (job.part_count or 0) - 1)
    publisher = Publisher(services.store, str(tid))
    with tempfile.TemporaryDirectory(prefix="veza-part-") as tmp, \
            ORIGINALS.fetch(services.store, original_key) as src:
        try:
            with audio_errors_translated():
                result = encode_chunk(src, Path(tmp), chunk, rungs=_rungs(job.plan),
                                      segment_s=job.plan["segment_s"],
                                      on_file=publisher.submit, stop=stop)
        except BaseException:
            publisher.abandon()
            raise
        publisher.close()
    return {"segments": {name: [list(s) for s in segs]
                         for name, segs in result.segments.items()},
            "content_end": result.content_end}


def complete(services: Services, jid: UUID, tid: UUID, index: int,
             result: dict[str, Any]) -> bool:
    """Record a finished part and the job's progress; True when every part is done."""
    with unit_of_work(services.db) as uow:
        # The job row lock orders the parts finishing together, so the count is exact.
        job = uow.jobs.get(jid, for_update=True)
        if job is None:
            raise CancelledError(f"track {tid} was deleted")
        if job.state != "running":
            return False
        uow.parts.finish(jid, index, result)
        done = uow.parts.succeeded(jid)
        total = job.part_count or 1
        value = PLANNED_PROGRESS + PARTS_SHARE * done // total
        before = PLANNED_PROGRESS + PARTS_SHARE * (done - 1) // total
        uow.jobs.set_progress(jid, value)
        if value // 10 > before // 10:
            events.record(uow, "track.progress", track_id=tid, job_id=jid, progress=value)
    log.info("job %s: part %d done (%d of %d)", jid, index, done, total)
    return done == total


def fail(services: Services, jid: UUID, tid: UUID, index: int, *, code: str,
         message: str) -> None:
    """Fail a part for good, and with it the job and the track (once)."""
    with unit_of_work(services.db) as uow:
        job = uow.jobs.get(jid, for_update=True)
        if job is None:
            return
        uow.parts.fail(jid, index, code=code, message=message)
        if job.state != "running" or job.finalised_at is not None:
            return
        uow.jobs.fail(jid, code=code, message=message)
        uow.tracks.set_status(tid, "failed", error_code=code, error_message=message)
        events.record(uow, "track.failed", track_id=tid, job_id=jid,
                      error={"code": code, "message": message})
    log.info("job %s failed: part %d: %s", jid, index, message)


def _gone(services: Services, jid: UUID) -> bool:
    try:
        with unit_of_work(services.db) as uow:
            return uow.jobs.get(jid) is None
    except VezaError:
        return False


# -- fan-in -----------------------------------------------------------------------------------


def finalise(services: Services, jid: UUID, tid: UUID) -> bool:
    """Publish the stitched package and mark the track ready, if every part is done and no
    delivery has done it yet; return True for the one call that did."""
    from pipeline.hls import stitch

    with unit_of_work(services.db) as uow:
        job = uow.jobs.get(jid, for_update=True)
        if job is None or job.plan is None or job.state != "running" \
                or job.finalised_at is not None:
            return False
        parts = uow.parts.for_job(jid)
        if len(parts) != job.part_count or any(p.state != "succeeded" for p in parts):
            return False
        rungs = _rungs(job.plan)
        missing = _missing_parts(services.store, tid, rungs, parts)
        if missing:
            _queue_again(uow, services.settings, jid, tid, missing)
            return False
        if not uow.jobs.claim_finalisation(jid):
            return False
        if uow.tracks.get(tid, for_update=True) is None:
            raise CancelledError(f"track {tid} was deleted")
        with tempfile.TemporaryDirectory(prefix="veza-final-") as tmp:
            publisher = Publisher(services.store, str(tid))
            try:
                with audio_errors_translated():
                    package = stitch(tmp, [(p.result or {})["segments"] for p in parts],
                                     rungs=rungs, segment_s=job.plan["segment_s"],
                                     session_data=job.plan["session_data"],
                                     on_file=publisher.submit,
                                     # Absent from parts encoded before it was recorded.
                                     content_ends=[(p.result or {}).get("content_end")
                                                   for p in parts])
            except BaseException:
                publisher.abandon()
                raise
            publisher.close()
        for r in package.renditions:
            uow.renditions.upsert(Rendition(
                track_id=tid, name=r.name, codec=r.codec, bitrate=r.bitrate or 0,
                bandwidth=r.bandwidth, average_bandwidth=r.average_bandwidth,
                playlist_key=hls_prefix(tid) + r.playlist, segment_count=len(r.segments),
                priming_samples=package.priming_samples, samples=package.samples,
            ))
        uow.tracks.set_status(tid, "ready")
        uow.tracks.set_playable(tid)
        uow.jobs.finish(jid)
        events.record(uow, "track.ready", track_id=tid, job_id=jid,
                      duration_s=round(float(job.plan["duration_s"]), 3),
                      renditions=[r.name for r in package.renditions])
    ORIGINALS.forget(tid)
    log.info("job %s: track %s ready, stitched from %d parts", jid, tid, len(parts))
    return True


def _missing_parts(store: ObjectStore, tid: UUID, rungs: Sequence[Rung],
                   parts: Sequence[Part]) -> list[Part]:
    """Return the parts some of whose objects are not in the store."""
    missing = []
    for rung in rungs:
        prefix = f"{hls_prefix(tid)}{rung.name}/"
        present = {info.key[len(prefix):] for info in store.list(prefix)}
        for part in parts:
            names = [name for name, _, _ in (part.result or {}).get("segments", {})
                     .get(rung.name, [])]
            if part.index == 0:
                names.append(INIT)
            if not names or not present.issuperset(names):
                missing.append(part)
    return sorted({p.index: p for p in missing}.values(), key=lambda p: p.index)


def _queue_again(uow: UnitOfWork, settings: Settings, jid: UUID, tid: UUID,
                 parts: Sequence[Part]) -> None:
    for part in parts:
        log.warning("job %s: part %d's segments are missing from the store; encoding it again",
                    jid, part.index)
        uow.parts.record_error(jid, part.index, code="missing_objects",
                               message="segments missing from the store")
        uow.outbox.add(PART_TASK, part_payload(jid, tid, part.index, settings.chunk_seconds))


def reap_expired(services: Services) -> int:
    """Take over parts whose lease expired: queue them again, or fail them (and their job)
    when they have used every attempt. Return how many parts were taken over."""
    max_attempts = services.settings.job_max_attempts
    failed: list[tuple[Part, UUID]] = []
    with unit_of_work(services.db) as uow:
        expired = uow.parts.claim_expired()
        for part in expired:
            job = uow.jobs.get(part.job_id)
            if job is None:
                continue
            if part.attempts >= max_attempts:
                failed.append((part, job.track_id))
            else:
                uow.parts.release(part.job_id, part.index)
                uow.outbox.add(PART_TASK, part_payload(part.job_id, job.track_id, part.index,
                                                       services.settings.chunk_seconds))
    for part, tid in failed:
        fail(services, part.job_id, tid, part.index, code="worker_lost",
             message=f"the worker stopped responding during attempt {part.attempts} of "
                     f"{max_attempts} of part {part.index + 1}")
    return len(expired)


class PartLease:
    """Renew a part's lease on a background thread; set ``stop`` when the part is lost (the
    track was deleted, the job failed, or another worker took it over)."""

    def __init__(self, services: Services, job_id: UUID, index: int, worker: str) -> None:
        self.services = services
        self.job_id = job_id
        self.index = index
        self.worker = worker
        self.stop = threading.Event()
        self._done = threading.Event()
        self._thread = logs.thread(self._run, name=f"lease-{str(job_id)[:8]}-{index}")

    def _run(self) -> None:
        lease_s = self.services.settings.job_lease_s
        # Renewed often, so a part whose track was deleted stops within a block or so.
        while not self._done.wait(min(LEASE_CHECK_S, lease_s / 3)):
            try:
                with unit_of_work(self.services.db) as uow:
                    held = uow.parts.extend_lease(self.job_id, self.index, worker=self.worker,
                                                  lease_s=lease_s)
                    job = uow.jobs.get(self.job_id)
                if not held or job is None or job.state != "running":
                    log.warning("job %s part %d: lost (deleted, failed or taken over); stopping",
                                self.job_id, self.index)
                    self.stop.set()
                    return
            except VezaError as exc:
                log.warning("job %s part %d: lease not renewed: %s", self.job_id, self.index,
                            exc)

    def __enter__(self) -> PartLease:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(timeout=10)
