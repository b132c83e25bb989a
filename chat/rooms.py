"""Rooms as the gateway sees them: a cache of members, roles, mutes and bans, and the rules.

The send path checks permissions here, without a database round trip. An entry is loaded on
first use, changed in place by this process's own writes, changed by the ``member`` frames
other processes publish to the room, and reloaded after ``TTL_S`` in case a frame was missed.
A track's room follows the track's access: its owner and visibility are read again when older
than ``TRACK_TTL_S`` (and at once on a ``track.visibility`` event), before any read or write.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from veza.access import can_see
from veza.accounts import Principal
from veza.errors import ForbiddenError, NotFoundError

TTL_S = 60.0
TRACK_TTL_S = 1.0
MODERATORS = ("owner", "moderator")
MENTION = re.compile(r"(?<![\w@])@([a-z0-9_][a-z0-9_.-]{0,63})")


@dataclass
class Member:
    role: str
    handle: str
    muted_until: datetime | None = None
    banned: bool = False


@dataclass
class Room:
    id: str
    kind: str
    name: str | None
    topic: str | None
    track_id: str | None
    listening: dict[str, Any] | None
    members: dict[str, Member] = field(default_factory=dict)
    track_owner: str | None = None
    track_visibility: str | None = None
    loaded_at: float = field(default_factory=time.monotonic)
    track_checked_at: float = field(default_factory=time.monotonic)

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "name": self.name, "topic": self.topic,
                "track_id": self.track_id}

    def role(self, user_id: str) -> str | None:
        member = self.members.get(user_id)
        return None if member is None or member.banned else member.role

    def is_moderator(self, user_id: str) -> bool:
        return self.role(user_id) in MODERATORS


def room_from_rows(room: dict[str, Any], members: list[dict[str, Any]],
                   track: dict[str, Any] | None) -> Room:
    """Build a cache entry from ``storage.chat`` rows."""
    entry = Room(id=str(room["id"]), kind=room["kind"], name=room["name"], topic=room["topic"],
                 track_id=None if room["track_id"] is None else str(room["track_id"]),
                 listening=room["listening"])
    for m in members:
        entry.members[str(m["user_id"])] = Member(role=m["role"], handle=m["handle"],
                                                  muted_until=m["muted_until"],
                                                  banned=bool(m["banned"]))
    if track is not None:
        entry.track_owner, entry.track_visibility = str(track["owner_id"]), track["visibility"]
    return entry


def member_frame(room: Room, user_id: str, *, left: bool = False) -> dict[str, Any]:
    """The ``member`` frame telling a room of a member's change (or that they left)."""
    member = room.members.get(user_id)
    return {"type": "member", "room_id": room.id,
            "user": {"id": user_id, "handle": None if member is None else member.handle},
            "role": None if member is None else member.role,
            "muted_until": member.muted_until.isoformat() if member and member.muted_until
            else None, "banned": bool(member and member.banned), "left": left}


def check_read(room: Room, who: Principal) -> None:
    """Raise unless ``who`` may read the room (join it, see its history)."""
    user = str(who.user_id)
    member = room.members.get(user)
    if member is not None and member.banned:
        raise ForbiddenError("you are banned from this room", code="banned")
    if room.kind == "track":
        if room.track_owner is None or not can_see(UUID(room.track_owner),
                                                   room.track_visibility or "private", who):
            raise NotFoundError("no such room")
    elif room.kind in ("private", "direct") and member is None:
        raise NotFoundError("no such room")


def check_send(room: Room, who: Principal) -> None:
    """Raise unless ``who`` may post in the room now (a member, not banned, not muted)."""
    check_read(room, who)
    member = room.members.get(str(who.user_id))
    if member is None:
        raise ForbiddenError("join the room first")
    if member.muted_until is not None and member.muted_until > datetime.now(UTC):
        raise ForbiddenError(f"you are muted in this room until "
                             f"{member.muted_until.isoformat()}", code="muted")


def check_moderator(room: Room, who: Principal) -> None:
    if not room.is_moderator(str(who.user_id)):
        raise ForbiddenError("only the room's owner and moderators may do this")


def mentioned_handles(body: str) -> list[str]:
    """The distinct ``@handle``s in a message body, in order."""
    return list(dict.fromkeys(MENTION.findall(body.lower())))


class RoomCache:
    """Rooms by id, each dropped after ``TTL_S`` so a missed change heals."""

    def __init__(self, ttl_s: float = TTL_S) -> None:
        self.ttl_s = ttl_s
        self._rooms: dict[str, Room] = {}

    def get(self, room_id: str) -> Room | None:
        room = self._rooms.get(room_id)
        if room is not None and time.monotonic() - room.loaded_at > self.ttl_s:
            del self._rooms[room_id]
            return None
        return room

    def put(self, room: Room) -> Room:
        self._rooms[room.id] = room
        return room

    def drop(self, room_id: str) -> None:
        self._rooms.pop(room_id, None)

    def apply_member(self, frame: dict[str, Any]) -> None:
        """Apply a ``member`` frame (a join, leave, role, mute or ban) to a cached room."""
        room = self._rooms.get(str(frame.get("room_id")))
        if room is None:
            return
        user = frame.get("user") or {}
        user_id = str(user.get("id"))
        if frame.get("left"):
            room.members.pop(user_id, None)
            return
        muted = frame.get("muted_until")
        room.members[user_id] = Member(
            role=frame.get("role") or "member", handle=str(user.get("handle")),
            muted_until=datetime.fromisoformat(muted) if muted else None,
            banned=bool(frame.get("banned")))

    def apply_listening(self, room_id: str, state: dict[str, Any]) -> None:
        room = self._rooms.get(room_id)
        if room is not None:
            room.listening = state
