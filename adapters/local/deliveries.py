"""What the local pipe hands the handler, per the table's ``delivery``, and how it reads the answer.

- ``bus``: pipe -> EventBridge bus -> rule: one EventBridge event per deletion, one call each,
  a failure raised (the rule retries the event);
- ``direct``: pipe -> function: a JSON list of records, failures named by ``eventID``;
- ``stream``: a Lambda event source mapping: ``{"Records": [...]}``, failures named by
  ``SequenceNumber`` (``ReportBatchItemFailures``).

The two batch deliveries gather a shard's deletions (INSERT and MODIFY are filtered out at the
source, as the pipe's and the mapping's filters do) until the batch holds ``size`` records, or its
first record has waited ``window_seconds``, or a read of the shard comes back empty (drained),
whichever is first; a batch also stays under Lambda's 6 MB invocation payload. After a partial
failure the retry starts at the first failed record and carries every record after it, as a
mapping or a pipe retries a stream batch: records after the failure arrive again although they
were archived, which the archive must take (a compact layout's retried slice is a second object,
and its readers keep each deletion once).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "MAX_PAYLOAD_BYTES",
    "BatchBuffer",
    "Batching",
    "Delivery",
    "batch_event",
    "eventbridge_event",
    "first_failure",
]

_EVENT_NAMESPACE = uuid.UUID("5f8c7d0e-2b9a-4c1e-9d3f-6a7b8c9d0e1f")
#: A batch's size where the configuration gives none (an event source mapping's default on a stream).
DEFAULT_BATCH_SIZE = 100
#: Lambda's invocation payload limit (6 MB), less room for the envelope.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024 - 1024


class Delivery(StrEnum):
    BUS = "bus"
    DIRECT = "direct"
    STREAM = "stream"


@dataclass(frozen=True, slots=True)
class Batching:
    """How one table's deletions reach the handler (its YAML ``delivery`` and ``batch``)."""

    delivery: Delivery = Delivery.BUS
    size: int = DEFAULT_BATCH_SIZE
    window_seconds: float = 0.0
    max_payload_bytes: int = MAX_PAYLOAD_BYTES

    def __post_init__(self) -> None:
        if self.size < 1 or self.window_seconds < 0:
            raise ValueError(
                f"batch size {self.size} and window {self.window_seconds} s: expected size >= 1, window >= 0"
            )


def eventbridge_event(record: dict[str, Any], table: str) -> dict[str, Any]:
    """The event a pipe (source: the table's stream, target: a bus) puts on the bus for one record.

    The id is derived from the eventID, so a redelivered record gets the same event id, as a
    retried EventBridge delivery does. ``resources`` names the table, as the deployed pipe sets it
    and the rule matches it.
    """
    source_arn = str(record.get("eventSourceARN", ""))
    arn_parts = source_arn.split(":")
    created = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
    when = dt.datetime.fromtimestamp(float(created), tz=dt.UTC) if created is not None else dt.datetime.now(dt.UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid5(_EVENT_NAMESPACE, str(record.get("eventID", "")))),
        "detail-type": "Event from aws:dynamodb",
        "source": f"Pipe {table}-archive",
        "account": arn_parts[4] if len(arn_parts) > 4 else "",
        "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": str(record.get("awsRegion") or (arn_parts[3] if len(arn_parts) > 3 else "")),
        "resources": [source_arn.partition("/stream/")[0]] if source_arn else [],
        "detail": record,
    }


def batch_event(delivery: Delivery, records: list[dict[str, Any]]) -> object:
    """One invocation's event for a batch: a JSON list (pipe) or ``{"Records": [...]}`` (mapping)."""
    if delivery is Delivery.STREAM:
        return {"Records": records}
    if delivery is Delivery.DIRECT:
        return list(records)
    raise ValueError(f"delivery {delivery!r} delivers one event per record, not batches")


def first_failure(delivery: Delivery, records: list[dict[str, Any]], answer: object) -> int | None:
    """Where the retry of a delivered batch starts: the first record ``answer`` names as failed.

    None when it names none. 0 (the whole batch) when it names something that is in no record of
    the batch, or is not a ``batchItemFailures`` answer at all: the platform reads such an answer
    as the whole batch failing, rather than guess.
    """
    if answer is None:
        return None
    failures = answer.get("batchItemFailures") if isinstance(answer, Mapping) else None
    if not isinstance(failures, list):
        return 0
    if not failures:
        return None
    positions = {_identifier(delivery, record): index for index, record in enumerate(records)}
    named = [item.get("itemIdentifier") if isinstance(item, Mapping) else None for item in failures]
    if any(identifier not in positions for identifier in named):
        return 0
    return min(positions[identifier] for identifier in named)


def _identifier(delivery: Delivery, record: Mapping[str, Any]) -> object:
    if delivery is Delivery.STREAM:
        return record.get("dynamodb", {}).get("SequenceNumber")
    return record.get("eventID")


class BatchBuffer:
    """The deletions read from one shard and not yet delivered, and how far the checkpoint may go.

    Each deletion carries the sequence number through which the shard is done once it is
    delivered: its own, or that of the last INSERT or MODIFY read after it (those need nothing).
    Mutable; private to the pipe's loop, one per shard, dropped with the shard's iterator.
    """

    def __init__(self, batching: Batching) -> None:
        self._batching = batching
        self._records: list[dict[str, Any]] = []
        self._through: list[str] = []
        self._sizes: list[int] = []
        self._first_at = 0.0

    def __len__(self) -> int:
        return len(self._records)

    def add(self, records: list[dict[str, Any]], now: float) -> str | None:
        """Take one read's records; the sequence number the checkpoint may move to at once (records
        that need no delivery, with no deletion waiting before them), else None."""
        done_through = None
        for record in records:
            sequence = str(record["dynamodb"]["SequenceNumber"])
            if record.get("eventName") == "REMOVE":
                if not self._records:
                    self._first_at = now
                self._records.append(record)
                self._through.append(sequence)
                self._sizes.append(len(json.dumps(record)) + 2)  # and a comma, a space
            elif self._records:
                self._through[-1] = sequence
            else:
                done_through = sequence
        return done_through

    def take(self, now: float, drained: bool) -> list[tuple[list[dict[str, Any]], str]]:
        """The batches due now, oldest first, each with the sequence number its delivery completes."""
        due = []
        while self._records:
            count = self._fitting()
            full = count < len(self._records) or count == self._batching.size
            if not (full or drained or now - self._first_at >= self._batching.window_seconds):
                break
            due.append((self._records[:count], self._through[count - 1]))
            del self._records[:count], self._through[:count], self._sizes[:count]
            self._first_at = now
        return due

    def _fitting(self) -> int:
        """How many of the first records one invocation takes: up to ``size``, and under the payload limit."""
        total, count = 0, 0
        for size in self._sizes[: self._batching.size]:
            if count and total + size > self._batching.max_payload_bytes:
                break
            total, count = total + size, count + 1
        return count
