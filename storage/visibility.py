"""Who may see a track or playlist, as SQL: the twin of ``veza.access.can_see`` for lists that
page in the database."""

from __future__ import annotations


def visible_sql(alias: str) -> str:
    """Return a condition on ``alias`` (tracks or playlists) true when the viewer may see it.

    It reads the named parameters ``viewer`` (a user id or None) and ``admin`` (a bool).
    """
    return (f"({alias}.visibility IN ('public', 'unlisted')"
            f" OR {alias}.owner_id = %(viewer)s OR %(admin)s)")
