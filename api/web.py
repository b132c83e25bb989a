"""The web app: the static files vite builds (``web/dist``), served at ``/``.

Hashed files under ``/assets/`` are cached for a year; ``index.html``, the service worker, the
manifest and the icons are revalidated on every use, so a new build is picked up at once. A
GET that no route of the API answers, outside the API's own prefixes, gets the file it names
or, when it names no file, ``index.html`` (the app's router shows the page, or its not-found
page). The fallback is the 404 handler of routing itself, so it can never shadow a route of the
API, nor turn an API's 404 or 405 into a page. A missing asset is a 404 problem.
"""

from __future__ import annotations

import mimetypes
import os
import re
from pathlib import Path

from flask import Flask, Response, current_app, g, request, send_from_directory
from werkzeug.exceptions import NotFound

from api.errors import problem
from veza.settings import Settings

# Never the app's: what answers there is the API's, including its 404s.
RESERVED = ("/api", "/rest", "/files", "/metrics", "/healthz", "/readyz")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
_FILE_LIKE = re.compile(r"\.(?:m?js|css|map|json|webmanifest|png|jpe?g|gif|svg|ico|webp|avif"
                        r"|woff2?|ttf|txt|xml|html?|wasm)$", re.I)
_PACKAGED = Path(__file__).resolve().parent / "webapp"
_BESIDE_SOURCE = Path(__file__).resolve().parent.parent / "web" / "dist"

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Veza: the web app was not built</title>
</head><body><h1>The web app was not built</h1>
<p>This API is running, but it has no build of the web app to serve. Build it with Node 20
or newer: <code>make demo</code> does, or
<code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>.
Then reload this page. (Or set <code>VEZA_WEB_DIR</code> to a directory holding a build.)</p>
<p>The API answers under <a href="/api/docs/">/api/docs/</a>; a track plays at
<code>/play/&lt;id&gt;</code>.</p></body></html>
"""


def build_dir(settings: Settings) -> Path:
    """Return the directory of the built app: VEZA_WEB_DIR, else ``web/dist`` beside the
    source tree (an editable install) when it holds a build, else the wheel's copy."""
    if settings.web_dir is not None:
        return settings.web_dir
    if (_BESIDE_SOURCE / "index.html").is_file():
        return _BESIDE_SOURCE
    return _PACKAGED


def built() -> bool:
    """Whether there is a build to serve (asked per request: a build may land while we run)."""
    return (_root() / "index.html").is_file()


def app_page() -> Response:
    """Return the app's ``index.html`` (never cached without revalidation)."""
    g.veza_web = True  # api/security.py gives it the app's policy
    response = send_from_directory(_root(), "index.html")
    response.headers["Cache-Control"] = REVALIDATE
    return response


def init_app(app: Flask, settings: Settings) -> None:
    """Serve the built app at ``/`` and behind routing's 404, outside the API's paths."""
    app.extensions["veza.web_dir"] = build_dir(settings)
    mimetypes.add_type("application/manifest+json", ".webmanifest")
    mimetypes.add_type("text/javascript", ".js")
    mimetypes.add_type("text/javascript", ".mjs")

    @app.errorhandler(NotFound)
    def _app_or_not_found(exc: NotFound) -> Response:
        if request.url_rule is not None or request.method not in ("GET", "HEAD") \
                or _reserved(request.path):
            return _not_found(exc)
        if not built():
            if _FILE_LIKE.search(request.path):
                return _not_found(exc)
            return Response(NOT_BUILT, status=404, mimetype="text/html")
        name = request.path.lstrip("/")
        if not name:
            return app_page()
        if any(part.startswith(".") for part in name.split("/")):  # and ".." too
            return _not_found(exc)
        # os.path.isfile, unlike Path.is_file, says False for a name no file system could
        # hold (longer than NAME_MAX, say) instead of raising.
        if os.path.isfile(_root() / name):
            g.veza_web = True
            response = send_from_directory(_root(), name)
            response.headers["Cache-Control"] = \
                IMMUTABLE if name.startswith("assets/") else REVALIDATE
            return response
        if name.startswith("assets/") or _FILE_LIKE.search(name):
            return _not_found(exc)
        return app_page()


def _root() -> Path:
    return current_app.extensions["veza.web_dir"]  # type: ignore[no-any-return]


def _reserved(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in RESERVED)


def _not_found(exc: NotFound) -> Response:
    """The API's own 404, as api/errors.py answers any other."""
    return problem(404, "not_found", exc.name, exc.description or exc.name)
