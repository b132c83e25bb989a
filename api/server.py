"""Serve the API: gunicorn for `veza serve api`, a pooled Werkzeug server inside `veza up`.

`veza up` keeps Werkzeug's server (it streams an upload's body to the app, which refuses a
declared length over the limit before a byte is sent) with what it lacks: a bounded pool of
worker threads, a cap on open connections, a lobby where a connection waits for its first byte
without a thread and is closed after an idle timeout, a deadline for the request line and
headers (a slow trickle is cut off), and for the body a timeout per read and a minimum average
rate, never a deadline per request, so a large upload over a slow link still goes through while
a trickle is cut off (408 ``timeout`` if the answer has not started). Werkzeug closes every
connection after its answer, so no kept-alive connection holds a thread; each request is timed
afresh all the same. waitress buffers whole bodies before the app sees them and cheroot gives a
trickle a thread for as long as it lasts; neither has a header deadline. gunicorn (gthread)
gives a new connection a thread at once, which waits up to 5 s for its first byte (so a few
idle connections hold up every request), then reads the headers and the body for as long as
they take: ``ProblemWorker`` keeps a new connection in its poller until it sends a byte, closing
it after the same idle timeout as `veza up`, gives the headers a deadline and the body the same
minimum average rate as `veza up` (one ``BodyPace``, from the same settings). Both servers
answer what they refuse themselves (a malformed or over-long request line, too many headers, a
request too slow, an HTTP version other than 1.0 and 1.1) in the app's problem+json, and
neither names itself in a ``Server`` header.
"""

from __future__ import annotations

import errno
import gc
import io
import json
import queue
import selectors
import socket
import threading
import time
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from typing import Any, ClassVar

from gunicorn import util
from gunicorn.app.base import BaseApplication
from gunicorn.http import body as gunicorn_body
from gunicorn.http.errors import InvalidHTTPVersion
from gunicorn.workers.gthread import TConn, ThreadWorker
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler

from api import create_app
from api.errors import PROBLEM_JSON
from veza.errors import ConfigError
from veza.runtime import Services, build_services
from veza.settings import Settings

# Our codes for what a server refuses before the app sees the request.
SERVER_CODES = {400: "bad_request", 408: "timeout", 414: "uri_too_long",
                431: "headers_too_large", 501: "not_implemented", 503: "busy",
                505: "bad_http_version"}


def problem_bytes(status: int, detail: str) -> bytes:
    """Return a whole HTTP/1.1 response in the app's problem+json shape (it closes)."""
    code = SERVER_CODES.get(status, "bad_request")
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body = json.dumps({"type": f"urn:veza:problem:{code}", "title": title, "status": status,
                       "detail": detail, "code": code}).encode()
    head = (f"HTTP/1.1 {status} {title}\r\nConnection: close\r\n"
            f"Content-Type: {PROBLEM_JSON}\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


@dataclass(frozen=True)
class ServerLimits:
    """How long the API servers wait (`veza serve api` takes the idle timeout, the header
    deadline and the body rate), and for how many connections (`veza up`)."""

    idle_timeout_s: float = 15.0  # a new connection's first byte (awaited without a thread)
    header_timeout_s: float = 15.0  # from the first byte to the end of the headers
    read_timeout_s: float = 60.0  # each read of a body; a slow upload that moves goes on
    # A body (and what follows it on the connection) must come at this many bytes a second on
    # average, counting only the time spent waiting for it, with up to a window's worth of
    # stall: a slow link passes, a trickle is cut off.
    min_body_rate: float = 1024.0
    body_rate_window_s: float = 30.0
    threads: int = 32
    max_waiting: int = 256  # open connections beyond the threads (idle or queued); then 503

    @classmethod
    def from_settings(cls, settings: Settings) -> ServerLimits:
        """Return the limits both servers take from the settings, the rest as defaults."""
        return cls(idle_timeout_s=settings.api_idle_timeout_s,
                   header_timeout_s=settings.api_header_timeout_s,
                   min_body_rate=settings.api_min_body_rate,
                   body_rate_window_s=settings.api_body_rate_window_s)


class BodyTooSlow(TimeoutError):
    """Raised by a read of a request body that came too slowly (the server answers 408)."""


class BodyPace:
    """A request body's minimum average rate, for both servers: each byte buys ``1 /
    min_body_rate`` seconds of waiting, banked up to one window ahead, and only the time
    spent waiting for the body counts (not the app's own work between reads)."""

    def __init__(self, limits: ServerLimits) -> None:
        self.limits = limits
        self._waited = 0.0  # seconds spent waiting for the body's bytes
        self._credit = limits.body_rate_window_s  # how long it may have been waited for

    def timeout(self) -> float:
        """Return how long the next read may wait; raise ``BodyTooSlow`` if not at all."""
        left = self._credit - self._waited
        if left <= 0:
            raise BodyTooSlow(self.detail())
        return min(self.limits.read_timeout_s, left)

    def received(self, size: int, waited: float) -> None:
        """Count ``size`` bytes that took ``waited`` seconds to come."""
        self._waited += waited
        self._credit = min(self._waited + self.limits.body_rate_window_s,
                           self._credit + size / self.limits.min_body_rate)

    def detail(self) -> str:
        return (f"the request body came too slowly (under {self.limits.min_body_rate:g} "
                f"bytes/s on average, or nothing for "
                f"{min(self.limits.read_timeout_s, self.limits.body_rate_window_s):g} s)")


def _cut(sock: socket.socket, detail: str | None) -> None:
    """End a connection whose request was too slow, answering 408 ``detail`` first unless it
    is None (the answer has started)."""
    try:
        if detail is not None:
            sock.settimeout(5)
            sock.sendall(problem_bytes(408, detail))
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class GunicornApp(BaseApplication):  # type: ignore[misc]
    """Gunicorn configured in code; each worker process builds its own services after fork."""

    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)
        # Gunicorn 27's control socket sits at one fixed path per user: several API processes
        # on one machine would fight over it, and we do not use it.
        if "control_socket_disable" in self.cfg.settings:
            self.cfg.set("control_socket_disable", True)

    def load(self) -> Any:
        # Resolved once per process: otherwise every cursor and token check reads the key file.
        services = build_services(self.settings.with_signing_key(), migrate=False)
        app = create_app(self.settings, services)
        # What was built so far lives as long as the process: keep it out of the collector's
        # full passes, which otherwise walk every module and schema and stall requests.
        gc.collect()
        gc.freeze()
        return app


class ProblemWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's threaded worker, answering in problem+json and without a ``Server`` header,
    cutting off a request whose line and headers take longer than ``header_timeout_s`` and
    one whose body comes under the minimum rate (``BodyPace``), with 408 ``timeout``."""

    limits: ClassVar[ServerLimits] = ServerLimits()

    def init_process(self) -> None:
        # A connection in a thread whose headers are not in yet: when its clock started (the
        # worker's first look after the connection became readable), None until then.
        self._reading_headers: dict[Any, float | None] = {}
        self._headers_lock = threading.Lock()
        from gunicorn.http import wsgi

        # gunicorn has no setting for either: its error page and its banner are module
        # functions of this worker process, so they are replaced here, before any request.
        util.write_error = _write_problem
        wsgi.Response.default_headers = _unnamed(wsgi.Response.default_headers)
        super().init_process()

    def accept(self, listener: Any) -> None:
        # gunicorn hands a new connection to a thread at once, which then waits up to 5 s for
        # its first byte: more idle connections than threads hold up every request. Here it
        # waits in the worker's poller, holding no thread, among gunicorn's own pending
        # connections (handed to a thread once readable, closed past their timeout).
        try:
            client_sock, client_addr = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())
        conn.timeout = time.monotonic() + self.limits.idle_timeout_s
        self.pending_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ,
                             partial(self.on_pending_socket_readable, conn))

    def handle(self, conn: Any) -> Any:
        with self._headers_lock:
            self._reading_headers[conn] = None
        try:
            return super().handle(conn)
        finally:
            with self._headers_lock:
                self._reading_headers.pop(conn, None)

    def handle_request(self, req: Any, conn: Any) -> Any:
        with self._headers_lock:  # the headers are in: now the body's pace
            self._reading_headers.pop(conn, None)
        if req.version not in ((1, 0), (1, 1)):
            # gunicorn takes HTTP/1.2 to 1.9 as 1.1 and would echo the version back; its
            # error handler answers this 400 (in problem+json) and closes.
            raise InvalidHTTPVersion("HTTP/{}.{}".format(*req.version))
        # The parser reads the body through its unreader's socket; what it read ahead with
        # the headers is buffered there already. Between requests (draining an unread body,
        # the next request's headers) it reads the socket itself, under gunicorn's bounds.
        unreader = conn.parser.unreader
        sock = unreader.sock
        unreader.sock = _PacedSocket(sock, BodyPace(self.limits))
        try:
            keepalive = super().handle_request(req, conn)
        finally:
            unreader.sock = sock
        if _body_unread(req):
            # Answered before the body was read (so with "Connection: close"): closing with
            # the body still coming would reset the connection, which can destroy the answer
            # before the client reads it. gunicorn drains only 64 KiB before it closes.
            _drain(sock)
            return False
        return keepalive

    def murder_pending(self) -> None:
        # Called by the worker's loop about once a second, beside its own timeouts.
        if not self.alive:  # stopping: a connection that sent nothing is not waited for
            for conn in self.pending_conns:
                conn.timeout = 0.0
        super().murder_pending()
        now = time.monotonic()
        late = []
        with self._headers_lock:
            for conn, began in list(self._reading_headers.items()):
                if began is None:
                    if conn.initialized or conn.data_ready:
                        self._reading_headers[conn] = now
                elif now - began > self.limits.header_timeout_s:
                    del self._reading_headers[conn]
                    late.append(conn)
        for conn in late:
            # The thread blocked reading the headers wakes to an ended connection.
            try:
                conn.sock.send(problem_bytes(408, "the request line and headers took too "
                                                  "long"), socket.MSG_DONTWAIT)
            except (OSError, ValueError):
                pass
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _PacedSocket:
    """A connection's socket as gunicorn's parser reads a request body from it: each read
    waits as long as the body's pace allows; a body too slow gets 408 and the connection
    ends (the app reading it sees a client that went away)."""

    def __init__(self, sock: socket.socket, pace: BodyPace) -> None:
        self._sock = sock
        self._pace = pace
        self._cut_off = False

    def recv(self, size: int) -> bytes:
        if self._cut_off:
            return b""
        sock = self._sock
        prior = sock.gettimeout()
        try:
            sock.settimeout(self._pace.timeout())
            began = time.monotonic()
            data = sock.recv(size)
        except TimeoutError as exc:
            self._cut_off = True
            _cut(sock, self._pace.detail())
            raise BodyTooSlow(self._pace.detail()) from exc
        finally:
            # Not left on the socket: the answer's writes (a long download) have none.
            sock.settimeout(prior)
        self._pace.received(len(data), time.monotonic() - began)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _unsupported_version(version: str | None) -> str:
    if version is None:
        return "the request line has no HTTP version"
    return f"HTTP version {version} is not supported; use HTTP/1.1 or HTTP/1.0"


def _write_problem(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    util.write_nonblock(sock, problem_bytes(status_int, mesg or reason))


# What a connection whose answer came before its body was read may still send, and for how
# long, before it is closed (received and discarded, so that the client reads the answer).
DRAIN_TIMEOUT_S = 2.0
DRAIN_MAX_BYTES = 16 * 1024 * 1024


def _body_unread(req: Any) -> bool:
    """Whether gunicorn's request ``req`` still has body bytes to come from the client."""
    reader = getattr(getattr(req, "body", None), "reader", None)
    if isinstance(reader, gunicorn_body.LengthReader):
        return bool(reader.length > 0)
    if isinstance(reader, gunicorn_body.ChunkedReader):
        return reader.parser is not None
    if isinstance(reader, gunicorn_body.EOFReader):
        return not reader.finished
    return False


def _drain(sock: socket.socket) -> None:
    """End the answer (shut down for writing) and discard what the client still sends, up to
    the drain's bounds, leaving the socket to be closed."""
    try:
        sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        drained = 0
        while drained < DRAIN_MAX_BYTES and (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            data = sock.recv(65536)
            if not data:
                break
            drained += len(data)
    except OSError:  # timed out, or the client went away
        pass


def _unnamed(default_headers: Any) -> Any:
    def headers(self: Any) -> list[str]:
        if _body_unread(self.req):  # the connection will not be reused: say so
            self.force_close()
        return [h for h in default_headers(self) if not h.startswith("Server:")]

    return headers


def serve_gunicorn(settings: Settings, *, workers: int, threads: int) -> None:
    """Run the API under gunicorn until it is told to stop."""
    GunicornApp(
        settings,
        {
            "bind": f"{settings.api_host}:{settings.api_port}",
            "workers": workers,
            "threads": threads,
            "worker_class": type("ProblemWorker", (ProblemWorker,),
                                 {"limits": ServerLimits.from_settings(settings)}),
            # Uploads of large files over slow links take a while.
            "timeout": 300,
            "graceful_timeout": 30,
            # No gunicorn access log: the app logs each request itself, in VEZA_LOG_FORMAT
            # and with the track it concerns.
            "accesslog": None,
        },
    ).run()


def _check_port(host: str, port: int) -> None:
    # Werkzeug prints and exits the process when it cannot bind; we want our own error.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; "
                              "set VEZA_API_PORT to a free port") from exc


class _TimedSocketReader(io.RawIOBase):
    """The connection's reads, each given the time its phase of the request has left."""

    def __init__(self, sock: socket.socket, handler: _Handler) -> None:
        self._sock = sock
        self._handler = handler

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        handler = self._handler
        if handler.cut_off:
            return 0
        try:
            self._sock.settimeout(handler.read_timeout())
            began = time.monotonic()
            received = self._sock.recv_into(buffer)
        except TimeoutError:
            handler.cut()
            raise
        handler.received(received, time.monotonic() - began)
        return received


class _Handler(WSGIRequestHandler):
    limits = ServerLimits()
    _in_headers = True
    _header_deadline: float | None = None  # set by the request's first byte
    _pace: BodyPace  # the body's, from the end of the headers
    _responded = False
    cut_off = False

    def setup(self) -> None:
        super().setup()
        self.rfile = io.BufferedReader(_TimedSocketReader(self.connection, self))

    def handle_one_request(self) -> None:
        # Every request on a connection, not only its first, gets the idle timeout for its
        # first byte and the header deadline for its headers.
        self._in_headers, self._header_deadline, self._responded = True, None, False
        super().handle_one_request()

    def read_timeout(self) -> float:
        if not self._in_headers:
            return self._pace.timeout()
        if self._header_deadline is None:
            return self.limits.idle_timeout_s
        left = self._header_deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request line and headers took too long")
        return left

    def received(self, size: int, waited: float) -> None:
        if self._in_headers:
            if self._header_deadline is None:
                self._header_deadline = time.monotonic() + self.limits.header_timeout_s
            return
        self._pace.received(size, waited)

    def cut(self) -> None:
        """End a request that stalled: 408 if its answer has not started, then close."""
        if self._in_headers and self._header_deadline is None:
            return  # nothing of a request came: closed without an answer
        self.cut_off = self.close_connection = True
        detail = None if self._responded else (
            "the request line and headers took too long" if self._in_headers
            else self._pace.detail())
        self._responded = True
        _cut(self.connection, detail)

    def parse_request(self) -> bool:
        ok = super().parse_request()
        self._in_headers = False
        self._pace = BodyPace(self.limits)
        if ok and self.request_version not in ("HTTP/1.0", "HTTP/1.1"):
            # http.server answers a request line without a version (or HTTP/0.9) as HTTP/0.9,
            # a bare body without a status line or headers, and HTTP/1.2 to 1.9 as 1.1; it
            # refuses 2.0 and up with 505 itself.
            self.send_error(400, _unsupported_version(
                None if len(self.requestline.split()) == 2 else self.request_version))
            return False
        return ok

    def send_response(self, code: int, message: str | None = None) -> None:
        if self.cut_off:  # the app's answer to the body it could not read: 408 was sent
            raise ConnectionAbortedError("the request was cut off")
        self._responded = True
        # http.server's, less the Server header naming Werkzeug and Python.
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        self.log_error("code %d, message %s", code, message)
        self.close_connection = self._responded = True
        self.wfile.write(problem_bytes(int(code), message or HTTPStatus(code).description))

    def log_error(self, format: str, *args: Any) -> None:
        # A client's malformed or slow request is not the server's error.
        self.log("info", format, *args)


class _PooledServer(BaseWSGIServer):
    """Werkzeug's server with a bounded pool of threads instead of one per connection; a
    connection waits for its first byte in the lobby, holding no thread."""

    multithread = True

    def __init__(self, host: str, port: int, app: Any, limits: ServerLimits) -> None:
        handler = type("Handler", (_Handler,), {"limits": limits})
        super().__init__(host, port, app, handler=handler)
        self.ready: queue.Queue[tuple[Any, Any] | None] = queue.Queue()
        self.slots = threading.BoundedSemaphore(limits.threads + limits.max_waiting)
        self.lobby = _Lobby(self, limits.idle_timeout_s)
        # Daemon threads: a connection still open when `veza up` stops never holds it up.
        self.workers = [threading.Thread(target=self._work, name=f"veza-api-{n}", daemon=True)
                        for n in range(limits.threads)]
        for worker in self.workers:
            worker.start()

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            try:
                request.sendall(problem_bytes(503, "the server is busy; try again"))
            except OSError:
                pass
            self.shutdown_request(request)
            return
        self.lobby.add(request, client_address)

    def _work(self) -> None:
        while (item := self.ready.get()) is not None:
            request, client_address = item
            try:
                self.finish_request(request, client_address)
            except Exception:
                self.handle_error(request, client_address)
            finally:
                self.release(request)

    def release(self, request: Any) -> None:
        self.shutdown_request(request)
        self.slots.release()

    def server_close(self) -> None:
        super().server_close()
        self.lobby.close()
        for _ in self.workers:
            self.ready.put(None)


class _Lobby:
    """Accepted connections waiting for their first byte, in one selector on one thread;
    a connection that sends nothing within the idle timeout is closed here."""

    def __init__(self, server: _PooledServer, idle_timeout_s: float) -> None:
        self.server = server
        self.idle_timeout_s = idle_timeout_s
        self.selector = selectors.DefaultSelector()
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_w.setblocking(False)
        self.selector.register(self.wake_r, selectors.EVENT_READ)
        self.lock = threading.Lock()
        self.arrived: list[tuple[Any, Any]] = []
        self.closed = False
        self.thread = threading.Thread(target=self._run, name="veza-api-lobby", daemon=True)
        self.thread.start()

    def add(self, request: Any, client_address: Any) -> None:
        with self.lock:
            self.arrived.append((request, client_address))
        self._wake()

    def close(self) -> None:
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        try:
            self.wake_w.send(b"\0")
        except OSError:  # full: the lobby is awake already
            pass

    def _run(self) -> None:
        waiting: dict[Any, tuple[Any, float]] = {}  # in arrival order, so in deadline order
        while not self.closed:
            now = time.monotonic()
            first = next(iter(waiting.values()), None)
            timeout = max(0.0, first[1] - now) if first else None
            for key, _ in self.selector.select(timeout):
                if key.fileobj is self.wake_r:
                    self.wake_r.recv(4096)
                    continue
                self.selector.unregister(key.fileobj)
                client_address, _ = waiting.pop(key.fileobj)
                self.server.ready.put((key.fileobj, client_address))
            with self.lock:
                arrived, self.arrived = self.arrived, []
            deadline = time.monotonic() + self.idle_timeout_s
            for request, client_address in arrived:
                self.selector.register(request, selectors.EVENT_READ)
                waiting[request] = (client_address, deadline)
            now = time.monotonic()
            for request, (_, expires) in list(waiting.items()):
                if expires > now:
                    break
                self.selector.unregister(request)
                del waiting[request]
                self.server.release(request)
        for request in waiting:
            self.server.release(request)
        self.selector.close()
        self.wake_r.close()
        self.wake_w.close()


class ThreadedServer:
    """The API on a background thread of this process (embedded mode)."""

    def __init__(self, settings: Settings, services: Services, *,
                 limits: ServerLimits | None = None) -> None:
        app = create_app(settings, services)
        _check_port(settings.api_host, settings.api_port)
        limits = limits or ServerLimits.from_settings(settings)
        self.server: BaseWSGIServer = _PooledServer(settings.api_host, settings.api_port, app,
                                                    limits)
        self.thread = threading.Thread(target=self.server.serve_forever, name="veza-api",
                                       daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)
