"""A chat gateway on a free port over a test database, and real WebSocket clients for it."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from chat.runner import GatewayThread
from storage.db import Database
from storage.local import LocalStore
from veza.accounts import AccountService
from veza.runtime import Services
from veza.settings import Settings

PASSWORD = "correct horse battery"
_cids = itertools.count(1)


@dataclass
class User:
    id: str
    handle: str
    token: str


class Client:
    """One socket: send frames, wait for the ones a test expects (others are kept)."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.inbox: list[dict[str, Any]] = []
        self.welcome = self.expect("welcome")

    def send(self, frame: dict[str, Any] | str | bytes) -> None:
        self.ws.send(frame if isinstance(frame, str | bytes) else json.dumps(frame))

    def _next(self, timeout: float) -> dict[str, Any]:
        return dict(json.loads(self.ws.recv(timeout=timeout)))

    def expect(self, kind: str, timeout: float = 5.0, **match: Any) -> dict[str, Any]:
        """Return the first frame of ``kind`` whose fields equal ``match``."""
        def fits(f: dict[str, Any]) -> bool:
            return f.get("type") == kind and all(f.get(k) == v for k, v in match.items())
        for i, frame in enumerate(self.inbox):
            if fits(frame):
                return self.inbox.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {kind} {match} within {timeout} s; got {self.inbox}")
            try:
                frame = self._next(left)
            except TimeoutError:
                continue
            if fits(frame):
                return frame
            self.inbox.append(frame)

    def nothing(self, kind: str, wait: float = 0.5, **match: Any) -> None:
        """Assert that no frame of ``kind`` (with ``match``) arrives within ``wait`` seconds."""
        try:
            frame = self.expect(kind, timeout=wait, **match)
        except AssertionError:
            return
        raise AssertionError(f"unexpected {frame}")

    def call(self, kind: str, /, **fields: Any) -> dict[str, Any]:
        """Send a frame with a new cid and return its ack or error."""
        cid = fields.pop("cid", None) or f"c{next(_cids)}"
        self.send({"type": kind, "cid": cid, **fields})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for i, frame in enumerate(self.inbox):
                if frame.get("cid") == cid and frame.get("type") in ("ack", "error"):
                    return self.inbox.pop(i)
            frame = self._next(deadline - time.monotonic())
            if frame.get("cid") == cid and frame.get("type") in ("ack", "error"):
                return frame
            self.inbox.append(frame)
        raise AssertionError(f"no answer to {kind}")

    def ok(self, kind: str, /, **fields: Any) -> dict[str, Any]:
        answer = self.call(kind, **fields)
        assert answer["type"] == "ack", answer
        return answer

    def close(self) -> None:
        self.ws.close()


class Chat:
    """A running gateway with its services, and helpers to make users and clients."""

    def __init__(self, settings: Settings) -> None:
        assert settings.database_url is not None
        self.services = Services(settings=settings, db=Database(settings.database_url),
                                 store=LocalStore(settings.data_dir / "store",
                                                  base_url="http://127.0.0.1",
                                                  signing_key="k" * 32))
        self.accounts = AccountService(self.services)
        self.thread = GatewayThread(self.services, heartbeat_s=0.5)
        self.port = self.thread.start("127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self.port}/ws"
        self.clients: list[Client] = []

    def user(self, handle: str | None = None, role: str = "artist") -> User:
        handle = handle or f"u{uuid.uuid4().hex[:10]}"
        tokens = self.accounts.create(handle, f"{handle}@example.org", PASSWORD, role)
        return User(id=str(tokens.user.id), handle=handle, token=tokens.access_token)

    def connect(self, user: User) -> Client:
        ws = connect(self.url, additional_headers={"Authorization": f"Bearer {user.token}"},
                     open_timeout=10, close_timeout=2, legacy=True)
        client = Client(ws)
        self.clients.append(client)
        return client

    def track(self, owner: User, visibility: str = "public") -> str:
        rows = self.services.db.execute(
            "INSERT INTO tracks (owner_id, title, visibility) VALUES (%s, 't', %s) RETURNING id",
            (owner.id, visibility))
        return str(rows[0]["id"])

    def close(self) -> None:
        for client in self.clients:
            try:
                client.close()
            except Exception:
                pass
        self.thread.stop()
        self.services.db.close()


def chat_settings(database_url: str, data_dir: Path, **changes: Any) -> Settings:
    return Settings(database_url=database_url, data_dir=data_dir, signing_key="s" * 64,
                    chat_rate_limit="1000/minute", chat_room_limit="1000/minute",
                    chat_presence_ttl_s=2.0).replace(**changes)


@pytest.fixture(name="chat")
def chat_fixture(database_url: str, tmp_path: Path) -> Iterator[Chat]:
    """A gateway of this test's own (import ``chat_fixture`` to use ``chat``)."""
    running = Chat(chat_settings(database_url, tmp_path))
    yield running
    running.close()
