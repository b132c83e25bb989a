"""Pick the chat ports from settings: in-process on embedded defaults, servers otherwise."""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass

from chat.ports import Fanout, Journal, Presence
from storage.db import Database
from veza.settings import Settings


@dataclass
class Ports:
    """The gateway's fan-out, presence and journal."""

    fanout: Fanout
    presence: Presence
    journal: Journal


def build_ports(settings: Settings, *, db: Database | None = None,
                executor: Executor | None = None) -> Ports:
    """Redis for fan-out and presence when ``redis_url`` is set, RabbitMQ for the journal when
    ``broker_url`` is set, in-process otherwise (the in-process journal needs ``db``)."""
    fanout: Fanout
    presence: Presence
    journal: Journal
    if settings.redis_url:
        from chat.redis_fanout import RedisFanout
        from chat.redis_presence import RedisPresence

        fanout, presence = RedisFanout(settings), RedisPresence(settings)
    else:
        from chat.local import LocalFanout, LocalPresence

        fanout, presence = LocalFanout(), LocalPresence()
    if settings.broker_url:
        from chat.rabbit_journal import RabbitJournal

        journal = RabbitJournal(settings)
    else:
        from chat.local import LocalJournal

        if db is None:
            raise ValueError("the in-process journal needs the database")
        journal = LocalJournal(db, executor)
    return Ports(fanout=fanout, presence=presence, journal=journal)
