"""The local stand-in for EventBridge Pipes + bus + rule: stream records in, one handler call per deletion.

What the deployed path does (pipe filters REMOVE, the bus wraps each record in an event, the rule
invokes the function asynchronously and retries it) is done here in-process by :class:`LocalPipe`,
so `archiver run` exercises the same handler against moto server, LocalStack or a real account.

Nothing is lost: a shard's checkpoint moves past a record only once it and every record before it
are archived, dead-lettered, or not a deletion; a record whose handler call failed is retried with
backoff, and the checkpoint waits for it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
import uuid
from collections import Counter
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
from archiver.service import OUTCOME_NAMES, summarise

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from mypy_boto3_dynamodb import DynamoDBClient

    from adapters.aws.stream_reader import StreamReader
    from adapters.local.checkpoints import Checkpoints
    from archiver.service import Outcome

__all__ = ["LocalPipe", "PipeSource", "SourceError", "Tally", "eventbridge_event", "stream_sources"]

_EVENT_NAMESPACE = uuid.UUID("5f8c7d0e-2b9a-4c1e-9d3f-6a7b8c9d0e1f")


class SourceError(RuntimeError):
    """A configured table cannot be read: missing, or without a stream; the message says the fix."""


@dataclass(frozen=True, slots=True)
class PipeSource:
    """One table and the stream it is read from."""

    table: str
    stream_arn: str


def stream_sources(dynamodb: DynamoDBClient, tables: Iterable[str]) -> list[PipeSource]:
    """Each table's current stream (DescribeTable's LatestStreamArn).

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
        sources.append(PipeSource(table, arn))
    return sources


def eventbridge_event(record: dict[str, Any], table: str) -> dict[str, Any]:
    """The event a pipe (source: the table's stream, target: a bus) puts on the bus for one record.

    The id is derived from the eventID, so a redelivered record gets the same event id, as a
    retried EventBridge delivery does. ``resources`` names the table, as the deployed pipe sets it
    and the rule matches it.
    """
    source_arn = str(record.get("eventSourceARN", ""))
    arn_parts = source_arn.split(":")
    created = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
    when = dt.datetime.fromtimestamp(float(created), tz=dt.UTC) if created is not None else dt.datetime.now(dt.UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid5(_EVENT_NAMESPACE, str(record.get("eventID", "")))),
        "detail-type": "Event from aws:dynamodb",
        "source": f"Pipe {table}-archive",
        "account": arn_parts[4] if len(arn_parts) > 4 else "",
        "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": str(record.get("awsRegion") or (arn_parts[3] if len(arn_parts) > 3 else "")),
        "resources": [source_arn.partition("/stream/")[0]] if source_arn else [],
        "detail": record,
    }


class Tally:
    """Outcomes per table, as :func:`adapters.delivery.handle` reports them (it is the local pipe's
    :class:`~adapters.metrics.Metrics`); counted by the core's ``summarise``."""

    def __init__(self) -> None:
        self._counts: dict[str, Counter[str]] = {}
        self._lock = threading.Lock()

    def publish(self, outcomes: Sequence[Outcome], settled_at: Sequence[float]) -> None:
        by_table: dict[str, list[Outcome]] = {}
        for outcome in outcomes:
            by_table.setdefault(outcome.table or "(unknown table)", []).append(outcome)
        with self._lock:
            for table, mine in by_table.items():
                self._counts.setdefault(table, Counter()).update(summarise(mine))

    def summary(self) -> dict[str, dict[str, int]]:
        """Per table, every outcome named even at zero (``failed`` counts failed attempts)."""
        with self._lock:
            return {
                table: {name: counts[name] for name in OUTCOME_NAMES} for table, counts in sorted(self._counts.items())
            }


@dataclass
class _Cursor:
    """Where reading one stream stands (mutable, private to the pipe's loop)."""

    source: PipeSource
    start: StartFrom
    shards: list[Shard] = field(default_factory=list)
    finished: set[str] = field(default_factory=set)
    iterators: dict[str, str] = field(default_factory=dict)
    described_at: float = float("-inf")
    gone: bool = False
    paused_until: float = float("-inf")  # after an error talking to the stream
    failures: int = 0  # reads of the stream that failed in a row


def _noop(_: str) -> None:
    return None


class LocalPipe:
    """Reads every shard of every source, delivers each REMOVE as an EventBridge event, checkpoints.

    Args:
        reader: the stream reader.
        deliver: the handler; returns when the record is archived or dead-lettered, raises otherwise.
        checkpoints: where each shard got to; advanced only past finished records.
        start: where to start a shard with no checkpoint.
        concurrency: handler calls in flight at once.
        warn: receives lines a person must read (lost positions, changed streams, failures).
        progress: receives one line per batch read.
    """

    def __init__(
        self,
        reader: StreamReader,
        deliver: Callable[[dict[str, Any]], object],
        checkpoints: Checkpoints,
        *,
        start: StartFrom = StartFrom.TRIM_HORIZON,
        concurrency: int = 8,
        warn: Callable[[str], None] = _noop,
        progress: Callable[[str], None] = _noop,
        poll_interval: float = 0.2,
        describe_every: float = 10.0,
        max_backoff: float = 30.0,
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
        self._backoff = Backoff(initial=0.5, max_wait=max_backoff)

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
        last_record = time.monotonic()
        with ThreadPoolExecutor(max_workers=self._concurrency, thread_name_prefix="archiver-run") as pool:
            while not stop.is_set():
                arrived = 0
                for cursor in cursors:
                    if not cursor.gone and not stop.is_set():
                        arrived += self._poll(cursor, pool, stop)
                now = time.monotonic()
                if arrived:
                    last_record = now
                    continue
                if until_idle is not None and now - last_record >= until_idle:
                    return self.unfinished
                stop.wait(self._poll_interval)
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
        now = time.monotonic()
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
            cursor.iterators.pop(shard.shard_id, None)  # a fresh one from the checkpoint next time
            return 0
        except StreamPositionLostError:
            cursor.iterators.pop(shard.shard_id, None)
            self._trimmed(cursor, shard)
            return 0
        except StreamGoneError as error:
            cursor.finished.add(shard.shard_id)
            self._warn(f"WARNING table {source.table}: {error}; skipping shard {shard.shard_id}")
            return 0
        if batch.records and not self._handle(cursor, shard, batch.records, pool, stop):
            cursor.iterators.pop(shard.shard_id, None)  # stopped with failures: resume from the checkpoint
            return len(batch.records)
        if batch.next_iterator is None:
            cursor.finished.add(shard.shard_id)
            cursor.iterators.pop(shard.shard_id, None)
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
        removals = done.count(False)
        self._progress(
            f"{source.table}: {len(records)} record(s), {removals} deletion(s) from {shard.shard_id} "
            f"(up to sequence number {records[-1]['dynamodb']['SequenceNumber']})"
        )
        attempt = 0
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
            if stop.is_set():
                self.unfinished += len(errors)
                self._warn(
                    f"WARNING table {source.table}: stopping with {len(errors)} record(s) not archived; "
                    "the checkpoint stays before them, so the next run retries them"
                )
                return False
            attempt += 1
            delay = self._backoff.wait(attempt)
            self._warn(
                f"WARNING table {source.table}: {len(errors)} record(s) neither archived nor dead-lettered "
                f"({errors[0]}); retrying in {delay:.1f} s, checkpoint held before them"
            )
            stop.wait(delay)

    def _deliver_one(self, record: dict[str, Any], table: str) -> str | None:
        """None once the handler took the record, else why not."""
        try:
            self._deliver(eventbridge_event(record, table))
        except Exception as error:  # noqa: BLE001 - any failure means: retry, and hold the checkpoint
            return f"{type(error).__name__}: {error}"
        return None
