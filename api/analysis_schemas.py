"""The shapes of a track's analysis, its plays and its cover, as pydantic models (see schemas.py).

Values the analysers could not measure (silence has no key, no loudness) are ``null``.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas import StreamQuery

# ------------------------------------------------------------------- analysis


class LoudnessInfo(BaseModel):
    integrated_lufs: float | None = Field(description="EBU R128 / BS.1770 integrated loudness")
    range_lu: float | None = Field(description="loudness range (LRA)")
    momentary_max_lufs: float | None
    short_term_max_lufs: float | None
    sample_peak_dbfs: float | None
    true_peak_dbtp: float | None = Field(description="4x oversampled true peak")


class GainInfo(BaseModel):
    gain_db: float | None = Field(description="gain that brings the track to target_lufs")
    target_lufs: float
    integrated_lufs: float | None


class TempoInfo(BaseModel):
    bpm: float | None
    beats_s: list[float] | None = Field(description="beat times in seconds; null when the "
                                                    "beat list is not in the store")


class KeyInfo(BaseModel):
    name: str | None = Field(description='e.g. "A minor"; null for silence')
    tonic: str | None
    mode: str | None = Field(description='"major" or "minor"')
    confidence: float | None
    camelot: str | None = Field(description='Camelot wheel code, e.g. "8A"')


class CueInfo(BaseModel):
    cue_in_s: float | None = Field(description="start of the first sound")
    cue_out_s: float | None = Field(description="end of the last sound")
    audible_s: float | None
    duration_s: float | None


class WaveformLevels(BaseModel):
    zoom_levels: list[int] = Field(description="samples per pixel of each stored level")
    url: str = Field(description="the finest level; add ?zoom=N for another")


class AnalysisInfo(BaseModel):
    track_id: UUID
    duration_s: float | None
    sample_rate: int | None
    channels: int | None
    loudness: LoudnessInfo
    gain: GainInfo
    tempo: TempoInfo
    key: KeyInfo
    cues: CueInfo
    waveform: WaveformLevels


class WaveformQuery(StreamQuery):
    zoom: int | None = Field(default=None, ge=1, le=10_000_000,
                             description="samples per pixel; one of the track's zoom levels "
                                         "(GET /analysis lists them); the finest by default")


class Waveform(BaseModel):
    """One zoom level in the audiowaveform JSON format, version 2 (what peaks.js draws)."""

    version: int
    channels: int
    sample_rate: int
    samples_per_pixel: int
    bits: int
    length: int
    data: list[int] = Field(description="min, max per pixel and channel")


# ---------------------------------------------------------------------- plays


class HistoryQuery(BaseModel):
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=200,
                               description="next_cursor of the previous page")


class PlayedTrack(BaseModel):
    id: UUID
    title: str
    artist: str | None
    duration_s: float | None


class HistoryItem(BaseModel):
    track: PlayedTrack
    started_at: datetime
    last_seen_at: datetime = Field(description="last fetch of this listening session")


class History(BaseModel):
    items: list[HistoryItem]
    next_cursor: str | None = Field(description="null on the last page")


class DayCount(BaseModel):
    date: date
    plays: int


class TrackStats(BaseModel):
    track_id: UUID
    total_plays: int = Field(description="listening sessions, the owner's own left out")
    unique_listeners: int
    days: list[DayCount] = Field(description="plays per UTC day, oldest first, today last")
