"""Playlists: create, read, change, delete; add, remove and reorder their tracks."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_openapi3 import APIBlueprint, Tag

from api.context import optional_principal, principal, services
from api.openapi import BEARER, problems
from api.social_schemas import (
    ItemAdded,
    ItemBody,
    ItemPath,
    OrderBody,
    PageQuery,
    PlaylistBody,
    PlaylistOut,
    PlaylistPage,
    PlaylistPatch,
    PlaylistPath,
    UserPath,
)
from storage.playlists import Item, Playlist
from veza import playlists
from veza.playlists import PlaylistView

TAG = Tag(name="playlists", description="playlists and their items")
bp = APIBlueprint("playlists", __name__, url_prefix="/api/v1", abp_tags=[TAG])


def _summary(p: Playlist) -> dict[str, Any]:
    return {"id": str(p.id),
            "owner": {"id": str(p.owner_id), "handle": p.owner_handle,
                      "display_name": p.owner_display_name},
            "title": p.title, "description": p.description, "visibility": p.visibility,
            "item_count": p.item_count, "like_count": p.like_count,
            "created_at": p.created_at.isoformat(), "updated_at": p.updated_at.isoformat()}


def _item(i: Item) -> dict[str, Any]:
    return {"id": str(i.id), "position": i.position, "added_at": i.added_at.isoformat(),
            "track": {"id": str(i.track_id), "title": i.title, "artist": i.artist,
                      "duration_s": i.duration_s, "status": i.status,
                      "owner_handle": i.track_owner_handle}}


def _view(v: PlaylistView) -> dict[str, Any]:
    # The count a caller sees is of the items they are shown.
    return {**_summary(v.playlist), "item_count": len(v.items), "liked_by_me": v.liked,
            "editable": v.editable, "items": [_item(i) for i in v.items]}


@bp.post("/playlists", security=BEARER,
         responses={201: PlaylistOut, **problems(400, 401, 409, 422)})
def create(body: PlaylistBody) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Create an empty playlist; 409 (too_many_playlists) for an owner of 1,000 already."""
    view = playlists.create(services().db, principal(), body.model_dump())
    return _view(view), 201, {"Location": f"/api/v1/playlists/{view.playlist.id}"}


@bp.get("/playlists/<uuid:playlist_id>", responses={200: PlaylistOut, **problems(401, 404)})
def get(path: PlaylistPath) -> dict[str, Any]:
    """A playlist and its items in order (without tracks you may not see)."""
    return _view(playlists.get(services().db, path.playlist_id, optional_principal()))


@bp.patch("/playlists/<uuid:playlist_id>", security=BEARER,
          responses={200: PlaylistOut, **problems(400, 401, 403, 404, 422)})
def update(path: PlaylistPath, body: PlaylistPatch) -> dict[str, Any]:
    """Rename a playlist, or change its description or visibility (owner or admin)."""
    fields = body.model_dump(include=body.model_fields_set)
    return _view(playlists.update(services().db, principal(), path.playlist_id, fields))


@bp.delete("/playlists/<uuid:playlist_id>", security=BEARER,
           responses={204: None, **problems(401, 403, 404)})
def delete(path: PlaylistPath) -> Response:
    """Delete a playlist (owner or admin); its tracks stay."""
    playlists.delete(services().db, principal(), path.playlist_id)
    return Response(status=204)


@bp.post("/playlists/<uuid:playlist_id>/items", security=BEARER,
         responses={201: ItemAdded, **problems(400, 401, 403, 404, 409, 422)})
def add_item(path: PlaylistPath, body: ItemBody) -> tuple[dict[str, Any], int]:
    """Add a track you may see, at the end or at a position (0 is first)."""
    item_id, view = playlists.add_item(services().db, principal(), path.playlist_id,
                                       body.track_id, body.position)
    return {"item_id": str(item_id), "playlist": _view(view)}, 201


@bp.delete("/playlists/<uuid:playlist_id>/items/<uuid:item_id>", security=BEARER,
           responses={204: None, **problems(401, 403, 404)})
def remove_item(path: ItemPath) -> Response:
    """Take an item out of a playlist; the items after it move up."""
    playlists.remove_item(services().db, principal(), path.playlist_id, path.item_id)
    return Response(status=204)


@bp.put("/playlists/<uuid:playlist_id>/order", security=BEARER,
        responses={200: PlaylistOut, **problems(400, 401, 403, 404, 422)})
def reorder(path: PlaylistPath, body: OrderBody) -> dict[str, Any]:
    """Put the items in a new order: send every item id of the playlist, once each."""
    return _view(playlists.reorder(services().db, principal(), path.playlist_id,
                                   body.item_ids))


@bp.get("/users/<handle>/playlists", responses={200: PlaylistPage, **problems(401, 404, 422)})
def of_user(path: UserPath, query: PageQuery) -> dict[str, Any]:
    """A user's public playlists, newest first; all of them when they are yours."""
    page = playlists.of_user(services().db, path.handle, optional_principal(),
                             cursor=query.cursor, limit=query.limit)
    return {"items": [_summary(p) for p in page.items], "next_cursor": page.next_cursor}
