"""Profiles, follows and likes, and the opaque cursors the lists page with."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from storage.db import Database
from storage.playlists import Playlists
from storage.repositories import unit_of_work
from storage.social import After, LikedTrack, Person, Profile, Social
from veza.access import check_visible
from veza.accounts import Principal
from veza.errors import ConflictError, NotFoundError, ValidationError
from veza.tags import DISPLAY_NAME_LIMIT, clean, clean_paragraphs

T = TypeVar("T")


class SelfFollowError(ConflictError):
    """Raised when someone asks to follow themselves."""

    code = "cannot_follow_self"


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, and the cursor of the next (None on the last page)."""

    items: list[T]
    next_cursor: str | None


# ------------------------------------------------------------------- cursors


def encode_cursor(after: After) -> str:
    """Return an opaque cursor for the position just after ``after``."""
    raw = json.dumps([after[0].isoformat(), str(after[1])]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> After | None:
    """Return the position a cursor stands for; ValidationError if it is not one of ours."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, object_id = json.loads(raw)
        return datetime.fromisoformat(at), UUID(object_id)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise ValidationError({"cursor": "not a cursor this API returned"}) from None


def paginate(fetch: Callable[[After | None, int], Sequence[T]], cursor: str | None, limit: int,
             key: Callable[[T], After]) -> Page[T]:
    """Fetch one page after ``cursor``: one row more than asked tells whether another follows."""
    rows = list(fetch(decode_cursor(cursor), limit + 1))
    if len(rows) <= limit:
        return Page(rows, None)
    return Page(rows[:limit], encode_cursor(key(rows[limit - 1])))


# ------------------------------------------------------------------ profiles


def _user_id(social: Social, handle: str) -> UUID:
    user_id = social.user_id(handle.lower())
    if user_id is None:
        raise NotFoundError(f"no user with handle {handle!r}")
    return user_id


def profile(db: Database, handle: str, who: Principal | None) -> Profile:
    """Return the public profile of ``handle`` as ``who`` sees it."""
    with unit_of_work(db) as uow:
        social = Social(uow.cur)
        found = social.profile(_user_id(social, handle), who.user_id if who else None)
    assert found is not None  # the user was found in this transaction
    return found


def update_profile(db: Database, who: Principal, fields: dict[str, Any]) -> Profile:
    """Change the caller's display name and bio; empty strings clear them."""
    if not fields:
        raise ValidationError({"body": "send display_name, bio or both"})
    cleaned = {name: (value.strip() or None) if isinstance(value, str) else value
               for name, value in fields.items()}
    if "display_name" in cleaned:  # a one-line name, cleaned as titles are (U+202E...)
        cleaned["display_name"] = clean(cleaned["display_name"], DISPLAY_NAME_LIMIT)
    if "bio" in cleaned:  # lines kept, format characters (U+202E...) removed
        cleaned["bio"] = clean_paragraphs(cleaned["bio"])
    with unit_of_work(db) as uow:
        social = Social(uow.cur)
        social.update_profile(who.user_id, cleaned)
        found = social.profile(who.user_id, who.user_id)
    if found is None:
        raise NotFoundError("this account no longer exists")
    return found


# ------------------------------------------------------------------- follows


def follow(db: Database, who: Principal, handle: str, *, on: bool) -> int:
    """Follow (``on``) or unfollow ``handle``, idempotently; return their follower count."""
    with unit_of_work(db) as uow:
        social = Social(uow.cur)
        followee = _user_id(social, handle)
        if followee == who.user_id:
            raise SelfFollowError("you cannot follow yourself")
        if on:
            social.follow(who.user_id, followee)
        else:
            social.unfollow(who.user_id, followee)
        return social.follower_count(followee)


def people(db: Database, handle: str, *, followers: bool, cursor: str | None,
           limit: int) -> Page[Person]:
    """Return a page of who follows ``handle`` (``followers``) or whom they follow."""
    with unit_of_work(db) as uow:
        social = Social(uow.cur)
        user_id = _user_id(social, handle)
        fetch = social.followers if followers else social.following
        return paginate(lambda after, n: fetch(user_id, after, n), cursor, limit,
                        lambda p: (p.created_at, p.id))


# --------------------------------------------------------------------- likes


def like_track(db: Database, who: Principal, track_id: UUID, *, on: bool) -> int:
    """Like (``on``) or unlike a track the caller may see; return its like count.

    A like on a track that has since turned private may still be taken back.
    """
    with unit_of_work(db) as uow:
        social = Social(uow.cur)
        track = uow.tracks.get(track_id)
        if track is None:
            raise NotFoundError(f"no track with id {track_id}")
        if on or not social.likes_track(who.user_id, track_id):
            check_visible("track", track_id, track.owner_id, track.visibility, who)
        if on:
            social.like_track(who.user_id, track_id)
        else:
            social.unlike_track(who.user_id, track_id)
        return social.track_like_count(track_id)


def like_playlist(db: Database, who: Principal, playlist_id: UUID, *, on: bool) -> int:
    """Like (``on``) or unlike a playlist the caller may see; return its like count."""
    with unit_of_work(db) as uow:
        social = Social(uow.cur)
        playlist = Playlists(uow.cur).get(playlist_id)
        if playlist is None:
            raise NotFoundError(f"no playlist with id {playlist_id}")
        if on or not social.likes_playlist(who.user_id, playlist_id):
            check_visible("playlist", playlist_id, playlist.owner_id, playlist.visibility, who)
        if on:
            social.like_playlist(who.user_id, playlist_id)
        else:
            social.unlike_playlist(who.user_id, playlist_id)
        return social.playlist_like_count(playlist_id)


def liked_tracks(db: Database, who: Principal, *, cursor: str | None,
                 limit: int) -> Page[LikedTrack]:
    """Return a page of the tracks the caller liked and may still see, latest like first."""
    with unit_of_work(db) as uow:
        social = Social(uow.cur)
        return paginate(
            lambda after, n: social.liked_tracks(who.user_id, admin=who.role == "admin",
                                                 after=after, limit=n),
            cursor, limit, lambda t: (t.created_at, t.id))
