"""Apply journal records (see ``chat.ports``) to the chat tables, idempotently and in batches.

Both journals end here: the in-process archiver of embedded defaults and
``veza serve chat-archiver`` reading RabbitMQ. A record delivered twice changes nothing the
second time: messages are keyed by their id and by (author, client id), an edit only replaces
an older edit, a delete keeps the first deletion, and reactions are set-like.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg2
from psycopg2.extras import RealDictCursor, execute_values

log = logging.getLogger(__name__)

_MESSAGE_ROW = ("(%s::uuid, %s::uuid, %s::uuid, %s, %s, %s::integer, %s::uuid, %s::uuid[], "
                "%s::timestamptz)")


@dataclass
class Applied:
    """What one call stored, and the records that could not be stored (with why)."""

    records: int = 0
    rejected: list[tuple[Mapping[str, Any], str]] = field(default_factory=list)


def _message_values(record: Mapping[str, Any]) -> tuple[Any, ...]:
    return (record["id"], record["room_id"], record["author_id"], record["client_id"],
            record["body"], record.get("track_ms"), record.get("reply_to"),
            list(record.get("mentions") or []), record["at"])


def _insert_messages(cur: RealDictCursor, records: Sequence[Mapping[str, Any]]) -> None:
    # A message for a room deleted in the meantime is dropped (the join), and its author may
    # have been deleted too (the left join keeps the message, authorless).
    execute_values(
        cur,
        """
        INSERT INTO chat_messages (id, room_id, author_id, client_id, body, track_ms, reply_to,
                                   mentions, created_at)
        SELECT v.id, v.room_id, u.id, v.client_id, v.body, v.track_ms, v.reply_to, v.mentions,
               v.created_at
        FROM (VALUES %s) AS v (id, room_id, author_id, client_id, body, track_ms, reply_to,
                               mentions, created_at)
        JOIN chat_rooms r ON r.id = v.room_id
        LEFT JOIN users u ON u.id = v.author_id
        ON CONFLICT DO NOTHING
        """,
        [_message_values(r) for r in records],
        template=_MESSAGE_ROW,
        page_size=500,
    )


def _apply_one(cur: RealDictCursor, record: Mapping[str, Any]) -> None:
    kind = record.get("kind")
    if kind == "message":
        _insert_messages(cur, [record])
    elif kind == "edit":
        cur.execute(
            """
            UPDATE chat_messages SET body = %s, edited_at = %s
            WHERE id = %s AND deleted_at IS NULL AND (edited_at IS NULL OR edited_at < %s)
            """,
            (record["body"], record["at"], record["id"], record["at"]),
        )
    elif kind == "delete":
        cur.execute(
            """
            UPDATE chat_messages SET deleted_at = %s, deleted_by = %s
            WHERE id = %s AND deleted_at IS NULL
            """,
            (record["at"], record["actor_id"], record["id"]),
        )
    elif kind == "reaction":
        if record["on"]:
            cur.execute(
                """
                INSERT INTO chat_reactions (message_id, user_id, emoji, created_at)
                SELECT m.id, u.id, %s, %s FROM chat_messages m, users u
                WHERE m.id = %s AND u.id = %s AND m.deleted_at IS NULL
                ON CONFLICT DO NOTHING
                """,
                (record["emoji"], record["at"], record["id"], record["user_id"]),
            )
        else:
            cur.execute(
                "DELETE FROM chat_reactions WHERE message_id = %s AND user_id = %s AND emoji = %s",
                (record["id"], record["user_id"], record["emoji"]),
            )
    else:
        raise ValueError(f"unknown journal record kind {kind!r}")


def _apply_batch(cur: RealDictCursor, records: Sequence[Mapping[str, Any]]) -> None:
    # Messages first, in one statement: an edit, delete or reaction in the same batch may
    # refer to a message of the same batch.
    messages = [r for r in records if r.get("kind") == "message"]
    if messages:
        _insert_messages(cur, messages)
    for record in records:
        if record.get("kind") != "message":
            _apply_one(cur, record)


def apply_records(cur: RealDictCursor, records: Sequence[Mapping[str, Any]]) -> Applied:
    """Apply ``records`` in the caller's transaction; a record that cannot be stored (a body
    over the limit, a missing field) is set aside in ``rejected`` instead of failing the rest.

    Connection failures propagate: the caller rolls back and the records are delivered again.
    """
    applied = Applied()
    if not records:
        return applied
    cur.execute("SAVEPOINT chat_batch")
    try:
        _apply_batch(cur, records)
    except (psycopg2.DataError, psycopg2.IntegrityError, psycopg2.ProgrammingError,
            KeyError, ValueError, TypeError) as exc:
        # One bad record: fall back to one savepoint per record to find it.
        log.warning("chat batch of %d records failed (%s); applying one by one",
                    len(records), str(exc).strip().splitlines()[0] if str(exc) else exc)
        cur.execute("ROLLBACK TO SAVEPOINT chat_batch")
        for record in records:
            cur.execute("SAVEPOINT chat_record")
            try:
                _apply_one(cur, record)
            except (psycopg2.DataError, psycopg2.IntegrityError, psycopg2.ProgrammingError,
                    KeyError, ValueError, TypeError) as exc:
                cur.execute("ROLLBACK TO SAVEPOINT chat_record")
                reason = str(exc).strip().splitlines()[0] if str(exc) else type(exc).__name__
                applied.rejected.append((record, reason))
                log.error("chat record rejected: %s (%s)", reason, record.get("kind"))
            else:
                cur.execute("RELEASE SAVEPOINT chat_record")
                applied.records += 1
    else:
        applied.records = len(records)
    cur.execute("RELEASE SAVEPOINT chat_batch")
    return applied
