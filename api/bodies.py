"""Request bodies: bounded while they are read whatever their framing (the request class), and
JSON parsed in one place (the app's JSON provider, which ``request.get_json`` and
flask-openapi3's body models use) with a bound on nesting and text that can be stored."""

from __future__ import annotations

import json
import re
from typing import IO, Any

from flask import Request
from flask.json.provider import DefaultJSONProvider
from gunicorn.http.errors import ParseException
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream

from veza.errors import InputError, TooLargeError

# Our bodies nest a few levels at most; the bound keeps every parser and walker far from
# Python's recursion limit.
MAX_JSON_DEPTH = 32

# A JSON string, escapes included (the unrolled form keeps the match linear).
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class BoundedRequest(Request):
    """Flask's request, whose body is read as its framing says, on a server that frames it
    itself (gunicorn; Werkzeug's for a chunked body) too: without a Content-Length, a 413 once
    it passes ``max_content_length`` (Werkzeug's own stream would quietly cut it there); with
    one, a 400 ``incomplete`` when it ends short (Werkzeug's would take the part as the whole);
    a malformed chunk, a 400 ``bad_chunking`` (gunicorn's parser error would be a 500)."""

    @cached_property
    def stream(self) -> IO[bytes]:
        stream = super().stream  # refuses a declared length over the limit
        if "wsgi.input_terminated" not in self.environ:
            return stream
        limit, length = self.max_content_length, self.content_length
        if length is not None:
            return _ClientBody(self.environ["wsgi.input"], length)  # type: ignore[return-value]
        if limit is not None:
            return _MaxBody(self.environ["wsgi.input"], limit)  # type: ignore[return-value]
        return stream


class _ClientBody(LimitedStream):
    """The body as the server passes it, read up to ``limit``; its framing errors are ours."""

    def readinto(self, b: bytearray) -> int | None:  # type: ignore[override]
        try:
            return super().readinto(b)
        except ParseException as exc:  # gunicorn's chunked parser
            raise _bad_chunking(exc) from exc

    def on_disconnect(self, error: Exception | None = None) -> None:
        # Werkzeug's dechunker raises a bare OSError (no errno) for a malformed chunk; a
        # connection that ended, reset or timed out is an incomplete body.
        if type(error) is OSError and error.errno is None:
            raise _bad_chunking(error) from error
        super().on_disconnect(error)


class _MaxBody(_ClientBody):
    """A body without a declared length: ``TooLargeError`` on reading a byte past ``limit``."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        super().__init__(stream, limit + 1, is_max=True)
        self.max_bytes = limit

    def readinto(self, b: bytearray) -> int | None:  # type: ignore[override]
        read = super().readinto(b)
        if self.tell() > self.max_bytes:
            raise TooLargeError(f"request body exceeds {self.max_bytes} bytes")
        return read


def _bad_chunking(exc: Exception) -> InputError:
    return InputError(f"the request body's chunked framing is malformed ({exc})",
                      code="bad_chunking")


class BodyJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, refusing bodies nested too deep or holding text that is not
    Unicode (invalid UTF-8, a lone surrogate) with a 400 that says so."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        if isinstance(s, (bytes, bytearray)):
            try:
                s = bytes(s).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(f"the body is not valid UTF-8 (byte {exc.start})",
                                 code="bad_encoding") from exc
        _check_depth(s)
        value = json.loads(s, **kwargs)  # a ValueError: the caller's "not JSON" answer
        if _SURROGATE_ESCAPE.search(s):
            _check_text(value)
        return value


def _check_depth(text: str) -> None:
    depth = 0
    for bracket in _BRACKETS.findall(_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > MAX_JSON_DEPTH:
            raise InputError(f"the body nests deeper than {MAX_JSON_DEPTH} levels",
                             code="too_deep")


def _check_text(value: Any) -> None:
    """Refuse strings (keys too) holding a lone surrogate: no encoder can write them."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str) and _SURROGATE.search(item):
            raise InputError("the body holds a lone surrogate (\\ud800-\\udfff) in a string",
                             code="bad_encoding")
