"""The chat's domain core: rooms from cache or database, presence, typing and track events.

Frame handlers live in ``chat.messages`` and ``chat.roomops``; each takes the service, the
socket and a checked frame, and returns the fields of its ``ack`` (or None for no answer).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Executor
from typing import Any, TypeVar
from uuid import UUID

from chat.hub import Conn, Hub, room_channel, user_channel
from chat.protocol import encode
from chat.rooms import TRACK_TTL_S, Room, RoomCache, member_frame, room_from_rows
from chat.wiring import Ports
from storage.chat import ChatStore
from storage.db import Database
from veza.accounts import Principal
from veza.errors import NotFoundError
from veza.ratelimit import RateLimiter
from veza.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
TYPING_INTERVAL_S = 3.0
RECENT = 100_000


class LRU(OrderedDict[Any, Any]):
    """A dict that forgets its oldest entries beyond ``size``."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def remember(self, key: Any, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


class ChatService:
    """Everything a gateway process knows between frames."""

    def __init__(self, settings: Settings, db: Database, ports: Ports, hub: Hub,
                 executor: Executor) -> None:
        self.settings, self.db, self.ports, self.hub = settings, db, ports, hub
        self.executor = executor
        self.rooms = RoomCache()
        self.limiter = RateLimiter.for_settings(settings,
                                                key_prefix=f"{settings.queue_prefix}:chat")
        # (author, client id) -> (message id, time): a resent cid gets the first message.
        self.sent: LRU = LRU(RECENT)
        # message id -> (room id, author id) for edits, deletes and reactions on recent ones.
        self.messages: LRU = LRU(RECENT)
        self.handles: LRU = LRU(RECENT)
        self.track_owners: LRU = LRU(10_000)
        self.typing: dict[tuple[str, str], float] = {}
        hub.on_control = self._control

    # ---------------------------------------------------------------- helpers

    async def db_call(self, fn: Callable[[ChatStore], T]) -> T:
        """Run ``fn`` in one transaction on a worker thread (never on the event loop)."""
        def run() -> T:
            with self.db.transaction() as cur:
                return fn(ChatStore(cur))
        return await asyncio.get_running_loop().run_in_executor(self.executor, run)

    async def offload(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn)

    def principal(self, conn: Conn) -> Principal:
        """Who the socket acts for (built once per socket: its user, role and session do not
        change while it is open)."""
        who = conn.principal
        if who is None:
            who = conn.principal = Principal(user_id=UUID(conn.user_id), role=conn.role,
                                             session_id=UUID(conn.session_id))
        return who

    async def room(self, room_id: str) -> Room:
        """The room from the cache, loaded on a miss; NotFoundError if there is none.

        A track's room comes with its track's current owner and visibility (at most
        ``TRACK_TTL_S`` old); members who may no longer see the track are removed first.
        """
        room = self.rooms.get(room_id)
        if room is not None:
            if room.kind == "track" and \
                    time.monotonic() - room.track_checked_at > TRACK_TTL_S:
                await self._check_track(room)
            return room

        def load(store: ChatStore) -> Room | None:
            row = store.room(room_id)
            if row is None:
                return None
            track = store.track(str(row["track_id"])) if row["track_id"] else None
            return room_from_rows(row, store.members(room_id), track)
        loaded = await self.db_call(load)
        if loaded is None:
            raise NotFoundError("no such room")
        for user_id, member in loaded.members.items():
            self.handles.remember(member.handle, user_id)
        self.rooms.put(loaded)
        if loaded.kind == "track" and loaded.track_visibility == "private":
            await self._remove_unseeing(loaded)
        return loaded

    async def _check_track(self, room: Room) -> None:
        """Read the owner and visibility of a track's room again; act on a change."""
        assert room.track_id is not None
        track_id = room.track_id
        # Marked first, so the frames arriving meanwhile do not each ask again.
        room.track_checked_at = time.monotonic()
        track = await self.db_call(lambda store: store.track(track_id))
        if track is None:  # the track, and its room with it, is gone
            self.rooms.drop(room.id)
            raise NotFoundError("no such room")
        before = room.track_visibility
        room.track_owner, room.track_visibility = str(track["owner_id"]), track["visibility"]
        if room.track_visibility == "private" and before != "private":
            await self._remove_unseeing(room)

    async def _remove_unseeing(self, room: Room) -> None:
        """Remove from a private track's room those who may not see the track, and tell them
        (``room.removed``) and the room (``member`` left)."""
        owner = room.track_owner
        if owner is None or all(u == owner or m.banned for u, m in room.members.items()):
            return
        # The database says who was removed, so with several gateways acting on the same
        # change each user is told once.
        removed = await self.db_call(lambda store: store.remove_unseeing(room.id, owner))
        for row in removed:
            user_id = row["user_id"]
            for conn in list(self.hub.users.get(user_id, ())):
                await self.hub.leave(conn, room.id)
            self.to_room(room.id, member_frame(room, user_id, left=True))
            room.members.pop(user_id, None)
            self.to_user(user_id, {"type": "room.removed", "room_id": room.id,
                                   "reason": "the track is private now"})

    async def track_visibility(self, track_id: str) -> None:
        """Apply a change of a track's visibility to its room, if it has one."""
        room_id = await self.db_call(lambda store: store.track_room_id(track_id))
        if room_id is None:
            return
        room = self.rooms.get(room_id)
        if room is None:
            await self.room(room_id)  # loading removes those who may not see the track
        else:
            await self._check_track(room)

    def publish(self, channel: str, frame: dict[str, Any]) -> None:
        self.hub.publish(channel, encode(frame))

    def to_room(self, room_id: str, frame: dict[str, Any]) -> None:
        self.publish(room_channel(room_id), frame)

    def to_user(self, user_id: str, frame: dict[str, Any]) -> None:
        self.publish(user_channel(user_id), frame)

    async def hit_limit(self, conn: Conn, *, rooms: bool = False) -> None:
        """Count one write against the user's rate limit (RateLimitedError over it): of
        messages, or with ``rooms`` of rooms made."""
        scope, what = ("chat-rooms", "rooms made") if rooms else ("chat", "messages")
        limit = self.settings.chat_room_limit if rooms else self.settings.chat_rate_limit
        if limit == "0":
            return
        if self.settings.redis_url:  # the counter is a network call then: keep it off the loop
            await self.offload(lambda: self.limiter.hit(scope, conn.user_id, limit, what=what))
        else:
            self.limiter.hit(scope, conn.user_id, limit, what=what)

    def _control(self, channel: str, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "member":
            self.rooms.apply_member(frame)
        elif kind == "listen":
            self.rooms.apply_listening(str(frame.get("room_id")), frame)
        elif kind in ("room.added", "room.banned", "room.removed") and \
                channel.startswith("user:"):
            user_id = channel.partition(":")[2]
            room = frame.get("room") or {}
            room_id = str(room.get("id") or frame.get("room_id"))
            for conn in list(self.hub.users.get(user_id, ())):
                op = self.hub.enter if kind == "room.added" else self.hub.leave
                asyncio.get_running_loop().create_task(op(conn, room_id))

    # ------------------------------------------------------------- presence

    async def user_state(self, user_id: str) -> str:
        return (await self.ports.presence.states([user_id])).get(user_id, "offline")

    async def announce(self, conn: Conn, rooms: set[str], state: str) -> None:
        """Tell the user's rooms their state (callers decide whether it changed)."""
        for room_id in rooms:
            self.to_room(room_id, {"type": "presence", "user_id": conn.user_id,
                                   "state": state})

    async def heartbeat(self, conn: Conn) -> None:
        await self.ports.presence.heartbeat(conn.user_id, conn.conn_id, conn.state, conn.rooms,
                                            ttl_s=self.settings.chat_presence_ttl_s)

    async def set_presence(self, conn: Conn, frame: Mapping[str, Any]) -> None:
        before = await self.user_state(conn.user_id)
        conn.state = frame["state"]
        await self.heartbeat(conn)
        after = await self.user_state(conn.user_id)
        if after != before:
            await self.announce(conn, set(conn.rooms), after)

    async def disconnected(self, conn: Conn) -> None:
        rooms = set(conn.rooms)
        await self.hub.remove(conn)
        await self.ports.presence.gone(conn.user_id, conn.conn_id)
        if await self.user_state(conn.user_id) == "offline":
            await self.announce(conn, rooms, "offline")

    def typing_frame(self, conn: Conn, frame: Mapping[str, Any]) -> None:
        """Forward ``typing`` to the room, at most once per user and room per interval."""
        room_id = frame["room_id"]
        if room_id not in conn.rooms:
            return
        key, now = (conn.user_id, room_id), time.monotonic()
        if now - self.typing.get(key, -TYPING_INTERVAL_S) < TYPING_INTERVAL_S:
            return
        self.typing[key] = now
        self.to_room(room_id, {"type": "typing", "room_id": room_id, "user_id": conn.user_id})

    def prune(self) -> None:
        """Forget typing times older than the interval."""
        cutoff = time.monotonic() - TYPING_INTERVAL_S
        for key in [k for k, t in self.typing.items() if t < cutoff]:
            del self.typing[key]

    # ---------------------------------------------------------- track events

    async def deliver_track_event(self, routing_key: str, event: Mapping[str, Any]) -> None:
        """Send a pipeline event (``track.ready``...) to the sockets of the track's owner."""
        track_id = str(event.get("track_id") or "")
        try:
            track_id = str(UUID(track_id))
        except ValueError:
            log.warning("event %s without a track id dropped", routing_key)
            return
        if routing_key == "track.visibility":  # for the track's room, not for its owner
            await self.track_visibility(track_id)
            return
        owner = self.track_owners.get(track_id)
        if owner is None:
            track = await self.db_call(lambda store: store.track(track_id))
            if track is None:
                return
            owner = str(track["owner_id"])
            self.track_owners.remember(track_id, owner)
        self.to_user(owner, {**event, "type": routing_key})


Handler = Callable[[ChatService, Conn, dict[str, Any]], Awaitable[dict[str, Any] | None]]
