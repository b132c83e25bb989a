"""Run a gateway: as its own process (``veza serve chat``) or in a thread beside the API."""

from __future__ import annotations

import asyncio
import logging
import resource
import signal
import threading
from collections.abc import Mapping
from typing import Any

from chat.gateway import Gateway
from chat.wiring import Ports
from veza.runtime import Services

log = logging.getLogger(__name__)


def raise_open_files_limit() -> int:
    """Let this process hold as many sockets as the system allows it; return the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return soft


def serve(services: Services, *, host: str | None = None, port: int | None = None) -> None:
    """Serve until SIGINT or SIGTERM, then close every socket with 1001."""
    import uvloop

    # Each connection is a file descriptor; the usual soft limit of 1,024 would cap a gateway
    # far below the connections it can hold.
    limit = raise_open_files_limit()
    log.info("chat gateway may hold up to %d open files", limit)

    async def main() -> None:
        gateway = Gateway(services)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        bound = await gateway.start(host, port)
        print(f"chat gateway at ws://{host or services.settings.chat_host}:{bound}/ws",
              flush=True)
        try:
            await stop.wait()
        finally:
            await gateway.stop()

    uvloop.run(main())


class GatewayThread:
    """A gateway on its own event loop in a daemon thread."""

    def __init__(self, services: Services, *, ports: Ports | None = None,
                 heartbeat_s: float | None = None) -> None:
        self.services = services
        self._ports, self._heartbeat_s = ports, heartbeat_s
        self.gateway: Gateway | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.port: int | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    def start(self, host: str | None = None, port: int | None = None,
              timeout: float = 30) -> int:
        """Start serving and return the bound port (0 picks a free one)."""
        self._thread = threading.Thread(target=self._run, args=(host, port),
                                        name="veza-chat", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the chat gateway did not start")
        if self._error is not None:
            raise self._error
        assert self.port is not None
        return self.port

    def _run(self, host: str | None, port: int | None) -> None:
        import uvloop

        async def main() -> None:
            self.loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            try:
                self.gateway = Gateway(self.services, ports=self._ports,
                                       heartbeat_s=self._heartbeat_s)
                self.port = await self.gateway.start(host, port)
            except BaseException as exc:
                self._error = exc
                self._ready.set()
                return
            self._ready.set()
            try:
                await self._stop.wait()
            finally:
                await self.gateway.stop()

        uvloop.run(main())

    def deliver_track_event(self, routing_key: str, event: Mapping[str, Any]) -> None:
        """Hand a pipeline event over from any thread (an ``EventPublisher`` subscriber)."""
        if self.loop is None or self.gateway is None:
            return
        asyncio.run_coroutine_threadsafe(
            self.gateway.deliver_track_event(routing_key, event), self.loop)

    def stop(self, timeout: float = 15) -> None:
        if self.loop is not None and self._stop is not None and not self.loop.is_closed():
            try:
                self.loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:  # the loop already ended
                pass
        if self._thread is not None:
            self._thread.join(timeout)
