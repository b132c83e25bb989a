"""Tracks: upload, status, and the playlists to stream them."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any
from uuid import UUID

from flask import Blueprint, Response, request, url_for
from werkzeug.http import parse_options_header

from api.context import current_user_id, services
from storage.repositories import unit_of_work
from veza import catalogue, streaming, uploads
from veza.errors import EmptyInputError, InputError, NotFoundError, TooLargeError
from veza.records import Job, Rendition, Track

bp = Blueprint("tracks", __name__, url_prefix="/api/v1/tracks")

M3U8 = "application/vnd.apple.mpegurl"


def _filename() -> str | None:
    if request.args.get("filename"):
        return request.args["filename"]
    disposition = request.headers.get("Content-Disposition")
    if disposition:
        _, options = parse_options_header(disposition)
        return options.get("filename")
    return None


@bp.post("")
def upload() -> tuple[dict[str, Any], int, dict[str, str]]:
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
                                  title=request.args.get("title"))
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


@bp.get("/<uuid:track_id>")
def get_track(track_id: UUID) -> dict[str, Any]:
    track, job, renditions = _load(track_id)
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


@bp.delete("/<uuid:track_id>")
def delete(track_id: UUID) -> tuple[str, int]:
    """Delete the track, its playlists, segments, analysis and original; stop its job."""
    catalogue.delete_track(services(), track_id)
    return "", 204


@bp.get("/<uuid:track_id>/master.m3u8")
def master(track_id: UUID) -> Response:
    track, _, renditions = _load(track_id)
    body = streaming.master_playlist(services(), track, renditions)
    return Response(body, mimetype=M3U8, headers={"Cache-Control": "no-cache"})


@bp.get("/<uuid:track_id>/hls/<name>/index.m3u8")
def media(track_id: UUID, name: str) -> Response:
    track, _, renditions = _load(track_id)
    rendition = next((r for r in renditions if r.name == name), None)
    if rendition is None:
        raise NotFoundError(f"track {track_id} has no rendition {name!r}")
    body = streaming.media_playlist(services(), track, rendition)
    # Signed URLs expire: a cached copy must not outlive them; a growing playlist is not cached.
    cache = "private, max-age=60" if track.status == "ready" else "no-cache"
    return Response(body, mimetype=M3U8, headers={"Cache-Control": cache})
