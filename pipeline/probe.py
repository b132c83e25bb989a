"""Probe a file: check that it really is audio and describe its audio stream.

Why one module of ~480 lines: the probe and the decoder (:mod:`pipeline.decode`) open a
container the same guarded way and judge a stream's length by the same rules (declared
duration, slack, tail checks); those rules live here once, beside the probe that applies them
first. The tags a file carries are read by :mod:`pipeline.embedded_tags`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import av
import av.error

from pipeline.errors import EmptyAudioError, NotAudioError, ParameterError, UnsupportedAudioError

__all__ = ["MAX_CHANNELS", "SAMPLE_RATES", "AudioInfo", "check_supported", "probe"]

# Sample rates (Hz, inclusive) and channel counts the pipeline processes. Below 8 kHz the
# loudness meter's K-weighting (a 1.68 kHz shelf) has no room under Nyquist; above 192 kHz a
# second of audio costs the decoder and analysers four times a 48 kHz one, so a duration
# limit would no longer bound the work. More than 8 channels have no default layout to downmix.
SAMPLE_RATES = (8_000, 192_000)
MAX_CHANNELS = 8
# Containers whose header counts the stream's samples (or bytes): what they declare is a
# promise, so data that ends early or runs on past it means a damaged file. Raw streams (MP3,
# ADTS AAC, AC-3, ...) only estimate their duration from the bit rate.
_COUNTED = frozenset({"wav", "w64", "aiff", "flac", "wv", "ogg", "matroska,webm",
                      "mov,mp4,m4a,3gp,3g2,mj2"})

# How much audio probe() decodes to prove the stream is usable.
_PROBE_SECONDS = 1.0
# Real files hold the odd undecodable packet (e.g. a tag between two joined MP3s): FFmpeg's CLI
# skips those, and so do we, up to this many and this share of the packets read so far.
_BAD_PACKETS = 3
_BAD_SHARE = 0.01
# Longest probe() spends counting the packets of a stream that declares no length (demuxing
# only: a 500 MB FLAC takes about half a second). One of absurdly small frames that takes
# longer is left to the decoder's limit.
_COUNT_BUDGET_S = 2.0

# Leading bytes of audio containers: an open failure on such a file means it is damaged, not
# that it is some other kind of file.
_AUDIO_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (8, b"WAVE", "a WAV file"),
    (8, b"AIFF", "an AIFF file"),
    (8, b"AIFC", "an AIFF file"),
    (0, b"fLaC", "a FLAC file"),
    (0, b"OggS", "an Ogg file"),
    (0, b"ID3", "an MP3 file"),
    (4, b"ftyp", "an MP4/M4A file"),
    (0, b"\x1aE\xdf\xa3", "a Matroska/WebM file"),
    (0, b"caff", "a CAF file"),
    (0, b"wvpk", "a WavPack file"),
)

# ffmpeg demuxer name -> extension for storing the original.
_FORMAT_EXTENSIONS = {
    "wav": "wav",
    "w64": "w64",
    "aiff": "aiff",
    "flac": "flac",
    "mp3": "mp3",
    "aac": "aac",
    "caf": "caf",
    "wv": "wv",
    "ape": "ape",
    "au": "au",
    "ac3": "ac3",
    "eac3": "eac3",
    "dts": "dts",
    "amr": "amr",
    "tta": "tta",
    "mov,mp4,m4a,3gp,3g2,mj2": "m4a",
    "asf": "wma",
}


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """What :func:`probe` found in a file.

    Attributes
    ----------
    format_name : str
        FFmpeg's name of the container format, e.g. ``"wav"`` or ``"mov,mp4,m4a,3gp,3g2,mj2"``.
    codec : str
        FFmpeg's name of the audio codec, e.g. ``"pcm_s16le"``, ``"mp3"``, ``"aac"``.
    sample_rate : int
        Sample rate of the audio stream, in Hz (> 0).
    channels : int
        Number of audio channels (> 0).
    duration_s : float | None
        Duration of the audio stream in seconds, ``None`` when the file does not say.
    bit_rate : int | None
        Bit rate in bits per second as declared by the file, ``None`` when unknown.
    extension : str
        File extension (no dot) suitable for storing the original, e.g. ``"wav"``, ``"m4a"``.
    """

    format_name: str
    codec: str
    sample_rate: int
    channels: int
    duration_s: float | None
    bit_rate: int | None
    extension: str


def probe(path: str | os.PathLike[str], *, max_duration_s: float | None = None) -> AudioInfo:
    """Check that a file holds decodable audio and describe its audio stream.

    The container is opened, an audio stream with a real codec is required, and up to about
    one second of it is decoded, so a file that merely looks like audio is rejected. Where
    the header counts the samples, the end of the stream is read too: data that stops well
    before the declared length (a cut file), or goes on well past it (a header that lies),
    is rejected.

    Parameters
    ----------
    path : str or os.PathLike
        File to probe.
    max_duration_s : float > 0, optional
        Longest audio accepted, in seconds. A file that declares no duration passes here;
        :meth:`pipeline.decode.Source.blocks` enforces the same limit while decoding.

    Returns
    -------
    AudioInfo
        Container format, codec, sample rate (Hz), channel count, duration (s), bit rate
        (bits/s) and a file extension for the original.

    Raises
    ------
    EmptyAudioError
        The file has 0 bytes.
    NotAudioError
        The file has no audio stream, an unrecognised format, audio that cannot be decoded,
        or a header that promises a length the data does not hold.
    UnsupportedAudioError
        The audio is longer than ``max_duration_s`` (code ``too_long``), or its sample rate
        or channel count is outside ``SAMPLE_RATES`` / ``MAX_CHANNELS``.
    FileNotFoundError
        The file does not exist.
    """
    if max_duration_s is not None and not max_duration_s > 0:
        raise ParameterError(f"max_duration_s must be positive, got {max_duration_s!r}")
    path = Path(path)
    container, stream = open_audio(path)
    with container:
        codec = stream.codec_context.codec.canonical_name
        sample_rate = int(stream.codec_context.sample_rate or 0)
        channels = int(stream.codec_context.channels or 0)
        declared = declared_duration(container, stream)
        format_name = container.format.name
        bit_rate = stream.codec_context.bit_rate or container.bit_rate or None
        decoded_samples = 0
        frame_rate = 0
        at_eof = True
        frames = decoded_frames(container, stream)
        for frame in frames:
            decoded_samples += frame.samples
            frame_rate = frame.sample_rate
            sample_rate = sample_rate or frame.sample_rate
            channels = channels or frame.layout.nb_channels
            if decoded_samples >= _PROBE_SECONDS * frame_rate:
                at_eof = False
                break
        frames.close()
        if decoded_samples == 0:
            raise NotAudioError(
                "truncated or corrupt audio: the audio stream holds no decodable sound")
        if sample_rate <= 0 or channels <= 0:
            raise NotAudioError("audio stream cannot be decoded: no sample rate or channel count")
        check_supported(sample_rate=sample_rate, channels=channels)
        if not at_eof and declared is not None and format_name in _COUNTED:
            _check_tail(container, stream, declared)
        counted_end = None
        if not at_eof and declared is None:
            # Nothing declared (a FLAC written to a pipe, a browser's WebM): count the packets,
            # so the limit holds at upload and the track has a length to plan with.
            counted_end = _packets_end(container, stream, max_duration_s)

    if format_name == "wav":
        _check_wav_length(path)
    duration = declared if counted_end is None else counted_end
    if at_eof:
        # The whole stream was decoded: its real length is known, and a header that promises
        # much more than the data holds means the file was cut short.
        actual = decoded_samples / frame_rate
        if declared is not None:
            check_length(declared, actual, ended=True)
        duration = actual
    if max_duration_s is not None and duration is not None and duration > max_duration_s:
        raise too_long(max_duration_s, duration, counted=counted_end is not None)

    return AudioInfo(
        format_name=format_name,
        codec=codec,
        sample_rate=sample_rate,
        channels=channels,
        duration_s=duration,
        bit_rate=int(bit_rate) if bit_rate else None,
        extension=_extension(format_name, codec),
    )


def check_supported(*, sample_rate: int, channels: int) -> None:
    """Raise UnsupportedAudioError naming the value when the pipeline does not process a
    stream of this sample rate (Hz) or channel count."""
    low, high = SAMPLE_RATES
    if not low <= sample_rate <= high:
        raise UnsupportedAudioError(
            f"unsupported sample rate: {sample_rate} Hz (supported: {low}-{high} Hz)",
            code="unsupported_sample_rate")
    if not 1 <= channels <= MAX_CHANNELS:
        raise UnsupportedAudioError(
            f"unsupported channel count: {channels} channels (supported: 1-{MAX_CHANNELS})",
            code="unsupported_channels")


def too_long(limit_s: float, duration_s: float | None = None, *, counted: bool = False
             ) -> UnsupportedAudioError:
    """Return the error for audio longer than ``limit_s``: ``duration_s`` as the header says,
    or where the packets were counted to (``counted``), or unknown (decoding stopped)."""
    limit = f"the limit of {clock(limit_s)} ({limit_s:g} s)"
    if duration_s is None:
        return UnsupportedAudioError(f"the audio is longer than {limit}: decoding stopped there",
                                     code="too_long")
    if counted:
        return UnsupportedAudioError(f"the audio goes on past {limit}", code="too_long")
    return UnsupportedAudioError(
        f"the audio lasts {clock(duration_s)} ({duration_s:.0f} s), longer than {limit}",
        code="too_long")


def counted(format_name: str) -> bool:
    """Whether the duration a container of this format declares counts its samples."""
    return format_name in _COUNTED


def length_slack(declared_s: float) -> float:
    """How far (s) the data may end from a declared length before the file counts as damaged."""
    return max(0.5, 0.05 * declared_s)


def check_length(declared_s: float, actual_s: float, *, ended: bool) -> None:
    """Raise NotAudioError when data of ``actual_s`` seconds (all of it if ``ended``) breaks
    the header's promise of ``declared_s``."""
    if actual_s - declared_s > length_slack(declared_s):
        raise NotAudioError(
            f"truncated or corrupt audio: the header says {declared_s:.1f} s "
            f"but the data goes on past {actual_s:.1f} s"
        )
    if ended and declared_s - actual_s > length_slack(declared_s):
        raise NotAudioError(
            f"truncated or corrupt audio: the header says {declared_s:.1f} s "
            f"but the data ends after {actual_s:.1f} s"
        )


def _check_tail(container: av.container.InputContainer, stream: av.audio.stream.AudioStream,
                declared: float) -> None:
    """Read the packets around the declared end: they must end there, give or take the slack.

    A seek is cheap whatever the length, so a FLAC cut in half, or one whose header claims
    10 s over ten hours of frames, is refused at once. A container that cannot seek, or gives
    packets no times, proves nothing here; decoding checks the length again.
    """
    if stream.time_base is None:
        return
    try:
        container.seek(int(max(0.0, declared - 1.0) / stream.time_base), stream=stream,
                       backward=True)
        end = None
        for packet in container.demux(stream):
            if packet.pts is None or packet.time_base is None:
                continue
            end = max(end or 0.0, float((packet.pts + (packet.duration or 0))
                                        * packet.time_base))
            if end - declared > length_slack(declared):
                break
    except av.error.FFmpegError:
        return
    if end is not None:
        check_length(declared, end, ended=True)


def _packets_end(container: av.container.InputContainer, stream: av.audio.stream.AudioStream,
                 limit_s: float | None) -> float | None:
    """Read on through the stream's packets, without decoding them, and return where they end
    (s): at the first packet past ``limit_s``, or at the end of the file. None when they carry
    no times, the file cannot be read on, or the count takes longer than its budget."""
    deadline = time.monotonic() + _COUNT_BUDGET_S
    end = None
    try:
        for count, packet in enumerate(container.demux(stream)):
            if packet.pts is not None and packet.time_base is not None:
                end = max(end or 0.0, float((packet.pts + (packet.duration or 0))
                                            * packet.time_base))
                if limit_s is not None and end > limit_s:
                    return end
            if count % 1024 == 0 and time.monotonic() > deadline:
                return None
    except av.error.FFmpegError:
        return None
    return end


def open_audio(
    path: str | os.PathLike[str],
) -> tuple[av.container.InputContainer, av.audio.stream.AudioStream]:
    """Open ``path`` and return the container with its best audio stream (caller closes)."""
    path = Path(path)
    if path.stat().st_size == 0:
        raise EmptyAudioError("the file is empty (0 bytes)")
    try:
        container = av.open(str(path), mode="r", metadata_errors="replace")
    except av.error.FFmpegError as exc:
        raise NotAudioError(_open_failure(path, exc)) from exc
    try:
        stream = _audio_stream(container)
    except BaseException:
        container.close()
        raise
    return container, stream


def _audio_stream(container: av.container.InputContainer) -> av.audio.stream.AudioStream:
    """Return the container's best audio stream with a real codec, or raise NotAudioError."""
    if not container.streams.audio:
        # FFmpeg opens a .txt file as "ansi" video (its tty demuxer): that is no picture.
        if any(v.codec_context.name not in (None, "ansi") for v in container.streams.video):
            raise NotAudioError("not an audio file: it holds video or images but no audio stream")
        raise NotAudioError("not an audio file: no audio stream found")
    stream = container.streams.best("audio")
    if not isinstance(stream, av.audio.stream.AudioStream):
        stream = container.streams.audio[0]
    name = stream.codec_context.name if stream.codec_context is not None else None
    if not name or name == "none":
        raise NotAudioError("audio stream cannot be decoded: unknown codec")
    return stream


def decoded_frames(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream
) -> Generator[av.AudioFrame, None, None]:
    """Yield the stream's decoded frames, skipping a few bad packets; errors -> NotAudioError
    naming where in the audio decoding stopped ("decoder error at 02:31: ...")."""
    packets = bad = 0
    position = 0.0
    try:
        for packet in container.demux(stream):
            packets += 1
            if packet.pts is not None and packet.time_base is not None:
                position = max(position, float(packet.pts * packet.time_base))
            try:
                frames = packet.decode()
            except av.error.InvalidDataError as exc:
                bad += 1
                if bad > _BAD_PACKETS and bad > _BAD_SHARE * packets:
                    raise NotAudioError(
                        f"truncated or corrupt audio: decoder error at {clock(position)}: {bad} "
                        f"of the first {packets} packets cannot be decoded "
                        f"({_detail(exc).lower()})"
                    ) from exc
                continue
            for frame in frames:
                if frame.samples:
                    yield frame
    except av.error.FFmpegError as exc:
        raise NotAudioError(f"audio stream cannot be decoded: decoder error at "
                            f"{clock(position)}: {_detail(exc)}") from exc


def clock(seconds: float) -> str:
    """Format a position in the audio as people read it: ``02:31`` or ``1:02:31``."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def declared_duration(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream
) -> float | None:
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    return None


def _check_wav_length(path: Path) -> None:
    """Reject a WAV cut short: FFmpeg silently clamps the header's data size to the file."""
    with path.open("rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return
        byte_rate = 0
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                return
            size = int.from_bytes(chunk[4:], "little")
            if chunk[:4] == b"fmt ":
                fmt = f.read(size)
                if len(fmt) < 12:
                    return
                byte_rate = int.from_bytes(fmt[8:12], "little")
                size -= len(fmt)
            elif chunk[:4] == b"data":
                # 0 and 0xFFFFFFFF mark a WAV written to a pipe, whose length was unknown.
                if not byte_rate or size in (0, 0xFFFFFFFF):
                    return
                declared = size / byte_rate
                available = (path.stat().st_size - f.tell()) / byte_rate
                if declared - available > max(0.5, 0.05 * declared):
                    raise NotAudioError(
                        f"truncated or corrupt audio: the header says {declared:.1f} s "
                        f"but the file holds only {available:.1f} s"
                    )
                return
            f.seek(size + (size & 1), os.SEEK_CUR)


def _open_failure(path: Path, exc: av.error.FFmpegError) -> str:
    with path.open("rb") as f:
        head = f.read(16)
    for offset, magic, kind in _AUDIO_MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return f"truncated or corrupt audio: looks like {kind} but {_detail(exc).lower()}"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        kind = "an MPEG audio file"
        return f"truncated or corrupt audio: looks like {kind} but {_detail(exc).lower()}"
    return "not an audio file: unrecognised format"


def _detail(exc: av.error.FFmpegError) -> str:
    """FFmpeg's reason without the file name PyAV appends (it would leak server paths)."""
    return str(exc.strerror or exc.__class__.__name__)


def _extension(format_name: str, codec: str) -> str:
    if format_name == "ogg":
        return "opus" if codec == "opus" else "ogg"
    if format_name == "matroska,webm":
        return "webm" if codec in ("opus", "vorbis") else "mka"
    if format_name in _FORMAT_EXTENSIONS:
        return _FORMAT_EXTENSIONS[format_name]
    first = format_name.split(",")[0]
    return first if first.isalnum() and len(first) <= 8 else "bin"
