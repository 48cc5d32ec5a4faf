"""The local stand-in for a pipe (+ bus + rule) or an event source mapping: stream records in, handler calls out.

What the deployed path does (pipe filters REMOVE, the bus wraps each record in an event, the rule
invokes the function asynchronously and retries it; or the pipe or the mapping invokes it with
batches) is done here in-process by :class:`LocalPipe`, per each table's delivery
(:mod:`adapters.local.deliveries`), so `archiver run` exercises the same handler against moto
server, LocalStack or a real account.

Nothing is lost: a shard's checkpoint moves past a record only once it and every record before it
are archived, dead-lettered, or not a deletion; a record whose handler call failed is retried with
backoff, and the checkpoint waits for it.

Over 300 lines, on purpose: the read loop, its recovery from each stream error, and both ways of
delivering (a record per call, a batch per call) move the same per-shard iterator, buffer and
checkpoint, so the one rule above is kept in one place. What each delivery sends and how its answer
is read is in ``deliveries.py``; the outcome count in ``tally.py``.
"""

from __future__ import annotations

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from adapters.aws.retries import Backoff
from adapters.aws.stream_reader import (
    IteratorExpiredError,
    Shard,
    StartFrom,
    StreamGoneError,
    StreamPositionLostError,
    readable_shards,
)
from adapters.local.checkpoints import done_prefix
from adapters.local.deliveries import BatchBuffer, Batching, Delivery, batch_event, eventbridge_event, first_failure
from adapters.local.tally import Tally

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from mypy_boto3_dynamodb import DynamoDBClient

    from adapters.aws.stream_reader import Batch, StreamReader
    from adapters.local.checkpoints import Checkpoints

__all__ = ["LocalPipe", "PipeSource", "SourceError", "Tally", "eventbridge_event", "stream_sources"]


class SourceError(RuntimeError):
    """A configured table cannot be read: missing, or without a stream; the message says the fix."""


@dataclass(frozen=True, slots=True)
class PipeSource:
    """One table, the stream it is read from, and how its deletions reach the handler."""

    table: str
    stream_arn: str
    batching: Batching = field(default_factory=Batching)


def stream_sources(
    dynamodb: DynamoDBClient, tables: Iterable[str], batching: Mapping[str, Batching] | None = None
) -> list[PipeSource]:
    """Each table's current stream (DescribeTable's LatestStreamArn), delivered per ``batching``
    (one EventBridge event per record for a table it does not name).

    Raises:
        SourceError: a table does not exist or has no stream enabled.
    """
    sources = []
    for table in tables:
        try:
            description = dynamodb.describe_table(TableName=table)["Table"]
        except dynamodb.exceptions.ResourceNotFoundException:
            raise SourceError(
                f"table {table!r} does not exist at this endpoint; create it (archiver provision does, "
                "locally) or remove it from the configuration"
            ) from None
        spec = description.get("StreamSpecification", {})
        arn = description.get("LatestStreamArn")
        if not arn or not spec.get("StreamEnabled", False):
            raise SourceError(
                f"table {table!r} has no stream enabled; enable one with view type NEW_AND_OLD_IMAGES "
                "(archiver provision does, locally)"
            )
        sources.append(PipeSource(table, arn, (batching or {}).get(table, Batching())))
    return sources


@dataclass
class _Cursor:
    """Where reading one stream stands (mutable, private to the pipe's loop)."""

    source: PipeSource
    start: StartFrom
    shards: list[Shard] = field(default_factory=list)
    finished: set[str] = field(default_factory=set)
    iterators: dict[str, str] = field(default_factory=dict)
    buffers: dict[str, BatchBuffer] = field(default_factory=dict)  # batch deliveries: read, not yet delivered
    described_at: float = float("-inf")
    gone: bool = False
    paused_until: float = float("-inf")  # after an error talking to the stream
    failures: int = 0  # reads of the stream that failed in a row


def _noop(_: str) -> None:
    return None


class LocalPipe:
    """Reads every shard of every source, delivers its REMOVEs as the source's delivery does, checkpoints.

    Args:
        reader: the stream reader.
        deliver: the handler; returns when the record is archived or dead-lettered (a batch: with
            ``batchItemFailures`` naming the others), raises otherwise.
        checkpoints: where each shard got to; advanced only past finished records.
        start: where to start a shard with no checkpoint.
        concurrency: handler calls in flight at once.
        warn: receives lines a person must read (lost positions, changed streams, failures).
        progress: receives one line per batch read.
        clock: monotonic seconds, for idle time, pauses and batch windows (tests pass their own).
    """

    def __init__(
        self,
        reader: StreamReader,
        deliver: Callable[[object], object],
        checkpoints: Checkpoints,
        *,
        start: StartFrom = StartFrom.TRIM_HORIZON,
        concurrency: int = 8,
        warn: Callable[[str], None] = _noop,
        progress: Callable[[str], None] = _noop,
        poll_interval: float = 0.2,
        describe_every: float = 10.0,
        max_backoff: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reader = reader
        self._deliver = deliver
        self._checkpoints = checkpoints
        self._start = start
        self._concurrency = concurrency
        self._warn = warn
        self._progress = progress
        self._poll_interval = poll_interval
        self._describe_every = describe_every
        self._max_backoff = max_backoff
        self._backoff = Backoff(initial=0.5, max_wait=max_backoff)
        self._clock = clock

    #: Records the last run stopped before they were taken (still before their shard's checkpoint).
    unfinished = 0

    def run(
        self, sources: Sequence[PipeSource], until_idle: float | None = None, stop: threading.Event | None = None
    ) -> int:
        """Read until ``stop`` is set, or until no record arrived for ``until_idle`` seconds.

        Returns the number of records left not taken (a stop during retries); 0 means nothing is owed.
        """
        stop = stop or threading.Event()
        self.unfinished = 0
        cursors = [self._cursor(source) for source in sources]
        last_record = self._clock()
        with ThreadPoolExecutor(max_workers=self._concurrency, thread_name_prefix="archiver-run") as pool:
            while not stop.is_set():
                arrived = 0
                for cursor in cursors:
                    if not cursor.gone and not stop.is_set():
                        arrived += self._poll(cursor, pool, stop)
                now = self._clock()
                if arrived:
                    last_record = now
                    continue
                if until_idle is not None and now - last_record >= until_idle:
                    return self.unfinished
                stop.wait(self._poll_interval)
        for cursor in cursors:  # stopped: what was read and not yet delivered gets its one attempt
            self._flush(cursor, stop)
        return self.unfinished

    def _cursor(self, source: PipeSource) -> _Cursor:
        known = self._checkpoints.streams_of(source.table)
        previous = [arn for arn in known if arn != source.stream_arn]
        start = self._start
        if previous and source.stream_arn not in known:
            start = StartFrom.TRIM_HORIZON
            self._warn(
                f"WARNING table {source.table}: its stream is now {source.stream_arn}, but the state file "
                f"{self._checkpoints.path} has checkpoints for {', '.join(previous)} only. The stream was "
                "disabled and re-enabled, or the state belongs to another endpoint. Deletions on the old "
                "stream after its checkpoint are not read by this run: check them, or pass another --state "
                "if the old state is from elsewhere. Reading the new stream from trim-horizon."
            )
        return _Cursor(source, start)

    def _poll(self, cursor: _Cursor, pool: ThreadPoolExecutor, stop: threading.Event) -> int:
        """One read of each readable shard of the stream; returns the number of records that arrived."""
        now = self._clock()
        if now < cursor.paused_until:
            return 0
        try:
            if now - cursor.described_at >= self._describe_every:
                cursor.shards = self._reader.shards(cursor.source.stream_arn)
                cursor.described_at = now
            arrived = 0
            for shard in readable_shards(cursor.shards, cursor.finished):
                if stop.is_set():
                    break
                arrived += self._read_shard(cursor, shard, pool, stop)
        except StreamGoneError as error:
            cursor.gone = True
            self._warn(f"WARNING table {cursor.source.table}: {error}; no longer reading it")
            return 0
        except (ClientError, BotoCoreError) as error:
            # throttling, a dropped connection, a restarting endpoint: wait and read again from the
            # checkpoint; nothing after it was taken, so nothing is lost
            cursor.failures += 1
            pause = self._backoff.wait(cursor.failures)
            cursor.paused_until = now + pause
            cursor.iterators.clear()
            cursor.buffers.clear()  # read again from the checkpoint, which is before them
            self._warn(
                f"WARNING table {cursor.source.table}: reading its stream failed ({type(error).__name__}: {error}); "
                f"trying again in {pause:.1f} s from the checkpoint"
            )
            return 0
        cursor.failures = 0
        return arrived

    def _iterator(self, cursor: _Cursor, shard: Shard) -> str | None:
        source = cursor.source
        after = self._checkpoints.get(source.stream_arn, shard.shard_id)
        try:
            return self._reader.iterator(source.stream_arn, shard.shard_id, after, cursor.start)
        except StreamPositionLostError:
            self._warn(
                f"WARNING table {source.table}: the checkpoint of shard {shard.shard_id} (sequence number "
                f"{after}) is older than the stream keeps (24 h): deletions after it may never have been "
                "archived. Reading from the oldest record still kept; compare the table's archive with its "
                f"backups for the gap, and remove the stream from {self._checkpoints.path} to silence this."
            )
            return self._reader.iterator(source.stream_arn, shard.shard_id, None, StartFrom.TRIM_HORIZON)

    def _read_shard(self, cursor: _Cursor, shard: Shard, pool: ThreadPoolExecutor, stop: threading.Event) -> int:
        source = cursor.source
        iterator = cursor.iterators.get(shard.shard_id)
        try:
            if iterator is None:
                iterator = self._iterator(cursor, shard)
                if iterator is None:
                    cursor.finished.add(shard.shard_id)
                    return 0
            batch = self._reader.read(source.stream_arn, iterator)
        except IteratorExpiredError:
            _forget(cursor, shard)  # a fresh iterator from the checkpoint next time
            return 0
        except StreamPositionLostError:
            _forget(cursor, shard)
            self._trimmed(cursor, shard)
            return 0
        except StreamGoneError as error:
            cursor.finished.add(shard.shard_id)
            self._warn(f"WARNING table {source.table}: {error}; skipping shard {shard.shard_id}")
            return 0
        if not self._take(cursor, shard, batch, pool, stop):
            _forget(cursor, shard)  # stopped with failures: resume from the checkpoint
            return len(batch.records)
        if batch.next_iterator is None:
            cursor.finished.add(shard.shard_id)
            _forget(cursor, shard)
            cursor.described_at = float("-inf")  # a closed shard means children: describe again
        else:
            cursor.iterators[shard.shard_id] = batch.next_iterator
        return len(batch.records)

    def _trimmed(self, cursor: _Cursor, shard: Shard) -> None:
        self._warn(
            f"WARNING table {cursor.source.table}: shard {shard.shard_id} trimmed records before they were "
            "read (the reader fell more than 24 h behind); some deletions may not be archived. Continuing "
            "from the oldest record still kept."
        )
        cursor.start = StartFrom.TRIM_HORIZON

    def _take(
        self, cursor: _Cursor, shard: Shard, batch: Batch, pool: ThreadPoolExecutor, stop: threading.Event
    ) -> bool:
        """Deliver what one read brought, as the source's delivery does; False when stopped with records owed."""
        if cursor.source.batching.delivery is Delivery.BUS:
            return not batch.records or self._handle(cursor, shard, batch.records, pool, stop)
        if batch.records:
            self._report_read(cursor.source, shard, batch.records)
        buffer = cursor.buffers.setdefault(shard.shard_id, BatchBuffer(cursor.source.batching))
        done_through = buffer.add(batch.records, self._clock())
        if done_through is not None:
            self._checkpoints.advance(cursor.source.stream_arn, cursor.source.table, shard.shard_id, done_through)
        drained = not batch.records or batch.next_iterator is None
        due = buffer.take(self._clock(), drained)
        return all(self._deliver_batch(cursor, shard, records, through, stop) for records, through in due)

    def _flush(self, cursor: _Cursor, stop: threading.Event) -> None:
        """Deliver every batch still gathering in ``cursor``'s shards (the run is ending)."""
        for shard_id, buffer in list(cursor.buffers.items()):
            due = buffer.take(self._clock(), drained=True)
            for position, (records, through) in enumerate(due):
                if not self._deliver_batch(cursor, Shard(shard_id), records, through, stop):
                    self.unfinished += sum(len(later) for later, _ in due[position + 1 :])  # still after the checkpoint
                    break
        cursor.buffers.clear()

    def _deliver_batch(
        self, cursor: _Cursor, shard: Shard, records: list[dict[str, Any]], through: str, stop: threading.Event
    ) -> bool:
        """One batch to the handler, retried from its first failed record with backoff until it is
        all taken; the checkpoint follows. False when stopped first (the checkpoint stays before the rest)."""
        source = cursor.source
        delay = min(0.5, self._max_backoff)
        while True:
            error, failed_at = self._invoke(source, records)
            if failed_at is None:
                self._checkpoints.advance(source.stream_arn, source.table, shard.shard_id, through)
                return True
            if failed_at:
                sequence = str(records[failed_at - 1]["dynamodb"]["SequenceNumber"])
                self._checkpoints.advance(source.stream_arn, source.table, shard.shard_id, sequence)
            records = records[failed_at:]
            why = f"a batch was not all archived ({error}); its first failed record and those after it ({len(records)})"
            next_delay = self._back_off(source.table, len(records), why, delay, stop)
            if next_delay is None:
                return False
            delay = next_delay

    def _invoke(self, source: PipeSource, records: list[dict[str, Any]]) -> tuple[str, int | None]:
        """Hand one batch to the handler: why not all of it was taken, and where its retry starts (None: all was)."""
        delivery = source.batching.delivery
        try:
            answer = self._deliver(batch_event(delivery, records))
        except Exception as error:  # noqa: BLE001 - any failure means: retry, and hold the checkpoint
            return f"{type(error).__name__}: {error}", 0
        failed_at = first_failure(delivery, records, answer)
        return f"the handler answered {answer}"[:300], failed_at

    def _report_read(self, source: PipeSource, shard: Shard, records: list[dict[str, Any]]) -> None:
        removals = sum(record.get("eventName") == "REMOVE" for record in records)
        self._progress(
            f"{source.table}: {len(records)} record(s), {removals} deletion(s) from {shard.shard_id} "
            f"(up to sequence number {records[-1]['dynamodb']['SequenceNumber']})"
        )

    def _handle(
        self,
        cursor: _Cursor,
        shard: Shard,
        records: list[dict[str, Any]],
        pool: ThreadPoolExecutor,
        stop: threading.Event,
    ) -> bool:
        """Deliver the batch's REMOVEs, retrying failures with backoff; advance the checkpoint as they finish.

        Returns False when stopped before every record was taken (the checkpoint stays before them).
        """
        source = cursor.source
        done = [record.get("eventName") != "REMOVE" for record in records]
        self._report_read(source, shard, records)
        delay = 0.5
        while True:
            pending = [i for i, finished in enumerate(done) if not finished]
            errors: list[str] = []
            results = pool.map(self._deliver_one, [records[i] for i in pending], itertools.repeat(source.table))
            for i, error in zip(pending, results, strict=True):
                if error is None:
                    done[i] = True
                else:
                    errors.append(error)
            finished = done_prefix(done)
            if finished:
                sequence = str(records[finished - 1]["dynamodb"]["SequenceNumber"])
                self._checkpoints.advance(source.stream_arn, source.table, shard.shard_id, sequence)
            if not errors:
                return True
            why = f"{len(errors)} record(s) neither archived nor dead-lettered ({errors[0]})"
            next_delay = self._back_off(source.table, len(errors), why, delay, stop)
            if next_delay is None:
                return False
            delay = next_delay

    def _back_off(self, table: str, owed: int, why: str, delay: float, stop: threading.Event) -> float | None:
        """After a delivery that left ``owed`` records: None when stopping (they are counted as
        unfinished and reported), else the next delay, once this one is waited out."""
        if stop.is_set():
            self.unfinished += owed
            self._warn(
                f"WARNING table {table}: stopping with {owed} record(s) not archived; "
                "the checkpoint stays before them, so the next run retries them"
            )
            return None
        self._warn(f"WARNING table {table}: {why}; retrying in {delay:.1f} s, checkpoint held before them")
        stop.wait(delay)
        return min(delay * 2, self._max_backoff)

    def _deliver_one(self, record: dict[str, Any], table: str) -> str | None:
        """None once the handler took the record, else why not."""
        try:
            self._deliver(eventbridge_event(record, table))
        except Exception as error:  # noqa: BLE001 - any failure means: retry, and hold the checkpoint
            return f"{type(error).__name__}: {error}"
        return None


def _forget(cursor: _Cursor, shard: Shard) -> None:
    """Drop a shard's iterator and what it read but did not deliver: the next read starts at the checkpoint."""
    cursor.iterators.pop(shard.shard_id, None)
    cursor.buffers.pop(shard.shard_id, None)
