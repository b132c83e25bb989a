"""In-process ports for embedded defaults: fan-out, presence and a journal stored in batches."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection, Sequence
from concurrent.futures import Executor

from chat.ports import Deliver, Record
from storage.chat_archive import apply_records
from storage.db import Database
from veza.errors import DatabaseError, ServiceError, ValidationError, VezaError

log = logging.getLogger(__name__)

_RANK = {"online": 2, "away": 1}
BATCH = 500


class LocalFanout:
    """Deliver published frames to this process's subscribers at once, in order."""

    def __init__(self) -> None:
        self._deliver: Deliver | None = None
        self._channels: set[str] = set()

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver

    def publish(self, channel: str, payload: bytes) -> None:
        if self._deliver is not None and channel in self._channels:
            self._deliver(channel, payload)

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)

    async def close(self) -> None:
        self._deliver = None


class LocalPresence:
    """Connections' states and rooms with expiry times, in this process's memory."""

    def __init__(self) -> None:
        # conn_id -> (user_id, state, rooms, expires at on the monotonic clock)
        self._conns: dict[str, tuple[str, str, frozenset[str], float]] = {}
        self._by_user: dict[str, set[str]] = {}

    async def heartbeat(self, user_id: str, conn_id: str, state: str,
                        rooms: Collection[str], *, ttl_s: float) -> None:
        self._conns[conn_id] = (user_id, state, frozenset(rooms), time.monotonic() + ttl_s)
        self._by_user.setdefault(user_id, set()).add(conn_id)

    async def gone(self, user_id: str, conn_id: str) -> None:
        self._drop(user_id, conn_id)

    def _drop(self, user_id: str, conn_id: str) -> None:
        self._conns.pop(conn_id, None)
        conns = self._by_user.get(user_id)
        if conns is not None:
            conns.discard(conn_id)
            if not conns:
                del self._by_user[user_id]

    def _live(self, conn_id: str, now: float) -> tuple[str, str, frozenset[str], float] | None:
        entry = self._conns.get(conn_id)
        if entry is not None and entry[3] <= now:
            self._drop(entry[0], conn_id)
            return None
        return entry

    async def states(self, user_ids: Sequence[str]) -> dict[str, str]:
        now = time.monotonic()
        result: dict[str, str] = {}
        for user in user_ids:
            best = 0
            for conn_id in list(self._by_user.get(user, ())):
                entry = self._live(conn_id, now)
                if entry is not None:
                    best = max(best, _RANK.get(entry[1], 0))
            result[user] = {2: "online", 1: "away"}.get(best, "offline")
        return result

    async def connections(self, user_id: str) -> int:
        now = time.monotonic()
        return sum(1 for conn_id in list(self._by_user.get(user_id, ()))
                   if self._live(conn_id, now) is not None)

    async def in_room(self, room_id: str) -> list[str]:
        now = time.monotonic()
        users = {entry[0] for conn_id in list(self._conns)
                 if (entry := self._live(conn_id, now)) is not None and room_id in entry[2]}
        return sorted(users)

    async def close(self) -> None:
        self._conns.clear()
        self._by_user.clear()


class LocalJournal:
    """Store records in PostgreSQL in batches from one task; ``append`` returns after commit."""

    def __init__(self, db: Database, executor: Executor | None = None) -> None:
        self.db = db
        self._executor = executor
        self._queue: asyncio.Queue[tuple[Record, asyncio.Future[None]]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._busy = False

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="chat-journal")

    async def append(self, record: Record) -> None:
        if self._queue is None or self._task is None or self._task.done():
            raise ServiceError("the chat journal is not running")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((record, future))
        await future

    def _store(self, records: list[Record]) -> list[tuple[Record, str]]:
        with self.db.transaction() as cur:
            applied = apply_records(cur, records)
        return applied.rejected

    async def _run(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            # Whatever queued up while the previous batch was being stored goes in one commit.
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            self._busy = True
            try:
                rejected = await loop.run_in_executor(
                    self._executor, self._store, [record for record, _ in batch])
            except VezaError as exc:
                failure: Exception = exc
            except Exception as exc:  # a driver error: the writes are not durable
                log.exception("chat journal batch failed")
                failure = DatabaseError(f"chat records not stored: {exc}")
            else:
                self._busy = False
                bad = {id(record): why for record, why in rejected}
                for record, future in batch:
                    if future.done():
                        continue
                    if id(record) in bad:
                        future.set_exception(ValidationError({"record": bad[id(record)]}))
                    else:
                        future.set_result(None)
                continue
            self._busy = False
            for _, future in batch:
                if not future.done():
                    future.set_exception(failure)

    async def close(self) -> None:
        if self._task is None or self._queue is None:
            return
        # Let what is queued be stored before stopping.
        deadline = time.monotonic() + 5.0
        while (self._busy or not self._queue.empty()) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        self._task = None
