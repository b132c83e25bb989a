"""Tracks: upload, metadata, pages of tracks, deletion, reprocessing, the original, and the
playlists to stream them; who may do what is decided in veza/catalogue.py and veza/access.py."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any
from uuid import UUID

from flask import Response, request, url_for
from flask_openapi3 import APIBlueprint, Tag
from werkzeug.http import parse_options_header

from api import plays
from api.cache import public_answer
from api.context import optional_principal, principal, require_role, services
from api.openapi import BEARER, problems
from api.schemas import (
    Accepted,
    RenditionPath,
    StreamQuery,
    TrackListQuery,
    TrackPage,
    TrackPath,
    TrackStatus,
    TrackUpdate,
    UploadQuery,
)
from veza import catalogue, streaming, uploads
from veza.catalogue import Counts, TrackView
from veza.errors import EmptyInputError, InputError, NotFoundError, TooLargeError
from veza.records import Job, Track

TAG = Tag(name="tracks", description="upload, metadata, listing, deletion, reprocessing and "
                                     "streaming")
bp = APIBlueprint("tracks", __name__, url_prefix="/api/v1/tracks", abp_tags=[TAG])

M3U8 = "application/vnd.apple.mpegurl"
AUDIO_BODY = {
    "requestBody": {
        "required": True,
        "description": "the audio file, as the raw body or the `file` field of a form",
        "content": {
            "application/octet-stream": {"schema": {"type": "string",
                                                    "contentMediaType": "audio/*"}},
            "audio/*": {"schema": {"type": "string", "contentMediaType": "audio/*"}},
            "multipart/form-data": {"schema": {
                "type": "object", "required": ["file"],
                "properties": {"file": {"type": "string", "contentMediaType": "audio/*"}}}},
        },
    }
}
PLAYLIST = {"description": "an HLS playlist",
            "content": {M3U8: {"schema": {"type": "string"}}}}


def _filename() -> str | None:
    if request.args.get("filename"):
        return request.args["filename"]
    disposition = request.headers.get("Content-Disposition")
    if disposition:
        _, options = parse_options_header(disposition)
        return options.get("filename")
    return None


@bp.post("", security=BEARER, openapi_extensions=AUDIO_BODY,
         responses={202: Accepted, **problems(400, 401, 403, 413, 415, 422, 503)})
def upload(query: UploadQuery) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Accept an audio file as the raw body or as the ``file`` field of a multipart form."""
    who = require_role("artist", "admin")
    svc = services()
    limit = svc.settings.max_upload_bytes
    if request.content_length is not None and request.content_length > limit:
        # Refuse before reading a byte of the body.
        raise TooLargeError(f"upload exceeds the limit of {limit} bytes "
                            f"(Content-Length: {request.content_length})")
    fd, name = tempfile.mkstemp(prefix="veza-upload-")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as dest:
            if request.mimetype == "multipart/form-data":
                part = request.files.get("file")
                if part is None:
                    raise InputError("multipart upload has no 'file' field")
                uploads.receive(part.stream, dest, max_bytes=limit)
                filename = part.filename or _filename()
            else:
                if request.content_length == 0:
                    raise EmptyInputError("the upload is empty")
                received = uploads.receive(request.stream, dest, max_bytes=limit)
                if request.content_length is not None and received < request.content_length:
                    # The connection ended early: never keep (or probe) part of a file.
                    raise InputError(f"the upload ended after {received} of "
                                     f"{request.content_length} bytes", code="incomplete")
                filename = _filename()
        accepted = uploads.accept(svc, path, owner_id=who.user_id, filename=filename,
                                  title=query.title, visibility=query.visibility)
    finally:
        path.unlink(missing_ok=True)
    return _accepted(accepted.track.id, accepted.job)


def _accepted(track_id: UUID, job: Job) -> tuple[dict[str, Any], int, dict[str, str]]:
    status_url = url_for("tracks.get_track", track_id=track_id, _external=False)
    body = {
        "id": str(track_id),
        "status": "queued",
        "status_url": services().settings.base_url + status_url,
        "job": _job(job),
    }
    return body, 202, {"Location": status_url}


def _job(job: Job | None) -> dict[str, Any] | None:
    if job is None:
        return None
    return {
        "id": str(job.id),
        "state": job.state,
        "progress": job.progress,
        "attempts": job.attempts,
        "error": {"code": job.error_code, "message": job.error_message}
        if job.error_code else None,
    }


def _metadata(track: Track, owner_handle: str | None) -> dict[str, Any]:
    base = services().settings.base_url
    return {
        "id": str(track.id),
        "owner_id": str(track.owner_id),
        "owner_handle": owner_handle,
        "title": track.title,
        "artist": track.artist,
        "album": track.album,
        "genre": track.genre,
        "tags": list(track.tags),
        "visibility": track.visibility,
        "status": track.status,
        "duration_s": track.duration_s,
        "created_at": track.created_at.isoformat(),
        # Null when the track has none: a client shows its placeholder without asking.
        "cover_url": f"{base}/api/v1/tracks/{track.id}/cover" if track.cover_key else None,
    }


def _counts(counts: Counts | None) -> dict[str, Any]:
    if counts is None:
        return {}
    return {"likes": counts.likes, "liked_by_me": counts.liked_by_me, "plays": counts.plays}


def _track(seen: TrackView, access: str | None = None) -> dict[str, Any]:
    """Render a track for its viewer: why it failed, its job and its file only for the owner.

    ``access`` is the stream grant the viewer came with: their stream URLs carry it on (a new
    grant is minted only for those who see the track without one, so a grant never renews
    itself)."""
    svc = services()
    track, base = seen.track, svc.settings.base_url
    stream = None
    if streaming.playable(track):
        # Whoever sees a private track here may stream it: its URLs carry a stream grant.
        grant = streaming.grant_query(
            (access or streaming.grant(svc, track)) if track.visibility == "private" else None)
        hls = f"{base}/api/v1/tracks/{track.id}/hls"
        stream = {
            # False while segments are still being added (an EVENT playlist).
            "complete": track.status == "ready",
            "master_url": f"{base}/api/v1/tracks/{track.id}/master.m3u8{grant}",
            "player_url": f"{base}/play/{track.id}{grant}",
            "renditions": [
                {"name": r.name, "codec": r.codec, "bitrate": r.bitrate,
                 "bandwidth": r.bandwidth, "average_bandwidth": r.average_bandwidth,
                 "segments": r.segment_count,
                 # The timeline, for a gapless player: priming, then exactly `samples`.
                 "playlist_url": f"{hls}/{r.name}/index.m3u8{grant}",
                 "sample_rate": streaming.SAMPLE_RATE, "priming_samples": r.priming_samples,
                 "samples": r.samples}
                for r in seen.renditions
            ],
        }
    failed = track.status == "failed"
    return {
        **_metadata(track, seen.owner_handle),
        "description": track.description,
        # A failure reason can name the owner's file and the platform's internals: it is theirs.
        "error": {"code": track.error_code, "message": track.error_message}
        if failed and seen.mine else None,
        "original_filename": track.original_filename if seen.mine else None,
        "size_bytes": track.size_bytes if seen.mine else None,
        "source": {"format": track.source_format, "codec": track.source_codec,
                   "sample_rate": track.sample_rate, "channels": track.channels},
        "updated_at": track.updated_at.isoformat(),
        "ready_at": track.ready_at.isoformat() if track.ready_at else None,
        "playable_at": track.playable_at.isoformat() if track.playable_at else None,
        "analysis": track.analysis,
        "job": _job(seen.job) if seen.mine else None,
        "stream": stream,
        **_counts(seen.counts),
    }


@bp.get("", responses={200: TrackPage, **problems(400, 401, 422)})
def list_tracks(query: TrackListQuery) -> dict[str, Any]:
    """Public tracks, newest first, a page at a time; with ``owner`` set to your own handle,
    all of yours."""
    svc = services()
    who = optional_principal()
    if who is None:
        public_answer()
    found = catalogue.page(svc, who, limit=query.limit, cursor=query.cursor,
                           owner=query.owner, genre=query.genre, tag=query.tag,
                           status=query.status, visibility=query.visibility)
    base = svc.settings.base_url
    return {
        "items": [{**_metadata(t, found.handles[t.owner_id]),
                   "url": f"{base}/api/v1/tracks/{t.id}", **_counts(found.counts.get(t.id))}
                  for t in found.tracks],
        "next": found.next,
    }


@bp.get("/<uuid:track_id>", responses={200: TrackStatus, **problems(401, 403, 404, 422)})
def get_track(path: TrackPath, query: StreamQuery) -> dict[str, Any]:
    """The track's metadata, status, likes and, when playable, the stream URLs; its owner also
    sees the job's progress, any failure reason and its plays. A private track opens to anyone
    with its stream grant (``access``, as on ``master.m3u8``), who sees what its listeners see."""
    who = optional_principal()
    if who is None and query.access is None:
        public_answer()
    seen = catalogue.view(services(), path.track_id, who, grant=query.access, counted=True)
    return _track(seen, query.access)


@bp.patch("/<uuid:track_id>", security=BEARER,
          responses={200: TrackStatus, **problems(400, 401, 403, 404, 422)})
def update(path: TrackPath, body: TrackUpdate) -> dict[str, Any]:
    """Change the track's title, artist, album, genre, tags, description or visibility."""
    who = principal()
    svc = services()
    catalogue.update(svc, path.track_id, who, body.model_dump(include=body.model_fields_set))
    return _track(catalogue.view(svc, path.track_id, who, counted=True))


@bp.delete("/<uuid:track_id>", security=BEARER,
           responses={204: None, **problems(401, 403, 404)})
def delete(path: TrackPath) -> tuple[str, int]:
    """Delete the track, its playlists, segments, analysis and original; stop its job."""
    catalogue.delete_track(services(), path.track_id, principal())
    return "", 204


@bp.post("/<uuid:track_id>/reprocess", security=BEARER,
         responses={202: Accepted, **problems(401, 403, 404, 409)})
def reprocess(path: TrackPath) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Process the track again from its original, with a new job; 409 while one is queued or
    running."""
    job = catalogue.reprocess(services(), path.track_id, principal())
    return _accepted(path.track_id, job)


@bp.get("/<uuid:track_id>/original", security=BEARER,
        responses={302: {"description": "a signed URL of the original file, valid for a few "
                                         "minutes; it answers Range requests"},
                   **problems(401, 403, 404)})
def original(path: TrackPath) -> Response:
    """Redirect the owner to a short-lived signed URL of the file they uploaded."""
    url = catalogue.original_url(services(), path.track_id, principal())
    return Response(status=302, headers={"Location": url, "Cache-Control": "no-store"})


@bp.get("/<uuid:track_id>/master.m3u8",
        responses={200: PLAYLIST, **problems(401, 403, 404, 422)})
def master(path: TrackPath, query: StreamQuery) -> Response:
    """The master playlist of a playable track (a private one with a stream grant, ``access``)."""
    seen = catalogue.view(services(), path.track_id, optional_principal(), grant=query.access)
    body = streaming.master_playlist(services(), seen.track, seen.renditions,
                                     access=query.access)
    plays.count_play(seen.track.id)
    # A private track's playlist must not sit in a shared cache.
    cache = "no-cache" if seen.track.visibility == "public" else "private, no-cache"
    return Response(body, mimetype=M3U8, headers={"Cache-Control": cache})


@bp.get("/<uuid:track_id>/hls/<name>/index.m3u8",
        responses={200: PLAYLIST, **problems(401, 403, 404, 422)})
def media(path: RenditionPath, query: StreamQuery) -> Response:
    """A rendition's media playlist, its segment URLs signed and expiring."""
    seen = catalogue.view(services(), path.track_id, optional_principal(), grant=query.access)
    track = seen.track
    rendition = next((r for r in seen.renditions if r.name == path.name), None)
    if rendition is None:
        raise NotFoundError(f"track {path.track_id} has no rendition {path.name!r}")
    body = streaming.media_playlist(services(), track, rendition)
    # Signed URLs expire: a cached copy must not outlive them; a growing playlist is not cached.
    cache = "private, max-age=60" if track.status == "ready" else "no-cache"
    return Response(body, mimetype=M3U8, headers={"Cache-Control": cache})
