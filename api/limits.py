"""Per-scope request limits (auth, upload, read) with 429 and ``Retry-After``, request body
limits for JSON calls, and CORS for the configured browser origins."""

from __future__ import annotations

from flask import Flask, request
from flask_cors import CORS

from api.context import accounts, current_user_id
from veza.errors import TooLargeError
from veza.settings import Settings

# JSON bodies are small; only uploads may be large (bounded by VEZA_MAX_UPLOAD_BYTES).
MAX_JSON_BYTES = 64 * 1024
# An upload's multipart form carries one file; its other fields are few (each at most Flask's
# MAX_FORM_MEMORY_SIZE, which also bounds how much of a file the parser holds at once).
MAX_FORM_PARTS = 16
_UNLIMITED = ("/metrics", "/healthz", "/readyz", "/api/docs")


def _scope(settings: Settings) -> tuple[str, str] | None:
    """Return (scope, limit) for this request, or None when no limit applies."""
    endpoint = request.endpoint or ""
    if request.path.startswith(_UNLIMITED) or request.method == "OPTIONS":
        return None
    if endpoint == "auth.refresh" and request.method == "POST":
        return "refresh", settings.rate_limit_refresh
    if endpoint.startswith("auth.") and request.method == "POST":
        return "auth", settings.rate_limit_auth
    if endpoint == "tracks.upload":
        return "upload", settings.rate_limit_upload
    if request.method in ("GET", "HEAD"):
        return "read", settings.rate_limit_read
    return None


def init_app(app: Flask, settings: Settings) -> None:
    if settings.cors_origins:
        CORS(app, resources={r"/api/*": {}, r"/files/*": {}},
             origins=list(settings.cors_origins),
             allow_headers=["Authorization", "Content-Type", "Content-Disposition", "Range"],
             expose_headers=["Location", "Retry-After", "Content-Range"],
             supports_credentials=False, max_age=600)

    @app.before_request
    def _limit() -> None:
        if request.endpoint == "tracks.upload":
            request.max_form_parts = MAX_FORM_PARTS
        else:
            # Bounds the body while it is read, whatever its framing (a chunked body has no
            # Content-Length to check): Werkzeug stops at the limit with a 413.
            request.max_content_length = MAX_JSON_BYTES
            if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
                raise TooLargeError(f"request body exceeds {MAX_JSON_BYTES} bytes")
        scope = _scope(settings)
        if scope is None:
            return
        name, limit = scope
        client = request.remote_addr or "unknown"
        if name == "upload":
            client = str(current_user_id())
        accounts().limiter.hit(name, client, limit, what=f"{name} requests")
