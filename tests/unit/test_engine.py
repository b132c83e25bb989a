"""The task seam on the in-memory broker: names, payloads and per-message time limits."""

from __future__ import annotations

import uuid

import dramatiq
import pytest

from tasks.engine import TaskEngine, TaskSpec
from veza.errors import ConfigError
from veza.uploads import ingest_payload, stage_time_limit_s


def _engine() -> TaskEngine:
    return TaskEngine.from_url(None, {"veza.test": TaskSpec(name="veza.test",
                                                            handler=lambda **_: None)})


def test_a_payload_time_limit_becomes_the_message_time_limit() -> None:
    engine = _engine()
    job, track = uuid.uuid4(), uuid.uuid4()
    engine.enqueue("veza.test", ingest_payload(job, track, 3600.0))
    raw = engine.broker.queues["veza.test"].get_nowait()  # type: ignore[attr-defined]
    message = dramatiq.Message.decode(raw)
    assert message.actor_name == "veza.test" and message.queue_name == "veza.test"
    assert message.kwargs == {"job_id": str(job), "track_id": str(track)}
    assert message.options["time_limit"] == 4_200_000  # 10 min + the hour of audio
    engine.stop()


def test_stage_time_limit_grows_with_the_track() -> None:
    assert stage_time_limit_s(None) == 600.0
    assert stage_time_limit_s(7200.0) == 7800.0


def test_unknown_task_and_broker_url_are_config_errors() -> None:
    engine = _engine()
    with pytest.raises(ConfigError, match="unknown task 'veza.nope'"):
        engine.enqueue("veza.nope", {})
    engine.stop()
    with pytest.raises(ConfigError, match="must be an amqp:// URL"):
        TaskEngine.from_url("redis://localhost", {})
