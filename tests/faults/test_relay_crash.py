"""The outbox relay killed after the broker confirmed a job but before the row was marked: the
job goes out again, and the duplicate delivery is harmless."""

from __future__ import annotations

from pathlib import Path

import psycopg2
import pytest

from tests.faults.conftest import TRACK_S, StackFactory
from tests.faults.stack import (
    assert_nothing_stuck,
    assert_stream_intact,
    kill_9,
    queue_depth,
    rows,
    wait_for,
)
from veza.uploads import INGEST_TASK

pytestmark = pytest.mark.faults


def _blocked_mark(database_url: str) -> int | None:
    """Return the backend of a relay waiting to mark a message published, if there is one."""
    waiting = rows(database_url, "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                                 " AND query LIKE 'UPDATE outbox SET published_at%%'")
    return int(waiting[0]["pid"]) if waiting else None


def test_relay_killed_between_publish_and_mark_the_job_is_still_delivered(
    make_stack: StackFactory, database_url: str, vhost_url: str, track_wav: Path,
    tmp_path: Path,
) -> None:
    stack = make_stack()
    stack.api()
    accepted = stack.upload(track_wav, "take.wav")

    # Hold the outbox table so that rows can be claimed but not updated: the relay publishes
    # the job, the broker confirms it, and the relay blocks marking the row.
    lock = psycopg2.connect(database_url)
    try:
        with lock.cursor() as cur:
            cur.execute("LOCK TABLE outbox IN SHARE MODE")
        relay = stack.relay("relay-a")
        backend = wait_for(lambda: _blocked_mark(database_url), "relay blocked marking", 30,
                           (relay,))
        wait_for(lambda: queue_depth(vhost_url, stack.ingest_queue) == 1, "job published", 30,
                 (relay,))
        kill_9(relay)
    finally:
        lock.rollback()
        lock.close()
    wait_for(lambda: not rows(database_url, "SELECT 1 FROM pg_stat_activity WHERE pid = %s",
                              (backend,)), "the killed relay's session ended", 30)
    pending = rows(database_url, "SELECT task FROM outbox WHERE published_at IS NULL")
    assert pending == [{"task": INGEST_TASK}]

    stack.relay("relay-b")
    wait_for(lambda: queue_depth(vhost_url, stack.ingest_queue) == 2, "job published again", 30,
             tuple(stack.procs))
    worker = stack.worker()

    [body] = stack.wait_settled([accepted["id"]])
    assert_stream_intact(stack, body, duration_s=TRACK_S, tmp=tmp_path)
    wait_for(lambda: queue_depth(vhost_url, stack.ingest_queue) == 0,
             "both deliveries consumed", 30, (worker,))
    wait_for(lambda: "already succeeded; delivery ignored" in worker.output(),
             "the duplicate delivery ignored", 30, (worker,))
    assert body["job"]["attempts"] == 1, body["job"]
    assert_nothing_stuck(database_url)
    stack.assert_no_tracebacks()
