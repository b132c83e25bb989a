"""Journal records reach the chat tables once, whatever is delivered twice or is malformed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg2
import pytest
from psycopg2.extras import RealDictCursor
from uuid6 import uuid7

from storage.chat_archive import apply_records


@pytest.fixture
def cur(database_url: str) -> Iterator[RealDictCursor]:
    conn = psycopg2.connect(database_url)
    conn.autocommit = False
    with conn.cursor(cursor_factory=RealDictCursor) as cursor:
        yield cursor
    conn.close()


def _user(cur: RealDictCursor, handle: str) -> str:
    cur.execute("INSERT INTO users (handle) VALUES (%s) RETURNING id", (handle,))
    return str(cur.fetchone()["id"])


def _room(cur: RealDictCursor, owner: str) -> str:
    cur.execute("INSERT INTO chat_rooms (kind, name, created_by) VALUES ('public', 'r', %s) "
                "RETURNING id", (owner,))
    return str(cur.fetchone()["id"])


def _message(room: str, author: str, client_id: str, body: str = "hello",
             at: datetime | None = None) -> dict[str, Any]:
    return {"v": 1, "kind": "message", "id": str(uuid7()), "room_id": room, "author_id": author,
            "client_id": client_id, "body": body, "track_ms": None, "reply_to": None,
            "mentions": [], "at": (at or datetime.now(UTC)).isoformat()}


def _rows(cur: RealDictCursor, room: str) -> list[dict[str, Any]]:
    cur.execute("SELECT * FROM chat_messages WHERE room_id = %s ORDER BY id", (room,))
    return list(cur.fetchall())


def test_a_redelivered_batch_stores_each_message_once(cur: RealDictCursor) -> None:
    ada = _user(cur, "ada")
    room = _room(cur, ada)
    batch = [_message(room, ada, f"c{i}", f"line {i}") for i in range(50)]
    assert apply_records(cur, batch).records == 50
    assert apply_records(cur, batch + batch[:3]).records == 53
    rows = _rows(cur, room)
    assert [r["body"] for r in rows] == [f"line {i}" for i in range(50)]


def test_a_resent_client_id_maps_to_the_first_message(cur: RealDictCursor) -> None:
    ada = _user(cur, "ada")
    room = _room(cur, ada)
    first, again = _message(room, ada, "same", "first"), _message(room, ada, "same", "again")
    apply_records(cur, [first])
    apply_records(cur, [again])
    rows = _rows(cur, room)
    assert [(str(r["id"]), r["body"]) for r in rows] == [(first["id"], "first")]


def test_edits_deletes_and_reactions_apply_once_and_in_order(cur: RealDictCursor) -> None:
    ada, bob = _user(cur, "ada"), _user(cur, "bob")
    room = _room(cur, ada)
    t0 = datetime.now(UTC)
    msg = _message(room, ada, "m1", "draft", at=t0)
    newer = {"v": 1, "kind": "edit", "id": msg["id"], "actor_id": ada, "body": "final",
             "at": (t0 + timedelta(seconds=2)).isoformat()}
    older = {**newer, "body": "stale", "at": (t0 + timedelta(seconds=1)).isoformat()}
    like = {"v": 1, "kind": "reaction", "id": msg["id"], "user_id": bob, "emoji": "🔥",
            "on": True, "at": t0.isoformat()}
    # The edit and the reaction arrive in the same batch as the message, the older edit late.
    apply_records(cur, [msg, newer, like, like])
    apply_records(cur, [older])
    (row,) = _rows(cur, room)
    assert row["body"] == "final"
    cur.execute("SELECT user_id::text, emoji FROM chat_reactions")
    assert cur.fetchall() == [{"user_id": bob, "emoji": "🔥"}]
    apply_records(cur, [{**like, "on": False}])
    cur.execute("SELECT count(*) AS n FROM chat_reactions")
    assert cur.fetchone()["n"] == 0
    gone = {"v": 1, "kind": "delete", "id": msg["id"], "actor_id": bob,
            "at": (t0 + timedelta(seconds=3)).isoformat()}
    apply_records(cur, [gone])
    apply_records(cur, [{**gone, "actor_id": ada, "at": (t0 + timedelta(seconds=9)).isoformat()}])
    (row,) = _rows(cur, room)
    assert str(row["deleted_by"]) == bob
    # An edit after the delete does not bring the message back.
    late = (t0 + timedelta(seconds=10)).isoformat()
    apply_records(cur, [{**newer, "body": "undead", "at": late}])
    (row,) = _rows(cur, room)
    assert row["body"] == "final" and row["deleted_at"] is not None


def test_a_bad_record_is_set_aside_and_the_rest_is_stored(cur: RealDictCursor) -> None:
    ada = _user(cur, "ada")
    room = _room(cur, ada)
    good = [_message(room, ada, f"c{i}") for i in range(3)]
    too_long = _message(room, ada, "long", "x" * 4001)
    no_body = {k: v for k, v in _message(room, ada, "nobody").items() if k != "body"}
    unknown = {"v": 1, "kind": "shout", "id": str(uuid.uuid4())}
    applied = apply_records(cur, [good[0], too_long, good[1], no_body, unknown, good[2]])
    assert applied.records == 3
    assert [r["kind"] for r, _ in applied.rejected] == ["message", "message", "shout"]
    assert "chat_messages_body_check" in applied.rejected[0][1]
    assert [r["client_id"] for r in _rows(cur, room)] == ["c0", "c1", "c2"]


def test_messages_for_a_deleted_room_are_dropped(cur: RealDictCursor) -> None:
    ada = _user(cur, "ada")
    room = _room(cur, ada)
    cur.execute("DELETE FROM chat_rooms WHERE id = %s", (room,))
    applied = apply_records(cur, [_message(room, ada, "late")])
    assert applied.rejected == []
    assert _rows(cur, room) == []
