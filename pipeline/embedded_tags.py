"""Read the tags and cover art a file carries, trusting none of them.

Text is cleaned of control and format characters and cut to the catalogue's limits
(:data:`TAG_LIMITS`), a track number that is not one is dropped, and only a JPEG, PNG or GIF
cover of bounded size is kept.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

import av
import av.error

__all__ = ["TAG_LIMITS", "EmbeddedTags", "clean_text", "read_tags"]

# Longest text kept from each tag, in characters (the catalogue's column limits).
TAG_LIMITS = {"title": 200, "artist": 200, "album": 200, "genre": 100, "date": 32}
# Tag names FFmpeg reports for each field, first found wins (ID3, Vorbis comments, MP4 atoms).
_TAG_NAMES = {
    "title": ("title",),
    "artist": ("artist", "album_artist", "performer", "composer"),
    "album": ("album",),
    "genre": ("genre",),
    "date": ("date", "year", "originaldate"),
    "track": ("track", "tracknumber"),
}
# Leading bytes of the picture formats kept as covers, and their media types.
_PICTURE_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_SPACES = re.compile(r"\s+")
_TRACK_NUMBER = re.compile(r"^\s*(\d{1,4})\s*(?:/\s*\d{0,4}\s*)?$")


@dataclass(frozen=True, slots=True)
class EmbeddedTags:
    """Tags and cover art a file carries, cleaned up (see :func:`read_tags`).

    Attributes
    ----------
    title, artist, album, genre, date : str or None
        Text without control characters, whitespace collapsed, at most ``TAG_LIMITS`` characters;
        ``None`` when absent or empty.
    track_number : int or None
        Position on the release (1-9999), from e.g. ``"3"`` or ``"3/12"``.
    cover : bytes or None
        The attached picture (JPEG, PNG or GIF), at most ``max_cover_bytes``.
    cover_type : str or None
        Media type of ``cover``, e.g. ``"image/jpeg"``.
    """

    title: str | None = None
    artist: str | None = None
    album: str | None = None
    genre: str | None = None
    date: str | None = None
    track_number: int | None = None
    cover: bytes | None = None
    cover_type: str | None = None


def read_tags(path: str | os.PathLike[str], *, max_cover_bytes: int = 5 * 1024 * 1024
              ) -> EmbeddedTags:
    """Read the title, artist, album, genre, date, track number and cover art of a file.

    Tags are whatever the file says, so none of them is trusted: text is cleaned and cut to
    ``TAG_LIMITS``, a track number that is not one is dropped, and a cover that is not a JPEG,
    PNG or GIF picture, or is larger than ``max_cover_bytes``, is ignored. A file whose tags
    cannot be read at all gives empty tags: this never raises for what is inside the file.

    Parameters
    ----------
    path : str or os.PathLike
        An audio file (already checked by :func:`pipeline.probe.probe`).
    max_cover_bytes : int > 0
        Largest cover kept, in bytes.

    Returns
    -------
    EmbeddedTags
    """
    try:
        container = av.open(str(path), mode="r", metadata_errors="replace")
    except (av.error.FFmpegError, OSError):
        return EmbeddedTags()
    with container:
        try:
            merged = _merged_tags(container)
            cover, cover_type = _cover(container, max_cover_bytes)
        except (av.error.FFmpegError, UnicodeError, ValueError):
            return EmbeddedTags()
    texts = {field: _text(merged, field) for field in TAG_LIMITS}
    return EmbeddedTags(**texts, track_number=_track_number(merged.get("track")),
                        cover=cover, cover_type=cover_type)


def clean_text(value: object, limit: int) -> str | None:
    """Return ``value`` without control or format characters, whitespace collapsed, at most
    ``limit`` characters; ``None`` when nothing is left."""
    if not isinstance(value, str):
        return None
    kept = "".join(" " if ch in "\t\n\r" else ch for ch in value
                   if ch in "\t\n\r" or unicodedata.category(ch)[0] != "C")
    text = _SPACES.sub(" ", kept).strip()[:limit].strip()
    return text or None


def _merged_tags(container: av.container.InputContainer) -> dict[str, str]:
    """Container tags, then the audio stream's (Ogg keeps them there), keys lower-cased."""
    sources: list[Mapping[str, str]] = [container.metadata]
    sources += [stream.metadata for stream in container.streams.audio]
    merged: dict[str, str] = {}
    for source in sources:
        for key, value in source.items():
            merged.setdefault(str(key).lower(), value)
    found: dict[str, str] = {}
    for field, names in _TAG_NAMES.items():
        present = [merged[name] for name in names if str(merged.get(name, "")).strip()]
        if present:
            found[field] = present[0]
    return found


def _text(tags: dict[str, str], field: str) -> str | None:
    return clean_text(tags.get(field), TAG_LIMITS[field])


def _track_number(value: str | None) -> int | None:
    match = _TRACK_NUMBER.match(value or "")
    if match is None:
        return None
    number = int(match.group(1))
    return number if 1 <= number <= 9999 else None


def _cover(container: av.container.InputContainer, max_bytes: int
           ) -> tuple[bytes | None, str | None]:
    """Return the first attached picture the container holds, with its media type."""
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            continue
        for packet in container.demux(stream):
            data = bytes(packet)
            if not data or len(data) > max_bytes:
                break
            for magic, media_type in _PICTURE_MAGIC:
                if data.startswith(magic):
                    return data, media_type
            break
    return None, None
