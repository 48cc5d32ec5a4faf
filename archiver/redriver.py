"""Redriver: re-run what the dead-letter queues hold through the Archiver; delete only what is archived.

Each message is read by :func:`archiver.dead_letters.classify`; a letter kept in the archive bucket
is read back first (:class:`~archiver.ports.KeptLetters`), a stream batch is read back from the
stream while it holds the records (:class:`~archiver.ports.StreamRanges`). The records go through
the Archiver the entry points use, with :class:`HeldLetters` as its sink: a record failing again
is not dead-lettered anew, its message simply stays. A message is deleted only once every record
in it is archived, or skipped as not captured; anything else stays, is made visible again at the
end of the run, and its :class:`MessageResult` says why. Messages of no known shape are left untouched.

Every message is handled inside its own error boundary: whatever one message holds (a body nested
too deep to parse, a bug of ours), it is reported and left, and the others are redriven.

A queue's run ends when it holds no message the run has not seen yet (each message is handled once
per run, even if it becomes visible again), after ``limit`` messages, or when ``stop()`` turns true.
``concurrency`` workers, run through the ``mapper``, each receive ten messages at a time, handle
them and delete the archived ones in one batch.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from archiver.dead_letters import LetterShape, ReadLetter, StreamRange, Unknown, classify, read_kept_letter
from archiver.ports import (
    ObjectNotFoundError,
    QueueUnavailableError,
    StoreUnavailableError,
    StreamRangeGoneError,
    StreamUnavailableError,
)
from archiver.redrive_results import LeftBecause, MessageResult, QueueRedrive
from archiver.service import DeadLettered, Failed, summarise

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from archiver.dead_letters import Plan
    from archiver.ports import DeadLetter, DeadLetterQueue, KeptLetters, Mapper, QueueMessage, StreamRanges
    from archiver.service import Archiver

__all__ = ["MAX_RECEIVE", "HeldLetters", "RedriveSource", "Redriver"]

#: The most messages one receive brings (SQS's limit), and so one worker's batch.
MAX_RECEIVE = 10
#: Receives that bring no unseen message, in a row, before a worker decides its queue is drained.
_IDLE_RECEIVES = 3


@dataclass(frozen=True, slots=True)
class RedriveSource:
    """One dead-letter queue to redrive: its name, the queue, and the table it belongs to (None: shared)."""

    name: str
    queue: DeadLetterQueue
    table: str | None = None


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


class _StayError(Exception):
    """A message stays in its queue: ``reason`` for the summary, the message says exactly why."""

    def __init__(self, reason: LeftBecause, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class _Budget:
    """How many more messages the run may take (``limit``), shared by the workers of every queue."""

    def __init__(self, left: int | None) -> None:
        self.left = left
        self._lock = threading.Lock()

    def claim(self, wanted: int) -> int:
        with self._lock:
            if self.left is None:
                return wanted
            granted = min(wanted, self.left)
            self.left -= granted
            return granted

    def give_back(self, count: int) -> None:
        with self._lock:
            if self.left is not None:
                self.left += count


class Redriver:
    """Redrives queues, one after the other, each with ``concurrency`` workers.

    Args:
        archiver: the Archiver to re-run records through (its sink should be :class:`HeldLetters`).
        letters: where letters too large for their queue are kept.
        ranges: the tables' streams, for batches reported by their positions.
        mapper: runs the workers (a thread pool's ``map`` in the CLI; ``map`` runs them one by one).
        table: only this table's messages are taken from a shared queue.
        dry_run: classify and read; archive and delete nothing.
        limit: the most messages to take in all.
        visibility_timeout: seconds a received message stays hidden (a crashed run's messages come
            back after this); messages left are made visible at the end of the run.
        wait_seconds: the long poll of each receive.
        stop: once true, workers take no further messages.
    """

    def __init__(
        self,
        archiver: Archiver,
        *,
        letters: KeptLetters,
        ranges: StreamRanges,
        mapper: Mapper = map,
        table: str | None = None,
        dry_run: bool = False,
        limit: int | None = None,
        concurrency: int = 8,
        visibility_timeout: int = 300,
        wait_seconds: int = 1,
        stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self._archiver = archiver
        self._letters = letters
        self._ranges = ranges
        self._mapper = mapper
        self._table = table
        self._dry_run = dry_run
        self._budget = _Budget(limit)
        self._concurrency = concurrency
        self._visibility = visibility_timeout
        self._wait = wait_seconds
        self._stop = stop

    def run(self, source: RedriveSource, on_handled: Callable[[int], None] = lambda _: None) -> QueueRedrive:
        """Every message of ``source`` not yet seen in this run, handled; those left made visible again.

        A queue that keeps failing ends its run early: the results so far are kept, and ``error`` says why.
        """
        run = _QueueRun(source, on_handled)
        try:
            for _ in self._mapper(self._work, [run] * self._concurrency):
                pass
        finally:  # even when the run ended early: what is left must not stay hidden
            still_hidden = run.release_left()
        return QueueRedrive(tuple(run.results), still_hidden, run.error)

    def _work(self, run: _QueueRun) -> None:
        """One worker: receive up to ten, handle the unseen ones, delete those done; until drained."""
        idle = 0
        try:
            while not self._stop() and run.error is None and idle < _IDLE_RECEIVES:
                granted = self._budget.claim(MAX_RECEIVE)
                if granted == 0:
                    return
                messages = run.source.queue.receive(
                    granted, visibility_timeout=self._visibility, wait_seconds=self._wait
                )
                fresh = run.fresh(messages)
                self._budget.give_back(granted - len(fresh))
                if not messages:
                    return
                if not fresh:  # only messages this run has handled (the receive hid them again)
                    idle += 1
                    continue
                idle = 0
                run.finish([self.handle(run.source, message) for message in fresh])
        except QueueUnavailableError as error:
            run.error = f"{run.source.name}: {error}"

    def handle(self, source: RedriveSource, message: QueueMessage) -> MessageResult:
        """One message, inside its own error boundary: what it holds, re-run; whether it may be deleted."""
        result = MessageResult(source.name, message.message_id, LetterShape.UNKNOWN)
        try:
            plan: Plan = classify(message.body, message.attributes)
            result = replace(result, shape=plan.shape)
            self._check_table(source, plan)
            records = self._records(plan)
            result = replace(result, records=len(records))
            if self._dry_run:
                raise _StayError(LeftBecause.DRY_RUN, f"would re-run {len(records)} record(s)")
            return self._rerun(records, result)
        except _StayError as stay:
            return replace(result, left=stay.reason, detail=str(stay))
        except Exception as error:  # noqa: BLE001 - whatever one message holds must not stop the others
            return replace(result, left=LeftBecause.INTERNAL_ERROR, detail=f"{type(error).__name__}: {error}")

    def _check_table(self, source: RedriveSource, plan: Plan) -> None:
        if self._table is None or source.table is not None or (isinstance(plan, Unknown) and plan.foreign):
            return
        if self._table not in plan.tables:
            named = ", ".join(sorted(plan.tables)) or "no table"
            raise _StayError(LeftBecause.OTHER_TABLE, f"about {named}, not {self._table}")

    def _records(self, plan: Plan) -> Sequence[object]:
        if isinstance(plan, ReadLetter):
            return self._kept_letter(plan)
        if isinstance(plan, StreamRange):
            return self._stream_range(plan)
        if isinstance(plan, Unknown):
            raise _StayError(LeftBecause.UNKNOWN_SHAPE if plan.foreign else LeftBecause.NOT_REDRIVABLE, plan.reason)
        return plan.records

    def _kept_letter(self, plan: ReadLetter) -> Sequence[object]:
        where = f"s3://{plan.bucket}/{plan.key}"
        try:
            content = self._letters.read(plan.bucket, plan.key)
        except ObjectNotFoundError:
            raise _StayError(LeftBecause.LETTER_NOT_READ, f"{where} is not there (expired, or deleted)") from None
        except StoreUnavailableError as error:
            raise _StayError(LeftBecause.LETTER_NOT_READ, f"{where}: {error}") from None
        read = read_kept_letter(content, plan.sha256)
        if isinstance(read, Unknown):
            raise _StayError(LeftBecause.NOT_REDRIVABLE, f"{where}: {read.reason}")
        return read.records

    def _stream_range(self, plan: StreamRange) -> Sequence[object]:
        try:
            records = self._ranges.read(plan)
        except StreamRangeGoneError as error:
            raise _StayError(LeftBecause.BEYOND_RETENTION, f"{plan.describe()}: {error}") from None
        except StreamUnavailableError as error:
            raise _StayError(LeftBecause.STREAM_NOT_READ, f"{plan.describe()}: {error}") from None
        return [record for record in records if record.get("eventName") == "REMOVE"]

    def _rerun(self, records: Sequence[object], result: MessageResult) -> MessageResult:
        outcomes = self._archiver.archive(records)
        result = replace(result, archived=summarise(outcomes)["archived"])
        missed = [outcome for outcome in outcomes if isinstance(outcome, DeadLettered | Failed)]
        if missed:
            first = missed[0]
            detail = f"{len(missed)} of {len(records)} record(s), e.g. {first.record_id}: {first.reason}"
            raise _StayError(LeftBecause.NOT_ARCHIVED, detail)
        return result


class _QueueRun:
    """The shared state of one queue's workers: what was seen, the newest handles, the results."""

    def __init__(self, source: RedriveSource, on_handled: Callable[[int], None]) -> None:
        self.source = source
        self.on_handled = on_handled
        self.results: list[MessageResult] = []
        self.error: str | None = None
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
        """Delete the messages done (with their newest handles); record every result, deleted or not.

        Raises:
            QueueUnavailableError: the delete failed for good (the results are recorded first).
        """
        done = [result for result in results if result.left is None]
        with self._lock:
            latest = [self._handles[result.message_id] for result in done]
        try:
            refused = self.source.queue.delete(latest) if latest else {}
        except QueueUnavailableError as error:
            self._record(results, {result.message_id: str(error) for result in done})
            raise
        self._record(results, refused)

    def _record(self, results: list[MessageResult], refused: dict[str, str]) -> None:
        finished = [self._deleted(result, refused) if result.left is None else result for result in results]
        with self._lock:
            self.results.extend(finished)
        self.on_handled(len(finished))

    @staticmethod
    def _deleted(result: MessageResult, refused: dict[str, str]) -> MessageResult:
        if result.message_id in refused:
            why = refused[result.message_id]
            return replace(result, left=LeftBecause.NOT_DELETED, detail=f"archived, but the queue kept it: {why}")
        return replace(result, deleted=True)

    def release_left(self) -> dict[str, str]:
        """Make every message this run left (or saw again) visible now; id -> why, for those still hidden."""
        with self._lock:
            deleted = {result.message_id for result in self.results if result.deleted}
            left = [message for id_, message in self._handles.items() if id_ not in deleted]
        if not left:
            return {}
        try:
            return self.source.queue.release(left)
        except QueueUnavailableError as error:
            return {message.message_id: str(error) for message in left}
