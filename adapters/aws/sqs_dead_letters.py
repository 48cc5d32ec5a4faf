"""SQSDeadLetterSink: the DeadLetterSink port on one SQS queue, one JSON message per letter.

A message carries everything needed to redrive the record later (the record as received, its
table, the reason, the error class, attempts, context) and message attributes that mark it as
ours (``archiver-dead-letter`` = ``v1``), so a redrive command can tell our letters from anything
else that lands in the queue.

SQS takes at most 1 MiB per message (1,048,576 bytes, body and attributes together), and a queue
may set a smaller MaximumMessageSize. A letter that does not fit is written whole to the archive
bucket by the sink's ``overflow`` (:class:`~adapters.aws.s3_dead_letters.S3DeadLetterOverflow`),
and the message says where (attribute ``letter-location`` = ``s3``, body ``letterLocation``), with
the keys and identifiers where the record has them.

A letter that can be kept whole neither in the queue nor in the bucket (no bucket configured, no
table to file it under, S3 failing too) is not sent at all: the report raises
DeadLetterUnavailableError, the record ends Failed, and the invocation fails for it
(``batchItemFailures``, or a raised error), so the platform keeps the record: it retries, and
then sends it to its own dead letter (a pipe's names the stream positions, which ``archiver
redrive`` reads back; Lambda's on-failure destination holds the whole event). A letter reduced to
its keys once stood in for it here; it held no record, so the image was lost and no redrive could
replay it, and for an event we could not read it held nothing at all.

Sends use the same :class:`~adapters.aws.retries.RetryPolicy` as the store. SendMessage is not
idempotent, so a retried send whose first answer was lost leaves two copies of a letter; redriving
both is harmless because archiving is (a second put is answered 412).
"""

from __future__ import annotations

import hashlib
import json
import re
import reprlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import structlog

from adapters.aws.retries import AWSCallError, RetryPolicy
from archiver.dead_letters import LETTER_LOCATION_ATTRIBUTE, LETTER_MARKER, LETTER_MARKER_ATTRIBUTE
from archiver.ports import DeadLetterUnavailableError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef

    from adapters.aws.s3_dead_letters import LetterLocation, S3DeadLetterOverflow
    from archiver.ports import DeadLetter

__all__ = [
    "LOCATION_ATTRIBUTE",
    "MARKER_ATTRIBUTE",
    "MAX_MESSAGE_BYTES",
    "NoDeadLetterQueue",
    "SQSDeadLetterSink",
    "full_message",
    "location_message",
]

# One definition, in the core, so the redrive reads exactly what is written here.
MARKER_ATTRIBUTE = LETTER_MARKER_ATTRIBUTE
#: Set (to ``s3``) on a message whose letter is kept whole in the archive bucket.
LOCATION_ATTRIBUTE = LETTER_LOCATION_ATTRIBUTE
#: SQS's limit for one message: body plus every attribute's name, type and value, in bytes.
MAX_MESSAGE_BYTES = 1024 * 1024
_MAX_ATTRIBUTE_VALUE = 256
_MAX_REASON = 4096
#: Characters SQS refuses in a message body or string attribute (outside XML 1.0's character set).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_log = structlog.get_logger("adapters.aws.sqs_dead_letters")
#: Why a letter that cannot be kept whole is not sent reduced instead: the failure keeps the record.
_KEPT_BY_PLATFORM = (
    "the letter is not sent without its record: the invocation fails for it, so the platform retries it "
    "and then keeps it in its own dead letter"
)


class NoDeadLetterQueue:
    """The sink when no queue is configured: every report fails, so the record becomes Failed.

    Failed makes the platform retry (batchItemFailures, or a raised error), which is slow and loud,
    where a sink that quietly accepted would lose the deletion.
    """

    def report(self, letter: DeadLetter) -> None:
        raise DeadLetterUnavailableError(
            f"no dead-letter queue configured (set ARCHIVER_DLQ_URL); record {letter.record_id}: {letter.reason}"
        )


class SQSDeadLetterSink:
    """Reports each letter as one SQS message on ``queue_url``; ``None`` behaves as NoDeadLetterQueue.

    Args:
        client: an SQS client, ideally from ``adapters.aws.clients.aws_clients`` (botocore retries off).
        queue_url: the dead-letter queue; a ``.fifo`` queue gets a group and deduplication id.
        overflow: where a letter too large for the queue is kept whole; without one such a letter is
            not sent, and the report fails (the platform keeps the record).
        retry: attempts, total time and waits; tests pass tiny waits.
        max_message_bytes: the size above which a letter does not go into the message (tests lower it).
    """

    def __init__(
        self,
        client: SQSClient | None,
        queue_url: str | None,
        *,
        overflow: S3DeadLetterOverflow | None = None,
        retry: RetryPolicy | None = None,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        self._client = client
        self.queue_url = queue_url
        self._overflow = overflow
        self._retry = retry or RetryPolicy()
        self._max_bytes = max_message_bytes

    def report(self, letter: DeadLetter) -> None:
        if self._client is None or not self.queue_url:
            NoDeadLetterQueue().report(letter)
            return
        context = {
            "table": letter.table,
            "record_id": letter.record_id,
            "encoded_key": letter.encoded_key,
        }
        body, attributes = full_message(letter, self._max_bytes)
        size = len(body.encode()) + _attributes_size(attributes)
        if size <= self._max_bytes:
            try:
                self._send(letter, body, attributes, context)
            except AWSCallError as error:
                if not _too_long(error):
                    raise DeadLetterUnavailableError(f"{error} (queue {self.queue_url})") from error
                # The queue's own MaximumMessageSize is below SQS's limit.
                self._send_oversize(letter, body, f"the queue refused the full letter: {error.error}", context)
            _log.debug("dead letter sent", error=letter.error, **context)
            return
        why = f"the full letter was too large for SQS ({size} bytes with attributes, limit {self._max_bytes})"
        self._send_oversize(letter, body, why, context)

    def _send_oversize(self, letter: DeadLetter, body: str, why: str, context: dict[str, Any]) -> None:
        """Keep the letter in the bucket and send where it is; failing that, fail the report.

        Raises:
            DeadLetterUnavailableError: the letter could not be kept whole (no bucket, no table to
                file it under, S3 failing), or the message saying where could not be sent.
        """
        if self._overflow is None:
            raise DeadLetterUnavailableError(
                f"{why}, and no bucket is configured to keep it whole; {_KEPT_BY_PLATFORM}"
            )
        from adapters.aws.s3_dead_letters import LetterNotWrittenError  # noqa: PLC0415 - only on this path

        try:
            location = self._overflow.write(letter, body)
        except LetterNotWrittenError as error:
            raise DeadLetterUnavailableError(
                f"{why}, and it could not be kept in the archive bucket either: {error}; {_KEPT_BY_PLATFORM}"
            ) from error
        message, attributes = location_message(letter, location, why)
        self._send_or_fail(letter, message, attributes, context)
        _log.info("dead letter sent with its location", object_key=location.key, **context)

    def _send_or_fail(self, letter: DeadLetter, body: str, attributes: dict[str, Any], context: dict[str, Any]) -> None:
        try:
            self._send(letter, body, attributes, context)
        except AWSCallError as error:
            raise DeadLetterUnavailableError(f"{error} (queue {self.queue_url})") from error

    def _send(self, letter: DeadLetter, body: str, attributes: dict[str, Any], context: dict[str, Any]) -> None:
        client, queue_url = self._client, self.queue_url
        assert client is not None and queue_url is not None
        request: dict[str, Any] = {"QueueUrl": queue_url, "MessageBody": body, "MessageAttributes": attributes}
        if queue_url.endswith(".fifo"):
            request["MessageGroupId"] = letter.table or "archiver"
            request["MessageDeduplicationId"] = hashlib.sha256(body.encode()).hexdigest()
        self._retry.call("sqs:SendMessage", lambda: client.send_message(**request), **context)


def _too_long(error: AWSCallError) -> bool:
    return error.code in ("InvalidParameterValue", "AWS.SimpleQueueService.InvalidParameterValue") and (
        "shorter than" in str(error.error)
    )


def full_message(letter: DeadLetter, max_bytes: int = MAX_MESSAGE_BYTES) -> tuple[str, dict[str, Any]]:
    """The message body and attributes for ``letter`` with its whole record, whatever the size.

    The body is ASCII JSON (``ensure_ascii``): SQS refuses some characters a record may hold (lone
    surrogates, U+FFFE), and escaped they travel, and are measured, safely. It is also what an
    oversized letter's object in the archive bucket holds, byte for byte.
    """
    try:
        body = json.dumps({**_summary(letter), "record": letter.record}, ensure_ascii=True, default=str, sort_keys=True)
    except (TypeError, ValueError, RecursionError) as error:  # a cycle, odd keys, nested too deep: keep its text
        record = {"unserialisable": f"{type(error).__name__}: {error}", "repr": _text(letter.record)[: max_bytes // 2]}
        body = json.dumps({**_summary(letter), "record": record}, ensure_ascii=True, default=str, sort_keys=True)
    return body, _attributes(letter)


def _text(record: object) -> str:
    try:
        return repr(record)
    except RecursionError:  # nested deeper than repr goes: its outer levels
        return reprlib.repr(record)


def location_message(letter: DeadLetter, location: LetterLocation, why: str) -> tuple[str, dict[str, Any]]:
    """The message for a letter kept whole in the archive bucket: where it is, keys and identifiers."""
    message = {
        **_summary(letter),
        "reason": letter.reason[:_MAX_REASON],
        "recordOmitted": True,
        "letterLocation": {
            "bucket": location.bucket,
            "key": location.key,
            "bytes": location.size,
            "sha256": location.sha256,
        },
        "note": f"{why}; the whole letter is kept in s3://{location.bucket}/{location.key}",
        **_identifiers(letter.record),
    }
    attributes = {**_attributes(letter), LOCATION_ATTRIBUTE: _string("s3")}
    return json.dumps(message, ensure_ascii=True, default=str, sort_keys=True), attributes


def _summary(letter: DeadLetter) -> dict[str, Any]:
    return {
        "kind": MARKER_ATTRIBUTE,
        "version": LETTER_MARKER,
        "recordId": letter.record_id,
        "table": letter.table,
        "reason": letter.reason,
        "error": letter.error,
        "attempts": letter.attempts,
        "context": {"objectKey": letter.object_key, "encodedKey": letter.encoded_key},
    }


def _identifiers(record: object) -> dict[str, Any]:
    """What identifies a stream record without its images: Keys, eventID, SequenceNumber, ARN."""
    out: dict[str, Any] = {"keys": None, "eventID": None, "sequenceNumber": None, "eventSourceARN": None}
    if not isinstance(record, Mapping):
        return out
    dynamodb = record.get("dynamodb")
    if isinstance(dynamodb, Mapping):
        out["keys"] = dynamodb.get("Keys")
        out["sequenceNumber"] = dynamodb.get("SequenceNumber")
    out["eventID"] = record.get("eventID")
    out["eventSourceARN"] = record.get("eventSourceARN")
    return out


def _attributes(letter: DeadLetter) -> dict[str, Any]:
    attributes = {MARKER_ATTRIBUTE: _string(LETTER_MARKER), "error": _string(letter.error)}
    if letter.table:
        attributes["table"] = _string(letter.table)
    if letter.record_id:
        attributes["record-id"] = _string(letter.record_id)
    return attributes


def _string(value: str) -> MessageAttributeValueTypeDef:
    """A String attribute SQS accepts: no characters outside XML's, not empty, not over 256."""
    text = _NOT_XML.sub("?", value)[:_MAX_ATTRIBUTE_VALUE] or "?"
    return {"DataType": "String", "StringValue": text}


def _attributes_size(attributes: Mapping[str, Any]) -> int:
    return sum(
        len(name.encode()) + len(value["DataType"].encode()) + len(value["StringValue"].encode())
        for name, value in attributes.items()
    )
