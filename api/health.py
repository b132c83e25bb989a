"""Liveness and readiness of the API process."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, json

from api.errors import PROBLEM_JSON
from veza.probes import readiness
from veza.runtime import Services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    """Answer while the process runs, whatever its dependencies do."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz() -> Response | dict[str, Any]:
    """Answer 200 when the database, the broker and the object store all answer, else 503
    naming what is down."""
    services: Services = current_app.extensions["veza"]
    problems = readiness(services.db, services.store, services.settings.broker_url)
    down = [name for name, problem in problems.items() if problem is not None]
    if not down:
        return {"status": "ready", "checks": dict.fromkeys(problems, "ok")}
    body = {
        "type": "urn:veza:problem:not_ready", "title": "Service unavailable", "status": 503,
        "detail": "not ready: " + "; ".join(f"{name}: {problems[name]}" for name in down),
        "code": "not_ready", "down": down,
        "checks": {name: problem or "ok" for name, problem in problems.items()},
    }
    response = Response(json.dumps(body), status=503, mimetype=PROBLEM_JSON)
    response.headers["Retry-After"] = "5"
    return response
