"""A track's cover art, read from the file's embedded picture at upload."""

from __future__ import annotations

from flask import redirect
from flask_openapi3 import APIBlueprint, Tag
from werkzeug.wrappers import Response

from api.context import optional_principal, services
from api.openapi import problems
from api.schemas import TrackPath
from veza import tags
from veza.analysis import visible_track

TAG = Tag(name="tracks")
bp = APIBlueprint("covers", __name__, url_prefix="/api/v1/tracks", abp_tags=[TAG])

REDIRECT = {"description": "a signed, expiring URL of the picture (JPEG, PNG or GIF)",
            "headers": {"Location": {"schema": {"type": "string"}}}}


@bp.get("/<uuid:track_id>/cover", responses={302: REDIRECT, **problems(401, 404)})
def cover(path: TrackPath) -> Response:
    """Redirect to the track's cover art; 404 ``no_cover`` when the track has none."""
    svc = services()
    track = visible_track(svc, path.track_id, optional_principal())
    response = redirect(tags.cover_url(svc, track), code=302)
    # The signed URL expires: a cached redirect must not outlive it.
    response.headers["Cache-Control"] = f"private, max-age={svc.settings.signed_url_ttl_s // 2}"
    return response
