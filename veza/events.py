"""The events the platform announces, and how they are recorded in the outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from storage.repositories import UnitOfWork

SCHEMA_VERSION = 1
# The outbox task name under which events wait for the relay.
EVENT_TASK = "veza.events"


def record(
    uow: UnitOfWork,
    kind: str,
    *,
    track_id: UUID,
    job_id: UUID | None = None,
    **fields: Any,
) -> None:
    """Record event ``kind`` (``track.ready``...) to be published when this transaction commits."""
    event = {
        "schema": SCHEMA_VERSION,
        "type": kind,
        "at": datetime.now(UTC).isoformat(),
        "track_id": str(track_id),
        "job_id": None if job_id is None else str(job_id),
        **fields,
    }
    uow.outbox.add(EVENT_TASK, {"routing_key": kind, "event": event})
