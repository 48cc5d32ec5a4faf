"""Reading a DynamoDB stream the way EventBridge Pipes does: every shard, parents before children.

Two entry points read streams through it: the local pipe (``adapters/local/local_pipe.py``), and
`archiver redrive` reading a failed batch back by its positions
(:class:`~adapters.aws.stream_ranges.DynamoDBStreamRanges`), against AWS as against moto.

:class:`StreamReader` wraps the ``dynamodbstreams`` client (DescribeStream with pagination,
GetShardIterator, GetRecords) and hands back records as the service's JSON, i.e. as a pipe
delivers them (:mod:`adapters.aws.stream_records`).

The ordering of shards by lineage is pure logic, :func:`order_shards`, so it is tested without AWS:
DynamoDB splits a shard into children, and reading a child before its parent is done would archive
a key's later deletion before its earlier one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from adapters.aws.retries import error_code
from adapters.aws.stream_records import repair_keys, to_wire

if TYPE_CHECKING:
    from collections.abc import Iterable

    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient

__all__ = [
    "Batch",
    "IteratorExpiredError",
    "RangeNotReadError",
    "Shard",
    "StartFrom",
    "StreamGoneError",
    "StreamPositionLostError",
    "StreamReader",
    "order_shards",
    "readable_shards",
]


class StartFrom(StrEnum):
    """Where to start a shard that has no checkpoint."""

    TRIM_HORIZON = "trim-horizon"  # the oldest record still kept (24 h)
    LATEST = "latest"  # only what arrives from now on


class StreamPositionLostError(Exception):
    """The checkpoint or iterator points at records the stream no longer has (older than 24 h)."""


class IteratorExpiredError(Exception):
    """The shard iterator is older than 15 minutes; get a new one from the checkpoint."""


class StreamGoneError(Exception):
    """The stream or shard does not exist (table deleted, or stream disabled long ago)."""


class RangeNotReadError(Exception):
    """A range of sequence numbers could not be read to its end (the shard ended or stayed empty first)."""


@dataclass(frozen=True, slots=True)
class Shard:
    """One shard of a stream: its id, its parent's (if any), and whether it is closed for writes."""

    shard_id: str
    parent_id: str | None = None
    closed: bool = False


@dataclass(frozen=True, slots=True)
class Batch:
    """What one GetRecords returned; ``next_iterator`` is None once a closed shard is exhausted."""

    records: list[dict[str, Any]]
    next_iterator: str | None


def order_shards(shards: Iterable[Shard]) -> list[Shard]:
    """Every shard once, each after its parent; a parent outside the list counts as done.

    Siblings keep the order of their ids. A lineage cycle (which DynamoDB never reports) is broken
    at the shard with the smallest id rather than dropping shards: losing records is worse.
    """
    by_id = {shard.shard_id: shard for shard in shards}
    ordered: list[Shard] = []
    placed: set[str] = set()

    def place(shard: Shard, path: set[str]) -> None:
        if shard.shard_id in placed:
            return
        parent = by_id.get(shard.parent_id) if shard.parent_id else None
        if parent is not None and parent.shard_id not in path:
            place(parent, path | {shard.shard_id})
        if shard.shard_id not in placed:
            placed.add(shard.shard_id)
            ordered.append(shard)

    for shard_id in sorted(by_id):
        place(by_id[shard_id], set())
    return ordered


def readable_shards(shards: Iterable[Shard], finished: set[str]) -> list[Shard]:
    """The shards to read now: not finished, and whose parent is finished or not in the stream anymore."""
    known = {shard.shard_id for shard in shards}
    return [
        shard
        for shard in order_shards(shards)
        if shard.shard_id not in finished
        and (shard.parent_id is None or shard.parent_id not in known or shard.parent_id in finished)
    ]


class StreamReader:
    """The three stream calls a pipe makes, with the errors that matter translated.

    Args:
        client: a ``dynamodbstreams`` client.
        binary_keys_double_encoded: the server encodes binary key values twice (moto); see
            :func:`repair_keys`.
    """

    def __init__(self, client: DynamoDBStreamsClient, binary_keys_double_encoded: bool = False) -> None:
        self._client = client
        self._double_encoded = binary_keys_double_encoded

    def shards(self, stream_arn: str) -> list[Shard]:
        """Every shard of the stream (DescribeStream, all pages), in lineage order."""
        found: list[Shard] = []
        start: str | None = None
        while True:
            kwargs: dict[str, Any] = {"StreamArn": stream_arn}
            if start:
                kwargs["ExclusiveStartShardId"] = start
            try:
                description = self._client.describe_stream(**kwargs)["StreamDescription"]
            except ClientError as error:
                if error_code(error) == "ResourceNotFoundException":
                    raise StreamGoneError(f"stream {stream_arn} does not exist") from None
                raise
            for shard in description.get("Shards", []):
                found.append(
                    Shard(
                        shard_id=shard["ShardId"],
                        parent_id=shard.get("ParentShardId"),
                        closed="EndingSequenceNumber" in shard.get("SequenceNumberRange", {}),
                    )
                )
            start = description.get("LastEvaluatedShardId")
            if not start:
                return order_shards(found)

    def iterator(self, stream_arn: str, shard_id: str, after: str | None, start: StartFrom) -> str | None:
        """An iterator just after ``after`` (a checkpointed sequence number), else at ``start``.

        Returns None where the shard has no iterator to give (closed and already trimmed).

        Raises:
            StreamPositionLostError: ``after`` is older than the stream keeps.
            StreamGoneError: the stream or shard no longer exists.
        """
        kwargs: dict[str, Any] = {"StreamArn": stream_arn, "ShardId": shard_id}
        if after is not None:
            kwargs |= {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after}
        else:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON" if start is StartFrom.TRIM_HORIZON else "LATEST"
        return self._shard_iterator(kwargs)

    def iterator_at(self, stream_arn: str, shard_id: str, sequence_number: str) -> str | None:
        """An iterator at ``sequence_number`` itself (a failed batch's first record); raises as :meth:`iterator`."""
        return self._shard_iterator(
            {
                "StreamArn": stream_arn,
                "ShardId": shard_id,
                "ShardIteratorType": "AT_SEQUENCE_NUMBER",
                "SequenceNumber": sequence_number,
            }
        )

    def read_range(
        self, stream_arn: str, shard_id: str, first: str, last: str, *, limit: int = 1000, max_empty_reads: int = 5
    ) -> list[dict[str, Any]]:
        """The records of one shard from sequence number ``first`` to ``last``, both included, as wire JSON.

        This is how a failed batch that a pipe or an event source mapping reported by its positions
        is read back, while the stream still holds it (24 hours).

        Raises:
            StreamPositionLostError: the range is older than the stream keeps.
            StreamGoneError: the stream or shard no longer exists.
            IteratorExpiredError: an iterator expired on the way (a very slow read).
            RangeNotReadError: the shard ended, or stayed empty ``max_empty_reads`` times, before ``last``.
        """
        iterator = self.iterator_at(stream_arn, shard_id, first)
        found: list[dict[str, Any]] = []
        empty = 0
        while iterator is not None:
            batch = self.read(stream_arn, iterator, limit)
            for record in batch.records:
                number = int(record.get("dynamodb", {}).get("SequenceNumber") or 0)
                if number > int(last):
                    return found
                found.append(record)
                if number == int(last):
                    return found
            empty = empty + 1 if not batch.records else 0
            if empty >= max_empty_reads:
                break
            iterator = batch.next_iterator
        reached = found[-1]["dynamodb"]["SequenceNumber"] if found else "nothing"
        raise RangeNotReadError(
            f"shard {shard_id} of {stream_arn} gave no record up to {last} (read {len(found)}, up to {reached})"
        )

    def _shard_iterator(self, kwargs: dict[str, Any]) -> str | None:
        shard_id, stream_arn = kwargs["ShardId"], kwargs["StreamArn"]
        try:
            return self._client.get_shard_iterator(**kwargs).get("ShardIterator")
        except ClientError as error:
            code = error_code(error)
            if code == "TrimmedDataAccessException":
                raise StreamPositionLostError(f"{code}: {error}") from None
            if code == "ResourceNotFoundException":
                raise StreamGoneError(f"shard {shard_id} of {stream_arn} does not exist") from None
            raise

    def read(self, stream_arn: str, iterator: str, limit: int = 1000) -> Batch:
        """One GetRecords: the records as wire JSON, keys repaired, and the next iterator.

        Raises:
            StreamPositionLostError: the iterator points at records trimmed (older than 24 h).
            IteratorExpiredError: the iterator is older than 15 minutes.
        """
        try:
            response = self._client.get_records(ShardIterator=iterator, Limit=limit)
        except ClientError as error:
            code = error_code(error)
            if code == "TrimmedDataAccessException":
                raise StreamPositionLostError(f"{code}: {error}") from None
            if code == "ExpiredIteratorException":
                raise IteratorExpiredError(str(error)) from None
            if code == "ResourceNotFoundException":
                raise StreamGoneError(f"stream {stream_arn} no longer exists") from None
            raise
        records = [
            repair_keys(to_wire(record, stream_arn), self._double_encoded) for record in response.get("Records", [])
        ]
        return Batch(records, response.get("NextShardIterator"))
