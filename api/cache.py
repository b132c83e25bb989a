"""A short-lived, in-process cache of the public answers of the busiest reads.

What is cached: the anonymous answer of a track (``GET /api/v1/tracks/{id}``), of a catalogue
page (``GET /api/v1/tracks``) and of a search (``GET /api/v1/search``, which is the same for
every caller: it only ever finds public tracks). A request that carries a token bypasses the
cache for tracks and pages, so an owner's or an admin's view (private tracks, the job, the file
name) is never stored, and never served to anybody else; a view stores an answer only when it
says the answer is the public one (``public_answer``).

Keys are the endpoint, the path's arguments and the query string's pairs in sorted order; an
answer lives ``VEZA_READ_CACHE_TTL`` seconds (1 by default; 0 turns the cache off). Staleness
is bounded, and shorter in the process that wrote:

* any write request (POST, PUT, PATCH, DELETE) served by this process empties its cache as it
  ends, so an owner who makes a track private, or deletes it, never sees it served again by the
  process that answered them;
* other processes (gunicorn's other workers, the pipeline workers that finish a track) are not
  told: their copies expire within the TTL. A track made private stops being served by every
  process at most the TTL after the write.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import Flask, Response, g, request

# The default TTL: long enough to absorb bursts of the same read, short enough that nobody
# waits for a change.
TTL_S = 1.0
MAX_ENTRIES = 20_000
# Endpoints whose anonymous answer may be cached, and whether a token holder may share it.
_CACHEABLE = {"tracks.get_track": False, "tracks.list_tracks": False, "search.search": True}
_WRITES = frozenset(("POST", "PUT", "PATCH", "DELETE"))
_EXTENSION = "veza.read_cache"


class ReadCache:
    """Answers by key, each kept ``ttl_s`` seconds; thread-safe."""

    def __init__(self, *, ttl_s: float = TTL_S, max_entries: int = MAX_ENTRIES) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[Any, tuple[float, bytes]] = {}
        self._lock = threading.Lock()
        # Counts clears: an answer read before a write but stored after the write's clear
        # would otherwise outlive it.
        self.generation = 0

    def get(self, key: Any) -> bytes | None:
        """Return the answer kept for ``key`` if it has not expired."""
        entry = self._entries.get(key)
        if entry is None or entry[0] <= time.monotonic():
            return None
        return entry[1]

    def put(self, key: Any, body: bytes, *, generation: int | None = None) -> None:
        """Keep ``body`` for ``key``, unless the cache was cleared since ``generation``."""
        with self._lock:
            if generation is not None and generation != self.generation:
                return
            if len(self._entries) >= self.max_entries:
                now = time.monotonic()
                self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
            self._entries[key] = (time.monotonic() + self.ttl_s, body)

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def public_answer() -> None:
    """Mark this request's answer as the public one, the same for every anonymous caller."""
    g.veza_public_answer = True


def _key() -> Any:
    """Return this request's cache key, or None when it must not use the cache."""
    shared = _CACHEABLE.get(request.endpoint or "")
    if shared is None or request.method != "GET":
        return None
    if not shared and "Authorization" in request.headers:
        return None
    # Sorted by name only: the sort is stable, so repeated names keep their order (the first
    # of them is the one a view reads).
    return (request.endpoint, request.path,
            tuple(sorted(request.args.items(multi=True), key=_name)))


def _name(pair: tuple[str, str]) -> str:
    return pair[0]


def init_app(app: Flask, ttl_s: float = TTL_S) -> None:
    """Serve and keep cached answers for ``ttl_s`` seconds (0: no cache); register after every
    hook that must see each request (authentication, rate limits): a cached answer is counted
    and limited like any other."""
    if ttl_s <= 0:
        return
    cache = ReadCache(ttl_s=ttl_s)
    app.extensions[_EXTENSION] = cache

    @app.before_request
    def _serve() -> Response | None:
        key = _key()
        if key is None:
            return None
        body = cache.get(key)
        if body is None:
            g.veza_cache_key = key, cache.generation
            return None
        return Response(body, status=200, mimetype="application/json")

    @app.after_request
    def _keep(response: Response) -> Response:
        if request.method in _WRITES:
            cache.clear()
            return response
        missed = g.pop("veza_cache_key", None)
        if (missed is not None and response.status_code == 200
                and g.pop("veza_public_answer", False)
                and response.mimetype == "application/json"):
            key, generation = missed
            cache.put(key, response.get_data(), generation=generation)
        return response


def read_cache(app: Flask) -> ReadCache:
    """Return the app's cache (tests shorten its TTL or empty it)."""
    return app.extensions[_EXTENSION]  # type: ignore[no-any-return]
