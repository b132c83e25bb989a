"""This process's connections: channel subscriptions with reference counts, and delivery.

A channel (a room's or a user's) is subscribed on the fan-out while at least one local socket
wants it. A frame is encoded once and made a WebSocket frame once (``ws_frame``: the bytes are
the same for every socket, as a server's frames are unmasked and compression is off), then
written to every socket's transport without waiting: a socket whose unsent data grows past
``SLOW_BYTES`` is closed (1013, try again later) instead of holding memory or slowing the
others.

Delivery costs one write system call per socket, and that call is most of its cost, so frames
from the fan-out are not written at once: those that arrive in one turn of the event loop (a
busy room's backlog, read from Redis together) are written at the end of that turn, all of a
socket's in one call (at most ``MAX_PENDING`` frames a call). Every socket still gets its
frames in the order the hub was handed them: a frame written straight to a socket (an ack, an
error, the welcome) first writes what is pending.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable, Collection
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.protocol import State

from chat.ports import ROOM_CHANNEL, USER_CHANNEL, Fanout

log = logging.getLogger(__name__)

SLOW_BYTES = 4 * 1024 * 1024
MAX_PENDING = 64  # fan-out frames held for the end of a loop turn, then written at once
# Frames the hub acts on as they pass (membership changes reach every process this way).
CONTROL_PREFIXES = (b'{"type":"member"', b'{"type":"room.added"', b'{"type":"room.banned"',
                    b'{"type":"room.removed"', b'{"type":"listen"')


class Conn:
    """One client socket and what it needs between frames."""

    __slots__ = ("ws", "user_id", "handle", "conn_id", "session_id", "role", "rooms", "state",
                 "bad_frames", "limited", "closing", "principal")

    def __init__(self, ws: ServerConnection, *, user_id: str, handle: str, conn_id: str,
                 session_id: str, role: str) -> None:
        self.ws = ws
        self.user_id, self.handle, self.conn_id = user_id, handle, conn_id
        self.session_id, self.role = session_id, role
        self.rooms: set[str] = set()
        self.state = "online"
        self.bad_frames = 0
        self.limited = 0
        self.closing = False
        self.principal: Any = None  # ChatService.principal builds it on first use


def ws_frame(payload: bytes) -> bytes:
    """``payload`` as one final, unmasked text frame (RFC 6455 5.2), as a server sends it."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x81, n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x81, 126, n)
    else:
        head = struct.pack("!BBQ", 0x81, 127, n)
    return head + payload


def room_channel(room_id: str) -> str:
    return ROOM_CHANNEL.format(room_id=room_id)


def user_channel(user_id: str) -> str:
    return USER_CHANNEL.format(user_id=user_id)


class Hub:
    """Local sockets by channel and by user, wired to one ``Fanout``."""

    def __init__(self, fanout: Fanout) -> None:
        self.fanout = fanout
        self.channels: dict[str, set[ServerConnection]] = {}
        self.users: dict[str, set[Conn]] = {}
        self.conns: set[Conn] = set()
        self.on_control: Callable[[str, dict[str, Any]], None] | None = None
        # Fan-out frames of this loop turn, not written yet: (the sockets, the frame's bytes).
        self._pending: list[tuple[tuple[ServerConnection, ...], bytes]] = []

    async def add(self, conn: Conn) -> None:
        """Register a new socket and subscribe it to its user's channel."""
        self.conns.add(conn)
        self.users.setdefault(conn.user_id, set()).add(conn)
        await self._sub(user_channel(conn.user_id), conn.ws)

    async def remove(self, conn: Conn) -> None:
        """Forget a closed socket and every channel it held."""
        self.conns.discard(conn)
        mine = self.users.get(conn.user_id)
        if mine is not None:
            mine.discard(conn)
            if not mine:
                del self.users[conn.user_id]
        for room_id in list(conn.rooms):
            await self.leave(conn, room_id)
        await self._unsub(user_channel(conn.user_id), conn.ws)

    async def enter(self, conn: Conn, room_id: str) -> None:
        """Subscribe a socket to a room."""
        if room_id not in conn.rooms:
            conn.rooms.add(room_id)
            await self._sub(room_channel(room_id), conn.ws)

    async def leave(self, conn: Conn, room_id: str) -> None:
        if room_id in conn.rooms:
            conn.rooms.discard(room_id)
            await self._unsub(room_channel(room_id), conn.ws)

    async def _sub(self, channel: str, ws: ServerConnection) -> None:
        members = self.channels.get(channel)
        if members is None:
            self.channels[channel] = {ws}
            await self.fanout.subscribe(channel)
        else:
            members.add(ws)

    async def _unsub(self, channel: str, ws: ServerConnection) -> None:
        members = self.channels.get(channel)
        if members is None:
            return
        members.discard(ws)
        if not members:
            del self.channels[channel]
            await self.fanout.unsubscribe(channel)

    def publish(self, channel: str, payload: bytes) -> None:
        self.fanout.publish(channel, payload)

    def deliver(self, channel: str, payload: bytes) -> None:
        """Write a frame from the fan-out to every local socket of ``channel`` (at the end of
        this loop turn, with whatever else arrives in it)."""
        if payload.startswith(CONTROL_PREFIXES) and self.on_control is not None:
            import json

            try:
                self.on_control(channel, json.loads(payload))
            except Exception:  # a bad control frame must not stop delivery
                log.exception("control frame on %s not applied", channel)
        members = self.channels.get(channel)
        if not members:
            return
        if not self._pending:
            asyncio.get_running_loop().call_soon(self.flush)
        # The sockets as they are now: one that joins before the flush did not ask for it.
        self._pending.append((tuple(members), ws_frame(payload)))
        if len(self._pending) >= MAX_PENDING:
            self.flush()

    def flush(self) -> None:
        """Write the pending fan-out frames, one write per socket."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        if len(pending) == 1:
            sockets, data = pending[0]
            for ws in sockets:
                self._put(ws, data)
            return
        frames: dict[ServerConnection, list[bytes]] = {}
        for sockets, data in pending:
            for ws in sockets:
                mine = frames.get(ws)
                if mine is None:
                    frames[ws] = [data]
                else:
                    mine.append(data)
        for ws, mine in frames.items():
            self._put(ws, mine[0] if len(mine) == 1 else b"".join(mine))

    def _put(self, ws: ServerConnection, data: bytes) -> None:
        """Write frames to an open socket without waiting; close it if it stopped reading."""
        transport = ws.transport
        if transport is None or ws.protocol.state is not State.OPEN:
            return  # closing or closed: as websockets.broadcast, skip it
        if transport.get_write_buffer_size() > SLOW_BYTES:
            asyncio.get_running_loop().create_task(ws.close(1013, "too slow to read; reconnect"))
            return
        try:
            transport.write(data)
        except Exception as exc:  # one socket's failure must not stop the others
            log.warning("skipped a frame for a socket: %s: %s", type(exc).__name__, exc)

    def write(self, sockets: Collection[ServerConnection], payload: bytes) -> None:
        """Write one frame to sockets now, after the pending fan-out frames."""
        if self._pending:
            self.flush()
        data = ws_frame(payload)
        for ws in sockets:
            self._put(ws, data)

    def send(self, conn: Conn, payload: bytes) -> None:
        """Write one frame to one socket."""
        self.write((conn.ws,), payload)

    def send_user(self, user_id: str, payload: bytes) -> None:
        """Write to this process's sockets of a user."""
        self.write([c.ws for c in self.users.get(user_id, ())], payload)
