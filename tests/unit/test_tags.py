"""Embedded tags and cover art read from real files made by ffmpeg (ID3, FLAC, MP4 atoms)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pipeline.embedded_tags import TAG_LIMITS, EmbeddedTags, clean_text, read_tags

TAGS = {"title": "Night Drive", "artist": "Ada Lovelace", "album": "Engines",
        "genre": "Synthwave", "date": "2024-05-01", "track": "3/12"}


def ffmpeg(*args: str) -> None:
    result = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def metadata(tags: dict[str, str]) -> list[str]:
    return [arg for name, value in tags.items() for arg in ("-metadata", f"{name}={value}")]


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tone, a JPEG, a PNG and a BMP picture to build tagged files from."""
    folder = tmp_path_factory.mktemp("tags")
    ffmpeg("-f", "lavfi", "-i", "sine=f=440:d=1", "-ac", "2", str(folder / "tone.wav"))
    for name in ("cover.jpg", "cover.png", "cover.bmp"):
        ffmpeg("-f", "lavfi", "-i", "testsrc=s=64x64", "-frames:v", "1", str(folder / name))
    return folder


def tagged(media: Path, name: str, codec: str, tags: dict[str, str],
           cover: str | None = None, extra: tuple[str, ...] = ()) -> Path:
    out = media / name
    inputs = ["-i", str(media / "tone.wav")]
    maps = ["-map", "0:a"]
    if cover is not None:
        inputs += ["-i", str(media / cover)]
        maps += ["-map", "1:v", "-c:v", "copy", "-disposition:v", "attached_pic"]
    ffmpeg(*inputs, *maps, "-c:a", codec, *metadata(tags), *extra, str(out))
    return out


def test_mp3_with_id3_tags_and_an_apic_cover(media: Path) -> None:
    path = tagged(media, "a.mp3", "libmp3lame", TAGS, "cover.jpg", ("-id3v2_version", "3"))
    tags = read_tags(path)
    assert (tags.title, tags.artist, tags.album, tags.genre) == (
        "Night Drive", "Ada Lovelace", "Engines", "Synthwave")
    assert tags.date == "2024-05-01" and tags.track_number == 3
    assert tags.cover == (media / "cover.jpg").read_bytes()
    assert tags.cover_type == "image/jpeg"


def test_flac_with_vorbis_comments_and_a_picture_block(media: Path) -> None:
    path = tagged(media, "a.flac", "flac", {"title": "Flac Song", "artist": "Bo",
                                            "track": "7"}, "cover.png")
    tags = read_tags(path)
    assert (tags.title, tags.artist, tags.album, tags.track_number) == ("Flac Song", "Bo",
                                                                        None, 7)
    assert tags.cover == (media / "cover.png").read_bytes() and tags.cover_type == "image/png"


def test_m4a_with_mp4_atoms_and_covr(media: Path) -> None:
    path = tagged(media, "a.m4a", "aac", TAGS, "cover.jpg")
    tags = read_tags(path)
    assert (tags.title, tags.album, tags.track_number) == ("Night Drive", "Engines", 3)
    assert tags.cover_type == "image/jpeg" and tags.cover == (media / "cover.jpg").read_bytes()


def test_ogg_keeps_its_tags_on_the_stream(media: Path) -> None:
    path = tagged(media, "a.ogg", "libvorbis", {"title": "Ogg Song", "artist": "Cy"})
    tags = read_tags(path)
    assert (tags.title, tags.artist, tags.cover) == ("Ogg Song", "Cy", None)


def test_album_artist_stands_in_for_a_missing_artist(media: Path) -> None:
    path = tagged(media, "aa.flac", "flac", {"album_artist": "The Band"})
    assert read_tags(path).artist == "The Band"


def test_a_file_without_tags_gives_none(media: Path) -> None:
    assert read_tags(media / "tone.wav") == EmbeddedTags()


def test_weird_tags_are_cleaned_and_bounded(media: Path) -> None:
    path = tagged(media, "weird.flac", "flac", {
        "title": "  Bell\x07 \x1b[31mred\u200b  song\t\ttabs\n ",
        "artist": "x" * 5000, "genre": "\x01\x02\x03", "track": "three",
        "date": "1999" * 20})
    tags = read_tags(path)
    assert tags.title == "Bell [31mred song tabs"
    assert tags.artist == "x" * TAG_LIMITS["artist"]
    assert tags.genre is None and tags.track_number is None
    assert tags.date is not None and len(tags.date) == TAG_LIMITS["date"]


@pytest.mark.parametrize(("value", "number"), [
    ("3", 3), ("3/12", 3), (" 04 / 10 ", 4), ("12/", 12), ("0", None), ("0/12", None),
    ("-1", None), ("99999", None), ("1.5", None), ("", None),
])
def test_track_numbers(media: Path, value: str, number: int | None) -> None:
    path = tagged(media, "n.flac", "flac", {"title": "n", "track": value} if value else {})
    assert read_tags(path).track_number == number


def test_a_cover_over_the_limit_is_ignored(media: Path) -> None:
    path = tagged(media, "big.flac", "flac", {"title": "Big"}, "cover.png")
    size = (media / "cover.png").stat().st_size
    assert read_tags(path, max_cover_bytes=size - 1).cover is None
    assert read_tags(path, max_cover_bytes=size).cover is not None


def test_a_picture_of_another_format_is_ignored(media: Path) -> None:
    path = tagged(media, "bmp.mp3", "libmp3lame", {"title": "Bmp"}, "cover.bmp")
    tags = read_tags(path)
    assert tags.title == "Bmp" and tags.cover is None and tags.cover_type is None


def test_unreadable_files_give_empty_tags(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"ID3" + b"\xff" * 100)
    assert read_tags(junk) == EmbeddedTags()
    assert read_tags(tmp_path / "missing.flac") == EmbeddedTags()


@pytest.mark.parametrize(("value", "cleaned"), [
    ("plain", "plain"), ("  a \t b\n", "a b"), ("\ufeffBOM", "BOM"), ("\x00\x1f", None),
    ("é ü 日本", "é ü 日本"), ("abcdef", "abc"), (42, None), (None, None),
])
def test_clean_text(value: object, cleaned: str | None) -> None:
    assert clean_text(value, 3 if value == "abcdef" else 100) == cleaned


@pytest.mark.parametrize("dirty", [
    "\u202eevil\u202c", "ev\u200bil", "\u2066evil\u2069", "\ufeffevil", " evil\x00 ", "e\u200evil",
])
def test_a_title_is_cleaned_alike_whoever_gave_it(dirty: str) -> None:
    from veza.tags import title

    clean = clean_text(dirty, TAG_LIMITS["title"])
    assert clean == "evil"
    # The caller's ?title=, the file's name, and the file's own tag (cleaned when read).
    assert title(dirty, EmbeddedTags(), "x") == clean
    assert title(None, EmbeddedTags(), dirty) == clean
    assert title(None, EmbeddedTags(title=clean), "x") == clean
    assert title(None, EmbeddedTags(), "\u202e\u200b") == "Untitled"
