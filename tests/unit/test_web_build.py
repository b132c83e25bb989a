"""Where the API finds the built web app and the chat's public URL, and how a wheel and the
image carry the app."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from api.web import build_dir
from veza.errors import ConfigError
from veza.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("url", ["/ws", "ws://127.0.0.1:8001/ws", "wss://chat.example.org",
                                 "wss://veza.example.org/ws"])
def test_the_chats_public_url_is_a_websocket_url_or_a_path(url: str) -> None:
    assert Settings.from_env({"VEZA_CHAT_PUBLIC_URL": url}).chat_public_url == url


@pytest.mark.parametrize("url", ["ws", "http://example.org/ws", "wss://", "/ws with space"])
def test_a_chat_url_a_browser_cannot_use_is_refused_naming_the_setting(url: str) -> None:
    with pytest.raises(ConfigError, match="VEZA_CHAT_PUBLIC_URL must be a ws:// or wss://"):
        Settings.from_env({"VEZA_CHAT_PUBLIC_URL": url})


def test_the_build_directory_is_the_setting_else_beside_the_source_else_the_package(
    tmp_path: Path
) -> None:
    assert build_dir(Settings.from_env({"VEZA_WEB_DIR": str(tmp_path)})) == tmp_path
    found = build_dir(Settings())
    if (ROOT / "web" / "dist" / "index.html").is_file():
        assert found == ROOT / "web" / "dist"
    else:
        assert found == ROOT / "api" / "webapp"


def test_compose_points_browsers_at_the_front_doors_chat_path() -> None:
    compose = yaml.safe_load((ROOT / "compose" / "docker-compose.yml").read_text())
    api = compose["services"]["api"]["environment"]
    assert api["VEZA_CHAT_PUBLIC_URL"] == "/ws"
    assert Settings.from_env({k: str(v) for k, v in api.items()}).chat_public_url == "/ws"


def test_the_image_builds_the_app_and_installs_it_inside_the_api_package() -> None:
    dockerfile = (ROOT / "compose" / "Dockerfile").read_text()
    assert "RUN npm ci" in dockerfile and "RUN npm run build" in dockerfile
    copy = dockerfile.index("COPY --from=web /web/dist ./api/webapp")
    assert copy < dockerfile.index('RUN pip install ".[celery]"')
    ignored = (ROOT / "compose" / "Dockerfile.dockerignore").read_text().split()
    assert "web/node_modules" in ignored and "web/dist" in ignored


def test_a_wheel_carries_the_built_app(tmp_path: Path) -> None:
    # A copy of the tree, so the build never touches the working one.
    tree = tmp_path / "tree"
    tree.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    for package in ("veza", "api", "tasks", "pipeline", "storage", "chat", "benchmarks"):
        shutil.copytree(ROOT / package, tree / package,
                        ignore=shutil.ignore_patterns("__pycache__", "webapp"))
    (tree / "api" / "webapp" / "assets").mkdir(parents=True)
    (tree / "api" / "webapp" / "index.html").write_text("<!doctype html>")
    (tree / "api" / "webapp" / "assets" / "index-abc123.js").write_text("")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                    "-q", "-w", str(tmp_path / "out"), str(tree)], check=True,
                   capture_output=True, timeout=300)
    [wheel] = (tmp_path / "out").glob("veza-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"api/webapp/index.html", "api/webapp/assets/index-abc123.js"} <= names
