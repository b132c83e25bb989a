"""SQL for profiles, follows and likes (see migration 0006, section "social").

Lists page by keyset on ``(created_at, id)`` newest first: a page starts strictly after the last
row of the previous one, so rows added meanwhile never shift a page into duplicates or misses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg2.extras import RealDictCursor

from storage.visibility import visible_sql

# The table and column of each kind of like.
_LIKES = {"track": ("track_likes", "track_id"), "playlist": ("playlist_likes", "playlist_id")}

# A keyset position: the (created_at, id) of the last row a page returned.
After = tuple[datetime, UUID]


@dataclass(frozen=True)
class Profile:
    id: UUID
    handle: str
    display_name: str | None
    bio: str | None
    role: str
    created_at: datetime
    followers: int
    following: int
    public_tracks: int
    followed_by_viewer: bool


@dataclass(frozen=True)
class Person:
    """Someone in a followers or following list, with when the follow began."""

    id: UUID
    handle: str
    display_name: str | None
    role: str
    created_at: datetime


@dataclass(frozen=True)
class LikedTrack:
    id: UUID
    owner_id: UUID
    owner_handle: str
    title: str
    artist: str | None
    duration_s: float | None
    status: str
    visibility: str
    created_at: datetime


class Social:
    """Profiles, follows and likes over one transaction's cursor."""

    def __init__(self, cur: RealDictCursor) -> None:
        self.cur = cur

    # ------------------------------------------------------------------ profiles

    def user_id(self, handle: str) -> UUID | None:
        """Return the id of the user with ``handle`` (already lower-cased), or None."""
        self.cur.execute("SELECT id FROM users WHERE handle = %s", (handle,))
        row = self.cur.fetchone()
        return None if row is None else UUID(str(row["id"]))

    def profile(self, user_id: UUID, viewer: UUID | None) -> Profile | None:
        self.cur.execute(
            """
            SELECT u.id, u.handle, u.display_name, u.bio, u.role, u.created_at,
                   (SELECT count(*) FROM follows WHERE followee_id = u.id) AS followers,
                   (SELECT count(*) FROM follows WHERE follower_id = u.id) AS following,
                   (SELECT count(*) FROM tracks t WHERE t.owner_id = u.id
                      AND t.visibility = 'public' AND t.status = 'ready') AS public_tracks,
                   EXISTS (SELECT 1 FROM follows
                           WHERE follower_id = %(viewer)s AND followee_id = u.id)
                       AS followed_by_viewer
            FROM users u WHERE u.id = %(id)s
            """,
            {"id": user_id, "viewer": viewer},
        )
        row = self.cur.fetchone()
        return Profile(**row) if row else None

    def update_profile(self, user_id: UUID, fields: dict[str, Any]) -> None:
        """Set ``fields`` (display_name, bio) of the user."""
        allowed = {k: v for k, v in fields.items() if k in ("display_name", "bio")}
        if not allowed:
            return
        sets = ", ".join(f"{name} = %({name})s" for name in allowed)
        self.cur.execute(f"UPDATE users SET {sets}, updated_at = now() WHERE id = %(id)s",
                         {**allowed, "id": user_id})

    # ------------------------------------------------------------------- follows

    def follow(self, follower: UUID, followee: UUID) -> bool:
        """Record the follow; False if it already existed."""
        self.cur.execute(
            "INSERT INTO follows (follower_id, followee_id) VALUES (%s, %s)"
            " ON CONFLICT DO NOTHING",
            (follower, followee),
        )
        return bool(self.cur.rowcount)

    def unfollow(self, follower: UUID, followee: UUID) -> bool:
        self.cur.execute("DELETE FROM follows WHERE follower_id = %s AND followee_id = %s",
                         (follower, followee))
        return bool(self.cur.rowcount)

    def follower_count(self, user_id: UUID) -> int:
        self.cur.execute("SELECT count(*) AS n FROM follows WHERE followee_id = %s", (user_id,))
        return int(self.cur.fetchone()["n"])

    def followers(self, user_id: UUID, after: After | None, limit: int) -> list[Person]:
        """Return who follows the user, most recent follow first."""
        return self._people("followee_id", "follower_id", user_id, after, limit)

    def following(self, user_id: UUID, after: After | None, limit: int) -> list[Person]:
        """Return whom the user follows, most recent follow first."""
        return self._people("follower_id", "followee_id", user_id, after, limit)

    def _people(self, mine: str, theirs: str, user_id: UUID, after: After | None,
                limit: int) -> list[Person]:
        page = f"AND (f.created_at, f.{theirs}) < (%(at)s, %(id)s)" if after else ""
        self.cur.execute(
            f"""
            SELECT u.id, u.handle, u.display_name, u.role, f.created_at
            FROM follows f JOIN users u ON u.id = f.{theirs}
            WHERE f.{mine} = %(user)s {page}
            ORDER BY f.created_at DESC, f.{theirs} DESC
            LIMIT %(limit)s
            """,
            {"user": user_id, "limit": limit,
             "at": after[0] if after else None, "id": after[1] if after else None},
        )
        return [Person(**row) for row in self.cur.fetchall()]

    # --------------------------------------------------------------------- likes
    # Tracks and playlists are liked alike: table ``<kind>_likes``, column ``<kind>_id``.

    def _like(self, kind: str, user_id: UUID, target: UUID) -> None:
        table, column = _LIKES[kind]
        self.cur.execute(f"INSERT INTO {table} (user_id, {column}) VALUES (%s, %s)"
                         " ON CONFLICT DO NOTHING", (user_id, target))

    def _unlike(self, kind: str, user_id: UUID, target: UUID) -> bool:
        table, column = _LIKES[kind]
        self.cur.execute(f"DELETE FROM {table} WHERE user_id = %s AND {column} = %s",
                         (user_id, target))
        return bool(self.cur.rowcount)

    def _likes(self, kind: str, user_id: UUID, target: UUID) -> bool:
        table, column = _LIKES[kind]
        self.cur.execute(f"SELECT 1 FROM {table} WHERE user_id = %s AND {column} = %s",
                         (user_id, target))
        return self.cur.fetchone() is not None

    def _like_count(self, kind: str, target: UUID) -> int:
        table, column = _LIKES[kind]
        self.cur.execute(f"SELECT count(*) AS n FROM {table} WHERE {column} = %s", (target,))
        return int(self.cur.fetchone()["n"])

    def like_track(self, user_id: UUID, track_id: UUID) -> None:
        self._like("track", user_id, track_id)

    def unlike_track(self, user_id: UUID, track_id: UUID) -> bool:
        return self._unlike("track", user_id, track_id)

    def likes_track(self, user_id: UUID, track_id: UUID) -> bool:
        return self._likes("track", user_id, track_id)

    def track_like_count(self, track_id: UUID) -> int:
        return self._like_count("track", track_id)

    def track_likes(self, track_ids: list[UUID], viewer: UUID | None
                    ) -> dict[UUID, tuple[int, bool]]:
        """Return each track's like count and whether ``viewer`` likes it, in one statement
        (track_likes_track); a track nobody likes is (0, False)."""
        self.cur.execute(
            """
            SELECT t.id, count(l.user_id) AS likes,
                   coalesce(bool_or(l.user_id = %(viewer)s), false) AS mine
            FROM unnest(%(ids)s::uuid[]) AS t(id)
            LEFT JOIN track_likes l ON l.track_id = t.id
            GROUP BY t.id
            """,
            {"ids": [str(i) for i in track_ids], "viewer": viewer},
        )
        return {UUID(str(row["id"])): (int(row["likes"]), bool(row["mine"]))
                for row in self.cur.fetchall()}

    def like_playlist(self, user_id: UUID, playlist_id: UUID) -> None:
        self._like("playlist", user_id, playlist_id)

    def unlike_playlist(self, user_id: UUID, playlist_id: UUID) -> bool:
        return self._unlike("playlist", user_id, playlist_id)

    def likes_playlist(self, user_id: UUID, playlist_id: UUID) -> bool:
        return self._likes("playlist", user_id, playlist_id)

    def playlist_like_count(self, playlist_id: UUID) -> int:
        return self._like_count("playlist", playlist_id)

    def liked_tracks(self, user_id: UUID, *, admin: bool, after: After | None,
                     limit: int) -> list[LikedTrack]:
        """Return the tracks the user liked and may still see, most recent like first; the
        ``created_at`` of each is when it was liked."""
        page = "AND (l.created_at, l.track_id) < (%(at)s, %(id)s)" if after else ""
        self.cur.execute(
            f"""
            SELECT t.id, t.owner_id, u.handle AS owner_handle, t.title, t.artist, t.duration_s,
                   t.status, t.visibility, l.created_at
            FROM track_likes l
            JOIN tracks t ON t.id = l.track_id
            JOIN users u ON u.id = t.owner_id
            WHERE l.user_id = %(viewer)s AND {visible_sql("t")} {page}
            ORDER BY l.created_at DESC, l.track_id DESC
            LIMIT %(limit)s
            """,
            {"viewer": user_id, "admin": admin, "limit": limit,
             "at": after[0] if after else None, "id": after[1] if after else None},
        )
        return [LikedTrack(**row) for row in self.cur.fetchall()]
