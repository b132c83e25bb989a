"""Search: public tracks by text (typo-tolerant) and by tempo, key, loudness and duration."""

from __future__ import annotations

from typing import Any

from flask_openapi3 import APIBlueprint, Tag

from api.cache import public_answer
from api.context import services
from api.openapi import problems
from api.search_schemas import SearchPage, SearchQuery
from veza import search as searching
from veza.search import SearchHit, camelot_of

TAG = Tag(name="search", description="find public tracks by text and by how they sound")
bp = APIBlueprint("search", __name__, url_prefix="/api/v1/search", abp_tags=[TAG])


def _hit(hit: SearchHit, base: str) -> dict[str, Any]:
    return {
        "id": str(hit.id), "owner_id": str(hit.owner_id), "owner_handle": hit.owner_handle,
        "title": hit.title, "artist": hit.artist, "album": hit.album,
        "genre": hit.genre, "tags": hit.tags, "duration_s": hit.duration_s,
        "tempo_bpm": hit.tempo_bpm, "key": hit.musical_key, "camelot": camelot_of(hit.musical_key),
        "loudness_lufs": hit.loudness_lufs, "created_at": hit.created_at.isoformat(),
        "score": hit.score, "url": f"{base}/api/v1/tracks/{hit.id}",
        "cover_url": f"{base}/api/v1/tracks/{hit.id}/cover" if hit.has_cover else None,
    }


@bp.get("", responses={200: SearchPage, **problems(400, 422, 429)})
def search(query: SearchQuery) -> dict[str, Any]:
    """Public, ready tracks matching free text and filters, best match first (newest first
    without text); pages through ``next_cursor``."""
    public_answer()  # only public tracks are ever found, whoever asks
    fields = query.model_dump(exclude={"limit", "cursor"})
    svc = services()
    page = searching.search(svc, searching.Query(**fields), limit=query.limit,
                            cursor=query.cursor)
    base = svc.settings.base_url
    return {"items": [_hit(h, base) for h in page.hits], "next_cursor": page.next_cursor,
            "mode": page.mode}
