"""DynamoDBStreamRanges: the StreamRanges port on a DynamoDB stream, with retries.

A pipe or an event source mapping reports a failed batch by its positions only (stream, shard,
first and last sequence numbers); this reads those records back while the stream still holds
them (24 hours). Each stream's shards are described once per process and kept: a range on a shard
the stream no longer lists is past its retention, without a GetShardIterator to find that out.

Throttling, 5xx and dropped connections are retried by :class:`~adapters.aws.retries.RetryPolicy`;
a range the stream no longer holds raises :class:`~archiver.ports.StreamRangeGoneError`, one that
could not be read now :class:`~archiver.ports.StreamUnavailableError`.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from adapters.aws.retries import AWSCallError, RetryPolicy
from adapters.aws.stream_reader import IteratorExpiredError, RangeNotReadError, StreamGoneError, StreamPositionLostError
from archiver.ports import StreamRangeGoneError, StreamUnavailableError

if TYPE_CHECKING:
    from adapters.aws.stream_reader import StreamReader
    from archiver.dead_letters import StreamRange

__all__ = ["DynamoDBStreamRanges"]


class DynamoDBStreamRanges:
    """Reads shard ranges back through a :class:`~adapters.aws.stream_reader.StreamReader`.

    Args:
        reader: the stream reader (its client from ``adapters.aws.clients.aws_clients``).
        retry: attempts, total time and waits; tests pass tiny waits.
    """

    def __init__(self, reader: StreamReader, *, retry: RetryPolicy | None = None) -> None:
        self._reader = reader
        self._retry = retry or RetryPolicy()
        self._shards: dict[str, frozenset[str]] = {}
        self._lock = threading.Lock()

    def read(self, stream_range: StreamRange) -> list[dict[str, Any]]:
        """The records of the range, both ends included, as wire JSON (as a pipe delivers them)."""
        arn, shard = stream_range.stream_arn, stream_range.shard_id
        try:
            if shard not in self._shard_ids(arn):
                raise StreamRangeGoneError("the shard is no longer in the stream")
            return self._retry.call(
                "dynamodbstreams:GetRecords",
                lambda: self._reader.read_range(arn, shard, stream_range.first, stream_range.last),
                stream_arn=arn,
            )
        except (StreamPositionLostError, StreamGoneError) as error:
            raise StreamRangeGoneError(str(error)) from None
        except (RangeNotReadError, IteratorExpiredError, AWSCallError) as error:
            raise StreamUnavailableError(str(error)) from None

    def _shard_ids(self, stream_arn: str) -> frozenset[str]:
        with self._lock:
            if stream_arn not in self._shards:
                found = self._retry.call("dynamodbstreams:DescribeStream", lambda: self._reader.shards(stream_arn))
                self._shards[stream_arn] = frozenset(shard.shard_id for shard in found)
            return self._shards[stream_arn]
