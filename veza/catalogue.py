"""Removing tracks: rows first, then every object the track has in the store."""

from __future__ import annotations

import logging
from uuid import UUID

from storage.objects import ObjectStore
from storage.repositories import unit_of_work
from veza.errors import NotFoundError
from veza.layout import track_prefixes
from veza.runtime import Services

log = logging.getLogger(__name__)


def remove_objects(store: ObjectStore, track_id: UUID | str) -> int:
    """Delete every object of a track; return how many there were."""
    return sum(store.delete_prefix(prefix) for prefix in track_prefixes(track_id))


def delete_track(services: Services, track_id: UUID) -> None:
    """Delete a track: its rows at once (a running job notices and stops), then its objects.

    Raises:
        NotFoundError: no such track.
    """
    with unit_of_work(services.db) as uow:
        if uow.tracks.delete(track_id) is None:
            raise NotFoundError(f"no track with id {track_id}")
    removed = remove_objects(services.store, track_id)
    log.info("deleted track %s and %d objects", track_id, removed)
