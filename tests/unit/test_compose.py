"""compose/ describes a stack that can run: it parses and every command exists in the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from veza.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
VEZA = str(Path(sys.executable).parent / "veza")


def _compose() -> dict:
    return yaml.safe_load((ROOT / "compose" / "docker-compose.yml").read_text())


def _veza_services(compose: dict) -> dict[str, dict]:
    return {name: svc for name, svc in compose["services"].items()
            if svc.get("image") == "veza:latest"}


def test_compose_parses_with_the_whole_stack_and_health_checks() -> None:
    services = _compose()["services"]
    assert {"postgres", "rabbitmq", "redis", "minio", "api", "worker", "migrate"} <= set(services)
    for name in ("postgres", "rabbitmq", "redis", "minio", "api", "worker"):
        assert "healthcheck" in services[name], name


def test_every_veza_command_in_compose_exists() -> None:
    services = _veza_services(_compose())
    assert set(services) == {"api", "worker", "migrate"}
    for name, svc in services.items():
        result = subprocess.run([VEZA, *svc["command"], "--help"], capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0, (name, svc["command"], result.stderr)


def test_veza_services_are_configured_only_through_veza_variables() -> None:
    for name, svc in _veza_services(_compose()).items():
        env = svc["environment"]
        assert env and all(key.startswith("VEZA_") for key in env), name
        settings = Settings.from_env({k: str(v) for k, v in env.items()})
        assert not settings.embedded_database and not settings.embedded_broker
        assert not settings.embedded_store


def test_dockerfile_copies_every_package_the_cli_needs() -> None:
    dockerfile = (ROOT / "compose" / "Dockerfile").read_text()
    for package in ("veza", "api", "tasks", "pipeline", "storage"):
        assert f"COPY {package} ./{package}" in dockerfile


def test_rabbitmq_consumer_timeout_outlasts_the_longest_stage() -> None:
    from veza.uploads import stage_time_limit_s

    rabbit = _compose()["services"]["rabbitmq"]
    assert "./rabbitmq.conf:/etc/rabbitmq/conf.d/90-veza.conf:ro" in rabbit["volumes"]
    conf = (ROOT / "compose" / "rabbitmq.conf").read_text()
    [line] = [x for x in conf.splitlines() if x.startswith("consumer_timeout")]
    timeout_s = int(line.split("=")[1]) / 1000
    assert timeout_s > stage_time_limit_s(3 * 3600)  # a three-hour mix
