"""How the key analyser spells keys: plain constants, so that code which only names keys (the
API's search and analysis pages) does not load the analyser and librosa with it."""

from __future__ import annotations

__all__ = ["KEY_NAMES", "MODES"]

MODES = ("major", "minor")

# Tonic names by pitch class (0 = C), spelt as key signatures conventionally are: the spelling
# with fewer accidentals, and F# rather than Gb.
KEY_NAMES = {
    "major": ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"),
    "minor": ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B"),
}
