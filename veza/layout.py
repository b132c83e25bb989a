"""Where a track's objects live in the store (docs/design.md, "Object store layout")."""

from __future__ import annotations

from uuid import UUID


def original_key(track_id: UUID | str, extension: str) -> str:
    return f"originals/{track_id}/source.{extension}"


def hls_prefix(track_id: UUID | str) -> str:
    return f"hls/{track_id}/"


def analysis_prefix(track_id: UUID | str) -> str:
    return f"analysis/{track_id}/"


def cover_prefix(track_id: UUID | str) -> str:
    return f"covers/{track_id}/"


def cover_key(track_id: UUID | str, extension: str) -> str:
    """Return where a track's cover art lives (one cover per track; its type names the file)."""
    return f"{cover_prefix(track_id)}cover.{extension}"


def track_prefixes(track_id: UUID | str) -> tuple[str, ...]:
    """Return every prefix that holds a track's objects."""
    return (f"originals/{track_id}/", hls_prefix(track_id), analysis_prefix(track_id),
            cover_prefix(track_id))
