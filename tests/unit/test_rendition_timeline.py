"""Each rendition's timeline, as a gapless player cuts it: priming, then exactly the track.

The track is a signal that can be evaluated at any rate (a sweep and band-limited clicks), so
the reference at 48 kHz is computed, not resampled by the code under test. Every rendition is
decoded from its init segment and segments joined, as a player's source buffer holds them.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np
import pytest

from pipeline.errors import ParameterError
from pipeline.hls import (
    FLAC_RUNG,
    HlsPackage,
    LadderWriter,
    Rung,
    check_ladder,
    encode_chunk,
    package_ladder,
    plan_chunks,
    stitch,
    timeline_samples,
)
from pipeline.synth import write_wav

RUNGS = (Rung("aac_64k", "aac", 64_000), Rung("aac_256k", "aac", 256_000), FLAC_RUNG)
SEGMENT_S = 1.0  # 45056 samples (11 FLAC frames): several chunks in a 3 s track
OUT = 48_000
CLICKS_S = (0.25, 1.37, 2.05, 2.93)  # the first before any sweep, the last in the last chunk
# Lengths that are no whole number of AAC frames at either rate; the 44.1 kHz one is a whole
# number of 147-sample periods, so its length at 48 kHz is exact: 148800 samples.
LENGTHS = {44_100: 147 * 930, 48_000: 148_837}


def signal(rate: int, n: int) -> np.ndarray:
    """A logarithmic sweep from 80 Hz to 6 kHz and Gaussian clicks (0.15 ms), at ``rate``.

    Returns
    -------
    np.ndarray [shape=(2, n)], float64
    """
    t = np.arange(n) / rate
    start, end = 0.4, n / rate - 0.05
    span = end - start
    k = np.log(6000 / 80)
    inside = (t >= start) & (t < end)
    u = np.clip(t - start, 0, span)
    sweep = np.sin(2 * np.pi * 80 * span / k * (np.exp(k * u / span) - 1))
    fade = np.clip(np.minimum(u, span - u) / 0.02, 0, 1)  # 20 ms ramps
    y = 0.2 * sweep * fade * inside
    for i, at in enumerate(CLICKS_S):
        y += (0.6 if i % 2 == 0 else -0.5) * np.exp(-0.5 * ((t - at) / 0.15e-3) ** 2)
    return np.stack([y, 0.8 * y])


def reference(rate: int) -> np.ndarray:
    """The track at 48 kHz: as long as the source lasts."""
    n = LENGTHS[rate]
    assert n * OUT % rate == 0
    return signal(OUT, n * OUT // rate)


def decode(out: Path, playlist: str) -> tuple[np.ndarray, int]:
    """Decode a rendition's init segment and segments joined; return the samples (2, n) and the
    media time of the first one (48 kHz samples)."""
    folder = out / Path(playlist).parent
    names = [line for line in (out / playlist).read_text().splitlines()
             if line and not line.startswith("#")]
    data = (folder / "init.mp4").read_bytes() + b"".join((folder / n).read_bytes()
                                                          for n in names)
    planar = av.AudioResampler(format="fltp", layout="stereo", rate=OUT)  # format only
    blocks, first = [], None
    with av.open(io.BytesIO(data)) as container:
        assert isinstance(container, av.container.InputContainer)
        stream = container.streams.audio[0]
        assert stream.codec_context.sample_rate == OUT
        for frame in container.decode(stream):
            if first is None:
                assert frame.pts is not None and frame.time_base is not None
                first = int(frame.pts * frame.time_base * OUT)
            blocks += [f.to_ndarray() for f in planar.resample(frame)]
    blocks += [f.to_ndarray() for f in planar.resample(None)]
    assert first is not None
    return np.concatenate(blocks, axis=1).astype(np.float64), first


def best_lag(x: np.ndarray, ref: np.ndarray, max_lag: int) -> int:
    """The lag (samples; > 0: ``x`` is late) that maximises the cross-correlation of the two
    signals' first channels."""
    a, b = x[0], ref[0]
    size = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    cc = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size)), size)
    lags = np.r_[0: max_lag + 1, -max_lag:0]
    return int(lags[np.argmax(cc[lags])])


def click_lag(x: np.ndarray, ref: np.ndarray, at_s: float, max_lag: int = 32) -> int:
    """The lag of one click: the cross-correlation of 10 ms around it."""
    centre, half = round(at_s * OUT), OUT // 200
    window = ref[:, centre - half: centre + half]
    scores = [float(np.dot(x[0, centre - half + lag: centre + half + lag], window[0]))
              for lag in range(-max_lag, max_lag + 1)]
    return int(np.argmax(np.abs(scores))) - max_lag


def chunked(src: Path, out: Path, rate: int) -> HlsPackage:
    """Encode ``src`` in chunks of one segment (last first, as workers may) and stitch them."""
    segment_samples = check_ladder(RUNGS, SEGMENT_S)
    chunks = plan_chunks(timeline_samples(LENGTHS[rate], rate, RUNGS),
                         segment_samples=segment_samples, chunk_segments=1)
    assert len(chunks) >= 3
    results = [encode_chunk(src, out, c, rungs=RUNGS, segment_s=SEGMENT_S)
               for c in reversed(chunks)][::-1]
    segments: list[dict[str, Sequence[Sequence[object]]]] = [dict(r.segments) for r in results]
    return stitch(out, segments, rungs=RUNGS, segment_s=SEGMENT_S,
                  content_ends=[r.content_end for r in results])


@pytest.fixture(scope="module", params=sorted(LENGTHS))
def packaged(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    rate = int(request.param)
    root = tmp_path_factory.mktemp(f"timeline{rate}")
    src = root / "src.wav"
    write_wav(src, signal(rate, LENGTHS[rate]).astype(np.float32), sample_rate=rate)
    single = package_ladder(src, root / "single", rungs=RUNGS, segment_s=SEGMENT_S)
    return {"rate": rate, "root": root, "single": single,
            "chunked": chunked(src, root / "chunked", rate)}


@pytest.mark.parametrize("path", ["single", "chunked"])
def test_skipping_the_priming_and_keeping_samples_gives_the_track_aligned(
    packaged: dict[str, object], path: str,
) -> None:
    rate = int(packaged["rate"])  # type: ignore[call-overload]
    package = packaged[path]
    assert isinstance(package, HlsPackage)
    ref = reference(rate)
    # The timeline is the encoder's priming, then the track, whose length is exactly the
    # source's duration at 48 kHz.
    assert package.priming_samples == 1024
    assert package.samples == ref.shape[1]
    samples, priming = package.samples, package.priming_samples
    assert samples is not None
    root = Path(packaged["root"])  # type: ignore[arg-type]
    for rendition in package.renditions:
        decoded, first = decode(root / path, rendition.playlist)
        assert first == 0  # no edit list moves the priming out of the media timeline
        lossless = rendition.codec == "fLaC"
        if lossless:
            # The FLAC rung holds the priming as silence and ends with the track.
            assert decoded.shape[1] == priming + samples
            assert not decoded[:, :priming].any()
        else:
            # The last AAC frame is padded: up to a frame more than the track.
            assert priming + samples <= decoded.shape[1] < priming + samples + 1024
        # The playlist's segments last priming + samples, the end of the append window.
        assert round(sum(rendition.segment_durations) * OUT) == priming + samples
        track = decoded[:, priming: priming + samples]
        assert track.shape == ref.shape
        lag = best_lag(track, ref, max_lag=2048)
        assert lag == 0, (rendition.name, lag)
        click_lags = [click_lag(track, ref, at) for at in CLICKS_S]
        tolerance = 0 if lossless else 1
        assert max(abs(lag) for lag in click_lags) <= tolerance, (rendition.name, click_lags)
        if lossless:
            # Nothing of the track is lost either: it matches the reference to within the
            # 16-bit source's and the resampler's error (-80 dB here).
            error = np.sqrt(np.mean((track - ref) ** 2)) / np.sqrt(np.mean(ref**2))
            assert error < 1e-3, error


def test_the_chunks_report_the_single_passes_timeline(packaged: dict[str, object]) -> None:
    single, parts = packaged["single"], packaged["chunked"]
    assert isinstance(single, HlsPackage) and isinstance(parts, HlsPackage)
    assert (parts.priming_samples, parts.samples) == (single.priming_samples, single.samples)


def test_the_priming_is_there_to_cut(packaged: dict[str, object]) -> None:
    """Without the skip, the track comes a priming late: the check above can fail."""
    rate = int(packaged["rate"])  # type: ignore[call-overload]
    package = packaged["single"]
    assert isinstance(package, HlsPackage)
    ref = reference(rate)
    decoded, _ = decode(Path(packaged["root"]) / "single", "flac/index.m3u8")  # type: ignore[arg-type]
    assert best_lag(decoded[:, : ref.shape[1]], ref, max_lag=2048) == package.priming_samples


def test_a_writer_counts_what_it_was_given_in_blocks_of_any_size(tmp_path: Path) -> None:
    ref = reference(OUT).astype(np.float32)
    cuts = [0, 1, 1000, 47_999, 100_003, ref.shape[1]]
    with LadderWriter(tmp_path, rungs=RUNGS[:1], segment_s=SEGMENT_S) as writer:
        for a, b in zip(cuts, cuts[1:], strict=False):
            writer.write(ref[:, a:b])
        package = writer.finish()
    assert (package.priming_samples, package.samples) == (1024, ref.shape[1])
    decoded, _ = decode(tmp_path, package.renditions[0].playlist)
    assert best_lag(decoded[:, 1024: 1024 + ref.shape[1]], ref, max_lag=2048) == 0


def test_a_lossless_only_ladder_has_no_priming(tmp_path: Path) -> None:
    ref = reference(OUT).astype(np.float32)
    with LadderWriter(tmp_path, rungs=(FLAC_RUNG,), segment_s=SEGMENT_S) as writer:
        writer.write(ref)
        package = writer.finish()
    assert (package.priming_samples, package.samples) == (0, ref.shape[1])
    decoded, _ = decode(tmp_path, "flac/index.m3u8")
    assert decoded.shape == ref.shape and best_lag(decoded, ref, max_lag=2048) == 0


def _stitched(root: Path, ends: Sequence[int | None] | None) -> HlsPackage:
    """Stitch again, from the chunks' playlists already written, with other ``ends``."""
    segments = []
    for rung in RUNGS:
        lines = (root / "chunked" / rung.name / "index.m3u8").read_text().splitlines()
        segments.append([(name, round(float(info[8:-1]) * OUT), 1)
                         for info, name in zip(lines, lines[1:], strict=False)
                         if info.startswith("#EXTINF:")])
    # One result holding every segment, as the parts' JSON would give them back.
    results: list[dict[str, Sequence[Sequence[object]]]] = [
        {rung.name: [list(s) for s in segs] for rung, segs in zip(RUNGS, segments, strict=True)}]
    return stitch(root / "again", results, rungs=RUNGS, segment_s=SEGMENT_S, content_ends=ends)


def test_parts_that_did_not_say_where_the_audio_ends_give_no_length(
    packaged: dict[str, object],
) -> None:
    # Parts recorded before chunks reported their end: the package is stitched all the same.
    root = Path(packaged["root"])  # type: ignore[arg-type]
    for ends in (None, [None]):
        package = _stitched(root, ends)
        assert package.samples is None and package.priming_samples == 1024
        assert len(package.renditions) == len(RUNGS)
    assert _stitched(root, [1024 + 5]).samples == 5


@pytest.mark.parametrize("ends, named", [
    ([0], "must end inside the timeline (1024, "),
    ([1024], "must end inside the timeline (1024, "),
    ([10**9], "got 1000000000"),
    (["2048"], "got '2048'"),
    ([True], "got True"),
    ([1, 2], "one end per chunk (1), got 2"),
])
def test_stitch_refuses_an_end_outside_the_timeline(
    packaged: dict[str, object], ends: list[object], named: str,
) -> None:
    root = Path(packaged["root"])  # type: ignore[arg-type]
    with pytest.raises(ParameterError) as caught:
        _stitched(root, ends)  # type: ignore[arg-type]
    assert named in str(caught.value)
