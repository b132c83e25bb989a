"""Tempo and beats of a whole track, streamed block by block.

The mono mix is resampled to an analysis rate and turned into librosa's onset-strength envelope
(log-mel spectral flux) as the blocks arrive; only the envelope (~43 values per second) is kept.
``result()`` runs ``librosa.beat.beat_track`` on it, then fits a straight line through the beat
times: beat_track's own tempo is quantised to whole frames per beat (120 BPM reads 117.45 at hop
512), while the beats themselves are not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import librosa
import numpy as np
import scipy.signal
import scipy.sparse

from pipeline.analyser import SpectrogramAnalyser
from pipeline.monomix import MonoSpectrogram, front_end_for

__all__ = ["Tempo", "TempoTracker"]

_N_FFT = 2048
_N_MELS = 128
_TOP_DB = 80.0
_AMIN = 1e-10
_MIN_DURATION_S = 4.0
_MIN_BEATS = 4
_LATENCY_FRAMES = 1
_AC_SIZE_S = 8.0  # librosa.feature.tempo's autocorrelation window
_START_BPM = 120.0  # ... and its log-normal prior: centre and width in octaves
_STD_BPM = 1.0
_MAX_TEMPO = 320.0
_TEMPOGRAM_CHUNK = 2048  # frames per chunk of the tempogram, to bound its memory


@dataclass(frozen=True, slots=True, eq=False)
class Tempo:
    """Tempo and beat grid of a track.

    Attributes
    ----------
    bpm : float or None
        Tempo in beats per minute from a line fitted through the beat times; None for silence,
        input shorter than 4 s, or fewer than 4 beats.
    beats_s : np.ndarray [shape=(n_beats,)], float64
        Beat times in seconds from the start of the track (empty when ``bpm`` is None):
        librosa's beat frames, moved one frame earlier to make up for the onset envelope's lag.
    confidence : float
        How well one steady tempo explains the beats, in [0, 1]: ``1 - 4 * rms / period`` clipped,
        where ``rms`` is the rms deviation of the beats from the fitted grid and ``period`` the
        fitted beat period (0 when ``bpm`` is None).
    """

    bpm: float | None
    beats_s: np.ndarray
    confidence: float


class TempoTracker(SpectrogramAnalyser[Tempo]):
    """Streaming tempo and beat tracker.

    Parameters
    ----------
    sample_rate : int > 0
        Source sample rate in Hz.
    channels : int > 0
        Number of source channels.
    analysis_rate : int > 0
        Rate in Hz of the mono mix the onset envelope is computed from.
    hop_length : int > 0
        Hop between onset frames, in analysis samples (512 at 22050 Hz is ~43 frames/s).
    front_end : MonoSpectrogram or None
        A spectrogram shared with other analysers (e.g. ``KeyDetector``); it must have the same
        rates, channels, ``n_fft=2048`` and ``hop_length``. None builds a private one.

    Notes
    -----
    The envelope matches ``librosa.onset.onset_strength(y=y, sr=analysis_rate,
    hop_length=hop_length)`` except for one detail: librosa floors the dB mel spectrogram at its
    global maximum minus 80 dB, which a stream cannot know; here each frame is floored at the
    maximum *so far* minus 80 dB. The two differ only in bins more than 80 dB below the loudest.
    """

    kind = "tracker"

    def __init__(
        self,
        *,
        sample_rate: int,
        channels: int,
        analysis_rate: int = 22050,
        hop_length: int = 512,
        front_end: MonoSpectrogram | None = None,
    ) -> None:
        front_end = front_end_for(front_end, sample_rate=sample_rate, channels=channels,
                                  analysis_rate=analysis_rate, n_fft=_N_FFT, hop_length=hop_length)
        self._attach(front_end)
        self.hop_length = front_end.hop_length
        # The mel filters overlap pairwise: ~2 non-zeros per FFT bin, so a sparse product is ~50x
        # cheaper than the dense one librosa uses.
        self._mel = scipy.sparse.csr_array(
            librosa.filters.mel(
                sr=self.analysis_rate, n_fft=_N_FFT, n_mels=_N_MELS, fmax=0.5 * self.analysis_rate
            ).astype(np.float32)
        )
        self._prev: np.ndarray | None = None  # last frame in dB, before flooring
        self._max_db = -np.inf
        self._frames = 0
        self._flux: list[np.ndarray] = []

    def _conclude(self) -> Tempo:
        """The tempo and beats (never raises on silence)."""
        return self._track()

    def onset_envelope(self) -> np.ndarray:
        """Return the onset envelope, (frames,) float32, laid out as librosa's.

        Complete after ``result()``; before it, the frames so far (the last few are still held).
        """
        flux = np.concatenate([np.zeros(3, np.float32), *self._flux])
        return flux[: self._frames]

    def _consume(self, power: np.ndarray) -> None:
        if power.shape[1] == 0:
            return
        db = 10.0 * np.log10(np.maximum(_AMIN, self._mel @ power))
        # Floor each frame at the running maximum (so far, frame by frame) minus top_db, so the
        # result does not depend on where the blocks were cut.
        running = np.maximum.accumulate(np.maximum(db.max(axis=0), self._max_db))
        floor = running - _TOP_DB
        if self._prev is None:
            cur, prev = db[:, 1:], db[:, :-1]
            floors = floor[1:]
        else:
            cur, prev = db, np.concatenate([self._prev[:, None], db[:, :-1]], axis=1)
            floors = floor
        if cur.shape[1]:
            diff = np.maximum(cur, floors) - np.maximum(prev, floors)
            self._flux.append(np.maximum(0.0, diff).mean(axis=0, dtype=np.float32))
        self._prev = db[:, -1].copy()
        self._max_db = float(running[-1])
        self._frames += power.shape[1]

    def _track(self) -> Tempo:
        none = Tempo(bpm=None, beats_s=np.zeros(0), confidence=0.0)
        duration = self._tap.source.samples / self.analysis_rate
        envelope = self.onset_envelope()
        if duration < _MIN_DURATION_S or not np.any(envelope > 0):
            return none
        # beat_track would estimate the tempo from a (344, frames) tempogram: ~1 GB for a 2-hour
        # track. The same estimate, computed in chunks, is handed to it instead.
        bpm0 = global_tempo(envelope, sr=self.analysis_rate, hop_length=self.hop_length)
        _, beats = librosa.beat.beat_track(
            onset_envelope=envelope, sr=self.analysis_rate, hop_length=self.hop_length, bpm=bpm0
        )
        # The spectral-flux peak of a percussive onset trails it by about one frame (22 ms at the
        # defaults, measured on kick tracks at 90-174 BPM): report beats one frame earlier.
        frames = np.maximum(0, np.asarray(beats) - _LATENCY_FRAMES)
        beats_s = librosa.frames_to_time(frames, sr=self.analysis_rate, hop_length=self.hop_length)
        fit = fit_beat_grid(beats_s)
        if fit is None:
            return none
        bpm, confidence = fit
        beats_s = np.array(beats_s, np.float64)
        beats_s.flags.writeable = False
        return Tempo(bpm=bpm, beats_s=beats_s, confidence=confidence)


def global_tempo(envelope: np.ndarray, *, sr: int, hop_length: int) -> float:
    """Estimate one tempo as ``librosa.feature.tempo(onset_envelope=envelope)`` with memory bounded.

    librosa averages an autocorrelation tempogram over all frames and takes the peak weighted by
    a log-normal prior around 120 BPM; here the tempogram is built and summed chunk by chunk.

    Parameters
    ----------
    envelope : np.ndarray [shape=(frames,)]
        Onset-strength envelope.
    sr : int
        Analysis sample rate in Hz.
    hop_length : int
        Hop between envelope frames in samples.

    Returns
    -------
    bpm : float
        Tempo in beats per minute (quantised to whole frames per beat).
    """
    n = len(envelope)
    win = int(librosa.time_to_frames(_AC_SIZE_S, sr=sr, hop_length=hop_length))
    padded = np.pad(envelope, win // 2, mode="linear_ramp", end_values=(0, 0))
    frames = np.lib.stride_tricks.sliding_window_view(padded, win).T[:, :n]  # (win, n) view
    window = scipy.signal.get_window("hann", win, fftbins=True)[:, np.newaxis]
    total = np.zeros(win)
    for start in range(0, n, _TEMPOGRAM_CHUNK):
        ac = librosa.autocorrelate(frames[:, start : start + _TEMPOGRAM_CHUNK] * window, axis=0)
        total += librosa.util.normalize(ac, norm=np.inf, axis=0).sum(axis=1)
    bpms = librosa.tempo_frequencies(win, hop_length=hop_length, sr=sr)
    with np.errstate(divide="ignore"):
        logprior = -0.5 * ((np.log2(bpms) - np.log2(_START_BPM)) / _STD_BPM) ** 2
    logprior[: int(np.argmax(bpms < _MAX_TEMPO))] = -np.inf
    return float(bpms[np.argmax(np.log1p(1e6 * total / n) + logprior)])


def fit_beat_grid(beats_s: np.ndarray) -> tuple[float, float] | None:
    """Fit a steady grid through beat times; return ``(bpm, confidence)`` or None.

    Each beat is given an integer index counted from the first (a gap of about two periods
    counts two, so a missed beat does not bend the line), and ``time = t0 + period * index`` is
    fitted by least squares.

    Parameters
    ----------
    beats_s : np.ndarray [shape=(n,)]
        Increasing beat times in seconds.

    Returns
    -------
    fit : (float, float) or None
        Tempo in BPM and confidence in [0, 1] (see ``Tempo``); None for fewer than 4 beats.
    """
    beats_s = np.asarray(beats_s, np.float64)
    if len(beats_s) < _MIN_BEATS:
        return None
    gaps = np.diff(beats_s)
    period0 = float(np.median(gaps))
    if not period0 > 0:
        return None
    index = np.concatenate([[0], np.cumsum(np.maximum(1, np.round(gaps / period0)))])
    period, t0 = np.polyfit(index, beats_s, 1)
    if not period > 0:
        return None
    rms = math.sqrt(float(np.mean((beats_s - (t0 + period * index)) ** 2)))
    confidence = float(np.clip(1.0 - 4.0 * rms / period, 0.0, 1.0))
    return 60.0 / float(period), confidence
