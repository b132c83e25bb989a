"""Playlists: create, change, delete, and keep their items in order.

Items whose track the caller may not see are left out of what they are shown; when the owner
reorders, such items keep their relative order after the ones listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from storage.db import Database
from storage.playlists import Item, Playlist, Playlists
from storage.repositories import UnitOfWork, unit_of_work
from storage.social import Social
from veza.access import can_change, can_see, check_owner, check_visible
from veza.accounts import Principal
from veza.errors import ConflictError, NotFoundError, ValidationError
from veza.social import Page, paginate
from veza.tags import clean, clean_paragraphs

MAX_ITEMS = 5000
MAX_PLAYLISTS = 1000
PLAYLIST_TITLE_LIMIT = 200


class PlaylistFullError(ConflictError):
    """Raised when a track is added to a playlist that holds MAX_ITEMS already."""

    code = "playlist_full"


class TooManyPlaylistsError(ConflictError):
    """Raised when someone who owns MAX_PLAYLISTS playlists already creates another."""

    code = "too_many_playlists"


@dataclass(frozen=True)
class PlaylistView:
    """A playlist as one caller sees it: the items they may see, and whether they like it."""

    playlist: Playlist
    items: list[Item]
    liked: bool
    editable: bool


def _visible_items(items: list[Item], who: Principal | None) -> list[Item]:
    return [i for i in items if can_see(i.track_owner_id, i.track_visibility, who)]


def _load(uow: UnitOfWork, playlist_id: UUID, who: Principal | None, *,
          change: bool = False) -> Playlist:
    """Return the playlist, locked when ``change``; 404 if hidden, 403 if not theirs to change."""
    playlist = Playlists(uow.cur).get(playlist_id, for_update=change)
    if playlist is None:
        raise NotFoundError(f"no playlist with id {playlist_id}")
    check = check_owner if change else check_visible
    check("playlist", playlist_id, playlist.owner_id, playlist.visibility, who)
    if change:
        # Deleting a track removes its items without touching the others' positions.
        Playlists(uow.cur).compact(playlist_id)
    return playlist


def _view(uow: UnitOfWork, playlist_id: UUID, who: Principal | None) -> PlaylistView:
    playlist = _load(uow, playlist_id, who)
    items = _visible_items(Playlists(uow.cur).items(playlist_id), who)
    liked = who is not None and Social(uow.cur).likes_playlist(who.user_id, playlist_id)
    return PlaylistView(playlist, items, liked, can_change(playlist.owner_id, who))


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    """Trim text fields; a blank description is none, a blank title or a null one is refused."""
    cleaned = {name: value.strip() if isinstance(value, str) else value
               for name, value in fields.items()}
    if "title" in cleaned:  # cleaned as a track's title is (U+202E and other format characters)
        cleaned["title"] = clean(cleaned["title"], PLAYLIST_TITLE_LIMIT)
    if "description" in cleaned:  # lines kept, format characters (U+202E...) removed
        cleaned["description"] = clean_paragraphs(cleaned["description"])
    bad: dict[str, str] = {name: "may not be blank or null" for name in ("title", "visibility")
                           if name in cleaned and not cleaned[name]}
    if bad:
        raise ValidationError(bad)
    return cleaned


def create(db: Database, who: Principal, fields: dict[str, Any]) -> PlaylistView:
    """Create an empty playlist owned by the caller.

    Raises:
        TooManyPlaylistsError: the caller owns MAX_PLAYLISTS playlists already.
    """
    fields = _clean(fields)
    with unit_of_work(db) as uow:
        if Playlists(uow.cur).count_of_owner(who.user_id, lock=True) >= MAX_PLAYLISTS:
            raise TooManyPlaylistsError(f"you may own at most {MAX_PLAYLISTS} playlists; "
                                        "delete one to create another")
        playlist_id = Playlists(uow.cur).create(
            owner_id=who.user_id, title=fields["title"],
            description=fields.get("description"), visibility=fields["visibility"])
        return _view(uow, playlist_id, who)


def get(db: Database, playlist_id: UUID, who: Principal | None) -> PlaylistView:
    """Return the playlist with the items ``who`` may see, in order."""
    with unit_of_work(db) as uow:
        return _view(uow, playlist_id, who)


def update(db: Database, who: Principal, playlist_id: UUID,
           fields: dict[str, Any]) -> PlaylistView:
    """Rename the playlist, or change its description or visibility."""
    if not fields:
        raise ValidationError({"body": "send title, description, visibility or several"})
    fields = _clean(fields)
    with unit_of_work(db) as uow:
        _load(uow, playlist_id, who, change=True)
        Playlists(uow.cur).update(playlist_id, fields)
        return _view(uow, playlist_id, who)


def delete(db: Database, who: Principal, playlist_id: UUID) -> None:
    """Delete the playlist with its items and likes (never the tracks)."""
    with unit_of_work(db) as uow:
        _load(uow, playlist_id, who, change=True)
        Playlists(uow.cur).delete(playlist_id)


def add_item(db: Database, who: Principal, playlist_id: UUID, track_id: UUID,
             position: int | None) -> tuple[UUID, PlaylistView]:
    """Add a track the caller may see at ``position`` (default: the end); return the item id."""
    with unit_of_work(db) as uow:
        playlist = _load(uow, playlist_id, who, change=True)
        track = uow.tracks.get(track_id)
        if track is None:
            raise NotFoundError(f"no track with id {track_id}")
        check_visible("track", track_id, track.owner_id, track.visibility, who)
        if playlist.item_count >= MAX_ITEMS:
            raise PlaylistFullError(f"a playlist holds at most {MAX_ITEMS} tracks")
        if position is None:
            position = playlist.item_count
        elif position > playlist.item_count:
            raise ValidationError({"position": f"must be between 0 and {playlist.item_count}"})
        item_id = Playlists(uow.cur).add_item(playlist_id, track_id, position)
        return item_id, _view(uow, playlist_id, who)


def remove_item(db: Database, who: Principal, playlist_id: UUID, item_id: UUID) -> None:
    """Take an item out of the playlist; later items move up."""
    with unit_of_work(db) as uow:
        _load(uow, playlist_id, who, change=True)
        if not Playlists(uow.cur).remove_item(playlist_id, item_id):
            raise NotFoundError(f"playlist {playlist_id} has no item {item_id}")


def reorder(db: Database, who: Principal, playlist_id: UUID,
            item_ids: list[UUID]) -> PlaylistView:
    """Put the items in the order of ``item_ids``, which must name each visible item once."""
    with unit_of_work(db) as uow:
        _load(uow, playlist_id, who, change=True)
        repo = Playlists(uow.cur)
        items = repo.items(playlist_id)
        visible = {i.id for i in _visible_items(items, who)}
        if len(item_ids) != len(set(item_ids)) or set(item_ids) != visible:
            raise ValidationError({"item_ids": "must list every item of the playlist exactly "
                                               "once (it may have changed: reload it)"})
        hidden = [i.id for i in items if i.id not in visible]
        repo.reorder(playlist_id, [*item_ids, *hidden])
        return _view(uow, playlist_id, who)


def of_user(db: Database, handle: str, who: Principal | None, *, cursor: str | None,
            limit: int) -> Page[Playlist]:
    """Return a page of the user's playlists: all of them for the owner (or an admin), the
    public ones for everyone else."""
    with unit_of_work(db) as uow:
        owner = Social(uow.cur).user_id(handle.lower())
        if owner is None:
            raise NotFoundError(f"no user with handle {handle!r}")
        repo, public_only = Playlists(uow.cur), not can_change(owner, who)
        return paginate(
            lambda after, n: repo.of_owner(owner, public_only=public_only, after=after, limit=n),
            cursor, limit, lambda p: (p.created_at, p.id))
