"""Log lines: JSON objects for collectors, carrying the track and job a line is about."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator

import pytest

from veza import logs

log = logging.getLogger("veza.test")


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """Configure JSON logging into a buffer for the test, and take it out afterwards."""
    out = io.StringIO()
    root = logging.getLogger()
    level = root.level
    logs.configure("json", stream=out)
    yield out
    for handler in [h for h in root.handlers if getattr(h, "veza", False)]:
        root.removeHandler(handler)
    root.setLevel(level)


def _records(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_json_lines_carry_the_ids_inside_a_job_and_not_outside(lines: io.StringIO) -> None:
    log.info("before")
    with logs.job_context(track_id="t-1", job_id="j-1"):
        log.warning("working on %s", "it")
        try:
            raise ValueError("bad block")
        except ValueError:
            log.exception("stage failed")
    log.info("after")
    before, working, failed, after = _records(lines)
    assert before["message"] == "before" and before["level"] == "INFO"
    assert before["logger"] == "veza.test" and before["time"].startswith("20")
    assert "track_id" not in before and "job_id" not in before
    assert working["message"] == "working on it"
    assert (working["track_id"], working["job_id"]) == ("t-1", "j-1")
    assert (failed["track_id"], failed["job_id"]) == ("t-1", "j-1")
    assert "ValueError: bad block" in failed["exc_info"]
    assert "track_id" not in after and "job_id" not in after


def test_each_thread_logs_its_own_job(lines: io.StringIO) -> None:
    @logs.in_job_context
    def stage(*, track_id: str, job_id: str) -> None:
        log.info("stage ran")

    threads = [threading.Thread(target=stage, kwargs={"track_id": f"t-{i}", "job_id": f"j-{i}"})
               for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    records = _records(lines)
    assert sorted((r["track_id"], r["job_id"]) for r in records) == [
        (f"t-{i}", f"j-{i}") for i in range(4)]


def test_a_helper_thread_of_a_job_logs_with_the_job_ids(lines: io.StringIO) -> None:
    # Lease renewal and segment uploads run beside the job on threads of their own.
    with logs.job_context(track_id="t-7", job_id="j-7"):
        helper = logs.thread(lambda: log.warning("lease renewal failed"), name="lease-test")
        plain = threading.Thread(target=lambda: log.warning("no context"))
    helper.start()
    helper.join()
    plain.start()
    plain.join()
    renewal, bare = _records(lines)
    assert (renewal["track_id"], renewal["job_id"]) == ("t-7", "j-7")
    assert "track_id" not in bare


def test_an_id_given_explicitly_wins(lines: io.StringIO) -> None:
    with logs.job_context(track_id="t-1"):
        log.info("upload accepted", extra={"track_id": "t-2"})
        log.info("no job yet")
    explicit, implicit = _records(lines)
    assert explicit["track_id"] == "t-2"
    assert implicit["track_id"] == "t-1" and "job_id" not in implicit


def test_text_lines_name_the_job_for_people() -> None:
    out = io.StringIO()
    logger = logging.getLogger("veza.test.text")
    logger.addHandler(logs.handler("text", out))
    logger.propagate = False
    try:
        with logs.job_context(track_id="t-1", job_id="j-1"):
            logger.warning("slow")
        logger.warning("idle")
    finally:
        logger.handlers.clear()
        logger.propagate = True
    inside, outside = out.getvalue().splitlines()
    assert inside.endswith("WARNING veza.test.text [track=t-1 job=j-1]: slow")
    assert outside.endswith("WARNING veza.test.text: idle")
