"""Serve the API: gunicorn for `veza serve api`, a threaded Werkzeug server inside `veza up`."""

from __future__ import annotations

import gc
import socket
import threading
from typing import Any

from gunicorn.app.base import BaseApplication
from werkzeug.serving import BaseWSGIServer, make_server

from api import create_app
from veza.errors import ConfigError
from veza.runtime import Services, build_services
from veza.settings import Settings


class GunicornApp(BaseApplication):  # type: ignore[misc]
    """Gunicorn configured in code; each worker process builds its own services after fork."""

    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)
        # Gunicorn 27's control socket sits at one fixed path per user: several API processes
        # on one machine would fight over it, and we do not use it.
        if "control_socket_disable" in self.cfg.settings:
            self.cfg.set("control_socket_disable", True)

    def load(self) -> Any:
        # Resolved once per process: otherwise every cursor and token check reads the key file.
        services = build_services(self.settings.with_signing_key(), migrate=False)
        app = create_app(self.settings, services)
        # What was built so far lives as long as the process: keep it out of the collector's
        # full passes, which otherwise walk every module and schema and stall requests.
        gc.collect()
        gc.freeze()
        return app


def serve_gunicorn(settings: Settings, *, workers: int, threads: int) -> None:
    """Run the API under gunicorn until it is told to stop."""
    GunicornApp(
        settings,
        {
            "bind": f"{settings.api_host}:{settings.api_port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            # Uploads of large files over slow links take a while.
            "timeout": 300,
            "graceful_timeout": 30,
            # No gunicorn access log: the app logs each request itself, in VEZA_LOG_FORMAT
            # and with the track it concerns.
            "accesslog": None,
        },
    ).run()


def _check_port(host: str, port: int) -> None:
    # Werkzeug prints and exits the process when it cannot bind; we want our own error.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; "
                              "set VEZA_API_PORT to a free port") from exc


class ThreadedServer:
    """The API on a background thread of this process (embedded mode)."""

    def __init__(self, settings: Settings, services: Services) -> None:
        app = create_app(settings, services)
        _check_port(settings.api_host, settings.api_port)
        self.server: BaseWSGIServer = make_server(
            settings.api_host, settings.api_port, app, threaded=True
        )
        self.thread = threading.Thread(target=self.server.serve_forever, name="veza-api",
                                       daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)
