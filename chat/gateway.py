"""The WebSocket gateway: authentication before the upgrade, one loop per socket, heartbeats.

Every socket costs the one task ``websockets`` gives it; the gateway adds one task in all,
which every ``heartbeat_s`` renews presence, closes sockets whose session was signed out
(4001) and forgets stale typing times.
"""

from __future__ import annotations

import asyncio
import http
import json
import logging
import time
import urllib.parse
import uuid
import weakref
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from chat import messages, roomops
from chat.hub import Conn, Hub
from chat.protocol import (
    MAX_BODY,
    MAX_FRAME_BYTES,
    WRITES,
    FrameError,
    encode,
    error_frame,
    from_error,
    parse,
)
from chat.service import ChatService, Handler
from chat.wiring import Ports, build_ports
from storage.chat import ChatStore
from veza.accounts import AccountService
from veza.errors import AuthError, ServiceError, VezaError
from veza.runtime import Services

log = logging.getLogger(__name__)

MAX_BAD_FRAMES = 10  # in a row, then 1008
MAX_RATE_STRIKES = 3  # rate_limited answers ignored in a row, then 4008
HEARTBEAT_BATCH = 500  # presence heartbeats sent together (one pipeline of the presence store)
HANDLERS: dict[str, Handler] = {
    "room.create": roomops.create, "room.join": roomops.join, "room.leave": roomops.leave,
    "room.invite": roomops.invite, "room.role": roomops.set_role,
    "room.members": roomops.members, "dm.open": roomops.dm_open, "mod.mute": roomops.mute,
    "mod.ban": roomops.ban, "mod.unban": roomops.unban, "listen.control": roomops.listen,
    "message.send": messages.send, "message.edit": messages.edit,
    "message.delete": messages.delete, "reaction.add": messages.react,
    "reaction.remove": messages.react, "history": messages.history, "read": messages.read,
    "unread": messages.unread,
}


def _problem(status: int, detail: str, code: str) -> Response:
    phrase = http.HTTPStatus(status).phrase
    body = json.dumps({"type": "about:blank", "title": phrase, "status": status,
                       "detail": detail, "code": code}).encode()
    headers = Headers([("Content-Type", "application/problem+json"),
                       ("Content-Length", str(len(body))), ("Connection", "close")])
    return Response(status, phrase, headers, body)


class Gateway:
    """One gateway process's server, service and ports."""

    def __init__(self, services: Services, *, ports: Ports | None = None,
                 heartbeat_s: float | None = None) -> None:
        self.services = services
        self.settings = services.settings
        self.executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="chat-db")
        self.ports = ports or build_ports(self.settings, db=services.db, executor=self.executor)
        self.hub = Hub(self.ports.fanout)
        self.service = ChatService(self.settings, services.db, self.ports, self.hub,
                                   self.executor)
        self.accounts = AccountService(services)
        self.heartbeat_s = heartbeat_s or max(0.5, self.settings.chat_presence_ttl_s / 3)
        self.port: int | None = None
        self._server: Server | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._events: asyncio.Task[None] | None = None
        self._events_stop = asyncio.Event()
        # What the handshake learnt, until the socket's handler takes it; weak, so that a
        # request that never becomes a WebSocket (no upgrade, shutdown) leaves nothing behind.
        self._pending: weakref.WeakKeyDictionary[ServerConnection, dict[str, Any]] = (
            weakref.WeakKeyDictionary())
        self._presence_warned = -1e9

    # -------------------------------------------------------------- lifecycle

    async def start(self, host: str | None = None, port: int | None = None) -> int:
        """Connect the ports and listen; return the bound port."""
        # One line per handshake is noise at 10,000 sockets; problems still show.
        logging.getLogger("websockets.server").setLevel(logging.WARNING)
        await self.ports.journal.start()
        await self.ports.fanout.start(self.hub.deliver)
        self._server = await serve(
            self._handle, host or self.settings.chat_host,
            self.settings.chat_port if port is None else port,
            process_request=self._process_request, compression=None,
            max_size=MAX_FRAME_BYTES, max_queue=16, write_limit=64 * 1024,
            ping_interval=20, ping_timeout=20, server_header=None)
        self.port = self._server.sockets[0].getsockname()[1]
        loop = asyncio.get_running_loop()
        self._ticker = loop.create_task(self._tick(), name="chat-tick")
        if self.settings.broker_url:
            # With a broker, the pipeline's events arrive on its exchange; on embedded
            # defaults `veza up` hands them over in process.
            from chat.events import follow_track_events

            self._events = loop.create_task(
                follow_track_events(self.settings, self.deliver_track_event, self._events_stop),
                name="chat-track-events")
        log.info("chat gateway listening on ws://%s:%s/ws", host or self.settings.chat_host,
                 self.port)
        return self.port

    async def stop(self) -> None:
        """Close every socket with 1001 (reconnect elsewhere), then the ports."""
        if self._ticker is not None:
            self._ticker.cancel()
        if self._events is not None:
            self._events_stop.set()
            try:
                await asyncio.wait_for(self._events, 5)
            except (TimeoutError, Exception):  # stopping: the broker may be gone already
                log.warning("the track event consumer did not stop cleanly")
        if self._server is not None:
            self._server.close(close_connections=True)
            try:
                await asyncio.wait_for(self._server.wait_closed(), 10)
            except TimeoutError:
                log.warning("chat sockets still open after 10 s; stopping anyway")
        for port in (self.ports.journal, self.ports.fanout, self.ports.presence):
            try:
                await port.close()
            except Exception:  # stop the others anyway
                log.exception("closing %s failed", type(port).__name__)
        self.executor.shutdown(wait=False)

    async def deliver_track_event(self, routing_key: str, event: Mapping[str, Any]) -> None:
        """Send a pipeline event to the sockets of the track's owner (on every gateway)."""
        await self.service.deliver_track_event(routing_key, event)

    # ---------------------------------------------------------- handshake

    def _authenticate(self, header: str) -> dict[str, Any]:
        principal = self.accounts.authenticate(header)
        user_id = str(principal.user_id)
        with self.services.db.transaction() as cur:
            store = ChatStore(cur)
            handle = store.handle(user_id) or ""
            rooms = store.memberships(user_id, admin=principal.role == "admin")
            sent = store.recent_client_ids(user_id)
        return {"principal": principal, "handle": handle, "rooms": rooms, "sent": sent}

    async def _process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        url = urllib.parse.urlsplit(request.path)
        if url.path == "/healthz":
            return ws.respond(http.HTTPStatus.OK, "ok\n")
        if url.path != "/ws":
            return _problem(404, "the chat is at /ws", "not_found")
        header = request.headers.get("Authorization")
        token = urllib.parse.parse_qs(url.query).get("token")
        if not header and token:
            header = f"Bearer {token[0]}"
        try:
            self._pending[ws] = await asyncio.get_running_loop().run_in_executor(
                self.executor, self._authenticate, header or "")
        except AuthError as exc:
            return _problem(401, exc.message, exc.code)
        except VezaError as exc:
            log.warning("chat authentication failed: %s", exc.message)
            return _problem(503, "the chat cannot check tokens now; try again", "unavailable")
        return None

    # -------------------------------------------------------------- sockets

    async def _handle(self, ws: ServerConnection) -> None:
        info = self._pending.pop(ws)
        principal = info["principal"]
        conn = Conn(ws, user_id=str(principal.user_id), handle=info["handle"],
                    conn_id=uuid.uuid4().hex, session_id=str(principal.session_id),
                    role=principal.role)
        svc = self.service
        cap = self.settings.chat_max_sockets
        try:  # over every gateway (as presence knows them: a socket counts once it is welcome)
            elsewhere = await self.ports.presence.connections(conn.user_id)
        except ServiceError as exc:  # this process's own count still holds
            self._presence_down(exc)
            elsewhere = 0
        # No await between this count and hub.add: this process's sockets are counted exactly.
        if max(elsewhere, len(self.hub.users.get(conn.user_id, ()))) >= cap:
            await ws.close(1008, f"too many sockets for one user (at most {cap})")
            return
        for cid, first in info["sent"].items():
            svc.sent.remember((conn.user_id, cid), first)
        try:
            await self.hub.add(conn)
            # The welcome goes first: frames of the rooms entered below come after it.
            self.hub.send(conn, encode({
                "type": "welcome", "conn_id": conn.conn_id,
                "user": {"id": conn.user_id, "handle": conn.handle},
                "heartbeat_s": self.heartbeat_s, "rooms": info["rooms"],
                "limits": {"max_frame_bytes": MAX_FRAME_BYTES, "max_body_chars": MAX_BODY,
                           "messages": self.settings.chat_rate_limit, "typing_interval_s": 3}}))
            for room_id in info["rooms"]:
                await self.hub.enter(conn, room_id)
            await self._arrived(conn)
            async for data in ws:
                await self._frame(conn, data)
        except ConnectionClosed:
            pass
        finally:
            try:
                await svc.disconnected(conn)
            except ServiceError as exc:
                # Presence expires by itself (its TTL); one line, not a traceback per socket.
                self._presence_down(exc)

    async def _arrived(self, conn: Conn) -> None:
        """Record the socket's presence, and announce the user if they were offline."""
        try:
            was = await self.service.user_state(conn.user_id)
            await self.service.heartbeat(conn)
        except ServiceError as exc:
            self._presence_down(exc)
            return
        if was == "offline":
            await self.service.announce(conn, conn.rooms, "online")

    def _presence_down(self, exc: ServiceError) -> None:
        now = time.monotonic()
        if now - self._presence_warned > 10:
            self._presence_warned = now
            log.warning("chat presence unavailable: %s", exc.message)

    async def _frame(self, conn: Conn, data: str | bytes) -> None:
        try:
            frame = parse(data)
        except FrameError as exc:
            conn.bad_frames += 1
            if conn.bad_frames >= MAX_BAD_FRAMES:
                await conn.ws.close(1008, "too many bad frames")
            else:
                self.hub.send(conn, error_frame(exc))
            return
        conn.bad_frames = 0
        kind, cid = frame["type"], frame.get("cid")
        svc = self.service
        try:
            if kind == "ping":
                await svc.heartbeat(conn)
                result: dict[str, Any] | None = {}
            elif kind == "typing":
                svc.typing_frame(conn, frame)
                return
            elif kind == "presence.set":
                await svc.set_presence(conn, frame)
                return
            else:
                result = await HANDLERS[kind](svc, conn, frame)
        except VezaError as exc:
            error = from_error(exc, cid)
            if error.code == "rate_limited":
                conn.limited += 1
                if conn.limited > MAX_RATE_STRIKES:
                    await conn.ws.close(4008, "rate limit ignored")
                    return
            self.hub.send(conn, error_frame(error))
            return
        except Exception:  # a bug in one frame must not end the socket or the gateway
            log.exception("chat frame %s failed", kind)
            self.hub.send(conn, error_frame(FrameError("unavailable", "internal error", cid=cid)))
            return
        if kind in WRITES:
            conn.limited = 0
        if cid is not None and result is not None:
            self.hub.send(conn, encode({"type": "ack", "cid": cid, **result}))

    # ------------------------------------------------------------ heartbeat

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            try:
                await self._beat()
            except Exception:  # the next beat tries again
                log.exception("chat heartbeat failed")

    async def _beat(self) -> None:
        conns = list(self.hub.conns)
        # Concurrently, so a presence store that batches calls sends few round trips.
        for start in range(0, len(conns), HEARTBEAT_BATCH):
            results = await asyncio.gather(
                *(self.service.heartbeat(c) for c in conns[start:start + HEARTBEAT_BATCH]),
                return_exceptions=True)
            failed = [r for r in results if isinstance(r, BaseException)]
            if failed:
                if not isinstance(failed[0], ServiceError):
                    raise failed[0]
                self._presence_down(failed[0])
                break
        self.service.prune()
        sessions = list({c.session_id for c in conns})
        if not sessions:
            return
        open_ = await self.service.db_call(lambda store: store.open_sessions(sessions))
        for conn in conns:
            if conn.session_id not in open_ and not conn.closing:
                conn.closing = True
                asyncio.get_running_loop().create_task(
                    conn.ws.close(4001, "the session was signed out"))
