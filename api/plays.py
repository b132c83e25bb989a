"""Plays: the caller's listening history and a track's play counts; counting a play."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from flask import current_app, request
from flask_openapi3 import APIBlueprint, Tag

from api.analysis_schemas import History, HistoryQuery, TrackStats
from api.context import accounts, optional_principal, principal, services
from api.openapi import BEARER, problems
from api.schemas import TrackPath
from veza import plays
from veza.errors import AuthError, ServiceError

log = logging.getLogger(__name__)

TAG = Tag(name="plays", description="listening history and play counts")
bp = APIBlueprint("plays", __name__, url_prefix="/api/v1", abp_tags=[TAG])


def count_play(track_id: UUID) -> None:
    """Count a play of the track for this request's listener (the master playlist calls it).

    Counting never stops playback: a stale token counts as an anonymous listener, and a database
    that fails here is logged, not raised. A HEAD request fetches nothing to play: not counted.
    """
    if request.method == "HEAD":
        return
    try:
        who = optional_principal()
    except AuthError:
        who = None
    svc = services()
    # Derived once per app: without a configured key it is read from the data directory.
    secret = current_app.extensions.get("veza.listeners")
    if secret is None:
        secret = current_app.extensions["veza.listeners"] = plays.listener_secret(svc)
    listener = plays.listener_for(who, address=request.remote_addr,
                                  user_agent=request.headers.get("User-Agent"), secret=secret)
    try:
        plays.record_play(svc, track_id, listener, accounts().limiter)
    except ServiceError:
        log.warning("play of track %s not counted", track_id, exc_info=True)


@bp.get("/me/history", security=BEARER, responses={200: History, **problems(401, 422)})
def history(query: HistoryQuery) -> dict[str, Any]:
    """The caller's listening sessions, newest first, of tracks they may still see."""
    entries, following = plays.history(services(), principal(), limit=query.limit,
                                       cursor=query.cursor)
    return {
        "items": [
            {"track": {"id": str(e.track_id), "title": e.title, "artist": e.artist,
                       "duration_s": e.duration_s},
             "started_at": e.started_at.isoformat(), "last_seen_at": e.last_seen_at.isoformat()}
            for e in entries
        ],
        "next_cursor": following,
    }


@bp.get("/tracks/<uuid:track_id>/stats", security=BEARER,
        responses={200: TrackStats, **problems(401, 403, 404)})
def stats(path: TrackPath) -> dict[str, Any]:
    """Total plays, unique listeners and plays per day over the last 30 days (owner or admin)."""
    found = plays.stats(services(), path.track_id, principal())
    return {
        "track_id": str(path.track_id),
        "total_plays": found.total_plays,
        "unique_listeners": found.unique_listeners,
        "days": [{"date": day.isoformat(), "plays": n} for day, n in found.per_day],
    }
