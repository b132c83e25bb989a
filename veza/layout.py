"""Where a track's objects live in the store (DESIGN.md, "Object store layout")."""

from __future__ import annotations

from uuid import UUID


def original_key(track_id: UUID | str, extension: str) -> str:
    return f"originals/{track_id}/source.{extension}"


def hls_prefix(track_id: UUID | str) -> str:
    return f"hls/{track_id}/"


def analysis_prefix(track_id: UUID | str) -> str:
    return f"analysis/{track_id}/"


def track_prefixes(track_id: UUID | str) -> tuple[str, ...]:
    """Return every prefix that holds a track's objects."""
    return (f"originals/{track_id}/", hls_prefix(track_id), analysis_prefix(track_id))
