"""What a Lambda invocation carries -> the stream records in it, and how to name failures back.

Three deliveries reach the function: an EventBridge event whose ``detail`` is one stream record
(pipe -> bus -> rule, invoked asynchronously), a JSON list of records (pipe -> function), and
``{"Records": [...]}`` (a Lambda event source mapping). Anything else is an ``UnknownEnvelope``,
which the caller dead-letters whole: returning "0 processed" for it would be a silent loss.

Two kinds of event are refused whole rather than read in part, because reading them as one
shape would drop what the other shape holds:

- an event that fits more than one shape (``{"Records": [...], "detail": {...}}``, a stream
  record that also carries ``detail`` or ``Records``): the reason names every shape it fits;
- a delivery that wraps records in something else: SQS messages, SNS notifications, records of
  another event source, a list of EventBridge events. None of the deployed paths sends these, so
  the reason says what arrived and how the function is meant to be invoked, instead of
  dead-lettering each wrapper as a stream record without an ``eventName``.

A batch (a pipe's list, a mapping's ``Records``) that holds stream records and, among them, an
element of another kind is a batch all the same: its stream records are archived, and each
foreign element is refused alone (``Delivery.refused``: its place in the batch, and a reason
naming what it is), so one stray element neither dead-letters the batch's deletions with it nor
makes a letter that redrive cannot replay. An element that is a stream record and also another
shape is refused the same way. Only a batch with no plain stream record is refused whole.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["Delivery", "Shape", "UnknownEnvelope", "failure_identifier", "read_delivery"]

_STREAM_SOURCE = "aws:dynamodb"
_STREAM_RECORD = "stream records"
_EVENTBRIDGE = "EventBridge events"
_SQS = "SQS messages"
_SNS = "SNS notifications"
_DIRECTLY = "the function takes stream records from the pipe or the EventBridge rule directly"
#: Why each wrapper is not read, and what to do instead; the event is in the dead letter whole.
_ADVICE = {
    _EVENTBRIDGE: "a pipe sends a JSON list of stream records and a rule one EventBridge event per "
    "invocation, so no deployed path sends a list of EventBridge events; invoke the function with each event",
    _SQS: f"{_DIRECTLY}, not through an SQS queue: make the rule or pipe invoke it, and replay these "
    "messages with `archiver redrive` (which reads dead-letter queues and re-runs each body)",
    _SNS: f"{_DIRECTLY}, not through an SNS topic: make the rule or pipe invoke it, and replay these "
    "notifications by invoking the function with each message",
}
_OTHER_SOURCE = f"{_DIRECTLY}; it is not meant to be subscribed to another event source"
#: One wrapper of each kind, and the key that gives it away, for the reason.
_ONE = {_SQS: "an SQS message (eventSource 'aws:sqs')", _SNS: "an SNS notification (EventSource 'aws:sns')"}


class Shape(StrEnum):
    EVENTBRIDGE = "eventbridge"  # one record under "detail"; failures are raised
    PIPE_BATCH = "pipe-batch"  # a JSON list; failures named by eventID
    ESM_BATCH = "esm-batch"  # {"Records": [...]}; failures named by SequenceNumber
    RECORD = "record"  # a bare stream record (tests, redrive); failures are raised


@dataclass(frozen=True, slots=True)
class Delivery:
    """The records of one delivery, as received, and which of them are no stream record at all.

    ``refused`` maps the place of each foreign element of a batch to why it is not read as a
    record (what it is, and what to do instead); it is dead-lettered alone, with that reason.
    """

    shape: Shape
    records: Sequence[object]
    refused: Mapping[int, str] = field(default_factory=dict)

    @property
    def reports_partial_failures(self) -> bool:
        """Whether this shape answers with batchItemFailures rather than raising."""
        return self.shape in (Shape.PIPE_BATCH, Shape.ESM_BATCH)


@dataclass(frozen=True, slots=True)
class UnknownEnvelope:
    reason: str


def read_delivery(event: object) -> Delivery | UnknownEnvelope:
    """The delivery ``event`` is, or why it is none we read (then it is dead-lettered whole)."""
    if isinstance(event, list):
        return _batch(Shape.PIPE_BATCH, event, "a JSON list")
    if not isinstance(event, Mapping):
        return UnknownEnvelope(
            f"event is a {type(event).__name__}; expected an EventBridge event, a JSON "
            'list of stream records, or {"Records": [...]}'
        )
    shapes = _shapes(event)
    if len(shapes) > 1:
        return UnknownEnvelope(
            f"event fits {len(shapes)} delivery shapes: {'; '.join(shapes)}. Reading it as one would drop "
            "what the other holds, so none of it is archived: deliver one shape per invocation"
        )
    if "Records" in event:
        records = event["Records"]
        if not isinstance(records, list):
            return UnknownEnvelope(f"Records is a {type(records).__name__}; expected a list of stream records")
        return _batch(Shape.ESM_BATCH, records, '{"Records": [...]}')
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
    single = [kind for kind in _foreign_kinds([event]) if kind != _EVENTBRIDGE]  # no 'detail': said below
    if single:
        return UnknownEnvelope(
            _wrapped("event is " + " and ".join(_ONE.get(kind, f"one of {kind}") for kind in single), [event], single)
        )
    shown = ", ".join(sorted(map(str, event))[:8]) or "no keys"
    return UnknownEnvelope(
        f"event has {shown}; expected 'detail' (EventBridge), 'Records' (event source "
        "mapping), a JSON list (pipe), or a stream record"
    )


def _batch(shape: Shape, items: list[object], what: str) -> Delivery | UnknownEnvelope:
    """A batch's records, each foreign element refused alone; or, with no plain stream record in
    it, the reason it is no batch of stream records at all."""
    kinds = [_kinds(item) for item in items]
    if not any(found == [_STREAM_RECORD] for found in kinds):
        foreign = _foreign_kinds(items)
        if foreign:
            return UnknownEnvelope(_wrapped(f"event is {what} holding {' and '.join(foreign)}", items, foreign))
        return Delivery(shape, items)
    refused = {
        index: _refusal(index, item, found)
        for index, (item, found) in enumerate(zip(items, kinds, strict=True))
        if found not in ([], [_STREAM_RECORD])
    }
    return Delivery(shape, items, refused)


def _refusal(index: int, item: object, kinds: list[str]) -> str:
    """Why one element of a batch of stream records is not read as one."""
    foreign = [kind for kind in kinds if kind != _STREAM_RECORD]
    subject = f"batch[{index}] is"
    named = " and ".join(
        "an EventBridge event ('detail')" if kind == _EVENTBRIDGE else _ONE.get(kind, f"one of {kind}")
        for kind in foreign
    )
    if len(foreign) < len(kinds):
        return (
            f"{subject} a stream record and also {named}; reading it as one would drop what the other holds, "
            "so it is not archived: deliver each shape on its own. The batch's other records are read without it"
        )
    reason = _wrapped(f"{subject} {named}", [item], foreign, "not a DynamoDB stream record")
    return f"{reason}. The batch's stream records are read without it"


def _shapes(event: Mapping[object, object]) -> list[str]:
    """Every delivery shape a mapping fits, by the keys that make each one."""
    shapes = []
    if "detail" in event:
        shapes.append("an EventBridge event ('detail')")
    if "Records" in event:
        shapes.append("an event source mapping batch ('Records')")
    if "eventName" in event and "dynamodb" in event:
        shapes.append("a stream record ('eventName' and 'dynamodb')")
    shapes.extend(_ONE[kind] for kind in _kinds(event) if kind in _ONE)
    return shapes


def _kinds(item: object) -> list[str]:
    """What one item of a delivery looks like: a stream record, or something that wraps one."""
    if not isinstance(item, Mapping):
        return []  # read as a record, and refused as one with its own reason
    kinds = []
    source = item.get("eventSource", item.get("EventSource"))
    if ("eventName" in item and "dynamodb" in item) or source == _STREAM_SOURCE:
        kinds.append(_STREAM_RECORD)
    if "detail" in item or "detail-type" in item:
        kinds.append(_EVENTBRIDGE)
    if source == "aws:sqs" or ("messageId" in item and "body" in item):
        kinds.append(_SQS)
    elif source == "aws:sns" or "Sns" in item or (item.get("Type") == "Notification" and "TopicArn" in item):
        kinds.append(_SNS)
    elif isinstance(source, str) and source != _STREAM_SOURCE:
        kinds.append(f"{source!r} records")
    return kinds


def _foreign_kinds(items: Sequence[object]) -> list[str]:
    """The kinds other than stream records among ``items``, in order of first appearance."""
    return list(dict.fromkeys(kind for item in items for kind in _kinds(item) if kind != _STREAM_RECORD))


def _wrapped(what: str, items: Sequence[object], kinds: list[str], instead: str = "not DynamoDB stream records") -> str:
    """Why ``what`` ("event is ...", ``items`` holding wrappers of ``kinds``) is not read, and what to do instead."""
    advice = "; ".join(dict.fromkeys(_ADVICE.get(kind, _OTHER_SOURCE) for kind in kinds))
    return f"{what}{_first_body(items)}, {instead}: {advice}"


def _first_body(items: Sequence[object]) -> str:
    """What the first SQS body or SNS message holds, where it is JSON: says what was wrapped."""
    for item in items:
        if not isinstance(item, Mapping):
            continue
        sns = item.get("Sns")
        text = item.get("body", sns.get("Message") if isinstance(sns, Mapping) else item.get("Message"))
        if not isinstance(text, str):
            continue
        try:
            inner = json.loads(text)
        except (ValueError, RecursionError):
            return ""
        noun = "body" if "body" in item else "message"
        if isinstance(inner, Mapping) and "detail" in inner:
            return f", whose {noun} is an EventBridge event"
        if isinstance(inner, Mapping) and "eventName" in inner and "dynamodb" in inner:
            return f", whose {noun} is a stream record"
        return ""
    return ""


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
