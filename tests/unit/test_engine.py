"""The task seam without a server: names, payloads, per-message time limits, engine choice."""

from __future__ import annotations

import uuid
from pathlib import Path

import dramatiq
import pytest

from storage.db import Database
from tasks.actors import build_engine
from tasks.celery_engine import CeleryEngine
from tasks.engine import DramatiqEngine, TaskEngine, TaskSpec, open_engine
from veza.errors import ConfigError
from veza.queues import engine_queues
from veza.runtime import Services
from veza.settings import Settings
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


def test_celery_needs_an_amqp_broker_and_an_engine_name_must_be_known() -> None:
    spec = {"veza.test": TaskSpec(name="veza.test", handler=lambda **_: None)}
    with pytest.raises(ConfigError, match=r"VEZA_TASK_ENGINE=celery needs VEZA_BROKER_URL"):
        open_engine("celery", None, spec)
    with pytest.raises(ConfigError, match="must be an amqp:// URL"):
        open_engine("celery", "redis://localhost", spec)
    with pytest.raises(ConfigError, match="VEZA_TASK_ENGINE must be one of dramatiq, celery"):
        open_engine("rq", "amqp://localhost", spec)


def test_build_engine_takes_the_engine_from_the_settings(tmp_path: Path) -> None:
    from storage.local import LocalStore

    settings = Settings(task_engine="celery", broker_url="amqp://guest:guest@127.0.0.1:1/")
    services = Services(settings=settings, db=Database("postgresql://nowhere/none"),
                        store=LocalStore(tmp_path, base_url="http://x", signing_key="k"))
    engine = build_engine(services)  # connects to nothing until used
    assert isinstance(engine, CeleryEngine) and engine.forks_workers
    # Queues of their own: Dramatiq's declare other arguments, and RabbitMQ would refuse them.
    assert engine.queue("veza.ingest") == "veza.ingest.celery"
    assert engine.dead_letter_queue("veza.ingest") == "veza.ingest.celery.XQ"
    conf = engine.app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_transport_options["confirm_publish"] is True
    engine.stop()
    dramatiq_engine = build_engine(Services(settings=Settings(), db=services.db,
                                            store=services.store))
    assert isinstance(dramatiq_engine, DramatiqEngine) and dramatiq_engine.in_memory
    dramatiq_engine.stop()


def test_metrics_read_the_queues_each_engine_declares() -> None:
    celery = CeleryEngine.__new__(CeleryEngine)  # naming needs no broker
    queues = engine_queues("celery", ["veza.ingest"])
    assert queues.work == (celery.queue("veza.ingest"),) == ("veza.ingest.celery",)
    assert queues.dead == (celery.dead_letter_queue("veza.ingest"),) == ("veza.ingest.celery.XQ",)
    dramatiq = DramatiqEngine.__new__(DramatiqEngine)
    queues = engine_queues("dramatiq", ["veza.ingest"])
    assert dramatiq.queue("veza.ingest") in queues.work
    assert queues.dead == (dramatiq.dead_letter_queue("veza.ingest"),) == ("veza.ingest.XQ",)
