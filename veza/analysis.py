"""A track's analysis as resources: loudness, gain, tempo and beats, key, cues, waveform.

The summary lives in ``tracks.analysis`` (written when the track turns ready); the beat list and
the waveform levels live in the store under ``analysis/{track_id}/`` (see pipeline/process.py).
Until the pipeline has written the summary, every resource answers 409 ``not_ready``: the track
exists and the client may try again later, which a 404 would not say.
"""

from __future__ import annotations

import json
import re
from typing import Any
from uuid import UUID

from pipeline.keynames import KEY_NAMES
from storage.repositories import unit_of_work
from veza import streaming
from veza.access import check_visible
from veza.accounts import Principal
from veza.errors import ConflictError, NotFoundError, ObjectNotFoundError, ValidationError
from veza.layout import analysis_prefix
from veza.records import Track
from veza.runtime import Services

_ZOOM_FILE = re.compile(r"^waveform_(\d{1,7})\.json$")
_SAMPLES_PER_PIXEL = re.compile(rb'"samples_per_pixel":\s*(\d{1,7})')
# analysis.json and waveform.json start with a few small fields: this many bytes hold them.
_HEAD_BYTES = 256
# Camelot wheel numbers by pitch class (C = 0); "B" marks major keys, "A" minor keys.
_CAMELOT_MAJOR = (8, 3, 10, 5, 12, 7, 2, 9, 4, 11, 6, 1)
_CAMELOT_MINOR = (5, 12, 7, 2, 9, 4, 11, 6, 1, 8, 3, 10)
_PITCH = {name: pc for names in KEY_NAMES.values() for pc, name in enumerate(names)}
_PITCH.update({"C#": 1, "Db": 1, "D#": 3, "F#": 6, "Gb": 6, "G#": 8, "Ab": 8, "A#": 10})


class NotReadyError(ConflictError):
    """Raised when a track's analysis has not been written yet (409 ``not_ready``)."""

    code = "not_ready"


def visible_track(services: Services, track_id: UUID, who: Principal | None, *,
                  grant: str | None = None) -> Track:
    """Return the track if ``who`` may see it, or to anyone with a stream ``grant`` for it;
    NotFoundError otherwise (SignatureError for a grant that is not valid for it)."""
    if grant is not None:
        streaming.check_grant(services, track_id, grant)
    with unit_of_work(services.db) as uow:
        track = uow.tracks.get(track_id)
    if track is None:
        raise NotFoundError(f"no track with id {track_id}")
    if grant is None:
        check_visible("track", track.id, track.owner_id, track.visibility, who)
    return track


def summary(services: Services, track_id: UUID, who: Principal | None, *,
            grant: str | None = None) -> dict[str, Any]:
    """Return the track's analysis summary; NotReadyError while it has none."""
    track = visible_track(services, track_id, who, grant=grant)
    if not track.analysis:
        raise NotReadyError(f"track {track_id} is {track.status}: its analysis is not ready yet")
    return track.analysis


def camelot(key_name: str | None) -> str | None:
    """Return the Camelot code of a key name such as ``"A minor"`` (``"8A"``), or None."""
    if not key_name:
        return None
    tonic, _, mode = key_name.partition(" ")
    if tonic not in _PITCH or mode not in ("major", "minor"):
        return None
    if mode == "major":
        return f"{_CAMELOT_MAJOR[_PITCH[tonic]]}B"
    return f"{_CAMELOT_MINOR[_PITCH[tonic]]}A"


def key(analysis: dict[str, Any]) -> dict[str, Any]:
    """Return the key resource: name, tonic, mode, confidence and Camelot code."""
    name = analysis.get("key")
    tonic, _, mode = (name or "").partition(" ")
    return {"name": name, "tonic": tonic or None, "mode": mode or None,
            "confidence": analysis.get("key_confidence") if name else None,
            "camelot": camelot(name)}


def beats(services: Services, track_id: UUID) -> list[float] | None:
    """Return the beat times (s) kept in analysis.json; None when the store has none."""
    try:
        body = services.store.get(analysis_prefix(track_id) + "analysis.json")
    except ObjectNotFoundError:
        return None
    found = json.loads(body).get("beats_s")
    return [float(b) for b in found] if isinstance(found, list) else None


def zoom_levels(services: Services, track_id: UUID) -> dict[int, str]:
    """Return the waveform's zoom levels (samples per pixel) and the key holding each."""
    prefix = analysis_prefix(track_id)
    levels: dict[int, str] = {}
    for info in services.store.list(prefix):
        name = info.key[len(prefix):]
        match = _ZOOM_FILE.match(name)
        if match:
            levels[int(match.group(1))] = info.key
        elif name == "waveform.json":
            # The finest level carries no number in its name: its header says which it is.
            head = services.store.get_range(info.key, 0, _HEAD_BYTES)
            found = _SAMPLES_PER_PIXEL.search(head)
            if found:
                levels[int(found.group(1))] = info.key
    return dict(sorted(levels.items()))


def waveform(services: Services, track_id: UUID, who: Principal | None, zoom: int | None, *,
             grant: str | None = None) -> bytes:
    """Return one waveform level as audiowaveform JSON; the finest when ``zoom`` is None.

    Raises:
        NotReadyError: the analysis is not written yet.
        NotFoundError: (code ``no_waveform``) the track has no waveform in the store.
        ValidationError: ``zoom`` is not one of the track's levels.
    """
    summary(services, track_id, who, grant=grant)
    levels = zoom_levels(services, track_id)
    if not levels:
        raise NotFoundError(f"track {track_id} has no waveform", code="no_waveform")
    if zoom is None:
        zoom = min(levels)
    if zoom not in levels:
        raise ValidationError({"zoom": f"must be one of {', '.join(map(str, levels))}"})
    try:
        return services.store.get(levels[zoom])
    except ObjectNotFoundError as exc:  # removed since it was listed: the track is going away
        raise NotFoundError(f"track {track_id} has no waveform", code="no_waveform") from exc
