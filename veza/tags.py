"""Embedded tags and cover art: read at upload, pre-fill the track, serve the cover."""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import replace
from pathlib import Path
from typing import Any

from pipeline.embedded_tags import TAG_LIMITS, EmbeddedTags, clean_text, read_tags
from storage.repositories import UnitOfWork, unit_of_work
from storage.track_tags import TrackTags
from veza.errors import NotFoundError, VezaError
from veza.layout import cover_key
from veza.records import Track
from veza.runtime import Services

log = logging.getLogger(__name__)

COVER_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif"}
MAX_COVER_BYTES = 5 * 1024 * 1024
# A person's display name: one line, cleaned as a title is.
DISPLAY_NAME_LIMIT = 100


def read(path: Path) -> EmbeddedTags:
    """Return the file's embedded tags; a file whose tags cannot be read gives none."""
    try:
        return read_tags(path, max_cover_bytes=MAX_COVER_BYTES)
    except Exception:  # tags only pre-fill a form: they never fail an upload
        log.warning("could not read the tags of %s", path.name, exc_info=True)
        return EmbeddedTags()


def clean(value: object, limit: int) -> str | None:
    """Return text a client or a file gave, as every tag is kept: without control or format
    characters (a right-to-left override U+202E, a zero-width space...), whitespace
    collapsed, at most ``limit`` characters; None when nothing is left."""
    return clean_text(value, limit)


def clean_paragraphs(value: object) -> str | None:
    """Return text of several lines (a description, a bio) cleaned as one-line text is, but
    keeping its line breaks and tabs: control and format characters (U+202E...) removed,
    line ends made ``\n``, ends trimmed; None when nothing is left."""
    if not isinstance(value, str):
        return None
    lines = value.replace("\r\n", "\n").replace("\r", "\n")
    kept = "".join(ch for ch in lines
                   if ch in "\n\t" or unicodedata.category(ch)[0] != "C").strip()
    return kept or None


def title(explicit: str | None, tags: EmbeddedTags, from_filename: str) -> str:
    """Return the title to record: the user's, else the file's tag, else one from its name,
    each cleaned alike."""
    limit = TAG_LIMITS["title"]
    return clean(explicit, limit) or tags.title or clean(from_filename, limit) or "Untitled"


def metadata(tags: EmbeddedTags) -> dict[str, Any]:
    """Return the tags the track has no column for, as its metadata."""
    embedded = {"date": tags.date, "track_number": tags.track_number}
    kept = {k: v for k, v in embedded.items() if v is not None}
    return {"embedded": kept} if kept else {}


def prefill(uow: UnitOfWork, track: Track, tags: EmbeddedTags) -> Track:
    """Fill the new track's artist, album and genre from its tags; return it as stored."""
    if not (tags.artist or tags.album or tags.genre):
        return track
    TrackTags(uow.cur).prefill(track.id, artist=tags.artist, album=tags.album, genre=tags.genre)
    return replace(track, artist=track.artist or tags.artist, album=track.album or tags.album,
                   genre=track.genre or tags.genre)


def attach_cover(services: Services, track: Track, tags: EmbeddedTags) -> Track:
    """Store the embedded cover of a committed track and record its key; return the track.

    A cover is a nicety: when storing it fails the upload still succeeds, without a cover.
    """
    if tags.cover is None or tags.cover_type not in COVER_EXTENSIONS:
        return track
    key = cover_key(track.id, COVER_EXTENSIONS[tags.cover_type])
    try:
        services.store.put(key, tags.cover, content_type=tags.cover_type,
                           length=len(tags.cover))
        with unit_of_work(services.db) as uow:
            recorded = TrackTags(uow.cur).set_cover(track.id, key)
        if not recorded:  # deleted meanwhile: leave nothing behind
            services.store.delete(key)
            return track
    except VezaError:
        log.warning("could not store the cover of track %s", track.id, exc_info=True)
        return track
    return replace(track, cover_key=key)


def cover_url(services: Services, track: Track) -> str:
    """Return a signed, expiring URL of the track's cover.

    Raises:
        NotFoundError: (code ``no_cover``) the track has no cover.
    """
    if not track.cover_key:
        raise NotFoundError(f"track {track.id} has no cover", code="no_cover")
    return services.store.presign_get(track.cover_key,
                                      expires_s=services.settings.signed_url_ttl_s)
