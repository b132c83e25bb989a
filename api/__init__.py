"""The HTTP API: a Flask app factory and one blueprint per resource."""

from __future__ import annotations

import logging

from flask import Flask

from veza.runtime import Services
from veza.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings, services: Services) -> Flask:
    """Return the API for ``services``; the caller owns their lifetime."""
    from api import admin, auth, errors, files, health, limits, metrics, player, search, tracks
    from api.openapi import create_openapi_app
    from veza.accounts import AccountService

    app = create_openapi_app(__name__, version=_version())
    app.config["VEZA_SETTINGS"] = settings
    app.extensions["veza"] = services
    app.extensions["veza.accounts"] = AccountService(services)
    # Multipart uploads are parsed by Werkzeug: bound them too (a little room for form fields).
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes + 64 * 1024
    errors.init_app(app)
    metrics.init_app(app)
    limits.init_app(app, settings)
    app.register_api(tracks.bp)
    app.register_blueprint(files.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(player.bp)
    app.register_api(auth.bp)
    app.register_api(admin.bp)
    app.register_api(search.bp)
    return app


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("veza")
    except metadata.PackageNotFoundError:
        return "0"
