"""SQL for what an upload's embedded tags pre-fill: artist, album, genre and the cover's key."""

from __future__ import annotations

from uuid import UUID

from psycopg2.extras import RealDictCursor


class TrackTags:
    """Embedded-tag writes over one transaction's cursor."""

    def __init__(self, cur: RealDictCursor) -> None:
        self.cur = cur

    def prefill(self, track_id: UUID, *, artist: str | None, album: str | None,
                genre: str | None) -> None:
        """Fill the track's artist, album and genre where it has none yet."""
        self.cur.execute(
            """
            UPDATE tracks SET artist = coalesce(artist, %s), album = coalesce(album, %s),
                   genre = coalesce(genre, %s)
            WHERE id = %s
            """,
            (artist, album, genre, track_id),
        )

    def set_cover(self, track_id: UUID, key: str) -> bool:
        """Record the track's cover key; False when the track no longer exists."""
        self.cur.execute("UPDATE tracks SET cover_key = %s, updated_at = now() WHERE id = %s",
                         (key, track_id))
        return bool(self.cur.rowcount)
