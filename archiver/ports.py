"""The ports: what the core needs from the outside world, named for the role, not the technology.

Adapters (``adapters/``) and fakes (``tests/fakes.py``) satisfy these structurally; mypy checks it
where they are passed in. Methods take and return core values and raise only the errors below,
into which adapters translate whatever their SDK raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from archiver.archive import ArchiveObject
    from archiver.compact import CompactObject

__all__ = [
    "ArchiveStore",
    "DeadLetter",
    "DeadLetterSink",
    "DeadLetterUnavailableError",
    "ItemWriteError",
    "ItemWriter",
    "ObjectConflictError",
    "ObjectNotFoundError",
    "StoreUnavailableError",
]


class StoreUnavailableError(Exception):
    """The store could not be written or read, after the adapter's own retries."""

    def __init__(self, message: str, *, attempts: int = 1) -> None:
        super().__init__(message)
        self.attempts = attempts


class ObjectNotFoundError(LookupError):
    """No object has this key: the store answered, and it is not there (not an outage)."""


class ObjectConflictError(Exception):
    """An object with this key exists with other content: two deletions mapped to one key."""


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
            ObjectConflictError: the key holds other content (only stores that can tell).
        """

    def list_keys(self, prefix: str, start_after: str = "") -> Iterator[str]:
        """Every object key under ``prefix`` (and after ``start_after``, where given), in ascending order."""

    def get(self, key: str) -> bytes:
        """The body of one object.

        Raises:
            ObjectNotFoundError: no object has this key.
            StoreUnavailableError: it could not be read.
        """


class DeadLetterSink(Protocol):
    """Where records that could not be archived are reported, with the reason, to be redriven."""

    def report(self, letter: DeadLetter) -> None:
        """Raises DeadLetterUnavailableError when the report could not be delivered."""


class ItemWriteError(Exception):
    """An item could not be written to (or read from) a table, after the adapter's own retries."""


class ItemWriter(Protocol):
    """Where restored items go: a table that takes an item only where no item has its key."""

    def put_if_absent(self, table: str, item: Mapping[str, Any], key: Mapping[str, Mapping[str, str]]) -> bool:
        """Write ``item`` (wire DynamoDB JSON) unless an item with ``key`` exists; True if written.

        Raises:
            ItemWriteError: it could not be written (throttled past the retries, rejected ...).
        """

    def exists(self, table: str, key: Mapping[str, Mapping[str, str]]) -> bool:
        """Whether an item with ``key`` is in ``table`` now.

        Raises:
            ItemWriteError: the table could not be read.
        """
