"""An open-loop HTTP load generator: requests start on a fixed schedule, whatever the server does.

wrk is closed-loop: each connection waits for its answer before sending again, so a slow server
is sent less and its queueing never shows in the latencies (coordinated omission). wrk2 fixes
that but is not packaged in Debian, and pacing wrk from Lua (``delay()``) still waits per
connection. Here request *i* is due at ``start + i / rate``; its latency runs from that moment,
so time spent waiting for a free connection (the server being behind) counts.

Run as ``python -m benchmarks.loadgen --port P --rate R --duration S --paths FILE``; prints one
JSON object: achieved rate, statuses, and latency percentiles in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np


class _Pool:
    """Keep-alive HTTP/1.1 connections to one server, lent one request at a time."""

    def __init__(self, host: str, port: int, size: int) -> None:
        self.host, self.port = host, port
        self.free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = \
            asyncio.Queue()
        self.size = size

    async def open(self) -> None:
        for _ in range(self.size):
            self.free.put_nowait(await asyncio.open_connection(self.host, self.port))

    async def get(self, path: str) -> int:
        reader, writer = await self.free.get()
        try:
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            writer.close()
            reader, writer = await asyncio.open_connection(self.host, self.port)
            status = 0
        self.free.put_nowait((reader, writer))
        return status


async def _run(host: str, port: int, paths: list[str], *, rate: float, duration_s: float,
               warmup_s: float, connections: int, seed: int) -> dict[str, Any]:
    pool = _Pool(host, port, connections)
    await pool.open()
    rng = random.Random(seed)
    loop = asyncio.get_running_loop()
    total = int(rate * (warmup_s + duration_s))
    latencies = np.full(total, np.nan)
    statuses: Counter[int] = Counter()
    start = loop.time() + 0.05
    warm = int(rate * warmup_s)  # requests before this index are not measured

    async def one(i: int, due: float) -> None:
        status = await pool.get(paths[rng.randrange(len(paths))])
        latencies[i] = loop.time() - due
        if i >= warm:
            statuses[status] += 1

    tasks = []
    i = 0
    while i < total:
        now = loop.time()
        # Start every request that is due; if we woke late, they start now and their latency
        # still counts from when they were due.
        while i < total and start + i / rate <= now:
            tasks.append(asyncio.ensure_future(one(i, start + i / rate)))
            i += 1
        if i < total:
            await asyncio.sleep(max(0.0, start + i / rate - loop.time()))
    sent_s = loop.time() - start
    done, pending = await asyncio.wait(tasks, timeout=10)
    for task in pending:
        task.cancel()
    measured = latencies[warm:]
    unfinished = np.isnan(measured)
    finished = measured[~unfinished] * 1000
    # A request still unanswered has waited at least until now: percentiles over every request
    # sent, with those as lower bounds, so a server that falls behind cannot look fast.
    waited = (loop.time() - (start + np.arange(total) / rate))[warm:] * 1000
    everything = np.where(unfinished, waited, measured * 1000)
    pct = (np.percentile(everything, [50, 90, 99, 99.9]) if everything.size
           else [float("nan")] * 4)
    return {
        "rate_asked": rate,
        "requests": int(measured.size),
        "completed": int(finished.size),
        "timed_out": int(unfinished.sum()),
        "percentiles_are_lower_bounds": bool(unfinished.any()),
        "schedule_s": round(sent_s, 3),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "p50_ms": round(float(pct[0]), 3), "p90_ms": round(float(pct[1]), 3),
        "p99_ms": round(float(pct[2]), 3), "p999_ms": round(float(pct[3]), 3),
        "max_ms": round(float(finished.max()), 3) if finished.size else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--paths", type=Path, required=True, help="one request path a line")
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds not measured")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)
    run: Any = asyncio.run
    try:
        import uvloop  # a faster event loop leaves more of the machine to the server

        run = uvloop.run
    except ImportError:
        pass
    paths = [p for p in args.paths.read_text().splitlines() if p]
    started = time.process_time()
    result = run(_run(args.host, args.port, paths, rate=args.rate,
                              duration_s=args.duration, warmup_s=args.warmup,
                              connections=args.connections, seed=args.seed))
    result["cpu_s"] = round(time.process_time() - started, 3)
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
