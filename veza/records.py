"""Domain records shared by the API, the workers and the storage adapters."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class User:
    id: UUID
    handle: str
    display_name: str | None
    created_at: datetime


@dataclass(frozen=True)
class Track:
    id: UUID
    owner_id: UUID
    status: str
    title: str
    original_filename: str | None
    original_key: str | None
    size_bytes: int | None
    source_format: str | None
    source_codec: str | None
    sample_rate: int | None
    channels: int | None
    duration_s: float | None
    metadata: dict[str, Any]
    error_code: str | None
    error_message: str | None
    created_at: datetime
    updated_at: datetime
    ready_at: datetime | None
    playable_at: datetime | None = None
    analysis: dict[str, Any] | None = None
    artist: str | None = None
    album: str | None = None
    genre: str | None = None
    tags: list[str] = field(default_factory=list)
    description: str | None = None
    visibility: str = "public"
    cover_key: str | None = None


@dataclass(frozen=True)
class Rendition:
    track_id: UUID
    name: str
    codec: str
    bitrate: int
    bandwidth: int
    average_bandwidth: int
    playlist_key: str
    segment_count: int
    # The timeline (48 kHz samples): priming first, then exactly ``samples`` of the track (None
    # while it is still being encoded, or for a track stitched from parts that did not say).
    priming_samples: int | None = None
    samples: int | None = None


@dataclass(frozen=True)
class Job:
    id: UUID
    track_id: UUID
    kind: str
    state: str
    attempts: int
    progress: int
    error_code: str | None
    error_message: str | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    # Set when the track is encoded in parts (see veza.parts); None for a single pass.
    plan: dict[str, Any] | None = None
    part_count: int | None = None
    finalised_at: datetime | None = None


@dataclass(frozen=True)
class Part:
    """One chunk of a job encoded in parts: a run of whole segments any worker can encode."""

    job_id: UUID
    index: int
    first_segment: int
    segment_count: int
    start_sample: int
    end_sample: int
    state: str
    attempts: int
    result: dict[str, Any] | None
    error_code: str | None
    error_message: str | None
    worker: str | None = None


@dataclass(frozen=True)
class OutboxMessage:
    id: UUID
    seq: int
    task: str
    payload: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
