"""The analysis script a competent peer would write next to an ffmpeg ladder (a baseline).

Usage: python benchmarks/peer_analysis.py SRC  -> one JSON object on stdout.

Integrated loudness with pyloudnorm, tempo with librosa's beat tracker at 22.05 kHz mono, key by
correlating the mean chroma with the Krumhansl-Kessler profiles, and min/max waveform peaks with
numpy. Deliberately plain library calls: this is the yardstick, not the product.
"""

from __future__ import annotations

import json
import sys

import librosa
import numpy as np
import pyloudnorm
import soundfile

_NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
_SAMPLES_PER_PEAK = 256


def main(path: str) -> dict[str, object]:
    y, sr = soundfile.read(path, always_2d=True)  # (n, channels) float64
    loudness = pyloudnorm.Meter(sr).integrated_loudness(y)

    mono = librosa.resample(np.mean(y, axis=1), orig_sr=sr, target_sr=22050)
    tempo, beats = librosa.beat.beat_track(y=mono, sr=22050)

    chroma = librosa.feature.chroma_stft(y=mono, sr=22050).mean(axis=1)
    scores = [(np.corrcoef(chroma, np.roll(profile, k))[0, 1], f"{_NAMES[k]} {mode}")
              for profile, mode in ((_MAJOR, "major"), (_MINOR, "minor")) for k in range(12)]
    _, key = max(scores)

    n = len(y) // _SAMPLES_PER_PEAK * _SAMPLES_PER_PEAK
    blocks = y[:n].reshape(-1, _SAMPLES_PER_PEAK, y.shape[1])
    peaks_min, peaks_max = blocks.min(axis=1), blocks.max(axis=1)

    return {
        "duration_s": len(y) / sr,
        "loudness_lufs": round(float(loudness), 2),
        "tempo_bpm": round(float(np.atleast_1d(tempo)[0]), 2),
        "beats": len(beats),
        "key": key,
        "peaks": int(peaks_min.shape[0]),
        "peak_abs": float(max(-peaks_min.min(), peaks_max.max())),
    }


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python benchmarks/peer_analysis.py SRC")
    print(json.dumps(main(sys.argv[1])))
