"""The RabbitMQ queues of the chat journal, declared the same way by the gateway and the archiver.

``{prefix}.chat`` holds journal messages, each a batch of records (a JSON array; one record as a
JSON object from gateways older than batching), until ``veza serve chat-archiver`` has stored
them; ``{prefix}.chat.XQ`` holds the records the archiver could not store, each on its own with
its reason in the ``reason`` header, for a person to look at.

Both are quorum queues: a record is confirmed to the gateway only once it is written on a majority
of the nodes (on one node: fsynced), so a confirmed chat message outlives a broker crash, a
cluster survives losing a node without losing the journal, and a message whose delivery keeps
killing the archiver is set aside (whole, as it was sent) after ``DELIVERY_LIMIT`` deliveries
instead of looping forever.
Classic queues would be a little faster on one node but give none of the last two.
"""

from __future__ import annotations

from typing import Any

from veza.settings import Settings

# A message redelivered this often (its archiver died each time it held it) goes to the XQ.
DELIVERY_LIMIT = 20
REASON_HEADER = "reason"


def queue_name(settings: Settings) -> str:
    """Name the queue that journal records wait in."""
    return f"{settings.queue_prefix}.chat"


def rejected_queue_name(settings: Settings) -> str:
    """Name the queue of records the archiver could not store."""
    return f"{settings.queue_prefix}.chat.XQ"


def queue_arguments(settings: Settings) -> dict[str, Any]:
    """Return the declaration arguments of the journal queue (they must match everywhere)."""
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": DELIVERY_LIMIT,
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": rejected_queue_name(settings),
    }


def rejected_queue_arguments() -> dict[str, Any]:
    """Return the declaration arguments of the rejected-records queue."""
    return {"x-queue-type": "quorum"}
