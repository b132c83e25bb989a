"""Tempo, beats and key on signals with a known truth, and the streaming front end vs librosa."""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from pipeline.key import KeyDetector, key_scores
from pipeline.monomix import MonoSpectrogram
from pipeline.rhythm import TempoTracker, fit_beat_grid
from pipeline.synth import music

SR = 44100
PITCH = {"C": 0, "C#": 1, "Db": 1, "D": 2, "Eb": 3, "E": 4, "F": 5, "F#": 6, "G": 7, "G#": 8,
         "Ab": 8, "A": 9, "Bb": 10, "B": 11}


def kicks(
    bpm: float, *, duration_s: float = 24.0, start_s: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """A kick drum (50-150 Hz sweep with a noise click) on every beat, over faint noise.

    Returns the stereo signal and the true onset times in seconds.
    """
    rng = np.random.default_rng(int(bpm))
    n = round(duration_s * SR)
    t = np.arange(round(0.25 * SR)) / SR
    hit = np.sin(2 * np.pi * (50 * t + 3.0 * (1 - np.exp(-t / 0.03)))) * np.exp(-t / 0.08)
    hit += 0.3 * rng.standard_normal(len(t)) * np.exp(-t / 0.005)
    y = 0.001 * rng.standard_normal(n)
    onsets = np.arange(start_s, duration_s - 0.3, 60.0 / bpm)
    for onset in onsets:
        i = round(onset * SR)
        y[i : i + len(t)] += hit[: n - i]
    y = (0.5 * y / np.abs(y).max()).astype(np.float32)
    return np.ascontiguousarray(np.stack([y, y])), onsets


def chords(tonic: str, mode: str, *, duration_s: float = 12.0) -> np.ndarray:
    """I-IV-V-I (major) or i-iv-V-i (minor) with four harmonics per note and a bass root."""
    third = 4 if mode == "major" else 3
    progression = [(0, third, 7), (5, 5 + third, 12), (7, 11, 14), (0, third, 7)]
    n = round(duration_s * SR)
    t = np.arange(n // 4) / SR
    bars = []
    for chord in progression:
        bar = np.zeros(len(t))
        for interval in chord:
            f = 440 * 2 ** ((PITCH[tonic] + interval - 21) / 12)
            for h, a in ((1, 1.0), (2, 0.5), (3, 0.3), (4, 0.15)):
                bar += a * np.sin(2 * np.pi * f * h * t)
        bar += 0.8 * np.sin(2 * np.pi * 440 * 2 ** ((PITCH[tonic] + chord[0] - 33) / 12) * t)
        bars.append(bar)
    y = np.concatenate(bars)
    y = (0.5 * y / np.abs(y).max()).astype(np.float32)
    return np.ascontiguousarray(np.stack([y, y]))


def _feed(y: np.ndarray, block: int, *analysers: TempoTracker | KeyDetector) -> None:
    for start in range(0, y.shape[1], block):
        chunk = np.ascontiguousarray(y[:, start : start + block])
        for analyser in analysers:
            analyser.process(chunk)


def _tempo(y: np.ndarray, block: int = 65536) -> TempoTracker:
    tracker = TempoTracker(sample_rate=SR, channels=y.shape[0])
    _feed(y, block, tracker)
    return tracker


@pytest.mark.parametrize("block", [777, 65536])
def test_spectrogram_matches_librosa_stft(block: int) -> None:
    y = music(duration_s=6.3, sample_rate=SR, seed=1)
    spec = MonoSpectrogram(sample_rate=SR, channels=2)
    frames = [spec.process(np.ascontiguousarray(y[:, i : i + block]))
              for i in range(0, y.shape[1], block)]
    power = np.concatenate([*frames, spec.flush()], axis=1)
    mono = librosa.resample(librosa.to_mono(y), orig_sr=SR, target_sr=22050)
    expected = np.abs(librosa.stft(mono, n_fft=2048, hop_length=512)) ** 2
    assert power.shape == expected.shape
    np.testing.assert_allclose(power, expected, rtol=0, atol=1e-5 * expected.max())


def test_onset_envelope_matches_librosa() -> None:
    y = music(duration_s=20.0, sample_rate=SR, seed=2)
    tracker = _tempo(y, 777)
    tracker.result()
    envelope = tracker.onset_envelope()
    mono = librosa.resample(librosa.to_mono(y), orig_sr=SR, target_sr=22050)
    expected = librosa.onset.onset_strength(y=mono, sr=22050)
    assert envelope.shape == expected.shape
    assert np.corrcoef(envelope, expected)[0, 1] > 0.999
    # Only the first frames differ (running vs global -80 dB floor).
    np.testing.assert_allclose(envelope[50:], expected[50:], atol=0.05 * expected.max())


@pytest.mark.parametrize("bpm", [90.0, 120.0, 128.0, 174.0])
def test_tempo_and_beats_of_kick_tracks(bpm: float) -> None:
    y, onsets = kicks(bpm)
    tempo = _tempo(y).result()
    assert tempo.bpm is not None and abs(tempo.bpm - bpm) < 1.0
    assert tempo.confidence > 0.8
    error = np.abs(tempo.beats_s[:, None] - onsets[None, :]).min(axis=1)
    assert error.max() < 0.030
    # beat_track trims weak beats at the ends; in between, every onset has its beat.
    inside = onsets[(onsets > tempo.beats_s[0] - 0.03) & (onsets < tempo.beats_s[-1] + 0.03)]
    assert len(tempo.beats_s) == len(inside)
    assert tempo.beats_s[-1] - tempo.beats_s[0] > 0.8 * 24.0


@pytest.mark.parametrize("bpm", [90.0, 128.0])
def test_tempo_of_music(bpm: float) -> None:
    tempo = _tempo(music(duration_s=24.0, sample_rate=SR, bpm=bpm, seed=0)).result()
    assert tempo.bpm is not None and abs(tempo.bpm - bpm) < 1.0
    beats = np.arange(0.0, 24.0, 60.0 / bpm)
    assert np.median(np.abs(tempo.beats_s[:, None] - beats[None, :]).min(axis=1)) < 0.030


def test_block_size_does_not_change_beats() -> None:
    y, _ = kicks(128.0, duration_s=10.0)
    a, b = _tempo(y, 777).result(), _tempo(y, 65536).result()
    np.testing.assert_array_equal(a.beats_s, b.beats_s)
    assert a.bpm == pytest.approx(b.bpm, abs=1e-9)


def test_line_fit_undoes_frame_quantisation_and_missed_beats() -> None:
    truth = np.arange(40) * 0.5 + 0.2
    quantised = np.round(truth / (512 / 22050)) * (512 / 22050)
    quantised = np.delete(quantised, [7, 20])  # two beats the tracker missed
    fit = fit_beat_grid(quantised)
    assert fit is not None
    assert fit[0] == pytest.approx(120.0, abs=0.05)
    assert fit[1] > 0.9
    assert fit_beat_grid(np.array([0.0, 0.5, 1.0])) is None


@pytest.mark.parametrize(
    ("tonic", "mode"),
    [("A", "minor"), ("Eb", "major"), ("C", "major"), ("F#", "minor"), ("F#", "major"),
     ("Bb", "minor"), ("G", "major"), ("C#", "minor")],
)
def test_key_of_chord_progressions(tonic: str, mode: str) -> None:
    detector = KeyDetector(sample_rate=SR, channels=2)
    _feed(chords(tonic, mode), 65536, detector)
    key = detector.result()
    assert (key.tonic, key.mode, key.name) == (tonic, mode, f"{tonic} {mode}")
    assert 0.05 < key.confidence <= 1.0


def test_key_scores_pick_the_profile_rotation() -> None:
    major_scale = np.zeros(12)
    major_scale[[2, 4, 6, 7, 9, 11, 1]] = 1.0  # D major's notes
    major_scale[2] = 2.0  # with the tonic stressed
    scores = key_scores(major_scale)
    assert np.unravel_index(np.argmax(scores), scores.shape) == (0, 2)


def test_shared_front_end_gives_the_same_results() -> None:
    y = np.concatenate([chords("A", "minor", duration_s=8.0), kicks(120.0, duration_s=8.0)[0]],
                       axis=1)
    front = MonoSpectrogram(sample_rate=SR, channels=2)
    shared = (TempoTracker(sample_rate=SR, channels=2, front_end=front),
              KeyDetector(sample_rate=SR, channels=2, front_end=front))
    alone = (TempoTracker(sample_rate=SR, channels=2), KeyDetector(sample_rate=SR, channels=2))
    _feed(y, 10000, *shared, *alone)
    np.testing.assert_array_equal(shared[0].result().beats_s, alone[0].result().beats_s)
    assert shared[0].result().bpm == alone[0].result().bpm
    np.testing.assert_allclose(shared[1].chroma(), alone[1].chroma(), rtol=1e-6)
    assert shared[1].result() == alone[1].result()
    assert front.frames == 1 + front.samples // 512
