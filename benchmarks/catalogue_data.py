"""A realistic catalogue for the API benchmark: users, and tracks with metadata and analysis.

Titles and artists are drawn from word lists (so text search and trigram indexes see words, not
hashes), tempo clusters by genre, keys are spread over the 24, loudness around -11 LUFS, length
log-normal around 3.5 minutes; a few tracks are unlisted, private or not ready.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import psycopg2

WORDS = """
love night light heart fire dream summer rain river shadow gold silver blue red black white
city road home ghost storm ocean sky star moon sun wild young lost alone together forever
midnight morning evening winter autumn spring paradise echo mirror glass stone paper wire
electric neon velvet honey sugar smoke thunder lightning desert island garden forest mountain
valley bridge tower station train highway motel radio signal static pulse rhythm groove
fever sweet bitter broken golden hollow crystal frozen burning falling rising running dancing
talking waiting dreaming drifting floating flying sinking shining whisper scream silence noise
memory promise secret stranger lover sister brother mother father child angel devil saint
sinner king queen prince princess soldier sailor hunter dancer singer driver
""".split()
FIRST = """
Ada Alex Billie Cleo Dana Eli Frankie Gus Hana Ivy Jules Kai Lou Mina Nico Otto Pia Quinn Ravi
Sol Tess Uma Vic Wren Yara Zoe Ludwig Amadeus Johann Clara Nina Aretha Miles Herbie
""".split()
LAST = """
Beethoven Mozart Bach Schumann Simone Franklin Davis Hancock Moreau Kowalski Nakamura Okafor
Silva Andersen Novak Rossi Haddad Lindqvist Petrov Dubois Fischer Tanaka Mensah Garcia Walsh
""".split()
GROUPS = """
Machines Collective Orchestra Trio Quartet Sound System Brothers Sisters Club Society Project
""".split()
GENRES = {  # genre: (tempo mean, tempo spread) in BPM
    "House": (124, 3), "Techno": (130, 5), "Drum and bass": (174, 2), "Hip hop": (90, 8),
    "Ambient": (80, 20), "Pop": (115, 15), "Rock": (120, 20), "Jazz": (110, 30),
    "Classical": (95, 30), "Dubstep": (140, 2), "Disco": (118, 5), "Soul": (100, 12),
    "Reggae": (80, 8), "Trap": (145, 5), "Folk": (105, 20), "Metal": (150, 25),
    "Funk": (108, 8), "Trance": (138, 3), "Lo-fi": (85, 6), "Garage": (132, 3),
}
TAGS = """
chill dark uplifting melancholic energetic instrumental vocal live remix acoustic piano guitar
synth bass drums strings brass lofi summer night workout study sleep party road-trip rainy
retro modern experimental minimal epic cinematic happy sad romantic angry dreamy groovy
""".split()
MODES = {
    "major": ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"),
    "minor": ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B"),
}
KEYS = [f"{tonic} {mode}" for mode, tonics in MODES.items() for tonic in tonics]
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def _artists(rng: np.random.Generator, n: int) -> list[str]:
    names: set[str] = set()
    while len(names) < n:
        if rng.random() < 0.7:
            names.add(f"{rng.choice(FIRST)} {rng.choice(LAST)}")
        else:
            names.add(f"The {str(rng.choice(WORDS)).title()} {rng.choice(GROUPS)}")
    return sorted(names)


def _title(rng: np.random.Generator) -> str:
    words = [str(w) for w in rng.choice(WORDS, size=int(rng.integers(1, 4)))]
    title = " ".join(words).capitalize()
    return title if rng.random() > 0.1 else f"{title} (Remix)"


def tracks_csv(rng: np.random.Generator, owners: list[uuid.UUID], n: int) -> tuple[str, list[str]]:
    """Return ``n`` tracks as CSV for COPY, and the ids of those that are public and ready."""
    artists = _artists(rng, max(1, len(owners) // 3))
    genres = list(GENRES)
    out = io.StringIO()
    writer = csv.writer(out)
    listed = []
    for i in range(n):
        track_id = uuid.uuid4()
        genre = genres[int(rng.integers(len(genres)))]
        mean, spread = GENRES[genre]
        tempo = round(float(np.clip(rng.normal(mean, spread), 50, 200)), 2)
        lufs = round(float(np.clip(rng.normal(-11, 4), -35, -4)), 2)
        duration = round(float(np.clip(rng.lognormal(np.log(210), 0.35), 30, 1800)), 3)
        visibility = str(rng.choice(["public", "unlisted", "private"], p=[0.9, 0.05, 0.05]))
        status = "ready" if rng.random() < 0.95 else str(rng.choice(["queued", "failed"]))
        tags = sorted({str(t) for t in rng.choice(TAGS, size=int(rng.integers(0, 5)))})
        analysis: dict[str, Any] = {
            "duration_s": duration, "tempo_bpm": tempo, "key": KEYS[int(rng.integers(24))],
            "key_confidence": round(float(rng.random()), 3),
            "loudness": {"integrated_lufs": lufs, "range_lu": round(float(rng.uniform(3, 15)), 2),
                         "true_peak_dbtp": round(float(rng.uniform(-3, 0)), 2)},
        }
        created = EPOCH + timedelta(seconds=int(i * 3000 + rng.integers(0, 3000)))
        writer.writerow([
            track_id, owners[int(rng.integers(len(owners)))], _title(rng),
            artists[int(rng.integers(len(artists)))], genre,
            "{" + ",".join(f'"{t}"' for t in tags) + "}", status, visibility,
            f"originals/{track_id}/source.flac", duration, json.dumps(analysis),
            created.isoformat(), created.isoformat() if status == "ready" else "",
        ])
        if visibility == "public" and status == "ready":
            listed.append(str(track_id))
    return out.getvalue(), listed


def seed(dsn: str, *, users: int = 1000, tracks: int = 10000, seed: int = 5) -> list[str]:
    """Fill a migrated, empty database; return the ids of the public, ready tracks."""
    rng = np.random.default_rng(seed)
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            rows = io.StringIO()
            writer = csv.writer(rows)
            owners = []
            for i in range(users):
                user_id = uuid.uuid4()
                role = "artist" if i % 3 == 0 else "listener"
                writer.writerow([user_id, f"user{i:04d}", f"User {i}", f"user{i:04d}@example.org",
                                 role])
                if role == "artist":
                    owners.append(user_id)
            cur.copy_expert("COPY users (id, handle, display_name, email, role) FROM STDIN "
                            "WITH (FORMAT csv)", io.StringIO(rows.getvalue()))
            data, listed = tracks_csv(rng, owners, tracks)
            cur.copy_expert(
                "COPY tracks (id, owner_id, title, artist, genre, tags, status, visibility,"
                " original_key, duration_s, analysis, created_at, ready_at) FROM STDIN"
                " WITH (FORMAT csv)", io.StringIO(data))
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE users")
            cur.execute("VACUUM ANALYZE tracks")
    finally:
        conn.close()
    return listed
