"""archive_batch: stream records in, one Outcome per record out, nothing lost.

Every REMOVE ends as exactly one of: ``Archived`` (in the store), ``DeadLettered`` (reported with
its reason), or ``Failed`` (neither worked: the entry point must make the platform retry it).
``Skipped`` is for what is not ours to archive: INSERT, MODIFY, and deletion kinds the table does
not capture.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from archiver.archive import ArchiveObject, build_archive_object
from archiver.keys import encode_key
from archiver.policy import Policies
from archiver.ports import (
    ArchiveStore,
    DeadLetter,
    DeadLetterSink,
    DeadLetterUnavailableError,
    ObjectConflictError,
    StoreUnavailableError,
)
from archiver.records import DeletedItem, NotADeletion, Unreadable, read_record, record_id_of

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence
    from datetime import datetime

    from archiver.ports import Mapper

__all__ = ["OUTCOME_NAMES", "Archived", "Archiver", "DeadLettered", "Failed", "Outcome", "Skipped", "summarise"]


@dataclass(frozen=True, slots=True)
class Archived:
    record_id: str
    table: str
    encoded_key: str
    object_key: str
    #: When the deletion happened (the record's ApproximateCreationDateTime), so an adapter can
    #: measure how long archiving it took; None where the record carries no time.
    deleted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Skipped:
    record_id: str
    reason: str
    table: str | None = None
    encoded_key: str | None = None  # where the record's key was read (never for INSERT or MODIFY)


@dataclass(frozen=True, slots=True)
class DeadLettered:
    record_id: str
    reason: str
    table: str | None = None
    encoded_key: str | None = None  # where the record's key was read (never for INSERT or MODIFY)


@dataclass(frozen=True, slots=True)
class Failed:
    record_id: str
    reason: str
    table: str | None = None
    encoded_key: str | None = None  # where the record's key was read (never for INSERT or MODIFY)


Outcome = Archived | Skipped | DeadLettered | Failed


#: Every outcome's name, in the order counts, logs and summaries list them.
OUTCOME_NAMES = ("archived", "skipped", "dead_lettered", "failed")


def summarise(outcomes: Iterable[Outcome]) -> dict[str, int]:
    """Counts per outcome, every outcome named even at zero: the one place outcomes are counted
    (logs, metrics, the local pipe's tally and the redrive all read these)."""
    counts = dict.fromkeys(OUTCOME_NAMES, 0)
    for outcome in outcomes:
        match outcome:
            case Archived():
                counts["archived"] += 1
            case Skipped():
                counts["skipped"] += 1
            case DeadLettered():
                counts["dead_lettered"] += 1
            case Failed():
                counts["failed"] += 1
    return counts


@dataclass(frozen=True, slots=True)
class _Put:
    """A record ready to store: its object, and the outcome once the store took it."""

    obj: ArchiveObject
    archived: Archived


#: What the pure half decided for one record: an outcome already (skipped), a report to send, or a put.
_Plan = Skipped | DeadLetter | _Put


@dataclass(frozen=True, slots=True)
class _Pending:
    """One record between the two halves; ``record_id`` is public so a mapper can name the record in its logs."""

    record_id: str
    raw: object
    index: int
    plan: _Plan


@dataclass(frozen=True)
class Archiver:
    """The application service: wires the decisions to the ports.

    ``mapper`` runs the per-record I/O; the composition root passes a bounded thread pool's
    ``map`` so a batch's writes overlap, tests pass nothing and get the built-in ``map``. Each item
    it is handed carries the ``record_id`` of its record.

    A batch goes in two halves. First the pure one, for every record in turn in the caller's
    thread: parse, decide, build the archive object. Then the I/O, through ``mapper``: store, or
    report to the dead letters. Run back to back, the parsing and JSON encoding stay warm in the
    CPU's caches; interleaved with the store's I/O code in worker threads, the same work cost
    about three times the CPU (``bench/bench_handler.py``). The objects of a batch are then held
    at once, which a delivery's own size bounds (a Lambda payload is at most 6 MB).
    """

    store: ArchiveStore
    dead_letters: DeadLetterSink
    policies: Policies = field(default_factory=Policies)
    mapper: Mapper = map

    def archive(self, records: Sequence[object], refused: Mapping[int, str] | None = None) -> list[Outcome]:
        """One outcome per record, in the order given."""
        return list(self.archive_each(records, refused))

    def archive_each(self, records: Sequence[object], refused: Mapping[int, str] | None = None) -> Iterator[Outcome]:
        """One outcome per record, in the order given, each as soon as it and those before it are
        settled: the caller can tell when each record was archived without the core reading a clock.

        ``refused`` (a delivery's, by place in ``records``) names elements that are no stream record
        at all, and why: each is dead-lettered alone, as an event to read again, with that reason.
        """
        refused = refused or {}
        pending = [self._pending(raw, index, refused.get(index)) for index, raw in enumerate(records)]
        return self.mapper(self._carry_out, pending)

    def dead_letter_event(self, event: object, reason: str) -> Outcome:
        """Report a whole event that holds no records we can read (an unknown envelope)."""
        return self._dead_letter(DeadLetter("event", reason, "UnknownEnvelope", event))

    def _plan(self, raw: object, index: int) -> _Plan:
        """The pure half: what to do with one record. No port is called."""
        try:
            parsed = read_record(raw, self.policies, index)
            match parsed:
                case NotADeletion(record_id, event_name, table):
                    return Skipped(record_id, f"{event_name} is not a deletion", table)
                case Unreadable(record_id, reason, table):
                    return DeadLetter(record_id, reason, "Unreadable", raw, table, encoded_key=_readable_key(raw))
                case DeletedItem():
                    policy = self.policies.for_table(parsed.table)
                    if parsed.kind not in policy.capture:
                        reason = f"{parsed.kind} deletion not captured for {parsed.table}"
                        return Skipped(parsed.record_id, reason, parsed.table, parsed.encoded_key)
                    obj = build_archive_object(parsed, policy)
                    archived = Archived(parsed.record_id, parsed.table, parsed.encoded_key, obj.key, parsed.deleted_at)
                    return _Put(obj, archived)
        except Exception as error:  # noqa: BLE001 - a bug for one record must not lose the others
            return _internal_error(raw, index, error)

    def _pending(self, raw: object, index: int, refused: str | None = None) -> _Pending:
        plan: _Plan
        if refused is not None:
            plan = DeadLetter(record_id_of(raw, index), refused, "UnknownEnvelope", raw)
        else:
            plan = self._plan(raw, index)
        record_id = plan.archived.record_id if isinstance(plan, _Put) else plan.record_id
        return _Pending(record_id, raw, index, plan)

    def _carry_out(self, pending: _Pending) -> Outcome:
        """The I/O half: store the object or send the report; whatever fails ends as a dead letter."""
        plan, raw = pending.plan, pending.raw
        try:
            match plan:
                case Skipped():
                    return plan
                case DeadLetter():
                    return self._dead_letter(plan)
                case _Put():
                    return self._store(plan, raw)
        except Exception as error:  # noqa: BLE001 - a bug for one record must not lose the others
            return self._dead_letter(_internal_error(raw, pending.index, error))

    def _store(self, plan: _Put, raw: object) -> Outcome:
        obj, archived = plan.obj, plan.archived
        try:
            self.store.put(obj)
        except (StoreUnavailableError, ObjectConflictError) as error:
            if isinstance(error, StoreUnavailableError):
                reason, attempts = f"archive store unavailable: {error}", error.attempts
            else:
                reason = (
                    f"object {error} already holds another body for this deletion (delivered before with another "
                    "image, or archived under other drop_attributes); the stored object is kept: compare it with "
                    "this record"
                )
                attempts = 1
            letter = DeadLetter(
                archived.record_id,
                reason,
                type(error).__name__,
                raw,
                archived.table,
                attempts,
                obj.key,
                archived.encoded_key,
            )
            return self._dead_letter(letter)
        return archived

    def _dead_letter(self, letter: DeadLetter) -> Outcome:
        try:
            self.dead_letters.report(letter)
        except DeadLetterUnavailableError as error:
            reason = f"{letter.reason}; and the dead-letter queue failed: {error}"
            return Failed(letter.record_id, reason, letter.table, letter.encoded_key)
        return DeadLettered(letter.record_id, letter.reason, letter.table, letter.encoded_key)


def _internal_error(raw: object, index: int, error: Exception) -> DeadLetter:
    reason = f"internal error while archiving: {type(error).__name__}: {error}"
    return DeadLetter(record_id_of(raw, index), reason, type(error).__name__, raw, encoded_key=_readable_key(raw))


def _readable_key(raw: object) -> str | None:
    """The encoded key of a record that could not be archived, where its Keys can be read: the logs
    and the letter name the key, so the deletion can be found again. None where they cannot."""
    dynamodb = raw.get("dynamodb") if isinstance(raw, Mapping) else None
    keys = dynamodb.get("Keys") if isinstance(dynamodb, Mapping) else None
    if not isinstance(keys, Mapping):
        return None
    try:
        return encode_key(keys)
    except (ValueError, TypeError, AttributeError):
        return None
