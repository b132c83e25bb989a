"""The broker queues of each task engine, named in one place: the engines declare and consume
them by these names, and the metrics read their depths by the same names.

Dramatiq names its queues itself (a task's queue, ``.DQ`` for delayed messages, ``.XQ`` for
dead letters: ``dramatiq.common``); the Celery engine keeps apart from them with ``.celery``
(its queues are declared with other arguments, and RabbitMQ refuses a queue declared twice
with different ones)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = ["Queues", "celery_dead_letter_queue", "celery_queue", "dramatiq_dead_letter_queue",
           "engine_queues"]


@dataclass(frozen=True)
class Queues:
    """The broker queues of some tasks: work waiting, and dead letters."""

    work: tuple[str, ...]
    dead: tuple[str, ...] = ()


def dramatiq_dead_letter_queue(task: str) -> str:
    return f"{task}.XQ"


def celery_queue(task: str) -> str:
    return f"{task}.celery"


def celery_dead_letter_queue(task: str) -> str:
    return f"{celery_queue(task)}.XQ"


def _dramatiq(tasks: Iterable[str]) -> Queues:
    tasks = list(tasks)
    return Queues(work=tuple(q for t in tasks for q in (t, f"{t}.DQ")),
                  dead=tuple(dramatiq_dead_letter_queue(t) for t in tasks))


def _celery(tasks: Iterable[str]) -> Queues:
    tasks = list(tasks)
    return Queues(work=tuple(celery_queue(t) for t in tasks),
                  dead=tuple(celery_dead_letter_queue(t) for t in tasks))


def _plain(tasks: Iterable[str]) -> Queues:
    return Queues(work=tuple(tasks))


# How each task engine names its queues; an engine with other names adds its function here.
_LAYOUTS: dict[str, Callable[[Iterable[str]], Queues]] = {"dramatiq": _dramatiq,
                                                          "celery": _celery}


def engine_queues(engine: str, tasks: Iterable[str]) -> Queues:
    """Return the queues ``engine`` ("dramatiq", "celery", ...) keeps for ``tasks``."""
    return _LAYOUTS.get(engine, _plain)(tasks)
