"""The HTTP API: a Flask app factory and one blueprint per resource."""

from __future__ import annotations

import logging

from flask import Flask
from flask_openapi3 import APIBlueprint, OpenAPI

from veza.runtime import Services
from veza.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings, services: Services) -> Flask:
    """Return the API for ``services``; the caller owns their lifetime."""
    from api import (
        admin,
        analysis,
        auth,
        cache,
        config,
        covers,
        errors,
        files,
        health,
        likes,
        limits,
        metrics,
        player,
        playlists,
        plays,
        search,
        security,
        tracks,
        users,
        web,
    )
    from api.context import check_presented_token, secured_operations
    from api.openapi import (
        cache_request_schemas,
        create_openapi_app,
        document_everywhere,
        problems,
    )
    from veza.accounts import AccountService

    version = _version()
    app = create_openapi_app(__name__, version=version)
    if settings.trusted_proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # The client's address and scheme as the proxies in front saw them: rate limits,
        # login limits and play counting key on the address.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies)
    app.config["VEZA_SETTINGS"] = settings
    app.config["VEZA_VERSION"] = version
    app.extensions["veza"] = services
    app.extensions["veza.accounts"] = AccountService(services)
    # Multipart uploads are parsed by Werkzeug: bound them too (a little room for form fields).
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes + 64 * 1024
    errors.init_app(app)
    security.init_app(app, settings)
    metrics.init_app(app, settings)
    app.before_request(check_presented_token)
    limits.init_app(app, settings)
    cache.init_app(app, settings.read_cache_ttl_s)
    web.init_app(app, settings)
    app.register_blueprint(files.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(player.bp)
    for bp in (tracks.bp, auth.bp, admin.bp, analysis.bp, plays.bp, covers.bp, users.bp, likes.bp,
               playlists.bp, search.bp, config.bp):
        _register_sharing_paths(app, bp)
    # Any operation answers 401 to a presented token that is not valid (even a public one),
    # and 429 over a rate limit.
    document_everywhere(app, problems(401, 429))
    cache_request_schemas(app)
    with app.app_context():
        secured_operations()  # built from the whole document: not on a first request
    return app


def _register_sharing_paths(app: OpenAPI, bp: APIBlueprint) -> None:
    """Register ``bp``, keeping the documented methods of paths it shares with blueprints
    registered before (flask-openapi3 would replace them: PATCH /me would hide GET /me)."""
    earlier = {path: app.paths[path] for path in bp.paths if path in app.paths}
    app.register_api(bp)
    for path, item in earlier.items():
        for method in ("get", "put", "post", "delete", "patch"):
            if getattr(app.paths[path], method) is None and getattr(item, method) is not None:
                setattr(app.paths[path], method, getattr(item, method))


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("veza")
    except metadata.PackageNotFoundError:
        return "0"
