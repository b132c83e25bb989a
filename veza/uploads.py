"""Accept an upload: bound its size, prove it is audio, store it, record track, job and task."""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from storage.repositories import UnitOfWork, unit_of_work
from veza import tags as embedded
from veza.errors import EmptyInputError, TooLargeError
from veza.layout import original_key
from veza.media import content_type_for, probe
from veza.records import Job, Track
from veza.runtime import Services

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
INGEST_TASK = "veza.ingest"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Accepted:
    track: Track
    job: Job


def receive(stream: IO[bytes], dest: IO[bytes], *, max_bytes: int) -> int:
    """Copy ``stream`` to ``dest`` in chunks, stopping as soon as it passes ``max_bytes``."""
    total = 0
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        total += len(chunk)
        if total > max_bytes:
            raise TooLargeError(f"upload exceeds the limit of {max_bytes} bytes")
        dest.write(chunk)
    if total == 0:
        raise EmptyInputError("the upload is empty")
    return total


def stage_time_limit_s(duration_s: float | None) -> float:
    """Return how long the ingest stage may run: ten minutes plus the track's own length.

    The stage runs at 15-20x real time on one core here, so this leaves a wide margin; a hung
    stage is still stopped. RabbitMQ's consumer timeout must be longer (compose/ sets 4 h).
    """
    return 600.0 + max(0.0, duration_s or 0.0)


def ingest_payload(job_id: uuid.UUID, track_id: uuid.UUID, duration_s: float | None
                   ) -> dict[str, object]:
    """Return the ingest task's outbox payload."""
    return {"job_id": str(job_id), "track_id": str(track_id),
            "time_limit_s": stage_time_limit_s(duration_s)}


def queue_ingest(uow: UnitOfWork, job_id: uuid.UUID, track_id: uuid.UUID) -> None:
    """Record the ingest task of an existing job in the outbox."""
    track = uow.tracks.get(track_id)
    duration = track.duration_s if track is not None else None
    uow.outbox.add(INGEST_TASK, ingest_payload(job_id, track_id, duration))


def clean_filename(filename: str | None) -> str | None:
    """Return the last component of a client's file name without control characters, or None.

    The name is only shown back to its owner; it never becomes part of an object key.
    """
    if not filename:
        return None
    kept = embedded.clean(_CONTROL.sub("", filename), 4096) or ""
    name = Path(kept.replace("\\", "/")).name.strip()
    return name[:255] or None


def _title(filename: str | None) -> str:
    filename = clean_filename(filename)
    if filename:
        stem = filename.rsplit(".", 1)[0].strip()
        if stem:
            return stem[:200]
    return "Untitled"


def accept(
    services: Services,
    path: Path,
    *,
    owner_id: uuid.UUID,
    filename: str | None,
    title: str | None = None,
    visibility: str = "public",
) -> Accepted:
    """Store the audio at ``path`` and record its track, job and outbox task in one transaction.

    Raises:
        InputError: the file is empty, not audio, or audio the pipeline does not process
            (longer than VEZA_MAX_DURATION_S, an unsupported sample rate or channel count);
            nothing is stored.
    """
    filename = clean_filename(filename)
    size = path.stat().st_size
    if size == 0:
        raise EmptyInputError("the upload is empty")
    info = probe(path, max_duration_s=services.settings.max_duration_s)
    tags = embedded.read(path)
    track_id = uuid.uuid4()
    job_id = uuid.uuid4()
    key = original_key(track_id, info.extension)
    services.store.put_file(key, path, content_type=content_type_for(f"x.{info.extension}"))
    try:
        with unit_of_work(services.db) as uow:
            track = uow.tracks.insert(
                track_id=track_id,
                owner_id=owner_id,
                title=embedded.title(_CONTROL.sub("", title or "").strip()[:200] or None, tags,
                                     _title(filename)),
                original_filename=(filename or None),
                original_key=key,
                size_bytes=size,
                source_format=info.format_name,
                source_codec=info.codec,
                sample_rate=info.sample_rate,
                channels=info.channels,
                duration_s=info.duration_s,
                metadata=embedded.metadata(tags),
                visibility=visibility,
            )
            track = embedded.prefill(uow, track, tags)
            job = uow.jobs.insert(job_id=job_id, track_id=track_id, kind="ingest")
            uow.outbox.add(INGEST_TASK, ingest_payload(job_id, track_id, info.duration_s))
    except BaseException:
        # The rows never committed: take the original away again so nothing is left behind.
        try:
            services.store.delete(key)
        except Exception:  # the original error matters more than the cleanup's
            log.exception("could not remove %s after a failed upload", key)
        raise
    log.info("accepted track %s (job %s, %d bytes)", track_id, job_id, size)
    return Accepted(track=embedded.attach_cover(services, track, tags), job=job)
