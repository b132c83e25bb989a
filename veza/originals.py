"""Originals a worker downloaded, kept on local disk for its next part of the same track."""

from __future__ import annotations

import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID, uuid4

from storage.objects import ObjectStore
from veza.errors import NotFoundError


class Originals:
    """Originals this process downloaded, kept for its next part of the same track.

    A worker usually encodes several parts of one track in a row; a 60-minute WAV is 600 MB,
    so downloading it once per worker rather than once per part matters. At most ``keep``
    files stay on disk; one in use is never removed.
    """

    def __init__(self, keep: int = 2) -> None:
        self.keep = keep
        self._lock = threading.Lock()
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._files: OrderedDict[str, Path] = OrderedDict()
        self._users: dict[str, int] = {}
        self._key_locks: dict[str, threading.Lock] = {}

    @contextmanager
    def fetch(self, store: ObjectStore, key: str) -> Iterator[Path]:
        """Yield a local copy of object ``key``, downloading it unless it is already here."""
        if not key:
            raise NotFoundError("the track has no original")
        with self._lock:
            if self._dir is None:
                self._dir = tempfile.TemporaryDirectory(prefix="veza-originals-")
            self._users[key] = self._users.get(key, 0) + 1
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        try:
            with key_lock:
                with self._lock:
                    path = self._files.get(key)
                if path is None or not path.exists():
                    path = Path(self._dir.name) / f"{uuid4().hex}{Path(key).suffix}"
                    store.download(key, path)
                with self._lock:
                    self._files[key] = path
                    self._files.move_to_end(key)
            yield path
        finally:
            with self._lock:
                self._users[key] -= 1
                self._evict()

    def forget(self, track_id: UUID | str) -> None:
        """Drop the originals of a track that needs no more parts."""
        with self._lock:
            for key in [k for k in self._files if f"/{track_id}/" in k]:
                if not self._users.get(key):
                    self._files.pop(key).unlink(missing_ok=True)

    def _evict(self) -> None:
        for key in list(self._files):
            if len(self._files) <= self.keep:
                return
            if not self._users.get(key):
                self._files.pop(key).unlink(missing_ok=True)


# One per process: the workers' threads share what they downloaded.
ORIGINALS = Originals()
