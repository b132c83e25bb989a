"""The read cache's own rules: expiry, bounded size, and no answer older than a clear."""

from __future__ import annotations

import time

from api.cache import ReadCache


def test_answers_expire() -> None:
    cache = ReadCache(ttl_s=0.05)
    cache.put("k", b"body")
    assert cache.get("k") == b"body"
    time.sleep(0.06)
    assert cache.get("k") is None


def test_an_answer_read_before_a_write_is_not_kept_after_it() -> None:
    cache = ReadCache()
    generation = cache.generation  # a reader misses and goes to the database...
    cache.clear()  # ...a write in another thread commits and clears...
    cache.put("k", b"old", generation=generation)  # ...and the reader's old answer arrives
    assert cache.get("k") is None
    cache.put("k", b"new", generation=cache.generation)
    assert cache.get("k") == b"new"


def test_size_is_bounded() -> None:
    cache = ReadCache(max_entries=10)
    for i in range(25):
        cache.put(i, b"x")
    assert len(cache) <= 10
    assert cache.get(24) == b"x"
