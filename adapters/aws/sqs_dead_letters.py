"""SQSDeadLetterSink: the DeadLetterSink port on one SQS queue, one JSON message per letter.

A message carries everything needed to redrive the record later (the record as received, its
table, the reason, the error class, attempts, context) and message attributes that mark it as
ours (``archiver-dead-letter`` = ``v1``), so a redrive command can tell our letters from anything
else that lands in the queue.

SQS takes at most 1 MiB per message, body and attributes together. A letter that would not fit is
sent reduced (the record's key, its identifiers, the reason, and a note that the record was too
large) rather than dropped, and so is one that a queue with a smaller MaximumMessageSize refuses:
the key and sequence number are enough to find the item again in the stream or the table, a
dropped letter is a lost deletion.

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
from archiver.ports import DeadLetterUnavailableError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef

    from archiver.ports import DeadLetter

__all__ = [
    "MARKER_ATTRIBUTE",
    "MARKER_VERSION",
    "MAX_MESSAGE_BYTES",
    "NoDeadLetterQueue",
    "SQSDeadLetterSink",
    "dead_letter_message",
    "reduced_message",
]

MARKER_ATTRIBUTE = "archiver-dead-letter"
MARKER_VERSION = "v1"
#: SQS's limit for one message: body plus every attribute's name, type and value, in bytes.
MAX_MESSAGE_BYTES = 1024 * 1024
_MAX_ATTRIBUTE_VALUE = 256
_MAX_REASON = 4096
#: Characters SQS refuses in a message body or string attribute (outside XML 1.0's character set).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_log = structlog.get_logger("adapters.aws.sqs_dead_letters")


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
        retry: attempts, total time and waits; tests pass tiny waits.
        max_message_bytes: the size above which a letter is sent reduced (tests lower it).
    """

    def __init__(
        self,
        client: SQSClient | None,
        queue_url: str | None,
        *,
        retry: RetryPolicy | None = None,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        self._client = client
        self.queue_url = queue_url
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
        body, attributes = dead_letter_message(letter, self._max_bytes)
        try:
            self._send(letter, body, attributes, context)
        except AWSCallError as error:
            if not _too_long(error) or "record-omitted" in attributes:
                raise DeadLetterUnavailableError(f"{error} (queue {self.queue_url})") from error
            # The queue's own MaximumMessageSize is below SQS's limit: send the reduced letter.
            body, attributes = reduced_message(letter, f"the queue refused the full record: {error.error}")
            try:
                self._send(letter, body, attributes, context)
            except AWSCallError as again:
                raise DeadLetterUnavailableError(f"{again} (queue {self.queue_url})") from again
        _log.debug("dead letter sent", error=letter.error, **context)

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


def dead_letter_message(letter: DeadLetter, max_bytes: int = MAX_MESSAGE_BYTES) -> tuple[str, dict[str, Any]]:
    """The message body and attributes for ``letter``: in full if they fit in ``max_bytes``, else reduced.

    The body is ASCII JSON (``ensure_ascii``): SQS refuses some characters a record may hold (lone
    surrogates, U+FFFE), and escaped they travel, and are measured, safely.
    """
    attributes = _attributes(letter)
    try:
        body = json.dumps({**_summary(letter), "record": letter.record}, ensure_ascii=True, default=str, sort_keys=True)
    except (TypeError, ValueError, RecursionError) as error:  # a cycle, odd keys, nested too deep: keep its text
        record = {"unserialisable": f"{type(error).__name__}: {error}", "repr": _text(letter.record)[: max_bytes // 2]}
        body = json.dumps({**_summary(letter), "record": record}, ensure_ascii=True, default=str, sort_keys=True)
    size = len(body) + _attributes_size(attributes)
    if size <= max_bytes:
        return body, attributes
    return reduced_message(
        letter, f"the full record was too large for SQS ({size} bytes with attributes, limit {max_bytes})"
    )


def _text(record: object) -> str:
    try:
        return repr(record)
    except RecursionError:  # nested deeper than repr goes: its outer levels
        return reprlib.repr(record)


def reduced_message(letter: DeadLetter, why: str) -> tuple[str, dict[str, Any]]:
    """The letter without its record: keys, identifiers, reason, and ``why`` the record is missing."""
    reduced = {
        **_summary(letter),
        "reason": letter.reason[:_MAX_REASON],
        "recordOmitted": True,
        "note": f"{why}; keys and identifiers are kept, find the item by them",
        **_identifiers(letter.record),
    }
    attributes = {**_attributes(letter), "record-omitted": _string("true")}
    return json.dumps(reduced, ensure_ascii=True, default=str, sort_keys=True), attributes


def _summary(letter: DeadLetter) -> dict[str, Any]:
    return {
        "kind": MARKER_ATTRIBUTE,
        "version": MARKER_VERSION,
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
    attributes = {MARKER_ATTRIBUTE: _string(MARKER_VERSION), "error": _string(letter.error)}
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
