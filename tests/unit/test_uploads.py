"""Receiving an upload: bounded, streamed, never whole in memory."""

from __future__ import annotations

import io

import pytest

from veza.errors import EmptyInputError, TooLargeError
from veza.uploads import CHUNK, _title, clean_filename, receive


class CountingStream(io.RawIOBase):
    """An endless body that counts how much the server read."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        assert size != -1, "the whole body was asked for at once"
        self.read_bytes += size
        return b"\0" * size


def test_receive_copies_in_chunks() -> None:
    dest = io.BytesIO()
    data = bytes(range(256)) * 10_000
    assert receive(io.BytesIO(data), dest, max_bytes=len(data)) == len(data)
    assert dest.getvalue() == data


def test_receive_stops_reading_once_past_the_limit() -> None:
    stream = CountingStream()
    with pytest.raises(TooLargeError, match="exceeds the limit of 3000000 bytes"):
        receive(stream, io.BytesIO(), max_bytes=3_000_000)
    assert stream.read_bytes <= 3_000_000 + CHUNK


def test_receive_refuses_an_empty_body() -> None:
    with pytest.raises(EmptyInputError, match="empty"):
        receive(io.BytesIO(b""), io.BytesIO(), max_bytes=10)


@pytest.mark.parametrize(
    ("filename", "title"),
    [("My Song.mp3", "My Song"), ("C:\\music\\take.wav", "take"), ("../../x.flac", "x"),
     (None, "Untitled"), (".wav", "Untitled"), ("noext", "noext")],
)
def test_title_comes_from_the_file_name(filename: str | None, title: str) -> None:
    assert _title(filename) == title


@pytest.mark.parametrize("filename,kept", [
    ("song.wav", "song.wav"), ("../../etc/passwd", "passwd"), ("C:\\music\\take.wav", "take.wav"),
    ("a\x00b.wav", "ab.wav"), ("line\nbreak.mp3", "linebreak.mp3"), ("/", None), ("", None),
    (None, None), ("x" * 300 + ".wav", "x" * 255),
])
def test_a_client_file_name_is_kept_as_its_last_part_without_control_characters(
    filename: str | None, kept: str | None
) -> None:
    assert clean_filename(filename) == kept
