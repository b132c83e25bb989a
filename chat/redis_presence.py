"""Presence in Redis: each connection's state and rooms live until its heartbeat stops.

Redis 7.0 cannot expire a hash field, so expiry is a score: per user, a sorted set of connection
ids scored by when each expires (plus a hash of their states); per room, a sorted set of
``user_id conn_id`` scored the same way; per connection, the set of its rooms (so a heartbeat
can take it out of the rooms it left). Readers ignore entries past their score and prune them
as they go, and every key expires with its newest entry, so a gateway killed with -9 leaves
nothing that outlives its TTL. Each call is one Lua script (atomic, on the server's clock, so
gateways with skewed clocks agree). One task talks to Redis: the calls that pile up while it
waits on Redis (``heartbeat``, ``gone``, ``states``, ``in_room``, from every socket) go out
together, in the order they were made, in one pipeline, so ten thousand sockets heartbeating or
closing at once cost a handful of round trips on one connection instead of ten thousand
connections. The client opens at most ``max_connections`` connections all the same.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Sequence
from typing import Any

import redis.exceptions
from redis.commands.core import AsyncScript

from chat.redis_fanout import redis_client
from veza.errors import ConfigError, ServiceError
from veza.settings import Settings

log = logging.getLogger(__name__)

# Milliseconds now on the server's clock; ``expire(key)`` makes a key live as long as its
# newest entry.
_COMMON = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function expire(key)
  local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if newest[2] then redis.call('PEXPIREAT', key, newest[2]) end
end
"""

# KEYS: user zset, user states hash, conn rooms set.
# ARGV: conn_id, state, ttl ms, room key prefix, member ("user conn"), room ids...
_HEARTBEAT = _COMMON + """
local conn, state, ttl, room_prefix, member = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local until_ms = now + ttl
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do
  redis.call('HDEL', KEYS[2], dead)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], until_ms, conn)
redis.call('HSET', KEYS[2], conn, state)
expire(KEYS[1])
redis.call('PEXPIREAT', KEYS[2], redis.call('PEXPIRETIME', KEYS[1]))
local now_in = {}
for i = 6, #ARGV do now_in[ARGV[i]] = true end
for _, room in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  if not now_in[room] then redis.call('ZREM', room_prefix .. room, member) end
end
redis.call('DEL', KEYS[3])
for i = 6, #ARGV do
  local key = room_prefix .. ARGV[i]
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  redis.call('ZADD', key, until_ms, member)
  expire(key)
  redis.call('SADD', KEYS[3], ARGV[i])
end
if #ARGV >= 6 then redis.call('PEXPIREAT', KEYS[3], until_ms) end
return 1
"""

# KEYS: user zset, user states hash, conn rooms set. ARGV: conn_id, room key prefix, member.
_GONE = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
for _, room in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  redis.call('ZREM', ARGV[2] .. room, ARGV[3])
end
redis.call('DEL', KEYS[3])
return 1
"""

# KEYS: user zset, user states hash, for each user. Returns a state per user.
_STATES = _COMMON + """
local out = {}
for i = 1, #KEYS, 2 do
  local best = 'offline'
  local live = redis.call('ZRANGEBYSCORE', KEYS[i], now, '+inf')
  if #live > 0 then
    for _, state in ipairs(redis.call('HMGET', KEYS[i + 1], unpack(live))) do
      if state == 'online' then best = 'online' break end
      if state == 'away' then best = 'away' end
    end
  end
  out[#out + 1] = best
end
return out
"""

# KEYS: room zset. Returns the live members ("user conn"), pruning the others.
_IN_ROOM = _COMMON + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
"""

# KEYS: user zset. Returns how many of the user's connections are live.
_CONNECTIONS = _COMMON + """
return redis.call('ZCOUNT', KEYS[1], now, '+inf')
"""

STATES = ("online", "away")
# Users per script call in ``states``: a bounded script run, many calls in one pipeline.
_STATES_CHUNK = 500
# Script calls per pipeline: large enough that a burst takes few round trips, small
# enough that one pipeline does not hold Redis (or this loop) for long.
_CALL_BATCH = 500

_Call = tuple[AsyncScript, list[str], list[str | int], "asyncio.Future[Any]"]


class RedisPresence:
    """Keep who is online, away and in which room in Redis, with TTL heartbeats."""

    def __init__(self, settings: Settings, *, max_connections: int = 16) -> None:
        if settings.redis_url is None:
            raise ConfigError("Redis presence needs VEZA_REDIS_URL (redis://...)")
        self._keys = f"{settings.queue_prefix}:chat:presence:"
        # A read timeout: one task carries every call, so a Redis that stops answering must
        # fail the pipeline rather than hold every socket's presence forever.
        self._redis = redis_client(settings.redis_url, f"{settings.queue_prefix}:chat:presence",
                                   max_connections=max_connections, socket_timeout=5.0)
        self._heartbeat = self._redis.register_script(_HEARTBEAT)
        self._gone = self._redis.register_script(_GONE)
        self._states = self._redis.register_script(_STATES)
        self._in_room = self._redis.register_script(_IN_ROOM)
        self._connections = self._redis.register_script(_CONNECTIONS)
        self._calls: list[_Call] = []
        self._queued: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None
        self._closed = False
        self.round_trips = 0  # pipelines sent

    def _user_keys(self, user_id: str) -> list[str]:
        return [f"{self._keys}user:{user_id}", f"{self._keys}state:{user_id}"]

    async def heartbeat(self, user_id: str, conn_id: str, state: str,
                        rooms: Collection[str], *, ttl_s: float) -> None:
        """Record that connection ``conn_id`` of ``user_id`` is ``state`` ('online' or 'away')
        and in ``rooms``, for ``ttl_s`` seconds unless renewed."""
        if state not in STATES:
            raise ValueError(f"presence state must be online or away, got {state!r}")
        if not ttl_s > 0:
            raise ValueError(f"presence ttl must be positive, got {ttl_s!r}")
        keys = [*self._user_keys(user_id), f"{self._keys}conn:{conn_id}:rooms"]
        args: list[str | int] = [conn_id, state, max(1, round(ttl_s * 1000)), f"{self._keys}room:",
                f"{user_id} {conn_id}", *rooms]
        await self._call(self._heartbeat, keys, args)

    async def gone(self, user_id: str, conn_id: str) -> None:
        """Forget a closed connection at once."""
        keys = [*self._user_keys(user_id), f"{self._keys}conn:{conn_id}:rooms"]
        await self._call(self._gone, keys, [conn_id, f"{self._keys}room:",
                                             f"{user_id} {conn_id}"])

    async def _call(self, script: AsyncScript, keys: list[str],
                    args: list[str | int]) -> Any:
        """Queue one script call for the Redis task and return its result."""
        if self._closed:
            raise ServiceError("presence unavailable: closed")
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._calls.append((script, keys, args, done))
        if self._queued is None:
            self._queued = asyncio.Event()
        self._queued.set()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work_loop(), name="presence-redis")
        # A caller that gives up cancels only its own future, never the pipeline.
        return await done

    async def _work_loop(self) -> None:
        assert self._queued is not None
        queued = self._queued
        while True:
            queued.clear()
            if not self._calls:
                if self._closed:
                    return
                await queued.wait()
                continue
            batch, self._calls = self._calls[:_CALL_BATCH], self._calls[_CALL_BATCH:]
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for script, keys, args, _done in batch:
                        await script(keys=keys, args=args, client=pipe)
                    results: list[Any] = await pipe.execute(raise_on_error=False)
            except (redis.exceptions.RedisError, OSError) as exc:
                results = [exc] * len(batch)
            except Exception as exc:  # the task must outlive one bad batch
                log.exception("presence calls failed")
                results = [exc] * len(batch)
            self.round_trips += 1
            for (_script, _keys, _args, done), result in zip(batch, results, strict=True):
                if done.done():
                    continue
                if isinstance(result, Exception):
                    done.set_exception(ServiceError(f"presence unavailable: {result}"))
                    done.exception()  # retrieved: an abandoned call logs nothing
                else:
                    done.set_result(result)

    async def states(self, user_ids: Sequence[str]) -> dict[str, str]:
        """Each user's state over all their live connections: online > away > offline."""
        users = list(dict.fromkeys(user_ids))
        if not users:
            return {}
        chunks = [users[i:i + _STATES_CHUNK] for i in range(0, len(users), _STATES_CHUNK)]
        results = await asyncio.gather(*(
            self._call(self._states, [k for u in chunk for k in self._user_keys(u)], [])
            for chunk in chunks))
        states = [s.decode() if isinstance(s, bytes) else str(s)
                  for result in results for s in result]
        return dict(zip(users, states, strict=True))

    async def in_room(self, room_id: str) -> list[str]:
        """The users with a live connection in ``room_id``."""
        members = await self._call(self._in_room, [f"{self._keys}room:{room_id}"], [])
        users = (m.decode().split(" ", 1)[0] for m in members)
        return list(dict.fromkeys(users))

    async def connections(self, user_id: str) -> int:
        """How many live connections ``user_id`` has, over every process."""
        return int(await self._call(self._connections, self._user_keys(user_id)[:1], []))

    async def close(self) -> None:
        """Send the calls already queued and disconnect."""
        self._closed = True
        worker = self._worker
        if worker is not None and self._queued is not None:
            self._queued.set()
            try:
                await asyncio.wait_for(asyncio.shield(worker), 10.0)
            except TimeoutError:
                log.warning("closing presence with %d calls unsent", len(self._calls))
                worker.cancel()
                await asyncio.gather(worker, return_exceptions=True)
        await self._redis.aclose()
