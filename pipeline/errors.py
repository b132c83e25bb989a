"""Errors raised by the audio pipeline.

Hierarchy::

    Exception
    ├── AudioError             the input cannot be used as audio (``.code`` names why)
    │   ├── EmptyAudioError    "empty"
    │   ├── NotAudioError      "not_audio"
    │   └── UnsupportedAudioError  audio outside what the pipeline takes: "too_long",
    │                          "unsupported_sample_rate", "unsupported_channels"
    └── ValueError
        └── ParameterError     a caller passed a bad argument value

Decoder and muxer exceptions (``av.error.*``) never leave the package: they are translated into
these with ``raise ... from exc``, so callers can map them to their own errors in one place.
"""

from __future__ import annotations

__all__ = ["AudioError", "EmptyAudioError", "NotAudioError", "ParameterError",
           "UnsupportedAudioError"]


class AudioError(Exception):
    """Raised when an input file cannot be used as audio."""

    code: str = "audio_error"


class EmptyAudioError(AudioError):
    """Raised when the input file has 0 bytes."""

    code = "empty"


class NotAudioError(AudioError):
    """Raised when the input has no audio stream that can be decoded."""

    code = "not_audio"


class UnsupportedAudioError(AudioError):
    """Raised when the audio is longer than allowed, or has a sample rate or channel count the
    pipeline does not process; ``.code`` names which, the message the value and the limit."""

    code = "unsupported_audio"

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


class ParameterError(ValueError):
    """Raised when a function argument has a bad value; the message names it."""
