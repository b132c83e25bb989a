"""Message frames: send, edit, delete, reactions, history, read markers and unread counts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from uuid6 import uuid7

from chat.hub import Conn
from chat.rooms import Room, check_read, check_send, mentioned_handles
from chat.service import ChatService
from storage.chat import ChatStore
from veza.errors import ForbiddenError, NotFoundError


def _now() -> str:
    return datetime.now(UTC).isoformat()


async def _mentions(svc: ChatService, room: Room, author: str, body: str) -> list[str]:
    """Resolve ``@handle``s to user ids; in private and direct rooms only members (as they were
    when the message came) count."""
    handles = mentioned_handles(body)
    if not handles:
        return []
    members = set(room.members) if room.kind in ("private", "direct") else set()
    missing = [h for h in handles if h not in svc.handles]
    if missing:
        found = await svc.db_call(lambda store: store.users_by_handle(missing))
        for handle, user_id in found.items():
            svc.handles.remember(handle, user_id)
    ids = [svc.handles[h] for h in handles if h in svc.handles]
    if room.kind in ("private", "direct"):
        ids = [i for i in ids if i in members]
    return [i for i in dict.fromkeys(ids) if i != author]


async def send(svc: ChatService, conn: Conn, frame: dict[str, Any]) -> dict[str, Any]:
    room_id, cid = frame["room_id"], frame["cid"]
    first = svc.sent.get((conn.user_id, cid))
    if first is not None:  # a resend: the first message, never a second one
        return {"id": first[0], "at": first[1], "duplicate": True}
    room = await svc.room(room_id)
    who = svc.principal(conn)
    check_send(room, who)
    if frame.get("reply_to"):
        await _in_room(svc, frame["reply_to"], room_id, "reply_to")
    await svc.hit_limit(conn)
    body = frame["body"]
    mentions = await _mentions(svc, room, conn.user_id, body)
    message_id, at = str(uuid7()), _now()
    record = {"v": 1, "kind": "message", "id": message_id, "room_id": room_id,
              "author_id": conn.user_id, "client_id": cid, "body": body,
              "track_ms": frame.get("track_ms"), "reply_to": frame.get("reply_to"),
              "mentions": mentions, "at": at}
    await svc.ports.journal.append(record)
    if (conn.user_id, cid) in svc.sent:  # the same cid raced in while we waited
        first = svc.sent[(conn.user_id, cid)]
        return {"id": first[0], "at": first[1], "duplicate": True}
    svc.sent.remember((conn.user_id, cid), (message_id, at))
    svc.messages.remember(message_id, (room_id, conn.user_id))
    message = {"type": "message", "room_id": room_id, "id": message_id, "cid": cid,
               "author": {"id": conn.user_id, "handle": conn.handle}, "body": body,
               "track_ms": record["track_ms"], "reply_to": record["reply_to"],
               "mentions": mentions, "at": at}
    svc.to_room(room_id, message)
    for user_id in mentions:
        svc.to_user(user_id, {"type": "mention", "room_id": room_id, "message": message})
    return {"id": message_id, "at": at}


async def _target(svc: ChatService, message_id: str) -> tuple[str, str | None]:
    """The room and author of a message (recent ones from memory)."""
    known = svc.messages.get(message_id)
    if known is not None:
        return known[0], known[1]
    meta = await svc.db_call(lambda store: store.message_meta(message_id))
    if meta is None or meta["deleted"]:
        raise NotFoundError("no such message")
    author = None if meta["author_id"] is None else str(meta["author_id"])
    svc.messages.remember(message_id, (str(meta["room_id"]), author))
    return str(meta["room_id"]), author


async def _in_room(svc: ChatService, message_id: str, room_id: str, field: str) -> None:
    """Raise NotFoundError unless the message (a deleted one too) is one of the room's."""
    known = svc.messages.get(message_id)
    if known is not None and known[0] == room_id:
        return
    meta = await svc.db_call(lambda store: store.message_meta(message_id))
    if meta is None or str(meta["room_id"]) != room_id:
        raise NotFoundError(f"{field}: no such message in this room")


async def edit(svc: ChatService, conn: Conn, frame: dict[str, Any]) -> dict[str, Any]:
    room_id, author = await _target(svc, frame["id"])
    room = await svc.room(room_id)
    check_send(room, svc.principal(conn))
    if author != conn.user_id:
        raise ForbiddenError("only the author may edit a message")
    await svc.hit_limit(conn)
    at = _now()
    await svc.ports.journal.append({"v": 1, "kind": "edit", "id": frame["id"],
                                    "actor_id": conn.user_id, "body": frame["body"], "at": at})
    svc.to_room(room_id, {"type": "message.edited", "room_id": room_id, "id": frame["id"],
                          "body": frame["body"], "edited_at": at})
    return {"id": frame["id"], "edited_at": at}


async def delete(svc: ChatService, conn: Conn, frame: dict[str, Any]) -> dict[str, Any]:
    room_id, author = await _target(svc, frame["id"])
    room = await svc.room(room_id)
    who = svc.principal(conn)
    check_read(room, who)
    if author != conn.user_id and not room.is_moderator(conn.user_id):
        raise ForbiddenError("only the author or a moderator may delete a message")
    at = _now()
    await svc.ports.journal.append({"v": 1, "kind": "delete", "id": frame["id"],
                                    "actor_id": conn.user_id, "at": at})
    svc.messages.pop(frame["id"], None)
    svc.to_room(room_id, {"type": "message.deleted", "room_id": room_id, "id": frame["id"],
                          "deleted_by": conn.user_id})
    return {"id": frame["id"]}


async def react(svc: ChatService, conn: Conn, frame: dict[str, Any]) -> dict[str, Any]:
    room_id, _ = await _target(svc, frame["id"])
    room = await svc.room(room_id)
    check_send(room, svc.principal(conn))
    await svc.hit_limit(conn)
    on = frame["type"] == "reaction.add"
    await svc.ports.journal.append({"v": 1, "kind": "reaction", "id": frame["id"],
                                    "user_id": conn.user_id, "emoji": frame["emoji"], "on": on,
                                    "at": _now()})
    svc.to_room(room_id, {"type": "reaction", "room_id": room_id, "id": frame["id"],
                          "user_id": conn.user_id, "emoji": frame["emoji"], "on": on})
    return {"id": frame["id"]}


def _history_row(row: dict[str, Any], room_id: str) -> dict[str, Any]:
    deleted = row["deleted_at"] is not None
    return {"room_id": room_id, "id": str(row["id"]), "cid": row["client_id"],
            "author": None if row["author_id"] is None
            else {"id": str(row["author_id"]), "handle": row["handle"]},
            "body": None if deleted else row["body"], "track_ms": row["track_ms"],
            "reply_to": None if row["reply_to"] is None else str(row["reply_to"]),
            "mentions": [str(m) for m in row["mentions"]], "at": row["created_at"].isoformat(),
            "edited_at": row["edited_at"].isoformat() if row["edited_at"] else None,
            "deleted": deleted, "reactions": {} if deleted else row["reactions"]}


async def history(svc: ChatService, conn: Conn, frame: dict[str, Any]) -> dict[str, Any]:
    room_id = frame["room_id"]
    check_read(await svc.room(room_id), svc.principal(conn))
    limit = frame.get("limit") or 50
    rows = await svc.db_call(
        lambda store: store.history(room_id, before=frame.get("before"), limit=limit))
    messages = [_history_row(r, room_id) for r in rows]
    next_before = messages[-1]["id"] if len(messages) == limit else None
    return {"room_id": room_id, "messages": messages, "next_before": next_before}


async def read(svc: ChatService, conn: Conn, frame: dict[str, Any]) -> dict[str, Any]:
    room_id = frame["room_id"]
    room = await svc.room(room_id)
    check_read(room, svc.principal(conn))
    if room.role(conn.user_id) is None:
        raise ForbiddenError("join the room first")
    await _in_room(svc, frame["up_to"], room_id, "up_to")

    def mark(store: ChatStore) -> None:
        store.mark_read(room_id, conn.user_id, frame["up_to"])
    await svc.db_call(mark)
    return {"room_id": room_id, "up_to": frame["up_to"]}


async def unread(svc: ChatService, conn: Conn, frame: dict[str, Any]) -> dict[str, Any]:
    admin = conn.role == "admin"
    return {"rooms": await svc.db_call(lambda store: store.unread(conn.user_id, admin=admin))}
