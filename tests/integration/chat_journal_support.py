"""Helpers of the chat journal tests: rows to post into, records, and a look into the queues."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pika
import psycopg2
from uuid6 import uuid7

from chat.archiver import Archiver
from chat.journal_queue import queue_arguments, queue_name
from veza.settings import Settings


def user_and_room(database_url: str, handle: str = "ada") -> tuple[str, str]:
    """Create a user and a public room of theirs; return both ids."""
    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("INSERT INTO users (handle) VALUES (%s) RETURNING id", (handle,))
            user = str(cur.fetchone()[0])
            cur.execute("INSERT INTO chat_rooms (kind, name, created_by) VALUES ('public', 'r', "
                        "%s) RETURNING id", (user,))
            room = str(cur.fetchone()[0])
    finally:
        conn.close()
    return user, room


def message(room: str, author: str, client_id: str, body: str | None = None) -> dict[str, Any]:
    """Return a journal record of a new message."""
    return {"v": 1, "kind": "message", "id": str(uuid7()), "room_id": room, "author_id": author,
            "client_id": client_id, "body": body if body is not None else f"says {client_id}",
            "track_ms": None, "reply_to": None, "mentions": [],
            "at": datetime.now(UTC).isoformat()}


def stored(database_url: str, room: str) -> list[tuple[str, str]]:
    """Return (client id, body) of the room's stored messages, oldest first."""
    conn = psycopg2.connect(database_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT client_id, body FROM chat_messages WHERE room_id = %s "
                        "ORDER BY id", (room,))
            return [(str(a), str(b)) for a, b in cur.fetchall()]
    finally:
        conn.close()


@contextmanager
def amqp(broker_url: str) -> Iterator[Any]:
    """Yield a pika channel on ``broker_url``."""
    connection = pika.BlockingConnection(pika.URLParameters(broker_url))
    try:
        yield connection.channel()
    finally:
        if connection.is_open:
            connection.close()


def depth(broker_url: str, queue: str) -> int:
    """Return how many messages wait in ``queue`` (not counting those delivered, unacked)."""
    with amqp(broker_url) as channel:
        return int(channel.queue_declare(queue, passive=True).method.message_count)


def drain(broker_url: str, queue: str) -> list[tuple[bytes, dict[str, Any]]]:
    """Take every message of ``queue``: (body, headers)."""
    taken: list[tuple[bytes, dict[str, Any]]] = []
    with amqp(broker_url) as channel:
        while True:
            method, properties, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                return taken
            taken.append((body, dict(properties.headers or {})))


def bodies(messages: list[tuple[bytes, dict[str, Any]]]) -> list[Any]:
    return [json.loads(body) for body, _ in messages]


def records_in(messages: list[tuple[bytes, dict[str, Any]]]) -> list[Any]:
    """Return the records of journal messages, each a batch (JSON array) or one record."""
    records: list[Any] = []
    for body in bodies(messages):
        records.extend(body if isinstance(body, list) else [body])
    return records


def publish(settings: Settings, *bodies: bytes) -> None:
    """Publish raw message bodies to the journal queue (declared first), confirmed."""
    assert settings.broker_url is not None
    with amqp(settings.broker_url) as channel:
        channel.confirm_delivery()
        channel.queue_declare(queue_name(settings), durable=True,
                              arguments=queue_arguments(settings))
        for body in bodies:
            channel.basic_publish("", queue_name(settings), body, mandatory=True)


def set_policy(broker_url: str, name: str, pattern: str, definition: dict[str, Any]) -> None:
    """Apply a RabbitMQ policy to the queues of ``broker_url``'s vhost matching ``pattern``."""
    vhost = urllib.parse.unquote(broker_url.rsplit("/", 1)[1])
    subprocess.run(["rabbitmqctl", "-q", "set_policy", "-p", vhost, "--apply-to", "queues",
                    name, pattern, json.dumps(definition)],
                   check=True, capture_output=True, timeout=60)


def clear_policy(broker_url: str, name: str) -> None:
    """Remove a policy set by ``set_policy``, if it is still there."""
    vhost = urllib.parse.unquote(broker_url.rsplit("/", 1)[1])
    subprocess.run(["rabbitmqctl", "-q", "clear_policy", "-p", vhost, name],
                   check=False, capture_output=True, timeout=60)


def wait_for(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@contextmanager
def running_archiver(settings: Settings, **options: Any) -> Iterator[Archiver]:
    """Run an archiver in a thread for the block; stop it and wait for it afterwards."""
    archiver = Archiver(settings, **options)
    stop = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            archiver.run(stop)
        except BaseException as exc:  # reported by the test, not lost in the thread
            failure.append(exc)

    thread = threading.Thread(target=run, name="chat-archiver", daemon=True)
    thread.start()
    try:
        yield archiver
    finally:
        stop.set()
        thread.join(timeout=30)
        assert not thread.is_alive(), "the archiver did not stop"
    assert not failure, failure
