"""The track catalogue: who sees a track, changing its metadata, reprocessing, listing pages of
tracks, and removing tracks with every object they have in the store."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from pipeline.embedded_tags import TAG_LIMITS
from storage.accounts import Accounts
from storage.objects import ObjectStore
from storage.plays import Plays
from storage.repositories import UnitOfWork, single_reads, unit_of_work
from storage.social import Social
from veza import access, events, streaming
from veza.accounts import Principal
from veza.errors import ConflictError, InputError, NotFoundError, ValidationError
from veza.layout import analysis_prefix, hls_prefix, track_prefixes
from veza.records import Job, Rendition, Track
from veza.runtime import Services
from veza.tags import clean, clean_paragraphs
from veza.uploads import queue_ingest

log = logging.getLogger(__name__)

MAX_TAGS = 20
MAX_TAG_LENGTH = 50
_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Counts:
    """A track's likes and plays as one caller sees them: ``liked_by_me`` only for a signed-in
    caller, ``plays`` only for the owner and admins (who see its statistics), else None."""

    likes: int
    liked_by_me: bool | None
    plays: int | None


@dataclass(frozen=True)
class TrackView:
    """A track as one caller sees it: ``mine`` when they own it or are an admin."""

    track: Track
    job: Job | None
    renditions: list[Rendition]
    mine: bool
    owner_handle: str | None = None
    counts: Counts | None = None


@dataclass(frozen=True)
class Page:
    tracks: list[Track]
    next: str | None
    # The handle of each track's owner, by owner id.
    handles: dict[UUID, str] = field(default_factory=dict)
    # Each track's likes and plays, by track id.
    counts: dict[UUID, Counts] = field(default_factory=dict)


def remove_objects(store: ObjectStore, track_id: UUID | str) -> int:
    """Delete every object of a track; return how many there were."""
    return sum(store.delete_prefix(prefix) for prefix in track_prefixes(track_id))


def _visible(uow: Any, track_id: UUID, who: Principal | None, *,
             for_update: bool = False) -> Track:
    track: Track | None = uow.tracks.get(track_id, for_update=for_update)
    if track is None:
        raise NotFoundError(f"no track with id {track_id}")
    access.check_visible("track", track.id, track.owner_id, track.visibility, who)
    return track


def _owned(uow: Any, track_id: UUID, who: Principal | None) -> Track:
    track = _visible(uow, track_id, who, for_update=True)
    access.check_owner("track", track.id, track.owner_id, track.visibility, who)
    return track


def _counts(uow: UnitOfWork, tracks: list[Track], who: Principal | None) -> dict[UUID, Counts]:
    """Return the likes and plays of ``tracks`` as ``who`` sees them: two statements for any
    number of tracks, the plays one only when ``who`` may see some track's plays."""
    if not tracks:
        return {}
    likes = Social(uow.cur).track_likes([t.id for t in tracks],
                                        who.user_id if who is not None else None)
    theirs = [t.id for t in tracks if access.can_change(t.owner_id, who)]
    plays = Plays(uow.cur).totals(theirs) if theirs else {}
    counts = {}
    for t in tracks:
        liked, mine = likes.get(t.id, (0, False))
        counts[t.id] = Counts(likes=liked, liked_by_me=mine if who is not None else None,
                              plays=plays.get(t.id, 0) if t.id in theirs else None)
    return counts


def view(services: Services, track_id: UUID, who: Principal | None, *,
         grant: str | None = None, counted: bool = False) -> TrackView:
    """Return the track with its latest job and renditions if ``who`` may see it, or to anyone
    with a stream ``grant`` for it (``streaming.grant``); with ``counted``, its likes and plays
    too.

    Raises:
        SignatureError: ``grant`` is given and is not an unexpired grant for this track.
        NotFoundError: no such track, or a private one ``who`` may not see.
    """
    if grant is not None:
        streaming.check_grant(services, track_id, grant)
    # One statement for what everybody sees; the job only for those who may see it.
    with single_reads(services.db) as uow:
        found = uow.tracks.with_stream(track_id)
        if found is None:
            raise NotFoundError(f"no track with id {track_id}")
        track, handle, renditions = found
        if grant is None:
            access.check_visible("track", track.id, track.owner_id, track.visibility, who)
        mine = access.can_change(track.owner_id, who)
        job = uow.jobs.latest_for_track(track_id) if mine else None
        counts = _counts(uow, [track], who)[track.id] if counted else None
    return TrackView(track=track, job=job, renditions=renditions, mine=mine,
                     owner_handle=handle, counts=counts)


def owned(services: Services, track_id: UUID, who: Principal | None) -> Track:
    """Return the track if ``who`` owns it or is an admin.

    Raises:
        NotFoundError: no such track, or one ``who`` may not see.
        ForbiddenError: ``who`` may see the track but not change it.
    """
    with unit_of_work(services.db) as uow:
        return _owned(uow, track_id, who)


def normalise_tags(tags: list[str]) -> list[str]:
    """Return ``tags`` trimmed, lower-cased, with inner spaces collapsed, empties and duplicates
    dropped, in their first order.

    Raises:
        ValidationError: more than MAX_TAGS tags, or one longer than MAX_TAG_LENGTH.
    """
    seen: dict[str, None] = {}
    for raw in tags:
        tag = _SPACES.sub(" ", raw).strip().lower()
        if _CONTROL.search(tag):
            raise ValidationError({"tags": f"tag {raw!r} contains control characters"})
        if len(tag) > MAX_TAG_LENGTH:
            raise ValidationError({"tags": f"tag {tag[:20]!r}... is longer than "
                                           f"{MAX_TAG_LENGTH} characters"})
        if tag:
            seen.setdefault(tag, None)
    if len(seen) > MAX_TAGS:
        raise ValidationError({"tags": f"at most {MAX_TAGS} tags"})
    return list(seen)


def _clean_text(name: str, value: Any) -> Any:
    """Clean a one-line field as titles from uploads and tags are cleaned (control and format
    characters such as U+202E removed), a description keeping its line breaks; an empty
    optional field becomes None."""
    if name in TAG_LIMITS:
        value = clean(value, TAG_LIMITS[name])
    elif name == "description":
        value = clean_paragraphs(value)
    if name == "title" and not value:
        raise ValidationError({"title": "the title cannot be empty"})
    return value or None


def _cleaned(changes: dict[str, Any]) -> dict[str, Any]:
    """Return metadata changes normalised; ValidationError names a bad one."""
    cleaned: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "tags":
            cleaned[name] = normalise_tags(value or [])
        elif name == "visibility":
            if value not in access.VISIBILITIES:
                raise ValidationError({"visibility": f"one of {', '.join(access.VISIBILITIES)}"})
            cleaned[name] = value
        else:
            cleaned[name] = _clean_text(name, value)
    return cleaned


def update(services: Services, track_id: UUID, who: Principal | None,
           changes: dict[str, Any]) -> Track:
    """Change the track's metadata (title, artist, album, genre, tags, description, visibility).

    Raises:
        NotFoundError, ForbiddenError: as ``owned``.
        ValidationError: a value out of bounds.
    """
    with unit_of_work(services.db) as uow:
        # Who may change the track is checked first: a stranger learns nothing from field errors.
        before = _owned(uow, track_id, who)
        cleaned = _cleaned(changes)
        track = uow.tracks.update(track_id, cleaned)
        if track is not None and track.visibility != before.visibility:
            # The track's chat room follows its access: the gateways act on this event.
            events.record(uow, "track.visibility", track_id=track_id,
                          visibility=track.visibility)
    if track is None:  # cannot happen while _owned holds the row lock; kept for the type
        raise NotFoundError(f"no track with id {track_id}")
    log.info("track %s: updated %s", track_id, ", ".join(sorted(cleaned)) or "nothing")
    return track


def reprocess(services: Services, track_id: UUID, who: Principal | None) -> Job:
    """Queue the track's ingest again from its first stage, with a new job.

    The stream, renditions and analysis of the previous run are removed first, so what the new
    job publishes is never mixed with what an older ladder left.

    Raises:
        NotFoundError, ForbiddenError: as ``owned``.
        ConflictError: a job for the track is queued or running.
    """
    with unit_of_work(services.db) as uow:
        _owned(uow, track_id, who)
        latest = uow.jobs.latest_for_track(track_id)
        if latest is not None and latest.state in ("queued", "running"):
            raise ConflictError(f"track {track_id} already has a {latest.state} job "
                                f"({latest.id}); wait for it to finish")
        uow.tracks.reset_for_processing(track_id)
        job = uow.jobs.insert(job_id=uuid.uuid4(), track_id=track_id, kind="ingest")
        # No worker sees the job before this transaction commits, so nothing races the removal.
        removed = sum(services.store.delete_prefix(prefix)
                      for prefix in (hls_prefix(track_id), analysis_prefix(track_id)))
        queue_ingest(uow, job.id, track_id)
    log.info("track %s: reprocessing as job %s (%d old objects removed)", track_id, job.id,
             removed)
    return job


def delete_track(services: Services, track_id: UUID, who: Principal | None) -> None:
    """Delete a track: its rows at once (a running job notices and stops), then its objects.

    Raises:
        NotFoundError, ForbiddenError: as ``owned``.
    """
    with unit_of_work(services.db) as uow:
        _owned(uow, track_id, who)
        uow.tracks.delete(track_id)
    removed = remove_objects(services.store, track_id)
    log.info("deleted track %s and %d objects", track_id, removed)


def original_url(services: Services, track_id: UUID, who: Principal | None) -> str:
    """Return a short-lived signed URL of the track's original upload.

    Raises:
        NotFoundError, ForbiddenError: as ``owned``; NotFoundError also when no original is kept.
    """
    track = owned(services, track_id, who)
    if not track.original_key:
        raise NotFoundError(f"track {track_id} has no original")
    return services.store.presign_get(track.original_key,
                                      expires_s=services.settings.signed_url_ttl_s)


# --------------------------------------------------------------------- pages


def _cursor_key(services: Services) -> bytes:
    return services.settings.derived_key("veza list cursors")


def encode_cursor(services: Services, track: Track) -> str:
    """Return an opaque cursor for the page that follows ``track``."""
    payload = json.dumps([track.created_at.isoformat(), str(track.id)],
                         separators=(",", ":")).encode()
    mac = hmac.new(_cursor_key(services), payload, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(payload + mac).decode().rstrip("=")


def decode_cursor(services: Services, cursor: str) -> tuple[datetime, UUID]:
    """Return the ``(created_at, id)`` a cursor stands for.

    Raises:
        InputError: the cursor was not made by this platform (tampered, truncated, or invented).
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload, mac = raw[:-16], raw[-16:]
        good = hmac.new(_cursor_key(services), payload, hashlib.sha256).digest()[:16]
        if len(raw) <= 16 or not hmac.compare_digest(mac, good):
            raise ValueError("signature does not match")
        created, track_id = json.loads(payload)
        return datetime.fromisoformat(created), UUID(track_id)
    except (ValueError, TypeError) as exc:
        raise InputError("the cursor is not valid; start again without one",
                         code="bad_cursor") from exc


def page(services: Services, who: Principal | None, *, limit: int, cursor: str | None = None,
         owner: str | None = None, genre: str | None = None, tag: str | None = None,
         status: str | None = None, visibility: str | None = None) -> Page:
    """Return a page of tracks, newest first: public ready tracks, and with ``owner`` naming
    the caller, all of their own.

    Raises:
        InputError: a bad cursor.
        ValidationError: ``status`` or ``visibility`` without ``owner`` naming the caller.
    """
    after = decode_cursor(services, cursor) if cursor else None
    handle = owner.strip().lower() if owner else None
    with single_reads(services.db) as uow:
        account = Accounts(uow.cur).find(handle) if handle else None
        if account is not None and account.handle != handle:  # find() also matches emails
            account = None
        mine = account is not None and who is not None and account.id == who.user_id
        bad = {name: "filters only your own tracks: add owner=<your handle>"
               for name, value in (("status", status), ("visibility", visibility))
               if value is not None and not mine}
        if bad:
            raise ValidationError(bad)
        if handle and account is None:
            return Page(tracks=[], next=None)
        found = uow.tracks.page_with_owners(
            limit=limit + 1, after=after, owner_id=account.id if account else None,
            public_only=not mine, genre=genre,
            tag=normalise_tags([tag])[0] if tag and tag.strip() else None,
            status=status, visibility=visibility)
        tracks = [track for track, _ in found[:limit]]
        counts = _counts(uow, tracks, who)
    following = encode_cursor(services, tracks[-1]) if len(found) > limit else None
    return Page(tracks=tracks, next=following,
                handles={track.owner_id: owner for track, owner in found[:limit]},
                counts=counts)
