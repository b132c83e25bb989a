"""Security headers on every answer, and redirects that never take their host from the request.

Every response says ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer`` (a
player's URL carries a stream grant, which must not leak to another site), and carries a
Content-Security-Policy: the API's JSON, playlists and ``/files`` get one that allows nothing;
the web app's pages and files, the minimal player page and the API docs get what they load and
no more (the app: its own scripts and styles only, never inline ones; media and images from
here and the object store; fetches to here, the chat and the store). Werkzeug builds the redirects
of its URL map (``//`` merged, a missing trailing slash) from the request's ``Host`` header;
they are rewritten here to a path on the same host, whatever the client claimed it to be.
"""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, Response, current_app, g, request
from werkzeug.routing import RequestRedirect

from veza.settings import Settings

# Nothing loads, nothing frames it, no form posts anywhere: for JSON, playlists and objects.
STRICT = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
_DOCS_BLUEPRINTS = {"openapi", "swagger"}
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)
_INLINE_HANDLER = re.compile(r"""\son[a-z]+="([^"]*)\"""")


def _hash(source: str) -> str:
    digest = hashlib.sha256(source.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def _origin(url: str, *, secure: bool = False) -> str:
    """Return the origin of ``url`` ("http(s)://host:port", or a bare "host:port")."""
    if "://" not in url:
        url = f"{'https' if secure else 'http'}://{url}"
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def media_origins(settings: Settings) -> list[str]:
    """Return where a player fetches playlists and segments from: this API, and the object
    store's public address when objects are served by S3."""
    origins = ["'self'", _origin(settings.base_url)]
    endpoint = settings.s3_public_endpoint or settings.s3_endpoint
    if endpoint:
        origins.append(_origin(endpoint, secure=settings.s3_secure))
    return list(dict.fromkeys(origins))


def player_policy(settings: Settings) -> str:
    """Return the player page's policy: its own style block and the stream's media only."""
    from api.player import STYLE

    return (f"default-src 'none'; style-src {_hash(STYLE)}; "
            f"media-src {' '.join(media_origins(settings))}; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


def app_policy(settings: Settings, chat_url: str) -> str:
    """Return the web app's policy: scripts and styles from this origin only (no inline
    script, no injected style element), media and images from here and the object store,
    fetches and the socket to here, the chat gateway and the store."""
    # This API's public origin (the page may have been opened under another name, such as
    # localhost for 127.0.0.1) and the object store's, when it is S3.
    store = " ".join(media_origins(settings)[1:])
    chat = _origin(chat_url) if "://" in chat_url else ""  # a path such as /ws is 'self'
    connect = " ".join(dict.fromkeys(o for o in ("'self'", chat, *store.split()) if o))
    return (f"default-src 'self'; script-src 'self'; style-src 'self'; "
            f"img-src 'self' data: blob: {store}; media-src 'self' blob: {store}; "
            f"connect-src {connect}; worker-src 'self' blob:; "
            "manifest-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
            "form-action 'self'; object-src 'none'")


def docs_policy(page: str) -> str:
    """Return the policy of a docs page: Swagger UI's files from here, the inline scripts
    (and handlers) this very page carries by their hashes, and fetches of the document and of
    "try it out" calls to this origin. Swagger UI sets inline styles and draws its icons from
    data: URLs, so styles and images need those."""
    scripts = [_hash(s) for s in _INLINE_SCRIPT.findall(page)]
    handlers = [_hash(h) for h in _INLINE_HANDLER.findall(page)]
    script_src = ["'self'", *scripts]
    if handlers:
        script_src += ["'unsafe-hashes'", *handlers]
    return (f"default-src 'none'; script-src {' '.join(dict.fromkeys(script_src))}; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


def same_host(url: str) -> str:
    """Return the path and query of ``url``, for a Location on whatever host was asked."""
    parts = urlsplit(url)
    # One leading slash: "//host/..." would be a URL of another host.
    return urlunsplit(("", "", "/" + parts.path.lstrip("/"), parts.query, parts.fragment))


def init_app(app: Flask, settings: Settings) -> None:
    """Rewrite routing redirects, and add the security headers to every response."""
    player = player_policy(settings)

    @app.before_request
    def _own_redirects() -> None:
        found = request.routing_exception
        if isinstance(found, RequestRedirect):
            request.routing_exception = RequestRedirect(same_host(found.new_url))

    @app.after_request
    def _headers(response: Response) -> Response:
        if g.get("veza_web"):  # set by api/web.py for what it serves
            from api.config import chat_url

            policy = app_policy(settings, chat_url(current_app))
        elif request.endpoint == "player.play" and response.mimetype == "text/html":
            policy = player
        elif (request.blueprint in _DOCS_BLUEPRINTS and response.mimetype == "text/html"
              and not response.direct_passthrough):
            policy = docs_policy(response.get_data(as_text=True))
        else:
            policy = STRICT
        response.headers["Content-Security-Policy"] = policy
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response
