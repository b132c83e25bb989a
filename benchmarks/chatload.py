"""A chat load client process: open WebSockets, join rooms, send on a schedule, time deliveries.

Run as ``python -m benchmarks.chatload SPEC.json``. The process opens every connection of the
spec (each with its own access token), reads the welcome, joins its rooms or opens its direct
room, prints ``ready`` and waits for a line on stdin. On ``go`` it sends for ``duration_s`` on
an open-loop schedule (message *i* is due at ``start + i / rate`` and its latency runs from that
moment, so a gateway that falls behind shows in the latencies) while every connection counts
the messages it receives, until ``drain_s`` has passed or nothing arrived for a second; on
``stop`` (held idle connections) it stops at once. Then it drops its connections, a hundred
every 50 ms, writes its results to ``SPEC.json.out``, prints ``done`` and exits.

Spec: ``{"conns": [{"url", "token", "join": [room ids], "dm": user id | null}],
"sends": [conn index, ...], "rate", "duration_s", "drain_s", "concurrency", "proc", "run"}``;
a sending connection sends to its direct room if it opened one, else to its first joined room;
client ids start with ``run``.
Message bodies are ``b <due time> p<proc>c<index>``; times are ``time.monotonic()``, one clock
for every process on the machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import resource
import sys
import time
from collections import Counter
from typing import Any

import uvloop

from benchmarks.wsclient import RawSocket

_BODY = re.compile(rb'"body":\s*"b ([0-9.]+) (p[0-9]+c[0-9]+)"')
# Latencies are kept as a histogram of 0.05 ms buckets: processes merge them by adding.
BUCKET_S = 0.00005
CLOSE_BATCH, CLOSE_PAUSE_S = 100, 0.05
ATTEMPTS = 3  # to open one connection, as a client would retry


class Conn:
    """One client connection, and the answers it waits for."""

    def __init__(self, proc: int, index: int) -> None:
        self.index = index
        self.tag = f"p{proc}c{index}".encode()
        self.sock: RawSocket | None = None
        self.room_id: str | None = None
        self.waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}

    def send(self, frame: dict[str, Any]) -> None:
        assert self.sock is not None
        self.sock.send_text(json.dumps(frame).encode())

    async def ask(self, frame: dict[str, Any], key: str = "cid") -> dict[str, Any]:
        """Send a frame and return the answer (the frame whose ``key`` matches); ack only."""
        future = asyncio.get_running_loop().create_future()
        self.waiting[frame[key]] = future
        if frame.get("type") != "welcome":
            self.send(frame)
        answer = await asyncio.wait_for(future, 30)
        if answer.get("type") not in ("ack", "welcome"):
            raise RuntimeError(f"{frame['type']} refused: {answer}")
        return answer


class Load:
    """The connections of this process, their counters and the latency histogram."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.conns: list[Conn] = []
        self.failed: Counter[str] = Counter()
        self.retried: Counter[str] = Counter()
        self.deliveries = 0
        self.hist: Counter[int] = Counter()
        # Due time of each message sent and not yet acknowledged, and the wait for the ack
        # (the journal's confirm, mostly).
        self.due: dict[str, float] = {}
        self.ack_hist: Counter[int] = Counter()
        self.acked = 0
        self.errors: Counter[str] = Counter()
        self.last_recv = 0.0
        self.sent = 0

    async def open_all(self) -> None:
        gate = asyncio.Semaphore(int(self.spec.get("concurrency", 100)))

        async def one(i: int, conn: dict[str, Any]) -> None:
            async with gate:
                for attempt in range(ATTEMPTS):
                    try:
                        self.conns.append(await self.open(i, conn))
                        return
                    except Exception as exc:  # counted and reported: a refusal is a result
                        reason = type(exc).__name__ + ": " + str(exc)[:120]
                        if attempt + 1 == ATTEMPTS:
                            self.failed[reason] += 1
                        else:
                            self.retried[reason] += 1
                            await asyncio.sleep(0.2)

        await asyncio.gather(*(one(i, c) for i, c in enumerate(self.spec["conns"])))
        self.conns.sort(key=lambda c: c.index)

    def on_text(self, conn: Conn, data: bytes, now: float) -> None:
        """Count and time a message frame; hand answers to whoever waits for them."""
        match = _BODY.search(data)
        if match is not None:
            self.deliveries += 1
            self.last_recv = now
            if match.group(2) != conn.tag:  # a sender's own copy is not a delivery wait
                self.hist[int((now - float(match.group(1))) / BUCKET_S)] += 1
            return
        if conn.waiting and (b'"cid"' in data or b'"welcome"' in data):
            frame = json.loads(data)
            future = conn.waiting.pop(frame.get("cid") or frame.get("type"), None)
            if future is not None and not future.done():
                future.set_result(frame)
                return
        if b'"ack"' in data or b'"error"' in data:
            frame = json.loads(data)
            if frame.get("type") == "ack":
                self.acked += 1
                due = self.due.pop(frame.get("cid"), None)
                if due is not None:
                    self.ack_hist[int((now - due) / BUCKET_S)] += 1
            elif frame.get("type") == "error":
                self.errors[str(frame.get("code"))] += 1

    async def send(self, start: float) -> None:
        """Send ``rate`` messages a second for ``duration_s`` from the sending connections."""
        senders = [self.conns[i] for i in self.spec.get("sends", []) if i < len(self.conns)]
        rate, duration = float(self.spec.get("rate", 0)), float(self.spec.get("duration_s", 0))
        if not senders or rate <= 0:
            return
        total = int(rate * duration)
        # A client id is the message's identity to the gateway: a run must not reuse another's.
        run = self.spec.get("run", "")
        i = 0
        while i < total:
            now = time.monotonic()
            while i < total and start + i / rate <= now:
                conn = senders[i % len(senders)]
                due = start + i / rate
                frame = {"type": "message.send", "cid": f"{run}{conn.tag.decode()}-{i}",
                         "room_id": conn.room_id, "body": f"b {due:.6f} {conn.tag.decode()}"}
                self.due[frame["cid"]] = due
                try:
                    conn.send(frame)
                    self.sent += 1
                except Exception:
                    self.errors["send_failed"] += 1
                i += 1
            await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))

    def result(self, start: float) -> dict[str, Any]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {"connected": len(self.conns), "failed": dict(self.failed), "sent": self.sent,
                "acked": self.acked, "errors": dict(self.errors), "deliveries": self.deliveries,
                "start": start, "last_recv": self.last_recv,
                "hist": {str(k): v for k, v in self.hist.items()},
                "ack_hist": {str(k): v for k, v in self.ack_hist.items()},
                "cpu_s": round(usage.ru_utime + usage.ru_stime, 3)}


    async def open(self, index: int, spec: dict[str, Any]) -> Conn:
        """Connect, wait for the welcome, open the direct room or join the rooms."""
        conn = Conn(int(self.spec.get("proc", 0)), index)
        # The welcome should come first, but a room's broadcasts may overtake it: either way
        # it is found by its type.
        welcome = asyncio.ensure_future(conn.ask({"type": "welcome"}, key="type"))
        try:
            conn.sock = await RawSocket.open(
                spec["url"], lambda data, now: self.on_text(conn, data, now),
                headers={"Authorization": f"Bearer {spec['token']}"})
            await welcome
        finally:
            welcome.cancel()
        if spec.get("dm"):
            ack = await conn.ask({"type": "dm.open", "cid": "dm", "user_id": spec["dm"]})
            conn.room_id = ack["room"]["id"]
        for i, room in enumerate(spec.get("join") or ()):
            await conn.ask({"type": "room.join", "cid": f"join{i}", "room_id": room})
            conn.room_id = conn.room_id or room
        return conn


async def _line() -> str:
    return (await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)).strip()


async def main_async(spec: dict[str, Any]) -> dict[str, Any]:
    load = Load(spec)
    await load.open_all()
    print("ready", json.dumps({"connected": len(load.conns), "failed": dict(load.failed),
                               "retried": dict(load.retried)}), flush=True)
    command = await _line()
    start = time.monotonic()
    if command == "go":
        await load.send(start)
        # Wait for deliveries in flight: until the drain time is up or a quiet second.
        end = start + float(spec.get("duration_s", 0))
        while time.monotonic() < end:
            await asyncio.sleep(0.05)
        deadline = time.monotonic() + float(spec.get("drain_s", 5))
        while time.monotonic() < deadline and time.monotonic() - max(load.last_recv, end) < 1:
            await asyncio.sleep(0.05)
    result = load.result(start)
    # Drop the connections a few at a time: each costs the gateway a presence update, and ten
    # thousand at once would be a storm on Redis rather than a measurement.
    for i in range(0, len(load.conns), CLOSE_BATCH):
        for conn in load.conns[i:i + CLOSE_BATCH]:
            assert conn.sock is not None
            conn.sock.abort()
        await asyncio.sleep(CLOSE_PAUSE_S)
    return result


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m benchmarks.chatload SPEC.json", file=sys.stderr)
        return 2
    with open(args[0]) as f:
        spec = json.load(f)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    result = uvloop.run(main_async(spec))
    # The results go to a file beside the spec (histograms can outgrow a pipe's buffer).
    with open(args[0] + ".out", "w") as f:
        json.dump(result, f)
    print("done", flush=True)
    # Skip the interpreter's teardown of thousands of closed connection objects.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
