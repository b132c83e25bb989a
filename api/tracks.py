"""Tracks: upload, status, and the playlists to stream them."""

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
from api.context import current_user_id, services
from api.openapi import BEARER, problems
from api.schemas import Accepted, RenditionPath, TrackPath, TrackStatus, UploadQuery
from storage.repositories import unit_of_work
from veza import catalogue, streaming, uploads
from veza.errors import EmptyInputError, InputError, NotFoundError, TooLargeError
from veza.records import Job, Rendition, Track

TAG = Tag(name="tracks", description="upload, status, deletion and streaming")
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
         responses={202: Accepted, **problems(400, 401, 413, 415, 422, 503)})
def upload(query: UploadQuery) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Accept an audio file as the raw body or as the ``file`` field of a multipart form."""
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
                uploads.receive(request.stream, dest, max_bytes=limit)
                filename = _filename()
        accepted = uploads.accept(svc, path, owner_id=current_user_id(), filename=filename,
                                  title=query.title)
    finally:
        path.unlink(missing_ok=True)
    status_url = url_for("tracks.get_track", track_id=accepted.track.id, _external=False)
    body = {
        "id": str(accepted.track.id),
        "status": accepted.track.status,
        "status_url": svc.settings.base_url + status_url,
        "job": _job(accepted.job),
    }
    return body, 202, {"Location": status_url}


def _load(track_id: UUID) -> tuple[Track, Job | None, list[Rendition]]:
    with unit_of_work(services().db) as uow:
        track = uow.tracks.get(track_id)
        if track is None:
            raise NotFoundError(f"no track with id {track_id}")
        return track, uow.jobs.latest_for_track(track_id), uow.renditions.for_track(track_id)


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


@bp.get("/<uuid:track_id>", responses={200: TrackStatus, **problems(404)})
def get_track(path: TrackPath) -> dict[str, Any]:
    """Status, progress, the failure reason, and when playable the stream URLs."""
    track, job, renditions = _load(path.track_id)
    base = services().settings.base_url
    stream = None
    if streaming.playable(track):
        stream = {
            # False while segments are still being added (an EVENT playlist).
            "complete": track.status == "ready",
            "master_url": f"{base}/api/v1/tracks/{track.id}/master.m3u8",
            "player_url": f"{base}/play/{track.id}",
            "renditions": [
                {"name": r.name, "codec": r.codec, "bitrate": r.bitrate,
                 "bandwidth": r.bandwidth, "average_bandwidth": r.average_bandwidth,
                 "segments": r.segment_count}
                for r in renditions
            ],
        }
    return {
        "id": str(track.id),
        "title": track.title,
        "status": track.status,
        "error": {"code": track.error_code, "message": track.error_message}
        if track.status == "failed" else None,
        "original_filename": track.original_filename,
        "size_bytes": track.size_bytes,
        "duration_s": track.duration_s,
        "source": {"format": track.source_format, "codec": track.source_codec,
                   "sample_rate": track.sample_rate, "channels": track.channels},
        "created_at": track.created_at.isoformat(),
        "updated_at": track.updated_at.isoformat(),
        "ready_at": track.ready_at.isoformat() if track.ready_at else None,
        "playable_at": track.playable_at.isoformat() if track.playable_at else None,
        "analysis": track.analysis,
        "job": _job(job),
        "stream": stream,
    }


@bp.delete("/<uuid:track_id>", security=BEARER, responses={204: None, **problems(401, 404)})
def delete(path: TrackPath) -> tuple[str, int]:
    """Delete the track, its playlists, segments, analysis and original; stop its job."""
    catalogue.delete_track(services(), path.track_id)
    return "", 204


@bp.get("/<uuid:track_id>/master.m3u8", responses={200: PLAYLIST, **problems(404)})
def master(path: TrackPath) -> Response:
    """The master playlist of a playable track."""
    track, _, renditions = _load(path.track_id)
    body = streaming.master_playlist(services(), track, renditions)
    plays.count_play(track.id)
    return Response(body, mimetype=M3U8, headers={"Cache-Control": "no-cache"})


@bp.get("/<uuid:track_id>/hls/<name>/index.m3u8",
        responses={200: PLAYLIST, **problems(404, 422)})
def media(path: RenditionPath) -> Response:
    """A rendition's media playlist, its segment URLs signed and expiring."""
    track, _, renditions = _load(path.track_id)
    rendition = next((r for r in renditions if r.name == path.name), None)
    if rendition is None:
        raise NotFoundError(f"track {path.track_id} has no rendition {path.name!r}")
    body = streaming.media_playlist(services(), track, rendition)
    # Signed URLs expire: a cached copy must not outlive them; a growing playlist is not cached.
    cache = "private, max-age=60" if track.status == "ready" else "no-cache"
    return Response(body, mimetype=M3U8, headers={"Cache-Control": cache})
