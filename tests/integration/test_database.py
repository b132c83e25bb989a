"""The schema and the repositories against a real PostgreSQL."""

from __future__ import annotations

import uuid

import psycopg2
import pytest

from storage.db import Database
from storage.migrate import current, head, upgrade
from storage.repositories import unit_of_work
from veza.errors import DatabaseError
from veza.records import Rendition

pytestmark = pytest.mark.integration


def test_upgrade_creates_every_table_and_is_repeatable(empty_database_url: str) -> None:
    assert current(empty_database_url) is None
    assert upgrade(empty_database_url) == head()
    assert upgrade(empty_database_url) == head()  # a second run changes nothing
    rows = Database(empty_database_url).execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    )
    assert {r["table_name"] for r in rows} >= {
        "users", "tracks", "renditions", "jobs", "outbox", "alembic_version"
    }


def test_veza_db_upgrade_command(empty_database_url: str, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    from veza.cli import main

    monkeypatch.setenv("VEZA_DATABASE_URL", empty_database_url)
    assert main(["db", "upgrade"]) == 0
    assert f"revision {head()}" in capsys.readouterr().out
    assert main(["db", "current"]) == 0
    assert f"at revision {head()}" in capsys.readouterr().out


def _track(uow, owner_id: uuid.UUID) -> uuid.UUID:  # type: ignore[no-untyped-def]
    tid = uuid.uuid4()
    uow.tracks.insert(
        track_id=tid, owner_id=owner_id, title="Song", original_filename="song.wav",
        original_key=f"originals/{tid}/source.wav", size_bytes=1000, source_format="wav",
        source_codec="pcm_s16le", sample_rate=44100, channels=2, duration_s=30.0,
    )
    return tid


def test_track_job_and_outbox_commit_together(database_url: str) -> None:
    db = Database(database_url)
    with unit_of_work(db) as uow:
        owner = uow.users.ensure("artist")
        tid = _track(uow, owner.id)
        job = uow.jobs.insert(job_id=uuid.uuid4(), track_id=tid, kind="ingest")
        uow.outbox.add("veza.ingest", {"job_id": str(job.id)})
    with unit_of_work(db) as uow:
        track = uow.tracks.get(tid)
        assert track is not None and track.status == "queued" and track.owner_id == owner.id
        assert uow.jobs.latest_for_track(tid).state == "queued"  # type: ignore[union-attr]
        assert uow.outbox.pending() == 1
        assert uow.users.ensure("artist").id == owner.id  # ensure is idempotent
    db.close()


def test_a_failed_transaction_leaves_nothing(database_url: str) -> None:
    db = Database(database_url)
    with unit_of_work(db) as uow:
        owner = uow.users.ensure("artist")
    with pytest.raises(psycopg2.errors.CheckViolation), unit_of_work(db) as uow:
        tid = _track(uow, owner.id)
        uow.outbox.add("veza.ingest", {"track_id": str(tid)})
        uow.tracks.set_status(tid, "no-such-status")
    with unit_of_work(db) as uow:
        assert uow.tracks.count() == 0
        assert uow.outbox.pending() == 0
    db.close()


def test_job_lifecycle_and_rendition_upsert(database_url: str) -> None:
    db = Database(database_url)
    with unit_of_work(db) as uow:
        tid = _track(uow, uow.users.ensure("artist").id)
        jid = uow.jobs.insert(job_id=uuid.uuid4(), track_id=tid, kind="ingest").id
    with unit_of_work(db) as uow:
        job = uow.jobs.start(jid, worker="w1", lease_s=60)
        assert job is not None and job.attempts == 1
        # A second delivery while the lease is live does not take the job.
        assert uow.jobs.start(jid, worker="w2", lease_s=60) is None
        uow.jobs.set_progress(jid, 40)
        uow.jobs.set_progress(jid, 20)  # progress never goes backwards
        assert uow.jobs.get(jid).progress == 40  # type: ignore[union-attr]
        for bandwidth in (150_000, 140_000):  # the stage ran twice
            uow.renditions.upsert(Rendition(tid, "aac_128k", "mp4a.40.2", 128_000, bandwidth,
                                            130_000, f"hls/{tid}/aac_128k/index.m3u8", 5))
        uow.jobs.finish(jid)
        uow.tracks.set_status(tid, "ready")
    with unit_of_work(db) as uow:
        renditions = uow.renditions.for_track(tid)
        assert [(r.name, r.bandwidth) for r in renditions] == [("aac_128k", 140_000)]
        job = uow.jobs.get(jid)
        assert job is not None and job.state == "succeeded" and job.progress == 100
        track = uow.tracks.get(tid)
        assert track is not None and track.ready_at is not None
        assert uow.jobs.unfinished() == []
    db.close()


def test_unreachable_database_raises_database_error() -> None:
    db = Database("postgresql://postgres@127.0.0.1:1/none", connect_timeout=2)
    with pytest.raises(DatabaseError, match="database unavailable"), db.transaction():
        pass


def test_the_pool_keeps_its_connections(database_url: str) -> None:
    db = Database(database_url)
    backends = {db.execute("SELECT pg_backend_pid() AS pid")[0]["pid"] for _ in range(20)}
    db.close()
    assert len(backends) == 1, "each transaction opened a new connection"


def test_a_connection_the_server_dropped_is_replaced(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import storage.db

    monkeypatch.setattr(storage.db, "_PING_AFTER_IDLE_S", 0.0)
    db = Database(database_url)
    first = db.execute("SELECT pg_backend_pid() AS pid")[0]["pid"]
    # What a server restart does to an idle pooled connection.
    admin = Database(database_url)
    admin.execute("SELECT pg_terminate_backend(%s)", (first,))
    admin.close()
    again = db.execute("SELECT pg_backend_pid() AS pid")[0]["pid"]
    db.close()
    assert again != first
