"""`veza bench chat` runs end to end on tiny sizes and records what it measured (no timing is
asserted: benchmarks are not tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import chat
from benchmarks.harness import run_benchmark

pytestmark = pytest.mark.integration

TINY = chat.Sizes(idle_conns=30, members=12, room_rate=20.0, dm_pairs=3, dm_rate=30.0,
                  seconds=1.0, room_senders=2)


def test_chat_benchmark_runs_on_tiny_sizes_and_writes_its_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(chat, "QUICK", TINY)
    doc = json.loads(run_benchmark("chat", quick=True, out_dir=tmp_path, echo=False)
                     .read_text())
    assert doc["name"] == "chat" and doc["parameters"]["quick"] is True
    assert doc["parameters"]["chat_rate_limit"] == "0 (off for the benchmark)"
    results = doc["results"]
    assert results["idle"]["connections"] == 30 and results["idle"]["refused"] == {}
    assert results["idle"]["kib_per_connection"] is not None
    for phase in ("room", "room_2x"):
        r = results[phase]
        # Every message was made durable and reached every member of the room.
        assert r["sent"] == r["acked"] > 0 and r["errors"] == {}, r
        assert r["deliveries"] == r["sent"] * 12, r
        assert r["p50_ms"] <= r["p99_ms"] <= r["max_ms"]
    dm = results["dm"]
    # A direct message reaches its recipient on the other gateway, and the sender's socket.
    assert dm["sent"] == dm["acked"] == 30 and dm["deliveries"] == 2 * dm["sent"], dm
    assert dm["p99_ms"] is not None
    metrics = [t["metric"] for t in doc["targets"]]
    assert len(metrics) == 5 and all(t["value"] is not None for t in doc["targets"])
