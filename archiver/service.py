"""archive_batch: stream records in, one Outcome per record out, nothing lost.

Every REMOVE ends as exactly one of: ``Archived`` (in the store), ``DeadLettered`` (reported with
its reason), or ``Failed`` (neither worked: the entry point must make the platform retry it).
``Skipped`` is for what is not ours to archive: INSERT, MODIFY, and deletion kinds the table does
not capture.

This module is over 300 lines because both layouts' halves (plan, pack, put, settle) share one
record's path and one error boundary; split, each half would re-derive the other's state.

A table's layout decides what one PUT holds: one deletion (``objects``), or every deletion of the
batch in one hour (``compact``, :mod:`archiver.compact`). Outcomes stay per record either way: a
compact object's PUT settles each record it holds, and when it fails each of them is dead-lettered
with the reason, exactly as a failed ``objects`` PUT dead-letters its one record.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from archiver.archive import ArchiveObject, build_archive_object
from archiver.compact import CompactLine, CompactObject, compact_line, pack_lines
from archiver.keys import encode_key
from archiver.policy import Layout, Policies
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


@dataclass(frozen=True, slots=True)
class _Line:
    """A record bound for a compact object: its line, until the batch's lines are packed."""

    line: CompactLine
    record_id: str
    deleted_at: datetime | None


class _SharedPut:
    """One compact object's PUT, made once for every record it holds, by whichever comes first.

    The records of one object are carried out on the mapper's threads, each in its turn; the lock
    makes the others wait for that one PUT and take its result (None, or the error it raised).
    """

    def __init__(self, obj: CompactObject) -> None:
        self.obj = obj
        self._lock = threading.Lock()
        self._done = False
        self._error: Exception | None = None

    @property
    def stored(self) -> bool:
        """Whether the PUT was made, and the store took the object."""
        with self._lock:
            return self._done and self._error is None

    def result(self, store: ArchiveStore) -> Exception | None:
        with self._lock:
            if not self._done:
                try:
                    store.put(self.obj)
                except Exception as error:  # noqa: BLE001 - each record it holds is settled with it
                    self._error = error
                self._done = True
            return self._error


@dataclass(frozen=True, slots=True)
class _InObject:
    """A record held by a compact object: settled by that object's one PUT."""

    put: _SharedPut
    archived: Archived


#: What the pure half decided for one record: an outcome already (skipped), a report to send, or a
#: put (its own object, or a line of a compact object: ``_Line`` until the batch is packed).
_Plan = Skipped | DeadLetter | _Put | _Line | _InObject


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

    ``mapper`` runs the per-record I/O, results in order; the composition root passes a bounded
    thread pool's ``map`` so a batch's writes overlap, tests pass nothing and get the built-in
    ``map``. Each item it is handed carries the ``record_id`` of its record. Records whose outcome
    needs no I/O of their own (skipped, or held by a compact object that was stored) are settled
    without it: handing each to a pool thread would cost more CPU than the rest of their handling.

    A batch goes in two halves. First the pure one, for every record in turn in the caller's
    thread: parse, decide, build the archive object. Then the I/O, through ``mapper``: store, or
    report to the dead letters. Run back to back, the parsing and JSON encoding stay warm in the
    CPU's caches; interleaved with the store's I/O code in worker threads, the same work cost
    about three times the CPU (``bench/bench_handler.py``). The objects of a batch are then held
    at once, which a delivery's own size bounds (a Lambda payload is at most 6 MB).

    On a compact table the pure half ends by packing the batch's lines into one object per hour
    (``_pack``). The I/O half starts with those objects' PUTs, each carried by its first record
    through ``mapper``; every record of an object then takes its PUT's result as its own outcome
    (a failed PUT: each of them is dead-lettered, through ``mapper``).
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
        plans = [
            DeadLetter(record_id_of(raw, index), refused[index], "UnknownEnvelope", raw)
            if index in refused
            else self._plan(raw, index)
            for index, raw in enumerate(records)
        ]
        pending = [
            _pending(raw, index, plan)
            for index, (raw, plan) in enumerate(zip(records, self._pack(plans, records), strict=True))
        ]
        self._put_compact_objects(pending)
        settled = [_settled(item.plan) for item in pending]
        unsettled = [item for item, outcome in zip(pending, settled, strict=True) if outcome is None]
        carried: Iterator[Outcome] = self.mapper(self._carry_out, unsettled)
        return (outcome if outcome is not None else next(carried) for outcome in settled)

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
                    if policy.layout is Layout.COMPACT:
                        return _Line(compact_line(parsed, policy), parsed.record_id, parsed.deleted_at)
                    obj = build_archive_object(parsed, policy)
                    archived = Archived(parsed.record_id, parsed.table, parsed.encoded_key, obj.key, parsed.deleted_at)
                    return _Put(obj, archived)
        except Exception as error:  # noqa: BLE001 - a bug for one record must not lose the others
            return _internal_error(raw, index, error)

    def _pack(self, plans: list[_Plan], records: Sequence[object]) -> list[_Plan]:
        """Still pure: the batch's compact lines packed into objects, one per table and hour; each
        line's record then waits on its object's PUT, or is dead-lettered alone where packing refused it."""
        lined = [index for index, plan in enumerate(plans) if isinstance(plan, _Line)]
        if not lined:
            return plans
        lines = [plan.line for plan in plans if isinstance(plan, _Line)]
        try:
            packing = pack_lines(lines)
        except Exception as error:  # noqa: BLE001 - a bug in packing must not lose the batch
            for index in lined:
                plans[index] = _internal_error(records[index], index, error)
            return plans
        puts = [_SharedPut(obj) for obj in packing.objects]
        for index, line, place in zip(lined, lines, packing.placement, strict=True):
            plan = plans[index]
            assert isinstance(plan, _Line)
            if isinstance(place, str):
                plans[index] = DeadLetter(
                    plan.record_id, place, "DuplicateVersion", records[index], line.table, encoded_key=line.encoded_key
                )
            else:
                key = puts[place].obj.key
                archived = Archived(plan.record_id, line.table, line.encoded_key, key, plan.deleted_at)
                plans[index] = _InObject(puts[place], archived)
        return plans

    def _put_compact_objects(self, pending: list[_Pending]) -> None:
        """Each compact object's one PUT, carried by its first record; at once, through ``mapper``."""
        firsts: dict[_SharedPut, _Pending] = {}
        for item in pending:
            if isinstance(item.plan, _InObject):
                firsts.setdefault(item.plan.put, item)

        def put(item: _Pending) -> Exception | None:
            assert isinstance(item.plan, _InObject)
            return item.plan.put.result(self.store)

        for _ in self.mapper(put, list(firsts.values())):
            pass

    def _carry_out(self, pending: _Pending) -> Outcome:
        """The I/O half: store the object or send the report; whatever fails ends as a dead letter."""
        plan, raw, index = pending.plan, pending.raw, pending.index
        try:
            match plan:
                case Skipped():
                    return plan
                case DeadLetter():
                    return self._dead_letter(plan)
                case _Put():
                    return self._store(plan, raw)
                case _InObject():
                    error = plan.put.result(self.store)
                    if error is None:
                        return plan.archived
                    if isinstance(error, StoreUnavailableError | ObjectConflictError):
                        return self._dead_letter(_refused(error, plan.archived, raw, compact=True))
                    return self._dead_letter(_internal_error(raw, index, error))
                case _Line():  # packed before any I/O; never reaches here
                    raise AssertionError("a compact line was not packed")
        except Exception as error:  # noqa: BLE001 - a bug for one record must not lose the others
            return self._dead_letter(_internal_error(raw, index, error))

    def _store(self, plan: _Put, raw: object) -> Outcome:
        try:
            self.store.put(plan.obj)
        except (StoreUnavailableError, ObjectConflictError) as error:
            return self._dead_letter(_refused(error, plan.archived, raw))
        return plan.archived

    def _dead_letter(self, letter: DeadLetter) -> Outcome:
        try:
            self.dead_letters.report(letter)
        except DeadLetterUnavailableError as error:
            reason = f"{letter.reason}; and the dead-letter queue failed: {error}"
            return Failed(letter.record_id, reason, letter.table, letter.encoded_key)
        return DeadLettered(letter.record_id, letter.reason, letter.table, letter.encoded_key)


def _pending(raw: object, index: int, plan: _Plan) -> _Pending:
    match plan:
        case _Put() | _InObject():
            record_id = plan.archived.record_id
        case _:
            record_id = plan.record_id
    return _Pending(record_id, raw, index, plan)


def _settled(plan: _Plan) -> Outcome | None:
    """The outcome of a record that needs no I/O of its own (anymore), else None."""
    if isinstance(plan, Skipped):
        return plan
    if isinstance(plan, _InObject) and plan.put.stored:
        return plan.archived
    return None


def _refused(
    error: StoreUnavailableError | ObjectConflictError, archived: Archived, raw: object, *, compact: bool = False
) -> DeadLetter:
    """The letter for a record whose object the store did not take, naming the object and why."""
    if isinstance(error, StoreUnavailableError):
        reason, attempts = f"archive store unavailable: {error}", error.attempts
    elif compact:
        reason, attempts = f"compact object {error} already holds other lines", 1
    else:
        reason = (
            f"object {error} already holds another body for this deletion (delivered before with another "
            "image, or archived under other drop_attributes); the stored object is kept: compare it with "
            "this record"
        )
        attempts = 1
    return DeadLetter(
        archived.record_id,
        reason,
        type(error).__name__,
        raw,
        archived.table,
        attempts,
        archived.object_key,
        archived.encoded_key,
    )


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
