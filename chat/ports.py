"""What the gateway needs from the outside, each with an in-process and a server-backed side.

    Fanout     live delivery of frames between gateway processes (in-process | Redis pub/sub)
    Presence   who is online/away, and who is in a room, with TTL heartbeats (in-process | Redis)
    Journal    durable record of messages, edits, deletes and reactions: ``append`` returns only
               once the record is safe (in-process archiver after its commit | RabbitMQ after
               the broker confirmed the batch it travelled in: records appended together go
               out as one message, a JSON array; stored later by ``veza serve chat-archiver``)

``chat.wiring.build_ports(settings)`` picks the implementations: Redis when ``VEZA_REDIS_URL`` is
set, RabbitMQ when ``VEZA_BROKER_URL`` is set, in-process otherwise (embedded defaults).

Journal records are JSON objects, one of (ids are UUID strings, ``at`` an ISO-8601 UTC time)::

    {"v": 1, "kind": "message", "id", "room_id", "author_id", "client_id", "body",
     "track_ms": int | null, "reply_to": id | null, "mentions": [user ids], "at"}
    {"v": 1, "kind": "edit", "id": message id, "actor_id", "body", "at"}
    {"v": 1, "kind": "delete", "id": message id, "actor_id", "at"}
    {"v": 1, "kind": "reaction", "id": message id, "user_id", "emoji", "on": bool, "at"}

On RabbitMQ a message carries a JSON array of them (the archiver also takes a single object).
The gateway checks permissions before appending; applying a record is idempotent
(``storage.chat_archive.apply_records``), so a redelivered record changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Protocol

# Fanout channels: one per room and one per user (their sockets on every process).
ROOM_CHANNEL = "room:{room_id}"
USER_CHANNEL = "user:{user_id}"

Deliver = Callable[[str, bytes], None]
Record = Mapping[str, Any]


class Fanout(Protocol):
    """Deliver frames published on a channel to every process subscribed to it, in order."""

    async def start(self, deliver: Deliver) -> None:
        """Begin calling ``deliver(channel, payload)`` for frames on subscribed channels."""

    def publish(self, channel: str, payload: bytes) -> None:
        """Queue ``payload`` for ``channel`` (this process's subscribers get it too)."""

    async def subscribe(self, channel: str) -> None:
        """Receive ``channel`` from now on (the first local member of a room or user)."""

    async def unsubscribe(self, channel: str) -> None:
        """Stop receiving ``channel`` (its last local member left)."""

    async def close(self) -> None:
        """Flush what is queued and disconnect."""


class Presence(Protocol):
    """Who is online, away or offline, and who is in which room, kept alive by heartbeats."""

    async def heartbeat(self, user_id: str, conn_id: str, state: str,
                        rooms: Collection[str], *, ttl_s: float) -> None:
        """Record that connection ``conn_id`` of ``user_id`` is ``state`` ('online' or 'away')
        and in ``rooms``, for ``ttl_s`` seconds unless renewed."""

    async def gone(self, user_id: str, conn_id: str) -> None:
        """Forget a closed connection at once."""

    async def states(self, user_ids: Sequence[str]) -> dict[str, str]:
        """Each user's state over all their live connections: online > away > offline."""

    async def in_room(self, room_id: str) -> list[str]:
        """The users with a live connection in ``room_id``."""

    async def connections(self, user_id: str) -> int:
        """How many live connections ``user_id`` has, over every process."""

    async def close(self) -> None:
        """Disconnect."""


class Journal(Protocol):
    """The durable record of chat writes."""

    async def start(self) -> None:
        """Connect; raise ``BrokerError`` (or ``DatabaseError``) when that is not possible."""

    async def append(self, record: Record) -> None:
        """Return once ``record`` is durable; raise a ``ServiceError`` if it is not."""

    async def close(self) -> None:
        """Finish what is in flight and disconnect."""
