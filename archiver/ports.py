"""The ports: what the core needs from the outside world, named for the role, not the technology.

Adapters (``adapters/``) and fakes (``tests/fakes.py``) satisfy these structurally; mypy checks it
where they are passed in. Methods take and return core values and raise only the errors below,
into which adapters translate whatever their SDK raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

    from archiver.archive import ArchiveObject
    from archiver.compact import CompactObject
    from archiver.dead_letters import StreamRange
    from archiver.listing import ArchiveName

__all__ = [
    "ArchiveBodies",
    "ArchiveStore",
    "DeadLetter",
    "DeadLetterQueue",
    "DeadLetterSink",
    "DeadLetterUnavailableError",
    "ItemTable",
    "ItemTableError",
    "KeptLetters",
    "Mapper",
    "ObjectConflictError",
    "ObjectNotFoundError",
    "QueueMessage",
    "QueueUnavailableError",
    "StoreUnavailableError",
    "StreamRangeGoneError",
    "StreamRanges",
    "StreamUnavailableError",
    "TableNotFoundError",
]

T = TypeVar("T")
R = TypeVar("R")


class Mapper(Protocol):
    """How a service runs one function over many items: ``fn`` on each, the results in input order.

    The built-in ``map`` (one at a time, what tests pass) and a thread pool's ``map`` (what the
    entry points pass, so the items' I/O overlaps) both are one. The core never starts a thread.
    """

    def __call__(self, fn: Callable[[T], R], items: Iterable[T], /) -> Iterator[R]: ...


class StoreUnavailableError(Exception):
    """The store could not be written or read, after the adapter's own retries."""

    def __init__(self, message: str, *, attempts: int = 1) -> None:
        super().__init__(message)
        self.attempts = attempts


class ObjectNotFoundError(LookupError):
    """No object has this key: the store answered, and it is not there (not an outage)."""


class ObjectConflictError(Exception):
    """An object with this key exists with other content: the same deletion version delivered with
    another body (an altered record, or other drop_attributes). The message is the object key."""


class DeadLetterUnavailableError(Exception):
    """The dead-letter sink could not take the report, after the adapter's own retries."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record the archive could not take, with why; enough to redrive it later."""

    record_id: str
    reason: str
    error: str  # the error class, e.g. "Unreadable" or "StoreUnavailableError"
    record: object  # the record (or whole event) as received
    table: str | None = None
    attempts: int = 1
    #: Where the record was headed when the store refused it; None where it never got that far.
    object_key: str | None = None
    encoded_key: str | None = None


class ArchiveStore(Protocol):
    """Where archive objects live. Writing an identical object twice is a success."""

    def put(self, obj: ArchiveObject | CompactObject) -> None:
        """Store ``obj`` (one deletion, or a compact layout's batch of lines) unless its key exists; never overwrite.

        Raises:
            StoreUnavailableError: it could not be written.
            ObjectConflictError: the key holds other content (the same content is a success).
        """

    def list_keys(self, prefix: str, start_after: str = "") -> Iterator[str]:
        """Every object key under ``prefix`` (and after ``start_after``, where given), in ascending order."""

    def get(self, key: str) -> bytes:
        """The body of one object.

        Raises:
            ObjectNotFoundError: no object has this key.
            StoreUnavailableError: it could not be read.
        """


class ArchiveBodies(Protocol):
    """Where the body of one archived version is read from, once a listing has named it.

    For the ``objects`` layout that is the version's own object (a GET); for the ``compact`` layout,
    the line of a compact object that the listing read already, so nothing is fetched twice.
    """

    def body(self, name: ArchiveName) -> bytes:
        """The archive body of ``name`` (UTF-8 JSON; a compact line also says its ``version``).

        Raises:
            ObjectNotFoundError: there is no such version.
            StoreUnavailableError: it could not be read.
        """


class DeadLetterSink(Protocol):
    """Where records that could not be archived are reported, with the reason, to be redriven."""

    def report(self, letter: DeadLetter) -> None:
        """Raises DeadLetterUnavailableError when the report could not be delivered."""


class ItemTableError(Exception):
    """An item could not be written to (or read from) a table, after the adapter's own retries."""


class TableNotFoundError(LookupError):
    """The table to restore into does not exist (in this region, at this endpoint)."""


class ItemTable(Protocol):
    """Where restored items go: a table that takes an item only where no item has its key."""

    def key_schema(self, table: str) -> Mapping[str, str]:
        """The table's key attributes, name -> type (S, N or B): what every item put must carry.

        Raises:
            TableNotFoundError: there is no such table.
            ItemTableError: it could not be described.
        """

    def put_if_absent(self, table: str, item: Mapping[str, Any], key: Mapping[str, Mapping[str, str]]) -> bool:
        """Write ``item`` (wire DynamoDB JSON) unless an item with ``key`` exists; True if written.

        Raises:
            ItemTableError: it could not be written (throttled past the retries, rejected ...).
        """

    def exists(self, table: str, key: Mapping[str, Mapping[str, str]]) -> bool:
        """Whether an item with ``key`` is in ``table`` now.

        Raises:
            ItemTableError: the table could not be read.
        """


class QueueUnavailableError(Exception):
    """A dead-letter queue could not be read or changed, after the adapter's own retries."""


@dataclass(frozen=True, slots=True)
class QueueMessage:
    """One received message: its id, the handle it is deleted by, its body and its string attributes."""

    message_id: str
    receipt_handle: str
    body: str
    attributes: Mapping[str, str] = field(default_factory=dict)


class DeadLetterQueue(Protocol):
    """A queue of messages about deletions not archived, as a redrive works through it.

    A message is deleted with the handle of its latest receive: a queue may accept an older handle
    and still keep the message.
    """

    def receive(self, count: int, *, visibility_timeout: int, wait_seconds: int) -> list[QueueMessage]:
        """Up to ``count`` (at most 10) visible messages, hidden from others for ``visibility_timeout`` s.

        Raises:
            QueueUnavailableError: the queue could not be read.
        """

    def delete(self, messages: Sequence[QueueMessage]) -> dict[str, str]:
        """Delete ``messages``; message id -> why, for each one the queue kept.

        Raises:
            QueueUnavailableError: the queue could not be reached at all.
        """

    def release(self, messages: Sequence[QueueMessage]) -> dict[str, str]:
        """Make ``messages`` visible again now; message id -> why, for each one still hidden.

        Raises:
            QueueUnavailableError: the queue could not be reached at all.
        """


class StreamRangeGoneError(Exception):
    """The stream no longer holds the range: past its retention (24 h), or the shard or stream is gone."""


class StreamUnavailableError(Exception):
    """The range could not be read to its end now, after the adapter's own retries; a later try may."""


class StreamRanges(Protocol):
    """A table's stream, read back by position: how a failed batch reported only by its range returns."""

    def read(self, stream_range: StreamRange) -> list[dict[str, Any]]:
        """Every record from the range's first sequence number to its last, both included, as wire JSON.

        Raises:
            StreamRangeGoneError: the stream no longer holds the range.
            StreamUnavailableError: it could not be read now.
        """


class KeptLetters(Protocol):
    """Where a dead letter too large for its queue is kept whole (the archive bucket), read back by place."""

    def read(self, bucket: str, key: str) -> bytes:
        """The letter's bytes.

        Raises:
            ObjectNotFoundError: it is not there (expired, or deleted).
            StoreUnavailableError: it could not be read.
        """
