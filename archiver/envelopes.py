"""What a Lambda invocation carries -> the stream records in it, and how to name failures back.

Three deliveries reach the function: an EventBridge event whose ``detail`` is one stream record
(pipe -> bus -> rule, invoked asynchronously), a JSON list of records (pipe -> function), and
``{"Records": [...]}`` (a Lambda event source mapping). Anything else is an ``UnknownEnvelope``,
which the caller dead-letters whole: returning "0 processed" for it would be a silent loss.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Delivery", "Shape", "UnknownEnvelope", "failure_identifier", "read_delivery"]


class Shape(StrEnum):
    EVENTBRIDGE = "eventbridge"  # one record under "detail"; failures are raised
    PIPE_BATCH = "pipe-batch"  # a JSON list; failures named by eventID
    ESM_BATCH = "esm-batch"  # {"Records": [...]}; failures named by SequenceNumber
    RECORD = "record"  # a bare stream record (tests, redrive); failures are raised


@dataclass(frozen=True, slots=True)
class Delivery:
    shape: Shape
    records: Sequence[object]

    @property
    def reports_partial_failures(self) -> bool:
        """Whether this shape answers with batchItemFailures rather than raising."""
        return self.shape in (Shape.PIPE_BATCH, Shape.ESM_BATCH)


@dataclass(frozen=True, slots=True)
class UnknownEnvelope:
    reason: str


def read_delivery(event: object) -> Delivery | UnknownEnvelope:
    if isinstance(event, list):
        return Delivery(Shape.PIPE_BATCH, event)
    if not isinstance(event, Mapping):
        return UnknownEnvelope(
            f"event is a {type(event).__name__}; expected an EventBridge event, a JSON "
            'list of stream records, or {"Records": [...]}'
        )
    if "Records" in event:
        records = event["Records"]
        if isinstance(records, list):
            return Delivery(Shape.ESM_BATCH, records)
        return UnknownEnvelope(f"Records is a {type(records).__name__}; expected a list of stream records")
    if "detail" in event:
        detail = event["detail"]
        if isinstance(detail, Mapping):
            return Delivery(Shape.EVENTBRIDGE, [detail])
        return UnknownEnvelope(
            f"detail is a {type(detail).__name__}; expected the stream record as an "
            "object (is the pipe's target input transformer changing it?)"
        )
    if "eventName" in event and "dynamodb" in event:
        return Delivery(Shape.RECORD, [event])
    shown = ", ".join(sorted(map(str, event))[:8]) or "no keys"
    return UnknownEnvelope(
        f"event has {shown}; expected 'detail' (EventBridge), 'Records' (event source "
        "mapping), a JSON list (pipe), or a stream record"
    )


def failure_identifier(shape: Shape, record: object, fallback: str) -> str:
    """The itemIdentifier each platform expects: eventID for pipes, SequenceNumber for an ESM."""
    if isinstance(record, Mapping):
        if shape is Shape.ESM_BATCH:
            dynamodb = record.get("dynamodb")
            if isinstance(dynamodb, Mapping) and isinstance(dynamodb.get("SequenceNumber"), str):
                return str(dynamodb["SequenceNumber"])
        if isinstance(record.get("eventID"), str):
            return str(record["eventID"])
    return fallback
