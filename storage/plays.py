"""SQL for plays: one row per listening session, history, and per-track counts (see 0006)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from psycopg2.extras import RealDictCursor

from storage.visibility import visible_sql


@dataclass(frozen=True)
class HistoryEntry:
    play_id: int
    track_id: UUID
    title: str
    artist: str | None
    duration_s: float | None
    started_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class PlayStats:
    total_plays: int
    unique_listeners: int
    per_day: list[tuple[date, int]]


class Plays:
    """Plays over one transaction's cursor."""

    def __init__(self, cur: RealDictCursor) -> None:
        self.cur = cur

    def extend(self, track_id: UUID, *, listener_key: str, window_s: int) -> bool:
        """Extend the listener's play of the track if it was seen within ``window_s``; return
        whether it was.

        A transaction-level advisory lock on (listener, track), held until the transaction
        ends, makes two simultaneous fetches wait for each other, so the second one extends the
        play the first one started.
        """
        self.cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s), hashtext(%s))",
                         (listener_key, str(track_id)))
        self.cur.execute(
            """
            UPDATE plays SET last_seen_at = clock_timestamp()
            WHERE id = (SELECT id FROM plays
                        WHERE listener_key = %s AND track_id = %s
                          AND last_seen_at > clock_timestamp() - make_interval(secs => %s)
                        ORDER BY last_seen_at DESC LIMIT 1)
            """,
            (listener_key, track_id, window_s),
        )
        return bool(self.cur.rowcount)

    def start(self, track_id: UUID, *, listener_key: str, listener_id: UUID | None) -> None:
        """Start a play of the track by the listener (after ``extend`` found none open)."""
        self.cur.execute(
            """
            INSERT INTO plays (track_id, listener_id, listener_key, started_at, last_seen_at)
            VALUES (%s, %s, %s, clock_timestamp(), clock_timestamp())
            """,
            (track_id, listener_id, listener_key),
        )

    def history(self, listener_id: UUID, *, is_admin: bool, limit: int,
                before: tuple[datetime, int] | None = None) -> list[HistoryEntry]:
        """Return the listener's plays newest first, of tracks they may still see (the rule of
        veza/access.py: public, unlisted, or private and theirs, or any for an admin)."""
        after_cursor = ""
        params: dict[str, object] = {"viewer": listener_id, "admin": is_admin, "limit": limit}
        if before is not None:
            after_cursor = "AND (p.started_at, p.id) < (%(at)s, %(id)s)"
            params.update(at=before[0], id=before[1])
        self.cur.execute(
            f"""
            SELECT p.id AS play_id, t.id AS track_id, t.title, t.artist, t.duration_s,
                   p.started_at, p.last_seen_at
            FROM plays p JOIN tracks t ON t.id = p.track_id
            WHERE p.listener_id = %(viewer)s AND {visible_sql("t")}
              {after_cursor}
            ORDER BY p.started_at DESC, p.id DESC
            LIMIT %(limit)s
            """,
            params,
        )
        return [HistoryEntry(**row) for row in self.cur.fetchall()]

    def totals(self, track_ids: list[UUID]) -> dict[UUID, int]:
        """Return each track's plays, leaving out its owner's own (as ``stats`` counts them),
        in one statement (plays_track); a track never played counts 0."""
        self.cur.execute(
            """
            SELECT t.id, count(p.id) AS plays
            FROM tracks t
            LEFT JOIN plays p ON p.track_id = t.id AND p.listener_id IS DISTINCT FROM t.owner_id
            WHERE t.id = ANY (%s::uuid[])
            GROUP BY t.id
            """,
            ([str(i) for i in track_ids],),
        )
        return {UUID(str(row["id"])): int(row["plays"]) for row in self.cur.fetchall()}

    def stats(self, track_id: UUID, *, exclude_listener: UUID | None, days: int) -> PlayStats:
        """Return the track's plays, distinct listeners and plays per UTC day over ``days``
        days up to today, leaving out ``exclude_listener``'s plays."""
        self.cur.execute(
            """
            SELECT count(*) AS total, count(DISTINCT listener_key) AS listeners
            FROM plays WHERE track_id = %s AND listener_id IS DISTINCT FROM %s
            """,
            (track_id, exclude_listener),
        )
        totals = self.cur.fetchone()
        self.cur.execute(
            """
            SELECT d.day::date AS day, count(p.id) AS plays
            FROM generate_series((now() AT TIME ZONE 'UTC')::date - (%s - 1),
                                 (now() AT TIME ZONE 'UTC')::date, interval '1 day') AS d(day)
            LEFT JOIN plays p ON p.track_id = %s
                 AND p.listener_id IS DISTINCT FROM %s
                 AND (p.started_at AT TIME ZONE 'UTC')::date = d.day::date
            GROUP BY d.day ORDER BY d.day
            """,
            (days, track_id, exclude_listener),
        )
        per_day = [(row["day"], int(row["plays"])) for row in self.cur.fetchall()]
        return PlayStats(total_plays=int(totals["total"]),
                         unique_listeners=int(totals["listeners"]), per_day=per_day)
