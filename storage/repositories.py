"""Repositories over one transaction's cursor: the only place that writes SQL for the domain.

Why one module of ~670 lines: these are the repositories of the ingest path (tracks,
renditions, jobs, parts, the outbox) that one transaction writes together, with the unit of work
that carries them; accounts, playlists, social, plays, search and chat have modules of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from psycopg2.extras import Json, RealDictCursor

from storage.db import Database
from veza.records import Job, OutboxMessage, Part, Rendition, Track, User

OUTBOX_CHANNEL = "veza_outbox"
RecordT = TypeVar("RecordT")


class Users:
    def __init__(self, cur: RealDictCursor) -> None:
        self.cur = cur

    def ensure(self, handle: str, *, display_name: str | None = None) -> User:
        """Return the user with ``handle``, creating it if it does not exist."""
        self.cur.execute(
            """
            INSERT INTO users (handle, display_name) VALUES (%s, %s)
            ON CONFLICT (handle) DO UPDATE SET handle = EXCLUDED.handle
            RETURNING id, handle, display_name, created_at
            """,
            (handle, display_name),
        )
        return User(**self.cur.fetchone())


class Tracks:
    _COLUMNS = (
        "id, owner_id, status, title, original_filename, original_key, size_bytes, source_format,"
        " source_codec, sample_rate, channels, duration_s, metadata, error_code, error_message,"
        " created_at, updated_at, ready_at, playable_at, analysis, artist, album, genre, tags,"
        " description, visibility, cover_key"
    )
    _EDITABLE = frozenset(
        ("title", "artist", "album", "genre", "tags", "description", "visibility"))

    def __init__(self, cur: RealDictCursor) -> None:
        self.cur = cur

    def insert(
        self,
        *,
        track_id: UUID,
        owner_id: UUID,
        title: str,
        original_filename: str | None,
        original_key: str,
        size_bytes: int,
        source_format: str,
        source_codec: str,
        sample_rate: int,
        channels: int,
        duration_s: float | None,
        metadata: dict[str, Any] | None = None,
        visibility: str = "public",
    ) -> Track:
        """Record a new track in state ``queued``."""
        self.cur.execute(
            f"""
            INSERT INTO tracks (id, owner_id, title, original_filename, original_key, size_bytes,
                                source_format, source_codec, sample_rate, channels, duration_s,
                                metadata, visibility)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            RETURNING {self._COLUMNS}
            """,
            (track_id, owner_id, title, original_filename, original_key, size_bytes,
             source_format, source_codec, sample_rate, channels, duration_s,
             Json(metadata or {}), visibility),
        )
        return Track(**self.cur.fetchone())

    def get(self, track_id: UUID, *, for_update: bool = False) -> Track | None:
        """Return the track, or None."""
        lock = " FOR UPDATE" if for_update else ""
        self.cur.execute(f"SELECT {self._COLUMNS} FROM tracks WHERE id = %s{lock}", (track_id,))
        row = self.cur.fetchone()
        return Track(**row) if row else None

    def with_stream(self, track_id: UUID) -> tuple[Track, str, list[Rendition]] | None:
        """Return the track, its owner's handle and its renditions (by bitrate) in one
        statement, or None."""
        cols = ", ".join(f"t.{c.strip()}" for c in self._COLUMNS.split(","))
        self.cur.execute(
            f"""
            SELECT {cols}, u.handle AS owner_handle,
                   (SELECT coalesce(json_agg(json_build_array(
                               r.name, r.codec, r.bitrate, r.bandwidth, r.average_bandwidth,
                               r.playlist_key, r.segment_count, r.priming_samples, r.samples)
                           ORDER BY r.bitrate), '[]')
                    FROM renditions r WHERE r.track_id = t.id) AS renditions
            FROM tracks t JOIN users u ON u.id = t.owner_id WHERE t.id = %s
            """,
            (track_id,),
        )
        row = self.cur.fetchone()
        if row is None:
            return None
        handle, renditions = row.pop("owner_handle"), row.pop("renditions")
        track = Track(**row)
        return track, handle, [Rendition(track.id, *r) for r in renditions]

    def set_status(
        self,
        track_id: UUID,
        status: str,
        *,
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> None:
        """Move the track to ``status``; ``ready`` stamps ready_at, ``failed`` keeps the reason."""
        self.cur.execute(
            """
            UPDATE tracks SET status = %s, error_code = %s, error_message = %s,
                   updated_at = now(),
                   ready_at = CASE WHEN %s = 'ready' THEN now() ELSE ready_at END
            WHERE id = %s
            """,
            (status, error_code, error_message, status, track_id),
        )

    def set_playable(self, track_id: UUID) -> None:
        """Record that a master playlist is published (kept from the first time)."""
        self.cur.execute(
            "UPDATE tracks SET playable_at = coalesce(playable_at, now()), updated_at = now()"
            " WHERE id = %s",
            (track_id,),
        )

    def set_analysis(self, track_id: UUID, analysis: dict[str, Any]) -> None:
        """Store the track's analysis summary."""
        self.cur.execute(
            "UPDATE tracks SET analysis = %s, updated_at = now() WHERE id = %s",
            (Json(analysis), track_id),
        )

    def set_duration(self, track_id: UUID, duration_s: float) -> None:
        """Record the track's length as decoded (the upload's probe only read the header)."""
        self.cur.execute("UPDATE tracks SET duration_s = %s, updated_at = now() WHERE id = %s",
                         (duration_s, track_id))

    def delete(self, track_id: UUID) -> Track | None:
        """Delete the track with its jobs and renditions; return what was deleted."""
        self.cur.execute(f"DELETE FROM tracks WHERE id = %s RETURNING {self._COLUMNS}",
                         (track_id,))
        row = self.cur.fetchone()
        return Track(**row) if row else None

    def count(self) -> int:
        self.cur.execute("SELECT count(*) AS n FROM tracks")
        return int(self.cur.fetchone()["n"])

    def update(self, track_id: UUID, changes: dict[str, Any]) -> Track | None:
        """Set the metadata fields in ``changes``; return the track, or None if it is gone."""
        fields = [name for name in changes if name in self._EDITABLE]
        if not fields:
            return self.get(track_id)
        assignments = ", ".join(f"{name} = %s" for name in fields)
        self.cur.execute(
            f"UPDATE tracks SET {assignments}, updated_at = now() WHERE id = %s"
            f" RETURNING {self._COLUMNS}",
            (*(changes[name] for name in fields), track_id),
        )
        row = self.cur.fetchone()
        return Track(**row) if row else None

    def reset_for_processing(self, track_id: UUID) -> None:
        """Put the track back to ``queued`` as if just uploaded: no reason, stream or analysis."""
        self.cur.execute(
            """
            UPDATE tracks SET status = 'queued', error_code = NULL, error_message = NULL,
                   ready_at = NULL, playable_at = NULL, analysis = NULL, updated_at = now()
            WHERE id = %s
            """,
            (track_id,),
        )
        self.cur.execute("DELETE FROM renditions WHERE track_id = %s", (track_id,))

    def page(self, *, limit: int, after: tuple[datetime, UUID] | None = None,
             owner_id: UUID | None = None, public_only: bool = True, genre: str | None = None,
             tag: str | None = None, status: str | None = None,
             visibility: str | None = None) -> list[Track]:
        """Return up to ``limit`` tracks, newest first (see ``page_with_owners``)."""
        return [track for track, _ in self.page_with_owners(
            limit=limit, after=after, owner_id=owner_id, public_only=public_only, genre=genre,
            tag=tag, status=status, visibility=visibility)]

    def page_with_owners(
        self,
        *,
        limit: int,
        after: tuple[datetime, UUID] | None = None,
        owner_id: UUID | None = None,
        public_only: bool = True,
        genre: str | None = None,
        tag: str | None = None,
        status: str | None = None,
        visibility: str | None = None,
    ) -> list[tuple[Track, str]]:
        """Return up to ``limit`` tracks with their owners' handles, newest first, after the
        ``(created_at, id)`` of the last one seen; ``public_only`` keeps public, ready tracks
        (tracks_public_created)."""
        sql, args = self.page_statement(
            limit=limit, after=after, owner_id=owner_id, public_only=public_only, genre=genre,
            tag=tag, status=status, visibility=visibility)
        # Plain tuples, in Track's field order: a dictionary per row costs more than the query.
        with self.cur.connection.cursor() as cur:
            cur.execute(sql, args)
            return [(Track(*row[:-1]), row[-1]) for row in cur.fetchall()]

    def page_statement(self, *, limit: int, after: tuple[datetime, UUID] | None = None,
                       owner_id: UUID | None = None, public_only: bool = True,
                       genre: str | None = None, tag: str | None = None,
                       status: str | None = None,
                       visibility: str | None = None) -> tuple[str, tuple[Any, ...]]:
        """Return the statement and parameters of ``page_with_owners``."""
        where: list[str] = []
        args: list[Any] = []
        if public_only:
            where.append("t.visibility = 'public' AND t.status = 'ready'")
        if owner_id is not None:
            where.append("t.owner_id = %s")  # tracks_owner_created
            args.append(owner_id)
        for column, value in (("genre", genre), ("status", status), ("visibility", visibility)):
            if value is not None:
                where.append(f"t.{column} = %s")
                args.append(value)
        if tag is not None:
            where.append("%s = ANY (t.tags)")
            args.append(tag)
        if after is not None:
            # A row comparison walks the (created_at DESC, id DESC) order from where it stopped.
            where.append("(t.created_at, t.id) < (%s, %s)")
            args.extend(after)
        condition = " AND ".join(where) or "true"
        cols = ", ".join(f"t.{c.strip()}" for c in self._COLUMNS.split(","))
        return (f"SELECT {cols}, u.handle AS owner_handle FROM tracks t"
                f" JOIN users u ON u.id = t.owner_id WHERE {condition}"
                " ORDER BY t.created_at DESC, t.id DESC LIMIT %s"), (*args, limit)


class Renditions:
    def __init__(self, cur: RealDictCursor) -> None:
        self.cur = cur

    def upsert(self, r: Rendition) -> None:
        """Record a rendition; running a stage twice leaves one row with the latest figures."""
        self.cur.execute(
            """
            INSERT INTO renditions (track_id, name, codec, bitrate, bandwidth, average_bandwidth,
                                    playlist_key, segment_count, priming_samples, samples)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (track_id, name) DO UPDATE SET
                codec = EXCLUDED.codec, bitrate = EXCLUDED.bitrate,
                bandwidth = EXCLUDED.bandwidth, average_bandwidth = EXCLUDED.average_bandwidth,
                playlist_key = EXCLUDED.playlist_key, segment_count = EXCLUDED.segment_count,
                priming_samples = EXCLUDED.priming_samples, samples = EXCLUDED.samples
            """,
            (r.track_id, r.name, r.codec, r.bitrate, r.bandwidth, r.average_bandwidth,
             r.playlist_key, r.segment_count, r.priming_samples, r.samples),
        )

    def for_track(self, track_id: UUID) -> list[Rendition]:
        self.cur.execute(
            """
            SELECT track_id, name, codec, bitrate, bandwidth, average_bandwidth, playlist_key,
                   segment_count, priming_samples, samples
            FROM renditions WHERE track_id = %s ORDER BY bitrate
            """,
            (track_id,),
        )
        return [Rendition(**row) for row in self.cur.fetchall()]


class _Leased(Generic[RecordT]):
    """Rows a worker takes with a lease (jobs, parts): one row is keyed by ``_KEY``'s columns.

    A worker starts a row and extends its lease while it works; a row whose lease expired is
    claimed back (its worker died or hung) and released to the queue.
    """

    _TABLE: str
    _KEY: str  # "col = %s AND ..." for the key's values, in order
    _COLUMNS: str
    _RECORD: Callable[..., RecordT]

    def __init__(self, cur: RealDictCursor) -> None:
        self.cur = cur

    def _start(self, key: tuple[object, ...], *, worker: str, lease_s: float) -> RecordT | None:
        self.cur.execute(
            f"""
            UPDATE {self._TABLE} SET state = 'running', attempts = attempts + 1, worker = %s,
                   lease_expires_at = now() + make_interval(secs => %s), updated_at = now(),
                   started_at = coalesce(started_at, now())
            WHERE {self._KEY}
              AND (state = 'queued' OR (state = 'running' AND lease_expires_at < now()))
            RETURNING {self._COLUMNS}
            """,
            (worker, lease_s, *key),
        )
        row = self.cur.fetchone()
        return self._RECORD(**row) if row else None

    def _extend_lease(self, key: tuple[object, ...], *, worker: str, lease_s: float) -> bool:
        self.cur.execute(
            f"UPDATE {self._TABLE} SET lease_expires_at = now() + make_interval(secs => %s)"
            f" WHERE {self._KEY} AND state = 'running' AND worker = %s",
            (lease_s, *key, worker),
        )
        return bool(self.cur.rowcount)

    def _record_error(self, key: tuple[object, ...], *, code: str, message: str) -> None:
        self.cur.execute(
            f"UPDATE {self._TABLE} SET state = 'queued', error_code = %s, error_message = %s,"
            f" lease_expires_at = NULL, updated_at = now() WHERE {self._KEY}",
            (code, message, *key),
        )

    def _release(self, key: tuple[object, ...]) -> None:
        self.cur.execute(
            f"UPDATE {self._TABLE} SET state = 'queued', lease_expires_at = NULL, worker = NULL,"
            f" updated_at = now() WHERE {self._KEY}",
            key,
        )

    def claim_expired(self, limit: int = 100) -> list[RecordT]:
        """Lock running rows whose lease has expired (their worker died or hung)."""
        self.cur.execute(
            f"""
            SELECT {self._COLUMNS} FROM {self._TABLE}
            WHERE state = 'running' AND lease_expires_at < now()
            ORDER BY lease_expires_at LIMIT %s FOR UPDATE SKIP LOCKED
            """,
            (limit,),
        )
        return [self._RECORD(**row) for row in self.cur.fetchall()]


class Jobs(_Leased[Job]):
    _COLUMNS = (
        "id, track_id, kind, state, attempts, progress, error_code, error_message, created_at,"
        " updated_at, started_at, finished_at, plan, part_count, finalised_at"
    )
    _TABLE = "jobs"
    _KEY = "id = %s"
    _RECORD = Job

    def insert(self, *, job_id: UUID, track_id: UUID, kind: str) -> Job:
        """Record a new job in state ``queued``."""
        self.cur.execute(
            f"INSERT INTO jobs (id, track_id, kind) VALUES (%s, %s, %s) RETURNING {self._COLUMNS}",
            (job_id, track_id, kind),
        )
        return Job(**self.cur.fetchone())

    def get(self, job_id: UUID, *, for_update: bool = False) -> Job | None:
        lock = " FOR UPDATE" if for_update else ""
        self.cur.execute(f"SELECT {self._COLUMNS} FROM jobs WHERE id = %s{lock}", (job_id,))
        row = self.cur.fetchone()
        return Job(**row) if row else None

    def latest_for_track(self, track_id: UUID) -> Job | None:
        self.cur.execute(
            f"SELECT {self._COLUMNS} FROM jobs WHERE track_id = %s"
            " ORDER BY created_at DESC LIMIT 1",
            (track_id,),
        )
        row = self.cur.fetchone()
        return Job(**row) if row else None

    def unfinished(self) -> list[Job]:
        """Return jobs not yet succeeded or failed."""
        self.cur.execute(
            f"SELECT {self._COLUMNS} FROM jobs WHERE state IN ('queued', 'running')"
            " ORDER BY created_at"
        )
        return [Job(**row) for row in self.cur.fetchall()]

    def start(self, job_id: UUID, *, worker: str, lease_s: float) -> Job | None:
        """Take the job and count the attempt, unless another worker holds a live lease on it.

        Returns None when the job is running elsewhere (a duplicate delivery).
        """
        return self._start((job_id,), worker=worker, lease_s=lease_s)

    def extend_lease(self, job_id: UUID, *, worker: str, lease_s: float) -> bool:
        """Push the lease of a job this worker holds further out; False if it lost the job."""
        return self._extend_lease((job_id,), worker=worker, lease_s=lease_s)

    def claim_stale_queued(self, older_than_s: float, limit: int = 100) -> list[Job]:
        """Lock queued jobs untouched for ``older_than_s`` whose task is no longer waiting in
        the outbox (so its message was published, then lost), and touch them."""
        self.cur.execute(
            f"""
            UPDATE jobs SET updated_at = now()
            WHERE id IN (
                SELECT j.id FROM jobs j
                WHERE j.state = 'queued'
                  AND j.updated_at < now() - make_interval(secs => %s)
                  AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.published_at IS NULL
                                  AND o.payload ->> 'job_id' = j.id::text)
                ORDER BY j.updated_at LIMIT %s FOR UPDATE SKIP LOCKED)
            RETURNING {self._COLUMNS}
            """,
            (older_than_s, limit),
        )
        return [Job(**row) for row in self.cur.fetchall()]

    def set_progress(self, job_id: UUID, progress: int) -> bool:
        """Raise the job's progress (0-100), which never goes backwards; False if the job is
        no longer running."""
        self.cur.execute(
            "UPDATE jobs SET progress = GREATEST(progress, %s), updated_at = now()"
            " WHERE id = %s AND state = 'running'",
            (max(0, min(100, progress)), job_id),
        )
        return bool(self.cur.rowcount)

    def finish(self, job_id: UUID) -> None:
        self.cur.execute(
            "UPDATE jobs SET state = 'succeeded', progress = 100, error_code = NULL,"
            " error_message = NULL, updated_at = now(), finished_at = now() WHERE id = %s",
            (job_id,),
        )

    def fail(self, job_id: UUID, *, code: str, message: str) -> None:
        self.cur.execute(
            "UPDATE jobs SET state = 'failed', error_code = %s, error_message = %s,"
            " updated_at = now(), finished_at = now() WHERE id = %s",
            (code, message, job_id),
        )

    def requeue(self, job_id: UUID) -> Job:
        """Put a failed job back in the queue with a fresh attempt budget (and no parts: it
        starts again from its first stage)."""
        self.cur.execute("DELETE FROM job_parts WHERE job_id = %s", (job_id,))
        self.cur.execute(
            f"""
            UPDATE jobs SET state = 'queued', attempts = 0, progress = 0, error_code = NULL,
                   error_message = NULL, started_at = NULL, finished_at = NULL,
                   lease_expires_at = NULL, worker = NULL, plan = NULL, part_count = NULL,
                   finalised_at = NULL, updated_at = now()
            WHERE id = %s RETURNING {self._COLUMNS}
            """,
            (job_id,),
        )
        return Job(**self.cur.fetchone())

    def set_plan(self, job_id: UUID, plan: dict[str, Any], *, part_count: int,
                 progress: int) -> None:
        """Record how the job is cut into parts; the job now waits on its parts, which hold
        their own leases, so it holds none."""
        self.cur.execute(
            "UPDATE jobs SET plan = %s, part_count = %s, progress = GREATEST(progress, %s),"
            " lease_expires_at = NULL, worker = NULL, updated_at = now() WHERE id = %s",
            (Json(plan), part_count, progress, job_id),
        )

    def claim_finalisation(self, job_id: UUID) -> bool:
        """Claim the publication of a job's stitched package; True for exactly one caller
        (the claim is undone if its transaction rolls back)."""
        self.cur.execute(
            "UPDATE jobs SET finalised_at = now(), updated_at = now()"
            " WHERE id = %s AND state = 'running' AND finalised_at IS NULL",
            (job_id,),
        )
        return bool(self.cur.rowcount)

    def record_error(self, job_id: UUID, *, code: str, message: str) -> None:
        """Keep the last transient error while the job waits for its next attempt."""
        self._record_error((job_id,), code=code, message=message)

    def release(self, job_id: UUID) -> None:
        """Put a job whose lease expired back in the queue."""
        self._release((job_id,))


class Parts(_Leased[Part]):
    _COLUMNS = (
        "job_id, index, first_segment, segment_count, start_sample, end_sample, state,"
        " attempts, result, error_code, error_message, worker"
    )
    _TABLE = "job_parts"
    _KEY = "job_id = %s AND index = %s"
    _RECORD = Part

    def add(self, *, job_id: UUID, index: int, first_segment: int, segment_count: int,
            start_sample: int, end_sample: int) -> None:
        """Record a part in state ``queued``; a part already recorded is left as it is."""
        self.cur.execute(
            """
            INSERT INTO job_parts (job_id, index, first_segment, segment_count, start_sample,
                                   end_sample)
            VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (job_id, index) DO NOTHING
            """,
            (job_id, index, first_segment, segment_count, start_sample, end_sample),
        )

    def get(self, job_id: UUID, index: int, *, for_update: bool = False) -> Part | None:
        lock = " FOR UPDATE" if for_update else ""
        self.cur.execute(
            f"SELECT {self._COLUMNS} FROM job_parts WHERE job_id = %s AND index = %s{lock}",
            (job_id, index),
        )
        row = self.cur.fetchone()
        return Part(**row) if row else None

    def for_job(self, job_id: UUID) -> list[Part]:
        """Return the job's parts in order."""
        self.cur.execute(
            f"SELECT {self._COLUMNS} FROM job_parts WHERE job_id = %s ORDER BY index", (job_id,)
        )
        return [Part(**row) for row in self.cur.fetchall()]

    def succeeded(self, job_id: UUID) -> int:
        """Count the job's distinct parts that are done."""
        self.cur.execute(
            "SELECT count(*) AS n FROM job_parts WHERE job_id = %s AND state = 'succeeded'",
            (job_id,),
        )
        return int(self.cur.fetchone()["n"])

    def start(self, job_id: UUID, index: int, *, worker: str, lease_s: float) -> Part | None:
        """Take the part and count the attempt, unless it is done, failed, or another worker
        holds a live lease on it (then None)."""
        return self._start((job_id, index), worker=worker, lease_s=lease_s)

    def extend_lease(self, job_id: UUID, index: int, *, worker: str, lease_s: float) -> bool:
        """Push out the lease of a part this worker holds; False if the part is gone or taken."""
        return self._extend_lease((job_id, index), worker=worker, lease_s=lease_s)

    def finish(self, job_id: UUID, index: int, result: dict[str, Any]) -> bool:
        """Mark the part done with what it wrote; False if it was already done."""
        self.cur.execute(
            "UPDATE job_parts SET state = 'succeeded', result = %s, error_code = NULL,"
            " error_message = NULL, lease_expires_at = NULL, finished_at = now(),"
            " updated_at = now() WHERE job_id = %s AND index = %s AND state <> 'succeeded'",
            (Json(result), job_id, index),
        )
        return bool(self.cur.rowcount)

    def record_error(self, job_id: UUID, index: int, *, code: str, message: str) -> None:
        """Keep the last transient error while the part waits for its next attempt."""
        self._record_error((job_id, index), code=code, message=message)

    def fail(self, job_id: UUID, index: int, *, code: str, message: str) -> None:
        self.cur.execute(
            "UPDATE job_parts SET state = 'failed', error_code = %s, error_message = %s,"
            " lease_expires_at = NULL, finished_at = now(), updated_at = now()"
            " WHERE job_id = %s AND index = %s",
            (code, message, job_id, index),
        )

    def release(self, job_id: UUID, index: int) -> None:
        """Put a part whose lease expired back in the queue."""
        self._release((job_id, index))

    def claim_stale_queued(self, older_than_s: float, limit: int = 100) -> list[Part]:
        """Lock queued parts untouched for ``older_than_s`` whose task is no longer waiting in
        the outbox, and touch them (see Jobs.claim_stale_queued)."""
        self.cur.execute(
            f"""
            UPDATE job_parts SET updated_at = now()
            WHERE (job_id, index) IN (
                SELECT p.job_id, p.index FROM job_parts p JOIN jobs j ON j.id = p.job_id
                WHERE p.state = 'queued' AND j.state = 'running'
                  AND p.updated_at < now() - make_interval(secs => %s)
                  AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.published_at IS NULL
                                  AND o.payload ->> 'job_id' = p.job_id::text
                                  AND (o.payload ->> 'index')::int = p.index)
                ORDER BY p.updated_at LIMIT %s FOR UPDATE OF p SKIP LOCKED)
            RETURNING {self._COLUMNS}
            """,
            (older_than_s, limit),
        )
        return [Part(**row) for row in self.cur.fetchall()]


class Outbox:
    def __init__(self, cur: RealDictCursor) -> None:
        self.cur = cur

    def add(self, task: str, payload: dict[str, Any]) -> None:
        """Record a task to publish once this transaction commits, and wake the relay."""
        self.cur.execute(
            "INSERT INTO outbox (task, payload) VALUES (%s, %s)", (task, Json(payload))
        )
        # NOTIFY is delivered on commit, so the relay never sees a row that was rolled back.
        self.cur.execute(f"NOTIFY {OUTBOX_CHANNEL}")

    def claim(self, limit: int) -> list[OutboxMessage]:
        """Lock up to ``limit`` unpublished messages that no other relay holds, oldest first."""
        self.cur.execute(
            """
            SELECT id, seq, task, payload, attempts FROM outbox
            WHERE published_at IS NULL ORDER BY seq LIMIT %s FOR UPDATE SKIP LOCKED
            """,
            (limit,),
        )
        return [OutboxMessage(**row) for row in self.cur.fetchall()]

    def mark_published(self, message_id: UUID) -> None:
        self.cur.execute(
            "UPDATE outbox SET published_at = now(), attempts = attempts + 1, last_error = NULL"
            " WHERE id = %s",
            (message_id,),
        )

    def mark_failed(self, message_id: UUID, error: str) -> None:
        self.cur.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = %s WHERE id = %s",
            (error[:1000], message_id),
        )

    def pending(self) -> int:
        self.cur.execute("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL")
        return int(self.cur.fetchone()["n"])


class UnitOfWork:
    """The repositories of one transaction (see unit_of_work)."""

    def __init__(self, cur: RealDictCursor) -> None:
        self.cur = cur
        self.users = Users(cur)
        self.tracks = Tracks(cur)
        self.renditions = Renditions(cur)
        self.jobs = Jobs(cur)
        self.parts = Parts(cur)
        self.outbox = Outbox(cur)


@contextmanager
def unit_of_work(db: Database) -> Iterator[UnitOfWork]:
    """Open a transaction on ``db`` and hand over its repositories."""
    with db.transaction() as cur:
        yield UnitOfWork(cur)


@contextmanager
def single_reads(db: Database) -> Iterator[UnitOfWork]:
    """Hand over repositories for reads where each statement stands alone.

    Each statement runs in its own implicit transaction (autocommit), so a read costs one round
    trip to the server instead of three (BEGIN, the statement, COMMIT): a statement always sees
    one consistent snapshot, but two statements may see different ones. Never write here.
    """
    with db.transaction() as cur:
        conn = cur.connection
        conn.autocommit = True
        try:
            yield UnitOfWork(cur)
        finally:
            # Back to transactions before the pool lends the connection to someone else.
            conn.autocommit = False
