"""This process's connections: channel subscriptions with reference counts, and delivery.

A channel (a room's or a user's) is subscribed on the fan-out while at least one local socket
wants it. Each frame is serialised once and written to every socket with ``broadcast``, which
never waits for a socket: a socket whose unsent data grows past ``SLOW_BYTES`` is closed
(1013, try again later) instead of holding memory or slowing the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast

from chat.ports import ROOM_CHANNEL, USER_CHANNEL, Fanout

log = logging.getLogger(__name__)

SLOW_BYTES = 4 * 1024 * 1024
# Frames the hub acts on as they pass (membership changes reach every process this way).
CONTROL_PREFIXES = (b'{"type":"member"', b'{"type":"room.added"', b'{"type":"room.banned"',
                    b'{"type":"room.removed"', b'{"type":"listen"')


class Conn:
    """One client socket and what it needs between frames."""

    __slots__ = ("ws", "user_id", "handle", "conn_id", "session_id", "role", "rooms", "state",
                 "bad_frames", "limited", "closing")

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
        """Write a frame from the fan-out to every local socket of ``channel``."""
        if payload.startswith(CONTROL_PREFIXES) and self.on_control is not None:
            import json

            try:
                self.on_control(channel, json.loads(payload))
            except Exception:  # a bad control frame must not stop delivery
                log.exception("control frame on %s not applied", channel)
        members = self.channels.get(channel)
        if not members:
            return
        self.write(members, payload)

    def write(self, sockets: set[ServerConnection] | list[ServerConnection],
              payload: bytes) -> None:
        """Write one frame to sockets without waiting; close those that stopped reading."""
        slow = [ws for ws in sockets
                if ws.transport is not None and ws.transport.get_write_buffer_size() > SLOW_BYTES]
        if slow:
            for ws in slow:
                asyncio.get_running_loop().create_task(
                    ws.close(1013, "too slow to read; reconnect"))
            sockets = [ws for ws in sockets if ws not in slow]
        broadcast(sockets, payload, text=True)

    def send(self, conn: Conn, payload: bytes) -> None:
        """Write one frame to one socket."""
        self.write([conn.ws], payload)

    def send_user(self, user_id: str, payload: bytes) -> None:
        """Write to this process's sockets of a user."""
        self.write([c.ws for c in self.users.get(user_id, ())], payload)
