"""Upload a package's files as the pipeline completes them, in the order it completed them."""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable
from pathlib import Path

from storage.objects import ObjectStore
from veza import logs
from veza.layout import analysis_prefix, hls_prefix
from veza.media import content_type_for

log = logging.getLogger(__name__)

ANALYSIS_FILES = ("analysis.json", "waveform")


def object_key(track_id: str, relative: str) -> str:
    """Return where a file of the package lives in the object store."""
    name = relative.rsplit("/", 1)[-1]
    if "/" not in relative and name.endswith(".json") and name.startswith(ANALYSIS_FILES):
        return analysis_prefix(track_id) + name
    return hls_prefix(track_id) + relative


class Publisher:
    """A single uploader thread fed in completion order, so the store never holds a playlist
    that lists a segment it does not have yet.

    Playlists are rewritten while the track is processed: their bytes are read when they are
    submitted, so each upload is the version that was complete at that moment.
    """

    def __init__(
        self,
        store: ObjectStore,
        track_id: str,
        *,
        on_published: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.track_id = track_id
        self.on_published = on_published
        self.uploaded: list[str] = []
        self._queue: queue.Queue[tuple[str, str, bytes | Path] | None] = queue.Queue()
        self._error: BaseException | None = None
        self._thread = logs.thread(self._run, name=f"publish-{track_id[:8]}")
        self._thread.start()

    def submit(self, relative: str, path: Path) -> None:
        """Queue one completed file for upload."""
        if self._error is not None:
            return
        body: bytes | Path = path
        if relative.endswith((".m3u8", ".json")):
            body = path.read_bytes()
        self._queue.put((relative, object_key(self.track_id, relative), body))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._error is not None:
                continue
            relative, key, body = item
            try:
                content_type = content_type_for(relative)
                if isinstance(body, Path):
                    self.store.put_file(key, body, content_type=content_type)
                else:
                    self.store.put(key, body, content_type=content_type, length=len(body))
                self.uploaded.append(key)
                if self.on_published is not None:
                    self.on_published(relative)
            except BaseException as exc:  # handed to close(), which raises it in the stage
                log.warning("upload of %s failed: %s", key, exc)
                self._error = exc

    def close(self) -> None:
        """Wait until everything queued is uploaded; raise the first upload error."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def abandon(self) -> None:
        """Stop uploading what is still queued."""
        self._error = self._error or RuntimeError("abandoned")
        self._queue.put(None)
        self._thread.join(timeout=30)
