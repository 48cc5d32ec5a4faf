"""SQSDeadLetterQueue: the DeadLetterQueue port on SQS (receive, delete, release), with retries;
and :func:`queue_url_of`, the one lookup of a queue's URL by its name.

Every call goes through :class:`~adapters.aws.retries.RetryPolicy` (throttling, 5xx, dropped
connections), and a call that keeps failing becomes one
:class:`~archiver.ports.QueueUnavailableError` naming the queue. Deletes and releases go in batches
of ten and report, per message, any entry SQS refused, so the caller can say which message was not
deleted instead of assuming it was.

A message is deleted with the receipt handle of its *latest* receive: SQS may accept a delete with
an older handle and still not delete the message. Callers that may receive a message twice keep the
newest handle.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from adapters.aws.retries import AWSCallError, RetryPolicy
from archiver.ports import QueueMessage, QueueUnavailableError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from mypy_boto3_sqs import SQSClient

__all__ = ["BATCH", "SQSDeadLetterQueue", "queue_url_of"]

#: SQS's most messages per receive, delete batch or visibility batch.
BATCH = 10
_NO_SUCH_QUEUE = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")


class SQSDeadLetterQueue:
    """The calls a redrive makes on one queue.

    Args:
        client: an SQS client, ideally from ``adapters.aws.clients.aws_clients`` (botocore retries off).
        queue_url: the queue.
        retry: attempts, total time and waits; tests pass tiny waits.
    """

    def __init__(self, client: SQSClient, queue_url: str, *, retry: RetryPolicy | None = None) -> None:
        self._client = client
        self.queue_url = queue_url
        self._retry = retry or RetryPolicy()

    def receive(
        self, count: int = BATCH, *, visibility_timeout: int = 300, wait_seconds: int = 1
    ) -> list[QueueMessage]:
        """Up to ``count`` (at most 10) messages, hidden from other readers for ``visibility_timeout`` s.

        ``wait_seconds`` above 0 is a long poll: SQS asks all its servers, so an empty answer means the
        queue has no visible message (a short poll may miss some).
        """
        response = self._call(
            "sqs:ReceiveMessage",
            lambda: self._client.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=max(1, min(BATCH, count)),
                VisibilityTimeout=visibility_timeout,
                WaitTimeSeconds=wait_seconds,
                MessageAttributeNames=["All"],
            ),
        )
        return [_message(raw) for raw in response.get("Messages", [])]

    def delete(self, messages: Sequence[QueueMessage]) -> dict[str, str]:
        """Delete ``messages``; returns message id -> why, for each one SQS did not delete."""
        return self._batches(
            "sqs:DeleteMessageBatch",
            messages,
            lambda entries: self._client.delete_message_batch(QueueUrl=self.queue_url, Entries=entries),
            lambda index, message: {"Id": str(index), "ReceiptHandle": message.receipt_handle},
        )

    def release(self, messages: Sequence[QueueMessage], visibility_timeout: int = 0) -> dict[str, str]:
        """Make ``messages`` visible again after ``visibility_timeout`` s (0: now); id -> why, per failure."""
        return self._batches(
            "sqs:ChangeMessageVisibilityBatch",
            messages,
            lambda entries: self._client.change_message_visibility_batch(QueueUrl=self.queue_url, Entries=entries),
            lambda index, message: {
                "Id": str(index),
                "ReceiptHandle": message.receipt_handle,
                "VisibilityTimeout": visibility_timeout,
            },
        )

    def approximate_count(self) -> int:
        """How many messages are visible, as SQS estimates it (for a progress bar, never for logic)."""
        response = self._call(
            "sqs:GetQueueAttributes",
            lambda: self._client.get_queue_attributes(
                QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
            ),
        )
        return int(response.get("Attributes", {}).get("ApproximateNumberOfMessages", 0))

    def _batches(
        self,
        operation: str,
        messages: Sequence[QueueMessage],
        call: Callable[[list[Any]], Any],
        entry: Callable[[int, QueueMessage], Any],
    ) -> dict[str, str]:
        failed: dict[str, str] = {}
        for start in range(0, len(messages), BATCH):
            chunk = messages[start : start + BATCH]
            entries = [entry(index, message) for index, message in enumerate(chunk)]
            response = self._call(operation, partial(call, entries))
            for failure in response.get("Failed", []):
                message = chunk[int(failure["Id"])]
                failed[message.message_id] = f"{failure.get('Code')}: {failure.get('Message', '')}".strip()
        return failed

    def _call(self, operation: str, fn: Callable[[], Any]) -> Any:
        try:
            return self._retry.call(operation, fn, queue_url=self.queue_url)
        except AWSCallError as error:
            raise QueueUnavailableError(f"{error} (queue {self.queue_url})") from error


def queue_url_of(client: SQSClient, name: str, *, retry: RetryPolicy | None = None) -> str | None:
    """The URL of the queue called ``name``, or None where there is no such queue.

    Raises:
        QueueUnavailableError: SQS kept failing (other than "no such queue").
    """
    try:
        return (retry or RetryPolicy()).call(
            "sqs:GetQueueUrl", lambda: client.get_queue_url(QueueName=name)["QueueUrl"], queue_name=name
        )
    except AWSCallError as error:
        if error.code in _NO_SUCH_QUEUE:
            return None
        raise QueueUnavailableError(f"{error} (queue {name})") from error


def _message(raw: Mapping[str, Any]) -> QueueMessage:
    attributes = {name: str(value.get("StringValue", "")) for name, value in raw.get("MessageAttributes", {}).items()}
    return QueueMessage(raw["MessageId"], raw["ReceiptHandle"], raw.get("Body", ""), attributes)
