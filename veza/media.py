"""The pipeline as the platform calls it: its audio errors become ours, in one place."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import errors as audio_errors
from pipeline.hls import Rung
from pipeline.probe import AudioInfo
from pipeline.probe import probe as _probe
from veza.errors import EmptyInputError, NotAudioError, PipelineError, UnsupportedAudioError

if TYPE_CHECKING:
    import threading

    from pipeline.process import Processed

CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".m4s": "video/iso.segment",
    ".mp4": "audio/mp4",
    ".json": "application/json",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".aiff": "audio/aiff",
}


def content_type_for(name: str) -> str:
    """Return the Content-Type to store an object of this name with."""
    return CONTENT_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")


@contextmanager
def audio_errors_translated() -> Iterator[None]:
    """Turn the pipeline's errors into the platform's."""
    try:
        yield
    except audio_errors.EmptyAudioError as exc:
        raise EmptyInputError(str(exc)) from exc
    except audio_errors.NotAudioError as exc:
        raise NotAudioError(str(exc)) from exc
    except audio_errors.UnsupportedAudioError as exc:
        raise UnsupportedAudioError(str(exc), code=exc.code) from exc
    except audio_errors.ParameterError as exc:
        raise PipelineError(f"bad pipeline parameter: {exc}") from exc
    except audio_errors.AudioError as exc:
        raise NotAudioError(str(exc)) from exc


def probe(path: Path, *, max_duration_s: float | None = None) -> AudioInfo:
    """Check that ``path`` holds decodable audio the pipeline processes and describe it."""
    with audio_errors_translated():
        return _probe(path, max_duration_s=max_duration_s)


def process(
    src: Path,
    out_dir: Path,
    *,
    rungs: Sequence[Rung],
    segment_s: float,
    target_lufs: float,
    on_file: Callable[[str, Path], None] | None = None,
    progress: Callable[[float], None] | None = None,
    max_duration_s: float | None = None,
    stop: threading.Event | None = None,
) -> Processed:
    """Analyse ``src`` and package its ABR ladder under ``out_dir`` in one decoding pass."""
    # Imported here: the analysis stack (Numba, librosa) costs seconds to load, and the API
    # process, which only probes, never needs it.
    from pipeline.process import process as _process

    with audio_errors_translated():
        return _process(src, out_dir, rungs=rungs, segment_s=segment_s, target_lufs=target_lufs,
                        on_file=on_file, progress=progress, max_duration_s=max_duration_s,
                        stop=stop)
