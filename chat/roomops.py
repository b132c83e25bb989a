"""Room frames: create, join (by room or track), leave, invite, roles, members, direct rooms,
moderation (mute, ban) and the listening room's shared play/pause/seek."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg2

from chat.hub import Conn
from chat.rooms import Member, Room, check_moderator, check_read, member_frame
from chat.service import ChatService
from storage.chat import ChatStore
from veza.access import can_see
from veza.errors import ForbiddenError, NotFoundError, ValidationError

_RANK = {"owner": 3, "moderator": 2, "member": 1}


async def _enter_everywhere(svc: ChatService, conn: Conn, room: Room, user_id: str) -> None:
    """Subscribe the user's sockets (this one at once, others through their user channel)."""
    if user_id == conn.user_id:
        await svc.hub.enter(conn, room.id)
        await svc.heartbeat(conn)
    svc.to_user(user_id, {"type": "room.added", "room": room.public()})


async def create(svc: ChatService, conn: Conn, frame: dict[str, Any]) -> dict[str, Any]:
    name, topic = frame["name"].strip(), frame.get("topic")
    await svc.hit_limit(conn, rooms=True)
    row = await svc.db_call(lambda store: store.create_room(
        kind=frame["kind"], name=name, topic=topic, owner_id=conn.user_id))
    svc.rooms.drop(str(row["id"]))
    room = await svc.room(str(row["id"]))
    await _enter_everywhere(svc, conn, room, conn.user_id)
    return {"room": room.public()}


async def _check_track(svc: ChatService, conn: Conn, track_id: str) -> None:
    """Raise NotFoundError unless the user may see the track."""
    track = await svc.db_call(lambda store: store.track(track_id))
    if track is None or not can_see(track["owner_id"], track["visibility"],
                                    svc.principal(conn)):
        raise NotFoundError("no such track")


async def _track_room(svc: ChatService, conn: Conn, track_id: str) -> Room:
    await _check_track(svc, conn, track_id)
    row = await svc.db_call(lambda store: store.track_room(track_id))
    return await svc.room(str(row["id"]))


async def join(svc: ChatService, conn: Conn, frame: dict[str, Any]) -> dict[str, Any]:
    if frame.get("track_id"):
        room = await _track_room(svc, conn, frame["track_id"])
    else:
        room = await svc.room(frame["room_id"])
    check_read(room, svc.principal(conn))
    if conn.user_id not in room.members:
        await svc.db_call(lambda store: store.add_member(room.id, conn.user_id))
        room.members[conn.user_id] = Member(role="member", handle=conn.handle)
        svc.to_room(room.id, member_frame(room, conn.user_id))
    await _enter_everywhere(svc, conn, room, conn.user_id)
    online = await svc.ports.presence.in_room(room.id)
    return {"room": room.public(), "online": online, "listening": room.listening}


async def leave(svc: ChatService, conn: Conn, frame: dict[str, Any]) -> dict[str, Any]:
    room = await svc.room(frame["room_id"])
    if conn.user_id not in room.members:  # a room one may not see is not_found, as elsewhere
        check_read(room, svc.principal(conn))
    for mine in list(svc.hub.users.get(conn.user_id, ())):
        await svc.hub.leave(mine, room.id)
    if room.role(conn.user_id) is not None:
        await svc.db_call(lambda store: store.remove_member(room.id, conn.user_id))
        svc.to_room(room.id, member_frame(room, conn.user_id, left=True))
        room.members.pop(conn.user_id, None)
    await svc.heartbeat(conn)
    return {"room_id": room.id}


async def _add(svc: ChatService, store_fn: Any) -> None:
    try:
        await svc.db_call(store_fn)
    except psycopg2.IntegrityError:  # the user does not exist
        raise NotFoundError("no such user") from None


async def invite(svc: ChatService, conn: Conn, frame: dict[str, Any]) -> dict[str, Any]:
    room = await svc.room(frame["room_id"])
    check_read(room, svc.principal(conn))
    check_moderator(room, svc.principal(conn))
    user_id = frame["user_id"]
    if room.kind != "private":
        raise ForbiddenError("only private rooms take invitations; others are open to join")
    target = room.members.get(user_id)
    if target is not None and target.banned:
        raise ForbiddenError("this user is banned from the room; unban them first")
    await _add(svc, lambda store: store.add_member(room.id, user_id))
    handle = await svc.db_call(lambda store: store.handle(user_id))
    room.members.setdefault(user_id, Member(role="member", handle=handle or ""))
    svc.to_room(room.id, member_frame(room, user_id))
    await _enter_everywhere(svc, conn, room, user_id)
    return {"room_id": room.id, "user_id": user_id}


async def set_role(svc: ChatService, conn: Conn, frame: dict[str, Any]) -> dict[str, Any]:
    room = await svc.room(frame["room_id"])
    check_read(room, svc.principal(conn))
    if room.role(conn.user_id) != "owner":
        raise ForbiddenError("only the room's owner may change roles")
    user_id = frame["user_id"]
    member = room.members.get(user_id)
    if member is None or member.banned or member.role == "owner":
        raise NotFoundError("no such member")
    await svc.db_call(lambda store: store.set_role(room.id, user_id, frame["role"]))
    member.role = frame["role"]
    svc.to_room(room.id, member_frame(room, user_id))
    return {"room_id": room.id, "user_id": user_id, "role": frame["role"]}


async def members(svc: ChatService, conn: Conn, frame: dict[str, Any]) -> dict[str, Any]:
    room = await svc.room(frame["room_id"])
    check_read(room, svc.principal(conn))
    ids = [u for u, m in room.members.items() if not m.banned]
    states = await svc.ports.presence.states(ids)
    return {"room_id": room.id, "members": [
        {"id": u, "handle": room.members[u].handle, "role": room.members[u].role,
         "state": states.get(u, "offline")} for u in ids]}


async def dm_open(svc: ChatService, conn: Conn, frame: dict[str, Any]) -> dict[str, Any]:
    other = frame["user_id"]
    if other == conn.user_id:
        raise ValidationError({"user_id": "a direct room needs another user"})
    try:
        row = await svc.db_call(lambda store: store.direct_room(conn.user_id, other))
    except psycopg2.IntegrityError:
        raise NotFoundError("no such user") from None
    svc.rooms.drop(str(row["id"]))
    room = await svc.room(str(row["id"]))
    await _enter_everywhere(svc, conn, room, conn.user_id)
    await _enter_everywhere(svc, conn, room, other)
    return {"room": room.public()}


def _outranks(room: Room, actor: str, target: str) -> None:
    if _RANK.get(room.role(target) or "member", 1) >= _RANK.get(room.role(actor) or "", 0):
        raise ForbiddenError("you may not moderate someone of your own rank or above")


async def mute(svc: ChatService, conn: Conn, frame: dict[str, Any]) -> dict[str, Any]:
    room = await svc.room(frame["room_id"])
    check_read(room, svc.principal(conn))
    check_moderator(room, svc.principal(conn))
    user_id = frame["user_id"]
    _outranks(room, conn.user_id, user_id)
    until = datetime.now(UTC) + timedelta(minutes=frame["minutes"])
    await _add(svc, lambda store: store.mute(room.id, user_id, until))
    member = room.members.get(user_id)
    if member is None:
        handle = await svc.db_call(lambda store: store.handle(user_id))
        member = room.members.setdefault(user_id, Member(role="member", handle=handle or ""))
    member.muted_until = until
    svc.to_room(room.id, member_frame(room, user_id))
    return {"room_id": room.id, "user_id": user_id, "muted_until": until.isoformat()}


async def ban(svc: ChatService, conn: Conn, frame: dict[str, Any]) -> dict[str, Any]:
    room = await svc.room(frame["room_id"])
    check_read(room, svc.principal(conn))
    check_moderator(room, svc.principal(conn))
    user_id = frame["user_id"]
    _outranks(room, conn.user_id, user_id)
    await _add(svc, lambda store: store.ban(room.id, user_id, conn.user_id))
    member = room.members.get(user_id)
    if member is None:
        handle = await svc.db_call(lambda store: store.handle(user_id))
        member = room.members.setdefault(user_id, Member(role="member", handle=handle or ""))
    member.banned, member.role = True, "member"
    svc.to_room(room.id, member_frame(room, user_id))
    svc.to_user(user_id, {"type": "room.banned", "room_id": room.id})
    return {"room_id": room.id, "user_id": user_id}


async def unban(svc: ChatService, conn: Conn, frame: dict[str, Any]) -> dict[str, Any]:
    room = await svc.room(frame["room_id"])
    check_read(room, svc.principal(conn))
    check_moderator(room, svc.principal(conn))
    user_id = frame["user_id"]
    await svc.db_call(lambda store: store.unban(room.id, user_id))
    if room.members.get(user_id) is not None and room.members[user_id].banned:
        svc.to_room(room.id, member_frame(room, user_id, left=True))
        room.members.pop(user_id, None)
    return {"room_id": room.id, "user_id": user_id}


async def listen(svc: ChatService, conn: Conn, frame: dict[str, Any]) -> dict[str, Any]:
    room = await svc.room(frame["room_id"])
    check_read(room, svc.principal(conn))
    if room.role(conn.user_id) is None:
        raise ForbiddenError("join the room first")
    current = room.listening or {}
    host = current.get("host_id")
    if host not in (None, conn.user_id) and not room.is_moderator(conn.user_id):
        raise ForbiddenError("only the room's host controls what it plays")
    track_id = frame.get("track_id") or current.get("track_id") or room.track_id
    if frame.get("track_id") and track_id != room.track_id:
        # The room is told what plays: only a track its host may see.
        await _check_track(svc, conn, frame["track_id"])
    state = {"type": "listen", "room_id": room.id, "host_id": host or conn.user_id,
             "track_id": track_id, "action": frame["action"],
             "position_ms": frame["position_ms"], "at": datetime.now(UTC).isoformat()}

    def store_state(store: ChatStore) -> None:
        store.set_listening(room.id, state)
    await svc.db_call(store_state)
    room.listening = state
    svc.to_room(room.id, state)
    return {"room_id": room.id, "listening": state}
