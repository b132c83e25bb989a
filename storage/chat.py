"""Repositories over the chat tables: rooms, members and moderation, history, read markers.

Messages, edits, deletes and reactions are written by ``storage.chat_archive`` from the journal;
everything else the gateway writes here directly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg2.extras import Json, RealDictCursor

_ROOM = "id, kind, name, topic, track_id, direct_key, created_by, created_at, listening"
_MEMBER = ("m.user_id, u.handle, m.role, m.muted_until, m.banned_at IS NOT NULL AS banned, "
           "m.last_read_id")
# A membership ``m`` of room ``r`` that its user may still see: a track's room only while the
# user may see the track (veza.access: public and unlisted to anyone, private to its owner
# and admins). Takes the user's id and whether they are an admin.
_SEES_ROOM = ("(r.kind <> 'track' OR EXISTS (SELECT 1 FROM tracks t WHERE t.id = r.track_id "
              "AND (t.visibility IN ('public', 'unlisted') OR t.owner_id = %s OR %s)))")


class ChatStore:
    """Chat reads and writes over one transaction's cursor."""

    def __init__(self, cur: RealDictCursor) -> None:
        self.cur = cur

    # ------------------------------------------------------------------ people

    def handle(self, user_id: UUID | str) -> str | None:
        self.cur.execute("SELECT handle FROM users WHERE id = %s", (str(user_id),))
        row = self.cur.fetchone()
        return None if row is None else str(row["handle"])

    def users_by_handle(self, handles: list[str]) -> dict[str, str]:
        """Map each existing handle to its user id."""
        self.cur.execute("SELECT handle, id FROM users WHERE handle = ANY(%s)", (handles,))
        return {r["handle"]: str(r["id"]) for r in self.cur.fetchall()}

    def open_sessions(self, session_ids: list[str]) -> set[str]:
        """Return those of ``session_ids`` that are not signed out."""
        self.cur.execute("SELECT id FROM sessions WHERE id = ANY(%s::uuid[]) "
                         "AND revoked_at IS NULL", (session_ids,))
        return {str(r["id"]) for r in self.cur.fetchall()}

    def memberships(self, user_id: str, *, admin: bool = False) -> list[str]:
        """The rooms ``user_id`` is a member of, not banned from, and may still see."""
        self.cur.execute("SELECT m.room_id FROM chat_members m JOIN chat_rooms r "
                         "ON r.id = m.room_id WHERE m.user_id = %s AND m.banned_at IS NULL "
                         f"AND {_SEES_ROOM}", (user_id, user_id, admin))
        return [str(r["room_id"]) for r in self.cur.fetchall()]

    def recent_client_ids(self, user_id: str, limit: int = 200) -> dict[str, tuple[str, str]]:
        """Map the client ids of the user's newest messages to (message id, time)."""
        self.cur.execute(
            "SELECT client_id, id, created_at FROM chat_messages WHERE author_id = %s "
            "AND created_at > now() - interval '1 day' ORDER BY id DESC LIMIT %s",
            (user_id, limit))
        return {r["client_id"]: (str(r["id"]), r["created_at"].isoformat())
                for r in self.cur.fetchall()}

    # ------------------------------------------------------------------- rooms

    def create_room(self, *, kind: str, name: str | None, topic: str | None,
                    owner_id: str) -> dict[str, Any]:
        self.cur.execute(f"INSERT INTO chat_rooms (kind, name, topic, created_by) "
                         f"VALUES (%s, %s, %s, %s) RETURNING {_ROOM}",
                         (kind, name, topic, owner_id))
        room = dict(self.cur.fetchone())
        self.add_member(str(room["id"]), owner_id, "owner")
        return room

    def room(self, room_id: str) -> dict[str, Any] | None:
        self.cur.execute(f"SELECT {_ROOM} FROM chat_rooms WHERE id = %s", (room_id,))
        row = self.cur.fetchone()
        return None if row is None else dict(row)

    def track(self, track_id: str) -> dict[str, Any] | None:
        """The owner and visibility of a track, or None."""
        self.cur.execute("SELECT id, owner_id, visibility FROM tracks WHERE id = %s",
                         (track_id,))
        row = self.cur.fetchone()
        return None if row is None else dict(row)

    def track_room(self, track_id: str) -> dict[str, Any]:
        """Return the room of a track, made on first use."""
        self.cur.execute("INSERT INTO chat_rooms (kind, track_id) VALUES ('track', %s) "
                         "ON CONFLICT (track_id) DO NOTHING", (track_id,))
        self.cur.execute(f"SELECT {_ROOM} FROM chat_rooms WHERE track_id = %s", (track_id,))
        return dict(self.cur.fetchone())

    def track_room_id(self, track_id: str) -> str | None:
        """The id of a track's room if it has one (never makes it)."""
        self.cur.execute("SELECT id FROM chat_rooms WHERE track_id = %s", (track_id,))
        row = self.cur.fetchone()
        return None if row is None else str(row["id"])

    def remove_unseeing(self, room_id: str, owner_id: str) -> list[dict[str, Any]]:
        """Remove the members of a private track's room who may not see the track (all but
        its owner and admins; bans are kept); return the ids and handles removed."""
        self.cur.execute(
            "DELETE FROM chat_members m USING users u WHERE m.room_id = %s "
            "AND u.id = m.user_id AND m.user_id <> %s AND u.role <> 'admin' "
            "AND m.banned_at IS NULL RETURNING m.user_id, u.handle", (room_id, owner_id))
        return [{"user_id": str(r["user_id"]), "handle": r["handle"]}
                for r in self.cur.fetchall()]

    def direct_room(self, a: str, b: str) -> dict[str, Any]:
        """Return the direct room of two users, made with both as members on first use."""
        key = ":".join(sorted((a, b)))
        self.cur.execute("INSERT INTO chat_rooms (kind, direct_key, created_by) "
                         "VALUES ('direct', %s, %s) ON CONFLICT (direct_key) DO NOTHING",
                         (key, a))
        self.cur.execute(f"SELECT {_ROOM} FROM chat_rooms WHERE direct_key = %s", (key,))
        room = dict(self.cur.fetchone())
        for user in {a, b}:
            self.add_member(str(room["id"]), user, "member")
        return room

    def members(self, room_id: str) -> list[dict[str, Any]]:
        """Every member row of a room, banned ones included."""
        self.cur.execute(f"SELECT {_MEMBER} FROM chat_members m JOIN users u ON u.id = m.user_id "
                         f"WHERE m.room_id = %s", (room_id,))
        return [dict(r) for r in self.cur.fetchall()]

    def add_member(self, room_id: str, user_id: str, role: str = "member") -> None:
        """Make ``user_id`` a member (a banned one stays banned)."""
        self.cur.execute("INSERT INTO chat_members (room_id, user_id, role) VALUES (%s, %s, %s) "
                         "ON CONFLICT (room_id, user_id) DO NOTHING", (room_id, user_id, role))

    def remove_member(self, room_id: str, user_id: str) -> None:
        """Leave a room; a ban is kept."""
        self.cur.execute("DELETE FROM chat_members WHERE room_id = %s AND user_id = %s "
                         "AND banned_at IS NULL", (room_id, user_id))

    def set_role(self, room_id: str, user_id: str, role: str) -> bool:
        self.cur.execute("UPDATE chat_members SET role = %s WHERE room_id = %s AND user_id = %s "
                         "AND role <> 'owner'", (role, room_id, user_id))
        return bool(self.cur.rowcount)

    def mute(self, room_id: str, user_id: str, until: datetime) -> None:
        self.cur.execute(
            "INSERT INTO chat_members (room_id, user_id, muted_until) VALUES (%s, %s, %s) "
            "ON CONFLICT (room_id, user_id) DO UPDATE SET muted_until = EXCLUDED.muted_until",
            (room_id, user_id, until))

    def ban(self, room_id: str, user_id: str, by: str) -> None:
        self.cur.execute(
            "INSERT INTO chat_members (room_id, user_id, banned_at, banned_by) "
            "VALUES (%s, %s, now(), %s) ON CONFLICT (room_id, user_id) DO UPDATE "
            "SET banned_at = now(), banned_by = EXCLUDED.banned_by, role = 'member'",
            (room_id, user_id, by))

    def unban(self, room_id: str, user_id: str) -> None:
        # An unbanned user is not a member any more: they join again like anyone.
        self.cur.execute("DELETE FROM chat_members WHERE room_id = %s AND user_id = %s "
                         "AND banned_at IS NOT NULL", (room_id, user_id))

    def set_listening(self, room_id: str, state: dict[str, Any]) -> None:
        self.cur.execute("UPDATE chat_rooms SET listening = %s WHERE id = %s",
                         (Json(state), room_id))

    # ----------------------------------------------------------------- history

    def message_meta(self, message_id: str) -> dict[str, Any] | None:
        self.cur.execute("SELECT room_id, author_id, deleted_at IS NOT NULL AS deleted "
                         "FROM chat_messages WHERE id = %s", (message_id,))
        row = self.cur.fetchone()
        return None if row is None else dict(row)

    def history(self, room_id: str, *, before: str | None, limit: int) -> list[dict[str, Any]]:
        """A page of a room's messages, newest first, with their reactions."""
        self.cur.execute(
            """
            SELECT m.id, m.client_id, m.author_id, u.handle, m.body, m.track_ms, m.reply_to,
                   m.mentions, m.created_at, m.edited_at, m.deleted_at, m.deleted_by,
                   COALESCE((SELECT json_object_agg(emoji, users) FROM (
                       SELECT emoji, json_agg(user_id ORDER BY created_at) AS users
                       FROM chat_reactions WHERE message_id = m.id GROUP BY emoji) r),
                       '{}'::json) AS reactions
            FROM chat_messages m LEFT JOIN users u ON u.id = m.author_id
            WHERE m.room_id = %s AND (%s::uuid IS NULL OR m.id < %s::uuid)
            ORDER BY m.id DESC LIMIT %s
            """,
            (room_id, before, before, limit))
        return [dict(r) for r in self.cur.fetchall()]

    # ------------------------------------------------------------ read markers

    def mark_read(self, room_id: str, user_id: str, up_to: str) -> None:
        """Move the read marker forward to ``up_to`` (never back)."""
        self.cur.execute(
            "UPDATE chat_members SET last_read_id = %s WHERE room_id = %s AND user_id = %s "
            "AND (last_read_id IS NULL OR last_read_id < %s)", (up_to, room_id, user_id, up_to))

    def unread(self, user_id: str, *, admin: bool = False) -> list[dict[str, Any]]:
        """Per room of the user (that they may still see): messages of others after the read
        marker, and mentions."""
        self.cur.execute(
            f"""
            SELECT m.room_id,
                   count(c.id) AS unread,
                   count(c.id) FILTER (WHERE %s::uuid = ANY(c.mentions)) AS mentions
            FROM chat_members m
            JOIN chat_rooms r ON r.id = m.room_id
            LEFT JOIN chat_messages c ON c.room_id = m.room_id AND c.deleted_at IS NULL
                 AND (c.author_id IS NULL OR c.author_id <> m.user_id)
                 AND (m.last_read_id IS NULL OR c.id > m.last_read_id)
            WHERE m.user_id = %s AND m.banned_at IS NULL AND {_SEES_ROOM}
            GROUP BY m.room_id ORDER BY m.room_id
            """,
            (user_id, user_id, user_id, admin))
        return [{"room_id": str(r["room_id"]), "unread": int(r["unread"]),
                 "mentions": int(r["mentions"])} for r in self.cur.fetchall()]
