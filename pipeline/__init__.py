"""Pure audio code: probe, synthesise test signals, transcode and package HLS.

Functions take paths or arrays and keyword-only scalars and return arrays or frozen dataclasses.
Nothing here reads the environment, opens a socket or imports another package of the project.
"""

from __future__ import annotations

from pipeline.errors import AudioError, EmptyAudioError, NotAudioError, ParameterError
from pipeline.hls import HlsPackage, RenditionInfo, package_hls
from pipeline.probe import AudioInfo, probe
from pipeline.synth import music, write_wav

__all__ = [
    "AudioError",
    "AudioInfo",
    "EmptyAudioError",
    "HlsPackage",
    "NotAudioError",
    "ParameterError",
    "RenditionInfo",
    "music",
    "package_hls",
    "probe",
    "write_wav",
]
