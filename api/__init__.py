"""The HTTP API: a Flask app factory and one blueprint per resource."""

from __future__ import annotations

import logging

from flask import Flask

from veza.runtime import Services
from veza.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings, services: Services) -> Flask:
    """Return the API for ``services``; the caller owns their lifetime."""
    from api import errors, files, health, metrics, player, tracks

    app = Flask(__name__)
    app.config["VEZA_SETTINGS"] = settings
    app.extensions["veza"] = services
    # Multipart uploads are parsed by Werkzeug: bound them too (a little room for form fields).
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes + 64 * 1024
    errors.init_app(app)
    metrics.init_app(app)
    app.register_blueprint(tracks.bp)
    app.register_blueprint(files.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(player.bp)
    return app
