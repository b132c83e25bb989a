"""``GET /metrics`` in Prometheus's text format, request counting, and request log context.

``/metrics`` answers only the client addresses of ``VEZA_METRICS_ALLOW`` (loopback unless an
operator says otherwise): what it shows (routes, queue names, job counts) is for operators.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
from contextlib import ExitStack

from flask import Blueprint, Flask, Response, current_app, g, request

from veza import logs, metrics
from veza.errors import ForbiddenError
from veza.runtime import Services
from veza.settings import Settings
from veza.uploads import INGEST_TASK

log = logging.getLogger(__name__)

bp = Blueprint("metrics", __name__)

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Scrapes and probes would drown the request log.
_QUIET = {"/metrics", "/healthz", "/readyz"}


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def allowed(address: str | None, networks: list[Network]) -> bool:
    """Return whether a client at ``address`` is in one of ``networks``."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


@bp.get("/metrics")
def scrape() -> Response:
    services: Services = current_app.extensions["veza"]
    settings = services.settings
    if not allowed(request.remote_addr, current_app.extensions["veza.metrics_allow"]):
        raise ForbiddenError("metrics are served only to the addresses in VEZA_METRICS_ALLOW")
    live = metrics.live_collector(services.db, settings.broker_url, settings.task_engine,
                                  [INGEST_TASK])
    body, content_type = metrics.exposition(live)
    return Response(body, mimetype=None, content_type=content_type)


def _track_id() -> str | None:
    args = request.view_args or {}
    if "track_id" in args:
        return str(args["track_id"])
    found = _UUID.search(str(args.get("key", "")))
    return found.group(0) if found else None


def init_app(app: Flask, settings: Settings) -> None:
    """Count and time every request; tag its log records with the track it is about."""
    app.extensions["veza.metrics_allow"] = [ipaddress.ip_network(n, strict=False)
                                            for n in settings.metrics_allow]
    app.register_blueprint(bp)

    @app.before_request
    def _start() -> None:
        g.veza_started = time.perf_counter()
        stack = ExitStack()
        stack.enter_context(logs.job_context(track_id=_track_id()))
        g.veza_log_context = stack

    @app.after_request
    def _count(response: Response) -> Response:
        started = g.pop("veza_started", None)
        if started is None:
            return response
        seconds = time.perf_counter() - started
        endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
        metrics.http_request(endpoint, request.method, response.status_code, seconds)
        if endpoint not in _QUIET:
            # An upload names its new track only in the answer.
            created = _UUID.search(response.headers.get("Location", ""))
            extra = {"track_id": created.group(0)} if created else {}
            log.info("%s %s %d %.1f ms", request.method, request.path, response.status_code,
                     seconds * 1000, extra=extra)
        return response

    @app.teardown_request
    def _end(exc: BaseException | None) -> None:
        stack = g.pop("veza_log_context", None)
        if stack is not None:
            stack.close()
