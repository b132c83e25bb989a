"""Settings: read once from VEZA_* variables, embedded defaults otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from veza.errors import ConfigError
from veza.settings import Settings


def test_nothing_set_means_every_embedded_default() -> None:
    s = Settings.from_env({})
    assert s.embedded_database and s.embedded_store and s.embedded_broker
    assert s.base_url == "http://127.0.0.1:8000"
    assert s.max_upload_bytes == 500 * 1024 * 1024


def test_variables_select_the_real_services() -> None:
    s = Settings.from_env({
        "VEZA_DATABASE_URL": "postgresql://db/veza",
        "VEZA_BROKER_URL": "amqp://guest:guest@mq:5672/veza",
        "VEZA_S3_ENDPOINT": "minio:9000",
        "VEZA_S3_ACCESS_KEY": "a",
        "VEZA_S3_SECRET_KEY": "b",
        "VEZA_MAX_UPLOAD_BYTES": "1000",
        "VEZA_PUBLIC_URL": "https://music.example/",
        "UNRELATED": "ignored",
    })
    assert not (s.embedded_database or s.embedded_store or s.embedded_broker)
    assert s.max_upload_bytes == 1000
    assert s.base_url == "https://music.example"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"VEZA_API_PORT": "eighty"}, "VEZA_API_PORT must be an integer, got 'eighty'"),
        ({"VEZA_S3_ENDPOINT": "minio:9000"}, "VEZA_S3_ACCESS_KEY/SECRET_KEY are not"),
        ({"VEZA_MAX_UPLOAD_BYTES": "0"}, "VEZA_MAX_UPLOAD_BYTES must be positive"),
        ({"VEZA_S3_SECURE": "maybe"}, "VEZA_S3_SECURE must be true or false"),
        ({"VEZA_API_PORT": "70000"}, "VEZA_API_PORT out of range"),
        ({"VEZA_TASK_ENGINE": "rq"}, "VEZA_TASK_ENGINE must be dramatiq or celery"),
        ({"VEZA_LOG_FORMAT": "xml"}, "VEZA_LOG_FORMAT must be text or json"),
        ({"VEZA_CHUNK_SECONDS": "100"}, "VEZA_CHUNK_SECONDS must be a positive multiple"),
        ({"VEZA_PARALLEL_MIN_S": "60"}, "VEZA_PARALLEL_MIN_S must be at least"),
        ({"VEZA_ACCESS_TOKEN_TTL": "5"}, "VEZA_ACCESS_TOKEN_TTL must be 10-3600 seconds"),
        ({"VEZA_RATE_LIMIT_READ": "lots"}, "VEZA_RATE_LIMIT_READ must look like '10/minute'"),
        ({"VEZA_LOGIN_LIMIT_IP": "5/fortnight"}, "VEZA_LOGIN_LIMIT_IP must look like"),
        ({"VEZA_CORS_ORIGINS": "*"}, "VEZA_CORS_ORIGINS must name origins"),
        ({"VEZA_CORS_ORIGINS": "app.example.org"}, "VEZA_CORS_ORIGINS entries must be origins"),
        ({"VEZA_TRUSTED_PROXIES": "9"}, "VEZA_TRUSTED_PROXIES must be 0-5, got 9"),
        ({"VEZA_READ_CACHE_TTL": "-1"}, "VEZA_READ_CACHE_TTL must be 0-60 seconds"),
        ({"VEZA_CHAT_PORT": "0"}, "VEZA_CHAT_PORT out of range"),
        ({"VEZA_CHAT_PRESENCE_TTL": "1"}, "VEZA_CHAT_PRESENCE_TTL must be 3-3600 seconds"),
        ({"VEZA_CHAT_RATE_LIMIT": "fast"}, "VEZA_CHAT_RATE_LIMIT must look like"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env(env)


def test_signing_key_is_made_once_and_kept(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path)
    first = s.with_signing_key().signing_key
    assert len(first) == 64
    assert Settings(data_dir=tmp_path).with_signing_key().signing_key == first
    assert (tmp_path / "signing.key").stat().st_mode & 0o777 == 0o600


def test_unknown_setting_cannot_be_replaced() -> None:
    with pytest.raises(ConfigError, match="unknown settings"):
        Settings().replace(no_such_thing=1)


def _key_after(barrier: Any, data_dir: str, out: Any) -> None:
    barrier.wait()
    out.put(Settings(data_dir=Path(data_dir)).with_signing_key().signing_key)


def test_processes_starting_together_share_one_signing_key(tmp_path: Path) -> None:
    """gunicorn's workers start at once: tokens one issues must verify in every other."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    for attempt in range(5):
        data_dir = tmp_path / str(attempt)
        barrier, out = context.Barrier(8), context.Queue()
        procs = [context.Process(target=_key_after, args=(barrier, str(data_dir), out))
                 for _ in range(8)]
        for proc in procs:
            proc.start()
        keys = {out.get(timeout=30) for _ in procs}
        for proc in procs:
            proc.join(timeout=30)
        assert len(keys) == 1, f"{len(keys)} different keys on attempt {attempt}"
        assert keys == {(data_dir / "signing.key").read_text().strip()}
        assert [p.name for p in data_dir.iterdir()] == ["signing.key"]
