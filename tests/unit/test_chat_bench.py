"""`veza bench chat` evaluates its targets from what it measured (no timing is asserted)."""

from __future__ import annotations

from typing import Any

from benchmarks import chat


def _results(room: tuple[float, float | None], room_2x: tuple[float, float | None]
             ) -> dict[str, Any]:
    def phase(deliveries: float, p99: float | None) -> dict[str, Any]:
        return {"deliveries_per_s": deliveries, "p99_ms": p99}

    return {"idle": {"connections": 10_000, "kib_per_connection": 17.0},
            "room": phase(*room), "room_2x": phase(*room_2x), "dm": {"p99_ms": 9.0}}


def _deliveries(results: dict[str, Any]) -> chat.Target:
    found = [t for t in chat.targets(chat.FULL, results) if "deliveries/s" in t.metric]
    assert len(found) == 1
    return found[0]


def test_deliveries_seconds_late_do_not_meet_the_deliveries_target():
    # Twice the rate, every frame delivered, but the p99 seconds late: not sustained.
    target = _deliveries(_results(room=(39_000.0, 238.0), room_2x=(45_127.0, 6100.0)))
    assert target.value is None and not target.met


def test_the_deliveries_of_the_phase_whose_p99_held_are_counted():
    target = _deliveries(_results(room=(40_110.0, 30.2), room_2x=(45_127.0, 3500.0)))
    assert target.value == 40_110.0 and target.met
    target = _deliveries(_results(room=(40_110.0, 30.2), room_2x=(80_062.0, 68.0)))
    assert target.value == 80_062.0 and target.met


def test_a_held_p99_with_too_few_deliveries_still_misses():
    target = _deliveries(_results(room=(21_000.0, 40.0), room_2x=(30_000.0, 90.0)))
    assert target.value == 30_000.0 and not target.met


def test_the_p99_bound_is_strict_and_a_phase_without_deliveries_never_holds():
    assert chat.sustained_deliveries([{"deliveries_per_s": 40_000.0, "p99_ms": 100.0}]) is None
    assert chat.sustained_deliveries([{"deliveries_per_s": 0.0, "p99_ms": None}]) is None
    assert chat.sustained_deliveries([{"deliveries_per_s": 40_000.0, "p99_ms": 99.99}]) \
        == 40_000.0


def test_the_room_latency_target_reads_the_phase_at_the_target_rate():
    results = _results(room=(40_000.0, 238.0), room_2x=(80_000.0, 60.0))
    p99 = [t for t in chat.targets(chat.FULL, results) if t.metric.startswith("room p99")]
    assert [t.value for t in p99] == [238.0] and not p99[0].met
