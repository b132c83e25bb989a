"""RabbitMQ stopped while uploads arrive: uploads are still accepted, and their jobs go out and
complete once it is back."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.faults.conftest import TRACK_S, StackFactory
from tests.faults.servers import PrivateRabbit
from tests.faults.stack import assert_nothing_stuck, assert_stream_intact, rows, wait_for

pytestmark = pytest.mark.faults


def test_uploads_during_a_broker_outage_are_accepted_and_processed_when_it_returns(
    make_stack: StackFactory, database_url: str, private_rabbit: PrivateRabbit,
    track_wav: Path, tmp_path: Path,
) -> None:
    stack = make_stack(broker=private_rabbit.url)
    stack.api()
    relay = stack.relay()
    worker = stack.worker()

    private_rabbit.stop_app()
    try:
        accepted = [stack.upload(track_wav, f"take{i}.wav") for i in range(2)]
        # The relay tries, fails, and keeps the messages.
        wait_for(lambda: rows(database_url, "SELECT 1 FROM outbox WHERE published_at IS NULL"
                                            " AND last_error LIKE 'broker %%'"),
                 "publishing failed while the broker is down", 30, (relay,))
        time.sleep(2)
        assert len(rows(database_url, "SELECT 1 FROM outbox WHERE published_at IS NULL")) == 2
        assert [stack.track(a["id"])["status"] for a in accepted] == ["queued", "queued"]
    finally:
        private_rabbit.start_app()

    bodies = stack.wait_settled([a["id"] for a in accepted])
    for body in bodies:
        assert_stream_intact(stack, body, duration_s=TRACK_S, tmp=tmp_path)
        assert body["job"]["attempts"] == 1, body["job"]
    assert_nothing_stuck(database_url)
    # pika logs each refused connection with a traceback while the broker is down.
    stack.assert_no_tracebacks(relay, worker)
