"""What one dead-letter message asks of a redrive: records to re-run, a place to read them from, or nothing.

Four kinds of message reach the deployed dead-letter queues, and each is read here without I/O:

- **our own letters** (message attribute ``archiver-dead-letter=v1``): the record (or the whole
  event we could not read) inline, or, for a letter too large for the queue, where in the archive
  bucket it is kept (``letterLocation``), to be read back and passed to :func:`read_kept_letter`;
- **an EventBridge rule target's dead letter**: the body is the event the rule failed to deliver,
  with attributes ``RULE_ARN``, ``TARGET_ARN``, ``ERROR_CODE``, ``ERROR_MESSAGE``;
- **a Lambda asynchronous invocation record** (the function's on-failure destination): JSON with
  the event under ``requestPayload``, and ``requestContext``, ``responseContext``, ``responsePayload``;
- **a stream batch record** (the pipe's dead-letter queue, or an event source mapping's on-failure
  destination): no records, only where they are, ``DDBStreamBatchInfo`` with the stream, shard and
  first and last sequence numbers. A pipe says who sent it under ``context``, a mapping under
  ``requestContext``; both are accepted.

Anything else is :class:`Unknown` with shape ``UNKNOWN``: not ours to touch. An ``Unknown`` of a
known shape is ours but cannot be re-run as it is (a letter that holds no record, a record whose
payload was dropped); it stays in the queue and counts as not archived. :mod:`archiver.redriver`
acts on what this module reads.

Over 300 lines on purpose: the four senders' formats are one closed set read by one
:func:`classify`, and a reader of one format is easiest to check beside the others it must not
be mistaken for.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from archiver.envelopes import UnknownEnvelope, read_delivery
from archiver.records import table_from_arn

__all__ = [
    "LETTER_LOCATION_ATTRIBUTE",
    "LETTER_MARKER",
    "LETTER_MARKER_ATTRIBUTE",
    "RULE_ATTRIBUTES",
    "LetterShape",
    "Plan",
    "ReadLetter",
    "Rerun",
    "StreamRange",
    "Unknown",
    "classify",
    "read_kept_letter",
]

#: How our own letters are marked (``adapters/aws/sqs_dead_letters.py`` writes them).
LETTER_MARKER_ATTRIBUTE = "archiver-dead-letter"
LETTER_MARKER = "v1"
LETTER_LOCATION_ATTRIBUTE = "letter-location"
#: What EventBridge adds to each event it dead-letters from a rule target.
RULE_ATTRIBUTES = ("RULE_ARN", "TARGET_ARN", "ERROR_CODE", "ERROR_MESSAGE")
_MAX_SEQUENCE_DIGITS = 40
_SHOWN = 200


class LetterShape(StrEnum):
    """Which kind of dead-letter message, as the redrive summary names it (not a delivery's shape)."""

    LETTER = "archiver-letter"  # our own, the record inline
    KEPT_LETTER = "archiver-letter-in-s3"  # our own, the letter kept in the archive bucket
    RULE_TARGET = "rule-target"  # EventBridge rule target's dead letter: the event itself
    ASYNC_INVOCATION = "async-invocation"  # Lambda on-failure destination: requestPayload
    STREAM_BATCH = "stream-batch"  # pipe or event source mapping: positions in the stream
    UNKNOWN = "unknown"  # not from this pipeline


@dataclass(frozen=True, slots=True)
class Rerun:
    """Records to hand to the Archiver again, exactly as they were delivered."""

    shape: LetterShape
    records: tuple[object, ...]
    tables: frozenset[str] = frozenset()
    #: What the sender said went wrong (error code, condition), for the report.
    cause: str = ""


@dataclass(frozen=True, slots=True)
class ReadLetter:
    """Our letter is kept whole in the archive bucket: read it, then :func:`read_kept_letter`."""

    bucket: str
    key: str
    sha256: str | None
    tables: frozenset[str] = frozenset()
    shape: LetterShape = LetterShape.KEPT_LETTER


@dataclass(frozen=True, slots=True)
class StreamRange:
    """The positions of a failed batch: read them back from the stream while it still holds them."""

    stream_arn: str
    shard_id: str
    first: str  # sequence numbers, decimal digits
    last: str
    batch_size: int | None = None
    first_arrival: str | None = None
    tables: frozenset[str] = frozenset()
    cause: str = ""
    shape: LetterShape = LetterShape.STREAM_BATCH

    def describe(self) -> str:
        size = f", {self.batch_size} record(s)" if self.batch_size is not None else ""
        arrived = f", first arrived {self.first_arrival}" if self.first_arrival else ""
        return f"{self.stream_arn} shard {self.shard_id}, sequence numbers {self.first} to {self.last}{size}{arrived}"


@dataclass(frozen=True, slots=True)
class Unknown:
    """Nothing to re-run, and why. LetterShape ``UNKNOWN``: not ours; any other shape: ours, but stuck."""

    shape: LetterShape
    reason: str
    tables: frozenset[str] = field(default_factory=frozenset)

    @property
    def foreign(self) -> bool:
        return self.shape is LetterShape.UNKNOWN


Plan = Rerun | ReadLetter | StreamRange | Unknown


def classify(body: str, attributes: Mapping[str, str]) -> Plan:
    """What the message with this body and these (string) message attributes asks of a redrive."""
    try:
        parsed: Any = json.loads(body)
    except (TypeError, ValueError, RecursionError) as error:
        why = _unreadable(error, f"is not JSON ({error})")
        if attributes.get(LETTER_MARKER_ATTRIBUTE):
            return Unknown(LetterShape.LETTER, f"our letter's body {why}")
        return Unknown(LetterShape.UNKNOWN, f"the body {why}: {_shown(body)}")
    if attributes.get(LETTER_MARKER_ATTRIBUTE) or (
        isinstance(parsed, Mapping) and parsed.get("kind") == LETTER_MARKER_ATTRIBUTE
    ):
        return _letter(parsed, attributes)
    if isinstance(parsed, Mapping) and "DDBStreamBatchInfo" in parsed:
        return _stream_batch(parsed)
    if isinstance(parsed, Mapping) and "requestContext" in parsed and "responseContext" in parsed:
        return _async_invocation(parsed)
    if any(name in attributes for name in RULE_ATTRIBUTES):
        return _rule_target(parsed, attributes)
    return Unknown(LetterShape.UNKNOWN, f"not a message of this pipeline: {_described(parsed, attributes)}")


def read_kept_letter(content: bytes, sha256: str | None = None) -> Rerun | Unknown:
    """The records of a letter read back from the archive bucket (the JSON its message would have held).

    ``sha256``, where the message gave one, must match: the object is named by it, so a mismatch
    means it is not the letter the message points to.
    """
    if sha256 is not None and hashlib.sha256(content).hexdigest() != sha256:
        return Unknown(LetterShape.KEPT_LETTER, f"the kept letter's sha256 is not {sha256}: not the letter meant")
    try:
        parsed = json.loads(content)
    except (ValueError, RecursionError) as error:
        why = _unreadable(error, f"is not JSON: {error}")
        return Unknown(LetterShape.KEPT_LETTER, f"the kept letter {why}")
    if not isinstance(parsed, Mapping) or parsed.get("kind") != LETTER_MARKER_ATTRIBUTE or "record" not in parsed:
        return Unknown(LetterShape.KEPT_LETTER, "the kept object is not one of our letters (no kind or record)")
    return _inline_letter(parsed, LetterShape.KEPT_LETTER)


def _letter(parsed: Any, attributes: Mapping[str, str]) -> Plan:
    if not isinstance(parsed, Mapping):
        return Unknown(LetterShape.LETTER, f"our letter's body is a {type(parsed).__name__}, not an object")
    tables = _tables(parsed.get("table"))
    location = parsed.get("letterLocation")
    if attributes.get(LETTER_LOCATION_ATTRIBUTE) == "s3" or location is not None:
        if (
            not isinstance(location, Mapping)
            or not isinstance(location.get("bucket"), str)
            or not isinstance(location.get("key"), str)
            or not location["bucket"]
            or not location["key"]
        ):
            return Unknown(
                LetterShape.KEPT_LETTER, f"letterLocation is {_shown(location)}; expected a bucket and a key"
            )
        digest = location.get("sha256")
        return ReadLetter(location["bucket"], location["key"], digest if isinstance(digest, str) else None, tables)
    if "record" not in parsed:
        note = parsed.get("note") or "the record was left out"
        keys = parsed.get("keys")
        found = f"; keys {_shown(keys)}, sequence number {parsed.get('sequenceNumber')}" if keys else ""
        return Unknown(LetterShape.LETTER, f"the letter holds no record ({note}){found}", tables)
    return _inline_letter(parsed, LetterShape.LETTER)


def _inline_letter(parsed: Mapping[str, Any], shape: LetterShape) -> Rerun | Unknown:
    """A letter with its ``record``: one record, or (for an event we could not read) the whole event."""
    tables = _tables(parsed.get("table"))
    record = parsed["record"]
    cause = str(parsed.get("error") or "")
    if parsed.get("error") != "UnknownEnvelope":
        return Rerun(shape, (record,), tables | _record_tables([record]), cause)
    delivery = read_delivery(record)
    if isinstance(delivery, UnknownEnvelope):
        return Unknown(shape, f"the letter's event is still no delivery the function reads: {delivery.reason}", tables)
    return Rerun(shape, tuple(delivery.records), tables | _record_tables(delivery.records), cause)


def _stream_batch(parsed: Mapping[str, Any]) -> StreamRange | Unknown:
    info = parsed["DDBStreamBatchInfo"]
    if not isinstance(info, Mapping):
        return Unknown(LetterShape.STREAM_BATCH, f"DDBStreamBatchInfo is {_shown(info)}; expected an object")
    arn, shard = info.get("streamArn"), info.get("shardId")
    first, last = info.get("startSequenceNumber"), info.get("endSequenceNumber")
    table = table_from_arn(arn)
    if table is None or not isinstance(arn, str) or "/stream/" not in arn:
        return Unknown(
            LetterShape.STREAM_BATCH, f"DDBStreamBatchInfo.streamArn is {_shown(arn)}; expected a stream ARN"
        )
    tables = frozenset({table})
    if not isinstance(shard, str) or not shard:
        return Unknown(
            LetterShape.STREAM_BATCH, f"DDBStreamBatchInfo.shardId is {_shown(shard)}; expected a shard id", tables
        )
    for name, value in (("startSequenceNumber", first), ("endSequenceNumber", last)):
        if not _is_sequence_number(value):
            return Unknown(
                LetterShape.STREAM_BATCH,
                f"DDBStreamBatchInfo.{name} is {_shown(value)}; expected a sequence number (up to 40 digits)",
                tables,
            )
    assert isinstance(first, str) and isinstance(last, str)
    if int(first) > int(last):
        return Unknown(LetterShape.STREAM_BATCH, f"DDBStreamBatchInfo starts at {first}, after its end {last}", tables)
    size = info.get("batchSize")
    arrival = info.get("approximateArrivalOfFirstRecord")
    context = parsed.get("context") or parsed.get("requestContext")
    return StreamRange(
        stream_arn=arn,
        shard_id=shard,
        first=first,
        last=last,
        batch_size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        first_arrival=str(arrival) if arrival is not None else None,
        tables=tables,
        cause=str(context.get("condition") or "") if isinstance(context, Mapping) else "",
    )


def _async_invocation(parsed: Mapping[str, Any]) -> Rerun | Unknown:
    context = parsed.get("requestContext")
    condition = str(context.get("condition") or "") if isinstance(context, Mapping) else ""
    response = parsed.get("responsePayload")
    error = (response.get("errorMessage") or response.get("errorType")) if isinstance(response, Mapping) else None
    cause = "; ".join(str(part) for part in (condition, error) if part)
    if "requestPayload" not in parsed:
        return Unknown(
            LetterShape.ASYNC_INVOCATION,
            "the invocation record holds no requestPayload (Lambda leaves it out of records too large for "
            f"the destination): {cause or 'no condition given'}",
        )
    return _event(LetterShape.ASYNC_INVOCATION, parsed["requestPayload"], cause)


def _rule_target(parsed: Any, attributes: Mapping[str, str]) -> Rerun | Unknown:
    cause = ": ".join(attributes[name] for name in ("ERROR_CODE", "ERROR_MESSAGE") if attributes.get(name))
    return _event(LetterShape.RULE_TARGET, parsed, cause)


def _event(shape: LetterShape, event: object, cause: str) -> Rerun | Unknown:
    delivery = read_delivery(event)
    if isinstance(delivery, UnknownEnvelope):
        return Unknown(shape, f"its event is no delivery the function reads: {delivery.reason}")
    return Rerun(shape, tuple(delivery.records), _record_tables(delivery.records), cause)


def _record_tables(records: Sequence[object]) -> frozenset[str]:
    found = set()
    for record in records:
        if isinstance(record, Mapping):
            table = table_from_arn(record.get("eventSourceARN"))
            if table:
                found.add(table)
    return frozenset(found)


def _tables(value: object) -> frozenset[str]:
    return frozenset({value}) if isinstance(value, str) and value else frozenset()


def _is_sequence_number(value: object) -> bool:
    return isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= _MAX_SEQUENCE_DIGITS


def _unreadable(error: Exception, not_json: str) -> str:
    """Why a body did not parse: a RecursionError means nesting deeper than Python's stack, not bad JSON."""
    return (
        "is JSON nested too deep to read (beyond Python's recursion limit)"
        if isinstance(error, RecursionError)
        else not_json
    )


def _shown(value: object) -> str:
    """A value as the JSON it came from (a person reads a message, not Python), cut to 200 characters."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = f"a {type(value).__name__}"
    return f"{text[:_SHOWN]}..." if len(text) > _SHOWN else text


def _described(parsed: Any, attributes: Mapping[str, str]) -> str:
    if isinstance(parsed, Mapping):
        fields = ", ".join(sorted(map(str, parsed))[:8]) or "no fields"
        what = f"an object with {fields}"
    else:
        what = f"a JSON {type(parsed).__name__}"
    named = ", ".join(sorted(attributes)[:8])
    return what + (f"; attributes {named}" if named else "; no attributes")
