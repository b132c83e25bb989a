"""The S3 server stopped in the middle of a job and started again with its data: the stage
retries and completes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.conftest import TRACK_S, StackFactory
from tests.faults.servers import RestartableNanio
from tests.faults.stack import assert_nothing_stuck, outage_mid_job

pytestmark = pytest.mark.faults

# How long the server stays down: about what a real S3 server takes to restart.
OUTAGE_S = 10.0


def test_store_outage_mid_job_the_stage_retries_and_completes(
    own_nanio: RestartableNanio, make_stack: StackFactory, database_url: str,
    track_wav: Path, tmp_path: Path,
) -> None:
    # own_nanio is set up before make_stack, so the processes stop before the server does.
    stack = make_stack(s3=own_nanio)
    body = outage_mid_job(stack, own_nanio, track_wav, outage_s=OUTAGE_S, duration_s=TRACK_S,
                          tmp=tmp_path)
    # The attempt that met the outage ended when the server was back; the next one completed.
    assert body["job"]["attempts"] == 2, body["job"]
    assert_nothing_stuck(database_url)
