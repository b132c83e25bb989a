"""Likes on tracks and playlists, and the caller's liked tracks."""

from __future__ import annotations

from typing import Any

from flask_openapi3 import APIBlueprint, Tag

from api.context import principal, services
from api.openapi import BEARER, problems
from api.schemas import TrackPath
from api.social_schemas import LikedPage, LikeState, PageQuery, PlaylistPath
from veza import social

TAG = Tag(name="likes", description="likes on tracks and playlists")
bp = APIBlueprint("likes", __name__, url_prefix="/api/v1", abp_tags=[TAG], abp_security=BEARER)


@bp.put("/tracks/<uuid:track_id>/like", responses={200: LikeState, **problems(401, 404)})
def like_track(path: TrackPath) -> dict[str, Any]:
    """Like a track you may see (liking it again changes nothing)."""
    return {"liked": True,
            "likes": social.like_track(services().db, principal(), path.track_id, on=True)}


@bp.delete("/tracks/<uuid:track_id>/like", responses={200: LikeState, **problems(401, 404)})
def unlike_track(path: TrackPath) -> dict[str, Any]:
    """Take back a like on a track."""
    return {"liked": False,
            "likes": social.like_track(services().db, principal(), path.track_id, on=False)}


@bp.put("/playlists/<uuid:playlist_id>/like", responses={200: LikeState, **problems(401, 404)})
def like_playlist(path: PlaylistPath) -> dict[str, Any]:
    """Like a playlist you may see (liking it again changes nothing)."""
    return {"liked": True, "likes": social.like_playlist(services().db, principal(),
                                                         path.playlist_id, on=True)}


@bp.delete("/playlists/<uuid:playlist_id>/like",
           responses={200: LikeState, **problems(401, 404)})
def unlike_playlist(path: PlaylistPath) -> dict[str, Any]:
    """Take back a like on a playlist."""
    return {"liked": False, "likes": social.like_playlist(services().db, principal(),
                                                          path.playlist_id, on=False)}


@bp.get("/me/likes", responses={200: LikedPage, **problems(401, 422)})
def my_likes(query: PageQuery) -> dict[str, Any]:
    """The tracks you liked and may still see, latest like first, a page at a time."""
    page = social.liked_tracks(services().db, principal(), cursor=query.cursor,
                               limit=query.limit)
    return {"items": [{"id": str(t.id), "title": t.title, "artist": t.artist,
                       "duration_s": t.duration_s, "status": t.status,
                       "owner_handle": t.owner_handle, "liked_at": t.created_at.isoformat()}
                      for t in page.items],
            "next_cursor": page.next_cursor}
