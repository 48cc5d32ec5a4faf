"""`archiver redrive`: re-run what the dead-letter queues hold, through the same Archiver, and delete
only what is archived.

Which queues: the environment's queue (``dead_letter_queue``, or ``<bucket>-dlq``: the local one,
shared by every table) and each table's queue as ``terraform/modules/table-archive`` names it
(:attr:`~adapters.config.TableConfig.dead_letter_queue_name`), those that exist at the endpoint.
With ``--table T``, only T's queue, and of the shared queue only the messages about T.

Each message is read by :func:`archiver.redrive.classify`; a letter kept in the archive bucket is
read back first, a stream batch is read back from the stream (while it holds the records: 24 h).
The records go through the Archiver that ``archiver run`` uses, except that a record failing again
is not dead-lettered anew: its message simply stays. A message is deleted only once every record
in it is archived, or skipped as not captured; anything else stays, made visible again at the end
of the run, and the summary says why. Messages of no known shape are left untouched.

The run ends when the queues hold no message it has not seen yet (each message is handled once
per run, even if it becomes visible again), or after ``--max`` messages. Workers (``--concurrency``)
each receive ten messages at a time, handle them and delete the archived ones in one batch.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from adapters.aws.retries import AWSCallError, RetryPolicy
from adapters.aws.sqs_queue_reader import BATCH, QueueError, QueueMessage, SQSQueueReader, queue_url_of
from adapters.cli import render
from adapters.cli.app import open_app, say, stop_on_ctrl_c
from adapters.cli.options import add_command, aws_options, bounded_int
from adapters.cli.progress import Progress
from archiver.redrive import ReadLetter, Rerun, Shape, StreamRange, Unknown, classify, read_kept_letter
from archiver.service import Archived, Skipped

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence

    from adapters.cli.app import App
    from archiver.ports import DeadLetter
    from archiver.redrive import Plan
    from archiver.service import Archiver

__all__ = ["HeldLetters", "MessageResult", "QueueSource", "Redrive", "find_queues", "format_report", "register"]

# Why a message stays. The first six mean records were not archived (exit code 1).
NOT_ARCHIVED = "not archived"
BEYOND_RETENTION = "beyond stream retention"
STREAM_NOT_READ = "stream not read"
LETTER_NOT_READ = "letter not read"
NOT_REDRIVABLE = "cannot be re-run"
INTERNAL_ERROR = "internal error"
UNKNOWN_SHAPE = "unknown shape"
OTHER_TABLE = "another table"
DRY_RUN = "dry run"
NOT_DELETED = "delete refused"
#: Receives that bring no unseen message, in a row, before a worker decides its queue is drained.
_IDLE_RECEIVES = 3


@dataclass(frozen=True, slots=True)
class QueueSource:
    """One dead-letter queue to read; ``table`` is the table it belongs to, None for the shared one."""

    name: str
    url: str
    table: str | None = None


@dataclass(slots=True)
class MessageResult:
    """What became of one message."""

    queue: str
    message_id: str
    shape: Shape
    records: int = 0  # records found to re-run
    archived: int = 0
    deleted: bool = False
    left: str | None = None  # why it stays (one of the constants above); None once deleted
    detail: str = ""
    failed: bool = False  # a record could not be archived: the exit code says so


class StayError(Exception):
    """A message stays in its queue: ``category`` for the summary, the message says exactly why."""

    def __init__(self, category: str, detail: str, *, failed: bool = True) -> None:
        super().__init__(detail)
        self.category = category
        self.failed = failed


class HeldLetters:
    """The redrive's DeadLetterSink: a record that fails again is not dead-lettered anew.

    Its message is still in the queue and stays there; a new letter would be a second copy that
    this very run would then pick up again.
    """

    def __init__(self) -> None:
        self.letters: list[DeadLetter] = []
        self._lock = threading.Lock()

    def report(self, letter: DeadLetter) -> None:
        with self._lock:
            self.letters.append(letter)


def find_queues(app: App, table: str | None = None) -> list[QueueSource]:
    """The configured dead-letter queues that exist at the endpoint (``table``'s only, where given).

    Raises:
        QueueError: none of them exists.
    """
    tables = [app.config.table(table)] if table else app.config.tables
    wanted: list[tuple[str, str | None]] = [(app.config.queue_name, None)]
    wanted += [(t.dead_letter_queue_name, t.name) for t in tables]
    found = []
    for name, owner in wanted:
        url = queue_url_of(app.clients.sqs, name)
        if url is not None:
            found.append(QueueSource(name, url, owner))
    if not found:
        looked = ", ".join(name for name, _ in wanted)
        raise QueueError(f"no dead-letter queue of this configuration exists at this endpoint (looked for {looked})")
    return found


@dataclass
class _Budget:
    """How many more messages the run may take (``--max``), shared by the workers."""

    left: int | None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def claim(self, wanted: int) -> int:
        with self.lock:
            if self.left is None:
                return wanted
            granted = min(wanted, self.left)
            self.left -= granted
            return granted

    def give_back(self, count: int) -> None:
        with self.lock:
            if self.left is not None:
                self.left += count


class Redrive:
    """Redrives queues, one after the other, each with ``concurrency`` workers.

    Args:
        archiver: the Archiver to re-run records through (its sink should be :class:`HeldLetters`).
        read_letter: ``(bucket, key) -> bytes`` of a letter kept in the archive bucket; raises StayError.
        read_range: the wire records of a stream range; raises StayError.
        table: with ``--table``, the only table whose messages a shared queue gives up.
        dry_run: classify and read, archive and delete nothing.
        limit: ``--max``, the most messages to take in all.
        visibility_timeout: seconds a received message stays hidden (a crashed run's messages come
            back after this); messages left are made visible at the end of the run.
        wait_seconds: the long poll of each receive.
    """

    def __init__(
        self,
        archiver: Archiver,
        *,
        read_letter: Callable[[str, str], bytes],
        read_range: Callable[[StreamRange], list[dict[str, Any]]],
        table: str | None = None,
        dry_run: bool = False,
        limit: int | None = None,
        concurrency: int = 8,
        visibility_timeout: int = 300,
        wait_seconds: int = 1,
        stop: threading.Event | None = None,
    ) -> None:
        self._archiver = archiver
        self._read_letter = read_letter
        self._read_range = read_range
        self._table = table
        self._dry_run = dry_run
        self._budget = _Budget(limit)
        self._concurrency = concurrency
        self._visibility = visibility_timeout
        self._wait = wait_seconds
        self._stop = stop or threading.Event()

    def run(self, source: QueueSource, reader: SQSQueueReader, progress: Progress | None = None) -> list[MessageResult]:
        """Every message of ``source`` not yet seen in this run, handled; those left made visible again."""
        run = _QueueRun(source, reader, progress)
        try:
            with ThreadPoolExecutor(self._concurrency, thread_name_prefix="redrive") as pool:
                for future in [pool.submit(self._work, run) for _ in range(self._concurrency)]:
                    future.result()
        finally:  # even when a queue call failed for good: what is left must not stay hidden
            run.release_left()
        return run.results

    def _work(self, run: _QueueRun) -> None:
        """One worker: receive up to ten, handle the unseen ones, delete those done; until drained."""
        idle = 0
        while not self._stop.is_set() and idle < _IDLE_RECEIVES:
            granted = self._budget.claim(BATCH)
            if granted == 0:
                return
            messages = run.reader.receive(granted, visibility_timeout=self._visibility, wait_seconds=self._wait)
            fresh = run.fresh(messages)
            self._budget.give_back(granted - len(fresh))
            if not messages:
                return
            if not fresh:  # only messages this run has handled (the receive hid them again)
                idle += 1
                continue
            idle = 0
            run.finish([self.handle(run.source, message) for message in fresh])

    def handle(self, source: QueueSource, message: QueueMessage) -> MessageResult:
        """One message: classify, read what it points to, re-run its records; whether to delete it."""
        plan: Plan = classify(message.body, message.attributes)
        result = MessageResult(source.name, message.message_id, plan.shape)
        try:
            self._check_table(source, plan)
            records = self._records(plan)
            result.records = len(records)
            if self._dry_run:
                raise StayError(DRY_RUN, f"would re-run {len(records)} record(s)", failed=False)
            self._rerun(records, result)
        except StayError as stay:
            result.left, result.detail, result.failed = stay.category, str(stay), stay.failed
        except Exception as error:  # noqa: BLE001 - a bug with one message must not stop the others
            result.left, result.detail, result.failed = INTERNAL_ERROR, f"{type(error).__name__}: {error}", True
        return result

    def _check_table(self, source: QueueSource, plan: Plan) -> None:
        if self._table is None or source.table is not None or (isinstance(plan, Unknown) and plan.foreign):
            return
        if self._table not in plan.tables:
            named = ", ".join(sorted(plan.tables)) or "no table"
            raise StayError(OTHER_TABLE, f"about {named}, not {self._table}", failed=False)

    def _records(self, plan: Plan) -> Sequence[object]:
        if isinstance(plan, ReadLetter):
            read = read_kept_letter(self._read_letter(plan.bucket, plan.key), plan.sha256)
            if isinstance(read, Unknown):
                raise StayError(NOT_REDRIVABLE, f"s3://{plan.bucket}/{plan.key}: {read.reason}")
            return read.records
        if isinstance(plan, StreamRange):
            return [record for record in self._read_range(plan) if record.get("eventName") == "REMOVE"]
        if isinstance(plan, Unknown):
            if plan.foreign:
                raise StayError(UNKNOWN_SHAPE, plan.reason, failed=False)
            raise StayError(NOT_REDRIVABLE, plan.reason)
        assert isinstance(plan, Rerun)
        return plan.records

    def _rerun(self, records: Sequence[object], result: MessageResult) -> None:
        outcomes = self._archiver.archive(records)
        result.archived = sum(isinstance(outcome, Archived) for outcome in outcomes)
        missed = [outcome for outcome in outcomes if not isinstance(outcome, Archived | Skipped)]
        if missed:
            first = missed[0]
            raise StayError(
                NOT_ARCHIVED, f"{len(missed)} of {len(records)} record(s), e.g. {first.record_id}: {first.reason}"
            )


class _QueueRun:
    """The shared state of one queue's workers: what was seen, the newest handles, the results."""

    def __init__(self, source: QueueSource, reader: SQSQueueReader, progress: Progress | None) -> None:
        self.source = source
        self.reader = reader
        self.progress = progress
        self.results: list[MessageResult] = []
        self._handles: dict[str, QueueMessage] = {}  # message id -> the message as last received
        self._lock = threading.Lock()

    def fresh(self, messages: list[QueueMessage]) -> list[QueueMessage]:
        """The messages not seen before in this run; every one's newest handle is kept."""
        fresh = []
        with self._lock:
            for message in messages:
                if message.message_id not in self._handles:
                    fresh.append(message)
                self._handles[message.message_id] = message
        return fresh

    def finish(self, results: list[MessageResult]) -> None:
        """Delete the messages done (with their newest handles); record every result."""
        done = [result for result in results if result.left is None]
        with self._lock:
            latest = [self._handles[result.message_id] for result in done]
        refused = self.reader.delete(latest) if latest else {}
        for result in done:
            if result.message_id in refused:
                result.left, result.detail = NOT_DELETED, f"archived, but SQS kept it: {refused[result.message_id]}"
            else:
                result.deleted = True
        with self._lock:
            self.results.extend(results)
        if self.progress is not None:
            self.progress.advance(len(results))

    def release_left(self) -> None:
        """Make every message this run left (or saw again) visible now, with its newest handle."""
        with self._lock:
            seen_done = {result.message_id for result in self.results if result.deleted}
            left = [message for id_, message in self._handles.items() if id_ not in seen_done]
        refused = self.reader.release(left, 0) if left else {}
        for message_id, why in refused.items():
            say(f"archiver: message {message_id} of {self.source.name} stays hidden until its timeout: {why}")


def _letter_reader(app: App) -> Callable[[str, str], bytes]:
    from adapters.aws.s3_store import S3ArchiveStore  # noqa: PLC0415
    from archiver.ports import ObjectNotFoundError, StoreUnavailableError  # noqa: PLC0415

    def read(bucket: str, key: str) -> bytes:
        try:
            return S3ArchiveStore(app.clients.s3, bucket).get(key)
        except ObjectNotFoundError:
            raise StayError(LETTER_NOT_READ, f"s3://{bucket}/{key} is not there (expired, or deleted)") from None
        except StoreUnavailableError as error:
            raise StayError(LETTER_NOT_READ, f"s3://{bucket}/{key}: {error}") from None

    return read


def _range_reader(app: App, retry: RetryPolicy) -> Callable[[StreamRange], list[dict[str, Any]]]:
    """Reads a failed batch back from its stream; past the stream's retention, says so."""
    from adapters.local.stream_reader import (  # noqa: PLC0415
        IteratorExpiredError,
        RangeNotReadError,
        StreamGoneError,
        StreamPositionLostError,
    )

    reader = app.stream_reader()
    shards: dict[str, set[str]] = {}
    lock = threading.Lock()

    def shard_ids(stream_arn: str) -> set[str]:
        with lock:
            if stream_arn not in shards:
                found = retry.call("dynamodbstreams:DescribeStream", lambda: reader.shards(stream_arn))
                shards[stream_arn] = {shard.shard_id for shard in found}
            return shards[stream_arn]

    def read(plan: StreamRange) -> list[dict[str, Any]]:
        try:
            if plan.shard_id not in shard_ids(plan.stream_arn):
                raise StayError(BEYOND_RETENTION, f"{plan.describe()}: the shard is no longer in the stream")
            return retry.call(
                "dynamodbstreams:GetRecords",
                lambda: reader.read_range(plan.stream_arn, plan.shard_id, plan.first, plan.last),
                stream_arn=plan.stream_arn,
            )
        except (StreamPositionLostError, StreamGoneError, IteratorExpiredError) as error:
            raise StayError(BEYOND_RETENTION, f"{plan.describe()}: {error}") from None
        except (RangeNotReadError, AWSCallError) as error:
            raise StayError(STREAM_NOT_READ, f"{plan.describe()}: {error}") from None

    return read


def format_report(results: Sequence[MessageResult]) -> str:
    """Per shape: messages, records found, archived, deleted, left; then the messages left, by reason."""
    shapes = [shape for shape in Shape if any(result.shape is shape for result in results)]
    rows: list[list[Any]] = []
    for shape in shapes:
        mine = [result for result in results if result.shape is shape]
        rows.append(
            [
                shape.value,
                len(mine),
                sum(r.records for r in mine),
                sum(r.archived for r in mine),
                sum(r.deleted for r in mine),
                sum(r.left is not None for r in mine),
            ]
        )
    header = ["shape", "messages", "records", "archived", "deleted", "left"]
    lines = [render.table(header, rows or [["(no messages)", 0, 0, 0, 0, 0]], numeric=range(1, 6))]
    left = Counter((r.queue, r.shape.value, r.left) for r in results if r.left is not None)
    if left:
        example: dict[tuple[str, str, str | None], str] = {}
        for result in results:
            if result.left is not None:
                example.setdefault((result.queue, result.shape.value, result.left), result.detail)
        rows = [[*group, count, _clip(example[group])] for group, count in sorted(left.items())]
        lines += [
            "",
            render.table(["queue", "shape", "left because", "messages", "e.g."], rows, numeric=[3], last_free=True),
        ]
    return "\n".join(lines)


def _clip(text: str, width: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _redrive(args: argparse.Namespace) -> int:
    with open_app(args) as app:
        sources = find_queues(app, args.table)
        retry = RetryPolicy()
        archiver = app.archiver(dead_letters=HeldLetters())
        results: list[MessageResult] = []
        with stop_on_ctrl_c("the messages in hand") as stop:
            redrive = Redrive(
                archiver,
                read_letter=_letter_reader(app),
                read_range=_range_reader(app, retry),
                table=args.table,
                dry_run=args.dry_run,
                limit=args.max,
                concurrency=args.concurrency,
                visibility_timeout=args.visibility_timeout,
                stop=stop,
            )
            for source in sources:
                if stop.is_set():
                    break
                reader = SQSQueueReader(app.clients.sqs, source.url, retry=retry)
                total = reader.approximate_count()
                if args.max is not None:
                    total = min(total, args.max)
                with Progress(f"redriving {source.name}", total) as progress:
                    results += redrive.run(source, reader, progress)
    print(format_report(results))
    if args.dry_run:
        say("dry run: nothing was archived or deleted; every message is visible again")
    return 1 if any(result.failed for result in results) else 0


def register(commands: Any) -> None:
    redrive = add_command(
        commands,
        "redrive",
        _redrive,
        "re-run what the dead-letter queues hold; delete each message once all its records are archived",
        "Read every dead-letter queue of the configuration (the environment's, and each table's as the\n"
        "Terraform module names it: dynamo-archive-<table>-dlq) and re-run what failed through the same\n"
        "code as `archiver run`. Understood: our own letters (also those kept in the archive bucket\n"
        "because they were too large for SQS), an EventBridge rule target's dead letters, the function's\n"
        "on-failure invocation records, and the pipe's stream batch records (read back from the stream\n"
        "while it holds them, 24 hours). A message is deleted only once every record in it is archived\n"
        "or skipped as not captured; anything else stays, visible again, and the summary says why.\n"
        "Messages of any other shape are left untouched. Exit 1 if any record could not be archived.",
        parents=[aws_options()],
    )
    redrive.add_argument("--table", metavar="T", help="only this table's queue, and its messages in the shared one")
    redrive.add_argument("--max", type=bounded_int(1), metavar="N", help="take at most N messages in all")
    redrive.add_argument(
        "--dry-run", action="store_true", help="read and classify every message; archive and delete nothing"
    )
    redrive.add_argument(
        "--concurrency",
        type=bounded_int(1, 64),
        default=8,
        metavar="N",
        help="workers, each handling ten messages at a time, 1-64 (default 8)",
    )
    redrive.add_argument(
        "--visibility-timeout",
        type=bounded_int(30, 43200),
        default=300,
        metavar="S",
        help="seconds a message stays hidden while in hand; if the run dies, it comes back after this (default 300)",
    )
