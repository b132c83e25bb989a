"""compose/ describes a stack that can run: it parses, every command exists in the CLI, and
HAProxy's configuration is valid and points at the services compose defines."""

from __future__ import annotations

import re
import shutil
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


GATEWAYS = ("chat1", "chat2")
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


def test_compose_parses_with_the_whole_stack_and_health_checks() -> None:
    services = _compose()["services"]
    assert {"postgres", "rabbitmq", "redis", "minio", "api", "worker", "migrate", "haproxy",
            *GATEWAYS, "chat-archiver"} <= set(services)
    for name in ("postgres", "rabbitmq", "redis", "minio", "api", "worker", "haproxy",
                 *GATEWAYS, "chat-archiver"):
        assert "healthcheck" in services[name], name


def test_every_veza_command_in_compose_exists() -> None:
    services = _veza_services(_compose())
    assert set(services) == {"api", "worker", "migrate", *GATEWAYS, "chat-archiver"}
    assert [services[g]["command"] for g in GATEWAYS] == [["serve", "chat"]] * 2
    assert services["chat-archiver"]["command"] == ["serve", "chat-archiver"]
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
    for package in ("veza", "api", "tasks", "pipeline", "storage", "chat"):
        assert f"COPY {package} ./{package}" in dockerfile


def test_rabbitmq_consumer_timeout_outlasts_the_longest_stage() -> None:
    from veza.uploads import stage_time_limit_s

    rabbit = _compose()["services"]["rabbitmq"]
    assert "./rabbitmq.conf:/etc/rabbitmq/conf.d/90-veza.conf:ro" in rabbit["volumes"]
    conf = (ROOT / "compose" / "rabbitmq.conf").read_text()
    [line] = [x for x in conf.splitlines() if x.startswith("consumer_timeout")]
    timeout_s = int(line.split("=")[1]) / 1000
    assert timeout_s > stage_time_limit_s(3 * 3600)  # a three-hour mix


def _haproxy_cfg() -> str:
    return (ROOT / "compose" / "haproxy.cfg").read_text()


def _backend(cfg: str, name: str) -> list[str]:
    """The lines of one backend section of haproxy.cfg, stripped."""
    lines = cfg.splitlines()
    start = lines.index(f"backend {name}") + 1
    section = []
    for line in lines[start:]:
        if line and not line.startswith(" "):
            break
        if line.strip() and not line.strip().startswith("#"):
            section.append(line.strip())
    return section


def test_haproxy_config_is_valid_with_the_environment_compose_gives_it() -> None:
    haproxy = _compose()["services"]["haproxy"]
    assert "./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in haproxy["volumes"]
    env = {"PATH": "/usr/bin:/bin", **haproxy["environment"]}
    result = subprocess.run([HAPROXY, "-c", "-f", str(ROOT / "compose" / "haproxy.cfg")],
                            capture_output=True, text=True, timeout=30, env=env)
    assert result.returncode == 0, result.stderr
    # Without the variables there is no address to listen on or forward to: HAProxy refuses.
    bare = subprocess.run([HAPROXY, "-c", "-f", str(ROOT / "compose" / "haproxy.cfg")],
                          capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin"})
    assert bare.returncode != 0


def test_haproxy_sends_ws_to_the_gateways_and_the_rest_to_the_api() -> None:
    compose = _compose()
    services = compose["services"]
    env = services["haproxy"]["environment"]
    cfg = _haproxy_cfg()
    assert re.search(r"^\s*acl is_ws path /ws$", cfg, re.M)
    assert re.search(r"^\s*use_backend chat if is_ws$", cfg, re.M)
    assert re.search(r"^\s*default_backend api$", cfg, re.M)
    # Every address HAProxy forwards to is a compose service on the port it listens on.
    api_port = services["api"]["environment"]["VEZA_API_PORT"]
    assert env["VEZA_API_ADDR"] == f"api:{api_port}"
    for i, gateway in enumerate(GATEWAYS, 1):
        assert env[f"VEZA_CHAT{i}_ADDR"] == \
            f"{gateway}:{services[gateway]['environment']['VEZA_CHAT_PORT']}"
        assert services[gateway]["environment"]["VEZA_CHAT_HOST"] == "0.0.0.0"
    assert services["haproxy"]["ports"] == [f"8000:{env['VEZA_FRONT_BIND'].split(':')[1]}"]
    assert "ports" not in services["api"]  # reached through the front door only


def test_both_backends_are_health_checked_and_websockets_may_idle() -> None:
    cfg = _haproxy_cfg()
    api, chat = _backend(cfg, "api"), _backend(cfg, "chat")
    for backend in (api, chat):
        assert "option httpchk GET /healthz" in backend
        servers = [line for line in backend if line.startswith("server ")]
        assert servers and all(" check" in line for line in servers)
    assert "balance leastconn" in chat
    assert [line.split()[2] for line in chat if line.startswith("server ")] == \
        ['"${VEZA_CHAT1_ADDR}"', '"${VEZA_CHAT2_ADDR}"']
    timeouts = dict(line.split()[1:3] for line in cfg.splitlines()
                    if line.strip().startswith("timeout "))
    assert timeouts["tunnel"] == "1h" and timeouts["client-fin"] == "30s"


def test_the_api_and_the_gateways_share_one_signing_key() -> None:
    services = _veza_services(_compose())
    for name in ("api", *GATEWAYS):
        env = services[name]["environment"]
        assert env["VEZA_DATA_DIR"] == "/var/lib/veza", name
        assert "keys:/var/lib/veza" in services[name]["volumes"], name


def test_the_front_door_refuses_metrics_and_the_api_serves_them_to_the_internal_network(
) -> None:
    import ipaddress

    cfg = _haproxy_cfg()
    frontend = cfg[cfg.index("frontend veza"):cfg.index("backend api")]
    [acl] = [line.strip() for line in frontend.splitlines()
             if line.strip().startswith("acl is_metrics ")]
    # Matched on the decoded path, so /%6Detrics and //metrics are refused too.
    assert acl == "acl is_metrics path,url_dec -m reg ^/+metrics(/|$)"
    [refusal] = [line.strip() for line in frontend.splitlines()
                 if line.strip().startswith("http-request return") and "is_metrics" in line]
    assert refusal.startswith("http-request return status 404 content-type "
                              "application/problem+json ")
    # The refusal comes before any backend is chosen.
    assert frontend.index("if is_metrics") < frontend.index("use_backend")
    api = _veza_services(_compose())["api"]
    settings = Settings.from_env({k: str(v) for k, v in api["environment"].items()})
    networks = [ipaddress.ip_network(n) for n in settings.metrics_allow]
    # Compose's own network (Docker's default pools) may scrape; the world may not.
    assert any(ipaddress.ip_address("172.18.0.5") in n for n in networks)
    assert not any(ipaddress.ip_address("203.0.113.7") in n for n in networks)
    # The other services keep the default (loopback only).
    worker = _veza_services(_compose())["worker"]
    assert "VEZA_METRICS_ALLOW" not in worker["environment"]
