"""Frames of the chat protocol (PROTOCOL.md): parse and check client frames, encode answers."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from veza.errors import (
    AuthError,
    ForbiddenError,
    InputError,
    NotFoundError,
    RateLimitedError,
    ServiceError,
    ValidationError,
    VezaError,
)

MAX_BODY = 4000
MAX_FRAME_BYTES = 32 * 1024
# Frames are flat objects; this leaves room for what a client adds without letting a deeply
# nested one reach the JSON parser's recursion limit.
MAX_DEPTH = 8
# Text a frame may not carry: PostgreSQL cannot store NUL, and a lone surrogate cannot be
# written as UTF-8 (every answer echoing it would fail).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
CID = re.compile(r"^.{1,64}$", re.S)
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")

# Field kinds: "id" (a UUID string), "str", "int" (>= 0), "cid".
_FIELDS: dict[str, dict[str, tuple[str, bool]]] = {
    "ping": {"cid": ("cid", False)},
    "presence.set": {"state": ("state", True)},
    "room.create": {"cid": ("cid", True), "name": ("name", True), "kind": ("kind", True),
                    "topic": ("topic", False)},
    "room.join": {"cid": ("cid", True), "room_id": ("id", False), "track_id": ("id", False)},
    "room.leave": {"cid": ("cid", True), "room_id": ("id", True)},
    "room.invite": {"cid": ("cid", True), "room_id": ("id", True), "user_id": ("id", True)},
    "room.role": {"cid": ("cid", True), "room_id": ("id", True), "user_id": ("id", True),
                  "role": ("role", True)},
    "room.members": {"cid": ("cid", True), "room_id": ("id", True)},
    "dm.open": {"cid": ("cid", True), "user_id": ("id", True)},
    "message.send": {"cid": ("cid", True), "room_id": ("id", True), "body": ("body", True),
                     "track_ms": ("int", False), "reply_to": ("id", False)},
    "message.edit": {"cid": ("cid", True), "id": ("id", True), "body": ("body", True)},
    "message.delete": {"cid": ("cid", True), "id": ("id", True)},
    "reaction.add": {"cid": ("cid", True), "id": ("id", True), "emoji": ("emoji", True)},
    "reaction.remove": {"cid": ("cid", True), "id": ("id", True), "emoji": ("emoji", True)},
    "history": {"cid": ("cid", True), "room_id": ("id", True), "before": ("id", False),
                "limit": ("limit", False)},
    "typing": {"room_id": ("id", True)},
    "read": {"cid": ("cid", True), "room_id": ("id", True), "up_to": ("id", True)},
    "unread": {"cid": ("cid", True)},
    "mod.mute": {"cid": ("cid", True), "room_id": ("id", True), "user_id": ("id", True),
                 "minutes": ("minutes", True)},
    "mod.ban": {"cid": ("cid", True), "room_id": ("id", True), "user_id": ("id", True)},
    "mod.unban": {"cid": ("cid", True), "room_id": ("id", True), "user_id": ("id", True)},
    "listen.control": {"cid": ("cid", True), "room_id": ("id", True), "action": ("action", True),
                       "position_ms": ("int", True), "track_id": ("id", False)},
}
WRITES = frozenset(("message.send", "message.edit", "message.delete", "reaction.add",
                    "reaction.remove"))
_CHOICES = {"state": ("online", "away"), "kind": ("public", "private"),
            "role": ("moderator", "member"), "action": ("play", "pause", "seek")}


class FrameError(Exception):
    """A client frame that cannot be used: answered with an ``error`` frame."""

    def __init__(self, code: str, message: str, *, cid: str | None = None,
                 **extra: Any) -> None:
        super().__init__(message)
        self.code, self.message, self.cid, self.extra = code, message, cid, extra


def encode(frame: dict[str, Any]) -> bytes:
    """Serialise a frame once, as compact UTF-8 JSON."""
    text = json.dumps(frame, separators=(",", ":"), ensure_ascii=False, default=str)
    try:
        return text.encode()
    except UnicodeEncodeError:  # parse() keeps lone surrogates out; never fail an answer
        return text.encode(errors="replace")


def error_frame(exc: FrameError) -> bytes:
    frame: dict[str, Any] = {"type": "error", "cid": exc.cid, "code": exc.code,
                             "message": exc.message}
    frame.update(exc.extra)
    return encode(frame)


def from_error(exc: VezaError, cid: str | None) -> FrameError:
    """Map one of our errors to the error frame a client sees."""
    if isinstance(exc, RateLimitedError):
        return FrameError("rate_limited", exc.message, cid=cid, retry_after=exc.retry_after_s)
    if isinstance(exc, ValidationError):
        return FrameError("invalid", exc.message, cid=cid, fields=exc.fields)
    if isinstance(exc, NotFoundError):
        return FrameError("not_found", exc.message, cid=cid)
    if isinstance(exc, ForbiddenError | AuthError):
        code = exc.code if exc.code in ("muted", "banned") else "not_allowed"
        return FrameError(code, exc.message, cid=cid)
    if isinstance(exc, ServiceError):
        return FrameError("unavailable", "the chat could not do that now; try again",
                          cid=cid)
    if isinstance(exc, InputError):
        code = "too_large" if exc.code == "too_large" else "invalid"
        return FrameError(code, exc.message, cid=cid)
    return FrameError("unavailable", exc.message, cid=cid)


def _check(kind: str, value: Any) -> str | None:
    """Return why ``value`` does not fit ``kind``, or None."""
    if kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31
        return None if ok else "must be a whole number >= 0"
    if kind == "limit":
        ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 100
        return None if ok else "must be a whole number from 1 to 100"
    if kind == "minutes":
        ok = isinstance(value, int | float) and not isinstance(value, bool) \
            and 0 < value <= 525_600
        return None if ok else "must be a number of minutes from 0 to 525600"
    if not isinstance(value, str):
        return "must be a string"
    if kind == "cid":
        return None if CID.match(value) else "must be 1-64 characters"
    if kind == "id":
        return None if UUID_RE.match(value) else "must be a UUID"
    if kind == "name":
        return None if 1 <= len(value.strip()) <= 100 else "must be 1-100 characters"
    if kind == "topic":
        return None if len(value) <= 500 else "must be at most 500 characters"
    if kind == "emoji":
        return None if 1 <= len(value) <= 32 else "must be 1-32 characters"
    if kind == "body":
        return None if value.strip() else "must not be empty"
    if kind in _CHOICES:
        choices = _CHOICES[kind]
        return None if value in choices else f"must be one of {', '.join(choices)}"
    return None


def _unusable_text(frame: dict[str, Any]) -> dict[str, str] | None:
    """Name the top-level fields holding text that cannot be stored or sent back (NUL, lone
    surrogates, in keys or values at any depth); None when the frame nests too deep."""
    problems: dict[str, str] = {}
    stack: list[tuple[Any, str, int]] = [(key, key, 1) for key in frame]
    stack += [(value, key, 1) for key, value in frame.items()]
    while stack:
        value, field, depth = stack.pop()
        if isinstance(value, str):
            if _UNSTORABLE.search(value):
                name = field if isinstance(field, str) and not _UNSTORABLE.search(field) \
                    else "frame"
                problems[name] = "must not contain NUL characters or unpaired surrogates"
        elif isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                return None
            items = list(value.items()) if isinstance(value, dict) else [(None, v) for v in value]
            for key, item in items:
                if key is not None:
                    stack.append((key, field, depth + 1))
                stack.append((item, field, depth + 1))
    return problems


def parse(data: str | bytes) -> dict[str, Any]:
    """Return a checked client frame, or raise ``FrameError`` saying what is wrong with it."""
    if isinstance(data, bytes):
        raise FrameError("bad_json", "frames are JSON objects in text messages, not binary")
    deep = FrameError("bad_json", f"a frame nests at most {MAX_DEPTH} levels deep")
    try:
        frame = json.loads(data)
    except RecursionError:
        raise deep from None
    except ValueError:
        raise FrameError("bad_json", "the frame is not valid JSON") from None
    if not isinstance(frame, dict):
        raise FrameError("bad_json", "a frame must be a JSON object")
    text_problems = _unusable_text(frame)
    if text_problems is None:
        raise deep
    cid = frame.get("cid")
    cid = cid if isinstance(cid, str) and CID.match(cid) and "cid" not in text_problems \
        else None
    if text_problems:
        raise FrameError("invalid", "; ".join(f"{k}: {v}" for k, v in text_problems.items()),
                         cid=cid, fields=text_problems)
    kind = frame.get("type")
    if not isinstance(kind, str) or kind not in _FIELDS:
        raise FrameError("unknown_type", f"unknown frame type {kind!r}"[:200], cid=cid)
    problems: dict[str, str] = {}
    for name, (field_kind, required) in _FIELDS[kind].items():
        value = frame.get(name)
        if value is None:
            if required:
                problems[name] = "required"
            continue
        why = _check(field_kind, value)
        if why:
            problems[name] = why
        elif field_kind == "id":
            frame[name] = str(uuid.UUID(value))  # one spelling for cache keys and SQL
    if kind == "room.join" and not problems and \
            (frame.get("room_id") is None) == (frame.get("track_id") is None):
        problems["room_id"] = "give either room_id or track_id"
    if problems:
        raise FrameError("invalid", "; ".join(f"{k}: {v}" for k, v in problems.items()),
                         cid=cid, fields=problems)
    body = frame.get("body")
    if isinstance(body, str) and len(body) > MAX_BODY:
        raise FrameError("too_large", f"a message is at most {MAX_BODY} characters "
                         f"(this one has {len(body)})", cid=cid)
    return frame
