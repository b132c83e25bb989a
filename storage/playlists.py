"""SQL for playlists and their items (see migration 0006, section "social").

Item positions are kept dense, 0 to n-1 (a deleted track's items leave gaps, closed by
``compact`` before the next change). Every change to a playlist's items first locks the
playlist row (``get(..., for_update=True)``), so concurrent edits of one playlist run one after
the other and positions never collide; the unique (playlist_id, position) constraint is
deferred, so shifting many positions in one statement is allowed until commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg2.extras import RealDictCursor

from storage.social import After


@dataclass(frozen=True)
class Playlist:
    id: UUID
    owner_id: UUID
    owner_handle: str
    owner_display_name: str | None
    title: str
    description: str | None
    visibility: str
    created_at: datetime
    updated_at: datetime
    item_count: int
    like_count: int


@dataclass(frozen=True)
class Item:
    """An item in a playlist with a summary of its track."""

    id: UUID
    position: int
    added_at: datetime
    track_id: UUID
    track_owner_id: UUID
    track_owner_handle: str
    track_visibility: str
    title: str
    artist: str | None
    duration_s: float | None
    status: str


_PLAYLIST = """
    SELECT p.id, p.owner_id, u.handle AS owner_handle, u.display_name AS owner_display_name,
           p.title, p.description, p.visibility, p.created_at, p.updated_at,
           (SELECT count(*) FROM playlist_items i WHERE i.playlist_id = p.id) AS item_count,
           (SELECT count(*) FROM playlist_likes l WHERE l.playlist_id = p.id) AS like_count
    FROM playlists p JOIN users u ON u.id = p.owner_id
"""


class Playlists:
    """Playlists over one transaction's cursor."""

    def __init__(self, cur: RealDictCursor) -> None:
        self.cur = cur

    def create(self, *, owner_id: UUID, title: str, description: str | None,
               visibility: str) -> UUID:
        self.cur.execute(
            "INSERT INTO playlists (owner_id, title, description, visibility)"
            " VALUES (%s, %s, %s, %s) RETURNING id",
            (owner_id, title, description, visibility),
        )
        return UUID(str(self.cur.fetchone()["id"]))

    def count_of_owner(self, owner_id: UUID, *, lock: bool = False) -> int:
        """Return how many playlists ``owner_id`` owns; ``lock`` holds the owner's row until
        the transaction ends, so two creations by one owner are counted one after the other."""
        if lock:
            self.cur.execute("SELECT 1 FROM users WHERE id = %s FOR UPDATE", (owner_id,))
        self.cur.execute("SELECT count(*) AS n FROM playlists WHERE owner_id = %s", (owner_id,))
        return int(self.cur.fetchone()["n"])

    def get(self, playlist_id: UUID, *, for_update: bool = False) -> Playlist | None:
        """Return the playlist; ``for_update`` locks its row until the transaction ends."""
        if for_update:
            self.cur.execute("SELECT id FROM playlists WHERE id = %s FOR UPDATE", (playlist_id,))
            if self.cur.fetchone() is None:
                return None
        self.cur.execute(f"{_PLAYLIST} WHERE p.id = %s", (playlist_id,))
        row = self.cur.fetchone()
        return Playlist(**row) if row else None

    def update(self, playlist_id: UUID, fields: dict[str, Any]) -> None:
        """Set ``fields`` (title, description, visibility) of the playlist."""
        allowed = {k: v for k, v in fields.items()
                   if k in ("title", "description", "visibility")}
        if not allowed:
            return
        sets = ", ".join(f"{name} = %({name})s" for name in allowed)
        self.cur.execute(f"UPDATE playlists SET {sets}, updated_at = now() WHERE id = %(id)s",
                         {**allowed, "id": playlist_id})

    def delete(self, playlist_id: UUID) -> None:
        self.cur.execute("DELETE FROM playlists WHERE id = %s", (playlist_id,))

    def of_owner(self, owner_id: UUID, *, public_only: bool, after: After | None,
                 limit: int) -> list[Playlist]:
        """Return the owner's playlists, newest first (only the public ones if asked)."""
        where = ["p.owner_id = %(owner)s"]
        if public_only:
            where.append("p.visibility = 'public'")
        if after:
            where.append("(p.created_at, p.id) < (%(at)s, %(id)s)")
        self.cur.execute(
            f"{_PLAYLIST} WHERE {' AND '.join(where)}"
            " ORDER BY p.created_at DESC, p.id DESC LIMIT %(limit)s",
            {"owner": owner_id, "limit": limit,
             "at": after[0] if after else None, "id": after[1] if after else None},
        )
        return [Playlist(**row) for row in self.cur.fetchall()]

    # --------------------------------------------------------------------- items

    def items(self, playlist_id: UUID) -> list[Item]:
        """Return every item in order, with its track's owner and visibility."""
        self.cur.execute(
            """
            SELECT i.id, i.position, i.added_at, t.id AS track_id,
                   t.owner_id AS track_owner_id, u.handle AS track_owner_handle,
                   t.visibility AS track_visibility, t.title, t.artist, t.duration_s, t.status
            FROM playlist_items i
            JOIN tracks t ON t.id = i.track_id
            JOIN users u ON u.id = t.owner_id
            WHERE i.playlist_id = %s
            ORDER BY i.position
            """,
            (playlist_id,),
        )
        return [Item(**row) for row in self.cur.fetchall()]

    def add_item(self, playlist_id: UUID, track_id: UUID, position: int) -> UUID:
        """Insert the track at ``position`` (0 to the item count), moving later items down."""
        self.cur.execute(
            "UPDATE playlist_items SET position = position + 1"
            " WHERE playlist_id = %s AND position >= %s",
            (playlist_id, position),
        )
        self.cur.execute(
            "INSERT INTO playlist_items (playlist_id, track_id, position) VALUES (%s, %s, %s)"
            " RETURNING id",
            (playlist_id, track_id, position),
        )
        item_id = UUID(str(self.cur.fetchone()["id"]))
        self._touch(playlist_id)
        return item_id

    def remove_item(self, playlist_id: UUID, item_id: UUID) -> bool:
        """Delete the item and close the gap it leaves; False if the playlist has no such item."""
        self.cur.execute(
            "DELETE FROM playlist_items WHERE id = %s AND playlist_id = %s RETURNING position",
            (item_id, playlist_id),
        )
        row = self.cur.fetchone()
        if row is None:
            return False
        self.cur.execute(
            "UPDATE playlist_items SET position = position - 1"
            " WHERE playlist_id = %s AND position > %s",
            (playlist_id, row["position"]),
        )
        self._touch(playlist_id)
        return True

    def reorder(self, playlist_id: UUID, item_ids: list[UUID]) -> None:
        """Give the items the positions of their order in ``item_ids`` (all of them, once)."""
        self.cur.execute(
            """
            UPDATE playlist_items i SET position = o.n - 1
            FROM unnest(%s::uuid[]) WITH ORDINALITY AS o (id, n)
            WHERE i.id = o.id AND i.playlist_id = %s
            """,
            (item_ids, playlist_id),
        )
        self._touch(playlist_id)

    def compact(self, playlist_id: UUID) -> None:
        """Renumber the items 0 to n-1 in their order, closing gaps a deleted track left."""
        self.cur.execute(
            """
            UPDATE playlist_items i SET position = o.n - 1
            FROM (SELECT id, row_number() OVER (ORDER BY position) AS n
                  FROM playlist_items WHERE playlist_id = %(id)s) AS o
            WHERE i.id = o.id AND i.playlist_id = %(id)s AND i.position <> o.n - 1
            """,
            {"id": playlist_id},
        )

    def _touch(self, playlist_id: UUID) -> None:
        self.cur.execute("UPDATE playlists SET updated_at = now() WHERE id = %s", (playlist_id,))
