"""The open-loop load generator of `veza bench api`: queueing behind a slow server shows."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from benchmarks.loadgen import _run

SERVICE_S = 0.02  # each answer takes 20 ms, so one connection serves at most 50 requests/s


class _Slow(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # One write per answer, sent at once: otherwise Nagle and delayed ACKs add 40 ms.
    wbufsize = -1
    disable_nagle_algorithm = True

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        time.sleep(SERVICE_S)
        body = b'{"ok": true}'
        self.send_response(404 if self.path == "/missing" else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    thread.join()


def test_below_capacity_latency_is_the_service_time(port: int) -> None:
    out = asyncio.run(_run("127.0.0.1", port, ["/a", "/missing"], rate=20, duration_s=1.0,
                           warmup_s=0.2, connections=1, seed=1))
    assert out["requests"] == out["completed"] == 20 and out["timed_out"] == 0
    assert set(out["statuses"]) == {"200", "404"}
    assert SERVICE_S * 1000 <= out["p50_ms"] < 100


def test_over_capacity_the_waiting_counts_as_latency(port: int) -> None:
    # 100 requests/s on one connection to a 50 requests/s server: a closed-loop client would
    # see 20 ms answers; the schedule falls behind by 10 ms a request, and that shows.
    out = asyncio.run(_run("127.0.0.1", port, ["/a"], rate=100, duration_s=1.0, warmup_s=0.0,
                           connections=1, seed=1))
    assert out["completed"] == out["requests"] == 100
    assert out["p99_ms"] > 500 and out["p50_ms"] > 200
