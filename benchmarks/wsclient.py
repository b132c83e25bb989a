"""A minimal WebSocket client for load generation: text frames in and out, pings answered.

A load client must cost far less per frame than the server it measures, or it measures itself:
``websockets`` spends tens of microseconds of Python per received frame, and two client
processes reading 40,000 frames a second took both cores of the machine. Here a frame is a few
slices of bytes in ``data_received``. It speaks only what a load client needs of RFC 6455:
the upgrade, unfragmented text frames from the server, masked text frames to it (with a zero
mask: masking is required, its key may be anything, and a zero key leaves the payload as is),
pongs for pings, and close frames.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time
import urllib.parse
from collections.abc import Callable
from typing import cast

# Receives (payload, arrival time) of each text frame.
OnText = Callable[[bytes, float], None]


class HandshakeError(Exception):
    """The server did not upgrade the connection."""


class RawSocket(asyncio.Protocol):
    """One client WebSocket on an asyncio transport."""

    def __init__(self, on_text: OnText) -> None:
        self.on_text = on_text
        self.transport: asyncio.Transport | None = None
        self.upgraded: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed = False
        self._buffer = b""

    @classmethod
    async def open(cls, url: str, on_text: OnText, *, headers: dict[str, str] | None = None,
                   timeout: float = 60) -> RawSocket:
        """Connect to ``ws://host:port/path`` and return once the server upgraded."""
        parts = urllib.parse.urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        loop = asyncio.get_running_loop()
        _, sock = await asyncio.wait_for(
            loop.create_connection(lambda: cls(on_text), host, port), timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {parts.path or '/'}{'?' + parts.query if parts.query else ''} HTTP/1.1",
                 f"Host: {host}:{port}", "Upgrade: websocket", "Connection: Upgrade",
                 f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13",
                 *(f"{k}: {v}" for k, v in (headers or {}).items())]
        assert sock.transport is not None
        sock.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        try:
            await asyncio.wait_for(sock.upgraded, timeout)
        except BaseException:
            sock.abort()
            raise
        return sock

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio's: no isinstance check here.
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.upgraded.done():
            self.upgraded.set_exception(HandshakeError("connection closed during the upgrade"))

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data if self._buffer else data
        if not self.upgraded.done():
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self._buffer = buffer
                return
            status = buffer[:end].split(b"\r\n", 1)[0]
            if b" 101 " not in status + b" ":
                self.upgraded.set_exception(HandshakeError(status.decode(errors="replace")))
                self.abort()
                return
            self.upgraded.set_result(None)
            buffer = buffer[end + 4:]
        now = time.monotonic()
        pos, size = 0, len(buffer)
        while size - pos >= 2:
            opcode, length = buffer[pos] & 0x0F, buffer[pos + 1] & 0x7F
            head = 2
            if length == 126:
                if size - pos < 4:
                    break
                length, head = struct.unpack_from("!H", buffer, pos + 2)[0], 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, head = struct.unpack_from("!Q", buffer, pos + 2)[0], 10
            if size - pos < head + length:
                break
            payload = buffer[pos + head:pos + head + length]
            pos += head + length
            if opcode == 1:
                self.on_text(payload, now)
            elif opcode == 9:
                self._write(0xA, payload)
            elif opcode == 8:
                self.abort()
                return
        self._buffer = buffer[pos:]

    def send_text(self, data: bytes) -> None:
        """Send one text frame (queued on the transport; never waits)."""
        self._write(0x1, data)

    def _write(self, opcode: int, payload: bytes) -> None:
        if self.transport is None or self.closed:
            raise ConnectionError("the WebSocket is closed")
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        self.transport.write(head + b"\0\0\0\0" + payload)

    def abort(self) -> None:
        """Drop the connection without a closing handshake."""
        self.closed = True
        if self.transport is not None:
            self.transport.abort()
