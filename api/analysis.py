"""A track's analysis, one resource per measure: loudness, gain, tempo, key, cues, waveform.

Every route answers 404 for a track the caller may not see, and 409 ``not_ready`` while the
track's analysis has not been written (try again once the track is ready).
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_openapi3 import APIBlueprint, Tag

from api.analysis_schemas import (
    AnalysisInfo,
    CueInfo,
    GainInfo,
    KeyInfo,
    LoudnessInfo,
    TempoInfo,
    Waveform,
    WaveformQuery,
)
from api.context import optional_principal, services
from api.openapi import problems
from api.schemas import StreamQuery, TrackPath
from veza import analysis

TAG = Tag(name="analysis", description="loudness, gain, tempo, key, cue points and waveform")
bp = APIBlueprint("analysis", __name__, url_prefix="/api/v1/tracks/<uuid:track_id>/analysis",
                  abp_tags=[TAG])

# The analysis of a track never changes once written; a client may keep it a while.
CACHE = {"Cache-Control": "private, max-age=300"}
ERRORS = problems(401, 403, 404, 409, 422)


def _summary(path: TrackPath, query: StreamQuery) -> dict[str, Any]:
    # A private track's stream grant opens its analysis too: the player of a shared link
    # draws the waveform and applies the gain.
    return analysis.summary(services(), path.track_id, optional_principal(), grant=query.access)


def _loudness(summary: dict[str, Any]) -> dict[str, Any]:
    found = summary.get("loudness") or {}
    return {name: found.get(name) for name in LoudnessInfo.model_fields}


def _gain(summary: dict[str, Any]) -> dict[str, Any]:
    return {"gain_db": summary.get("gain_db"),
            "target_lufs": services().settings.target_lufs,
            "integrated_lufs": (summary.get("loudness") or {}).get("integrated_lufs")}


def _cues(summary: dict[str, Any]) -> dict[str, Any]:
    cue_in, cue_out = summary.get("cue_in_s"), summary.get("cue_out_s")
    audible = round(cue_out - cue_in, 3) if cue_in is not None and cue_out is not None else None
    return {"cue_in_s": cue_in, "cue_out_s": cue_out, "audible_s": audible,
            "duration_s": summary.get("duration_s")}


def _tempo(path: TrackPath, summary: dict[str, Any]) -> dict[str, Any]:
    return {"bpm": summary.get("tempo_bpm"), "beats_s": analysis.beats(services(), path.track_id)}


@bp.get("", responses={200: AnalysisInfo, **ERRORS})
def get_analysis(path: TrackPath, query: StreamQuery) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Everything the pipeline measured, with the waveform's zoom levels."""
    summary = _summary(path, query)
    svc = services()
    body = {
        "track_id": str(path.track_id),
        "duration_s": summary.get("duration_s"),
        "sample_rate": summary.get("sample_rate"),
        "channels": summary.get("channels"),
        "loudness": _loudness(summary),
        "gain": _gain(summary),
        "tempo": _tempo(path, summary),
        "key": analysis.key(summary),
        "cues": _cues(summary),
        "waveform": {
            "zoom_levels": list(analysis.zoom_levels(svc, path.track_id)),
            "url": f"{svc.settings.base_url}/api/v1/tracks/{path.track_id}/analysis/waveform",
        },
    }
    return body, 200, CACHE


@bp.get("/loudness", responses={200: LoudnessInfo, **ERRORS})
def get_loudness(path: TrackPath, query: StreamQuery) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Integrated loudness, loudness range, maximum momentary and short-term loudness, peaks."""
    return _loudness(_summary(path, query)), 200, CACHE


@bp.get("/gain", responses={200: GainInfo, **ERRORS})
def get_gain(path: TrackPath, query: StreamQuery) -> tuple[dict[str, Any], int, dict[str, str]]:
    """The gain that brings the track to the platform's loudness target."""
    return _gain(_summary(path, query)), 200, CACHE


@bp.get("/tempo", responses={200: TempoInfo, **ERRORS})
def get_tempo(path: TrackPath, query: StreamQuery) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Tempo in beats per minute and the time of every beat."""
    return _tempo(path, _summary(path, query)), 200, CACHE


@bp.get("/key", responses={200: KeyInfo, **ERRORS})
def get_key(path: TrackPath, query: StreamQuery) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Musical key with its mode, the detector's confidence and the Camelot code."""
    return analysis.key(_summary(path, query)), 200, CACHE


@bp.get("/cues", responses={200: CueInfo, **ERRORS})
def get_cues(path: TrackPath, query: StreamQuery) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Where the sound starts and ends (leading and trailing silence cut)."""
    return _cues(_summary(path, query)), 200, CACHE


@bp.get("/waveform", responses={200: Waveform, **ERRORS})
def get_waveform(path: TrackPath, query: WaveformQuery) -> Response:
    """Waveform peaks at one zoom level (samples per pixel), in audiowaveform JSON.

    422 when ``zoom`` is not one of the track's levels; 404 ``no_waveform`` when the track's
    waveform is not in the store.
    """
    body = analysis.waveform(services(), path.track_id, optional_principal(), query.zoom,
                              grant=query.access)
    return Response(body, mimetype="application/json", headers=CACHE)
