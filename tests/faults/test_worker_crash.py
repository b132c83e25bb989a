"""A worker killed in the middle of an encode: another worker takes the job over."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import wait_for
from tests.faults.conftest import TRACK_S, StackFactory
from tests.faults.stack import assert_nothing_stuck, assert_stream_intact, kill_9

pytestmark = pytest.mark.faults


def test_worker_killed_mid_encode_job_completes_on_another_worker(
    make_stack: StackFactory, database_url: str, track_wav: Path, tmp_path: Path,
) -> None:
    stack = make_stack()
    stack.api()
    relay = stack.relay()
    first = stack.worker("worker-a")
    accepted = stack.upload(track_wav, "take.wav")

    stack.wait_processing(accepted["id"])
    kill_9(first)
    # The first attempt died with its worker: once its lease runs out, the reaper queues the
    # job again. (A worker started before that would get the broker's redelivery while the
    # dead worker's lease still held, and ignore it; one started after would claim the
    # expired lease itself: the second worker starts once the reaper has acted, so that this
    # test always sees the reaper's part.)
    wait_for(lambda: "took over 1 job(s) whose worker stopped" in relay.output(),
             "the reaper to take the job over", timeout=30, procs=(relay,))
    stack.worker("worker-b")

    [body] = stack.wait_settled([accepted["id"]])
    assert_stream_intact(stack, body, duration_s=TRACK_S, tmp=tmp_path)
    assert body["job"]["attempts"] == 2, body["job"]
    assert_nothing_stuck(database_url)
    stack.assert_no_tracebacks()
