"""Our errors as HTTP responses: one shape, ``application/problem+json`` (RFC 9457)."""

from __future__ import annotations

import logging

from flask import Flask, Response, json, request
from werkzeug.exceptions import ClientDisconnected, HTTPException

from veza.errors import (
    AuthError,
    ConflictError,
    EmptyInputError,
    ForbiddenError,
    InputError,
    NotAudioError,
    NotFoundError,
    RateLimitedError,
    ServiceError,
    SignatureError,
    TooLargeError,
    ValidationError,
    VezaError,
)

log = logging.getLogger(__name__)

# Most specific first.
STATUS: list[tuple[type[VezaError], int]] = [
    (EmptyInputError, 400),
    (TooLargeError, 413),
    (NotAudioError, 415),
    (ValidationError, 422),
    (ConflictError, 409),
    (InputError, 400),
    (AuthError, 401),
    (ForbiddenError, 403),
    (RateLimitedError, 429),
    (NotFoundError, 404),
    (SignatureError, 403),
    (ServiceError, 503),
]

PROBLEM_JSON = "application/problem+json"


def problem(status: int, code: str, title: str, detail: str,
            errors: list[dict[str, str]] | None = None) -> Response:
    """Return one problem+json response; ``errors`` lists field-level problems."""
    body: dict[str, object] = {"type": f"urn:veza:problem:{code}", "title": title,
                               "status": status, "detail": detail, "code": code}
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    if status == 503:
        response.headers["Retry-After"] = "5"
    return response


def _status_for(exc: VezaError) -> int:
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def init_app(app: Flask) -> None:
    """Register handlers so no request ever answers with a traceback."""

    @app.errorhandler(VezaError)
    def _veza(exc: VezaError) -> Response:
        status = _status_for(exc)
        if status >= 500:
            log.error("%s: %s", type(exc).__name__, exc.message)
            detail = exc.message if status == 503 else "internal error"
            return problem(status, exc.code if status == 503 else "internal",
                           "Service unavailable" if status == 503 else "Internal error", detail)
        errors: list[dict[str, str]] | None = None
        if isinstance(exc, ValidationError):
            errors = [{"field": name, "message": why} for name, why in exc.fields.items()]
        elif isinstance(exc, ConflictError) and exc.field:
            errors = [{"field": exc.field, "message": exc.message}]
        response = problem(status, exc.code, _title(status), exc.message, errors)
        if isinstance(exc, RateLimitedError):
            response.headers["Retry-After"] = str(exc.retry_after_s)
        if isinstance(exc, AuthError):
            # RFC 6750 §3: no error attribute when the request carried no credentials.
            response.headers["WWW-Authenticate"] = 'Bearer realm="veza"' \
                if exc.code == "unauthorized" else \
                f'Bearer realm="veza", error="invalid_token", error_description="{exc.code}"'
        return response

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        status = exc.code or 500
        code = {413: "too_large", 404: "not_found", 405: "method_not_allowed"}.get(
            status, (exc.name or "error").lower().replace(" ", "_"))
        detail = exc.description or exc.name
        if isinstance(exc, ClientDisconnected):
            code, detail = "incomplete", _incomplete()
        elif status == 413:
            code, detail = _too_large()
        return problem(status, code, exc.name or _title(status), detail)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return problem(500, "internal", "Internal error", "internal error")


def _incomplete() -> str:
    stream = request.__dict__.get("stream")  # made by then: it is what found the end
    received = stream.tell() if stream is not None else 0
    if request.content_length is not None:
        return f"the request body ended after {received} of {request.content_length} bytes"
    return f"the request body ended after {received} bytes, before its last chunk"


def _too_large() -> tuple[str, str]:
    """Name the limit Werkzeug's 413 stands for: the declared body's size, or a multipart
    form's (a chunked body over the limit raises our own ``TooLargeError``)."""
    limit = request.max_content_length
    if limit is not None and request.content_length is not None \
            and request.content_length > limit:
        return "too_large", f"request body exceeds {limit} bytes"
    return "form_too_large", (f"a multipart form may have at most {request.max_form_parts} "
                              f"parts, and {request.max_form_memory_size} bytes in a field "
                              "that is not a file")


def _title(status: int) -> str:
    return {
        400: "Bad request",
        401: "Unauthorized",
        403: "Forbidden",
        409: "Conflict",
        422: "Unprocessable content",
        429: "Too many requests",
        404: "Not found",
        413: "Payload too large",
        415: "Unsupported media type",
    }.get(status, "Error")
