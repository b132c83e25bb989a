"""PostgreSQL restarted in the middle of a job: API, relay and worker reconnect and the job
completes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.faults.conftest import TRACK_S, StackFactory
from tests.faults.servers import PrivatePostgres
from tests.faults.stack import (
    assert_nothing_stuck,
    assert_stream_intact,
    outage_mid_job,
    queue_depth,
    wait_for,
)

pytestmark = pytest.mark.faults

# How long PostgreSQL stays down: a restart for an upgrade or a fail-over.
OUTAGE_S = 10.0


def test_database_restart_mid_job_workers_reconnect_and_complete(
    make_stack: StackFactory, private_postgres: PrivatePostgres, track_wav: Path, tmp_path: Path,
) -> None:
    stack = make_stack(database=private_postgres.dsn)
    body = outage_mid_job(stack, private_postgres, track_wav, outage_s=OUTAGE_S,
                          duration_s=TRACK_S, tmp=tmp_path)
    assert body["job"]["attempts"] == 2, body["job"]
    # A second upload after the restart goes through the same processes.
    second = stack.upload(track_wav, "again.wav")
    [body] = stack.wait_settled([second["id"]])
    assert_stream_intact(stack, body, duration_s=TRACK_S, tmp=tmp_path)
    assert_nothing_stuck(private_postgres.dsn)


def test_a_job_delivered_while_the_database_is_down_runs_once_it_is_back(
    make_stack: StackFactory, private_postgres: PrivatePostgres, vhost_url: str,
    track_wav: Path, tmp_path: Path,
) -> None:
    stack = make_stack(database=private_postgres.dsn)
    stack.api()
    relay = stack.relay()
    accepted = stack.upload(track_wav, "take.wav")
    wait_for(lambda: queue_depth(vhost_url, stack.ingest_queue) == 1, "job published", 30, (relay,))

    private_postgres.stop()
    try:
        # The worker receives the job while it cannot claim it, for longer than the engine's
        # retries with their backoff would last.
        stack.worker()
        time.sleep(OUTAGE_S + 5)
    finally:
        private_postgres.start()

    [body] = stack.wait_settled([accepted["id"]])
    assert_stream_intact(stack, body, duration_s=TRACK_S, tmp=tmp_path)
    assert body["job"]["attempts"] == 1, body["job"]
    assert queue_depth(vhost_url, stack.dead_letter_queue) == 0
    assert_nothing_stuck(private_postgres.dsn)
