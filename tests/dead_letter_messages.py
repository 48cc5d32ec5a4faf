"""SQS messages of every shape the deployed pipeline puts in its dead-letter queues, from ``tests/events/``.

Each sample there is ``{"description", "attributes", "body"}``: the message attributes as plain
strings and the body as JSON. Tests ask for a variant (this event, that stream range) and get a
:class:`Message`, which the queue helpers below send the way each sender does.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from tests.conftest import Events

__all__ = ["Message", "Messages", "send"]


@dataclass(frozen=True)
class Message:
    body: str
    attributes: dict[str, str] = field(default_factory=dict)


class Messages:
    """Builds dead-letter messages from the samples; every call returns fresh copies."""

    def __init__(self, events: Events | None = None) -> None:
        self.events = events or Events()

    def sample(self, name: str) -> dict[str, Any]:
        return copy.deepcopy(self.events.load(name))

    def _message(self, name: str, body: Any | None = None) -> Message:
        sample = self.sample(name)
        return Message(json.dumps(sample["body"] if body is None else body), sample["attributes"])

    def rule_target(self, event: dict[str, Any] | None = None) -> Message:
        """An EventBridge rule target's dead letter of ``event`` (default: the sample's event)."""
        return self._message("rule_target_dead_letter", event)

    def async_failure(self, event: dict[str, Any] | None = None) -> Message:
        """The function's on-failure invocation record, ``event`` as its requestPayload."""
        body = self.sample("async_invocation_failure")["body"]
        if event is not None:
            body["requestPayload"] = event
        return self._message("async_invocation_failure", body)

    def stream_batch(
        self,
        sender: str = "pipe",
        *,
        stream_arn: str | None = None,
        shard_id: str | None = None,
        first: str | None = None,
        last: str | None = None,
        batch_size: int | None = None,
    ) -> Message:
        """A failed batch's positions, as a pipe (``sender="pipe"``) or an event source mapping writes them."""
        name = "pipe_stream_batch_failure" if sender == "pipe" else "esm_stream_batch_failure"
        body = self.sample(name)["body"]
        info = body["DDBStreamBatchInfo"]
        for field_name, value in (
            ("streamArn", stream_arn),
            ("shardId", shard_id),
            ("startSequenceNumber", first),
            ("endSequenceNumber", last),
            ("batchSize", batch_size),
        ):
            if value is not None:
                info[field_name] = value
        return self._message(name, body)

    def letter(self) -> Message:
        """Our own letter with its record inline (as ``adapters/aws/sqs_dead_letters.py`` writes it)."""
        return self._message("archiver_letter")

    def kept_letter(self) -> Message:
        """Our own letter kept in the archive bucket: the message says where."""
        return self._message("archiver_letter_in_s3")

    def foreign(self) -> Message:
        return self._message("foreign_message")


def send(sqs: Any, queue_url: str, message: Message) -> str:
    """Put ``message`` in the queue as its sender would (attributes as String values); its MessageId."""
    attributes = {name: {"DataType": "String", "StringValue": value} for name, value in message.attributes.items()}
    request: dict[str, Any] = {"QueueUrl": queue_url, "MessageBody": message.body}
    if attributes:
        request["MessageAttributes"] = attributes
    return str(sqs.send_message(**request)["MessageId"])
