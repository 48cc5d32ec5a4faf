"""In-memory fakes of the core's ports: honest (same contract as the real adapters), and recording.

``tests/integration/test_store_contract.py`` runs the same checks on these and on the boto3
adapters, so a fake cannot drift into promising what S3 or SQS would not do.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from archiver.keys import encode_key
from archiver.ports import (
    DeadLetterUnavailableError,
    ItemWriteError,
    ObjectConflictError,
    ObjectNotFoundError,
    StoreUnavailableError,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from archiver.archive import ArchiveObject
    from archiver.compact import CompactObject
    from archiver.ports import DeadLetter


class FakeArchiveStore:
    """In-memory ArchiveStore; ``fail_next`` makes the next n puts raise StoreUnavailableError."""

    def __init__(self, fail_next: int = 0) -> None:
        self.objects: dict[str, bytes] = {}
        self.fail_next = fail_next
        self.puts = 0
        self.lists = 0
        self.kinds: dict[str, str] = {}
        self._lock = threading.Lock()

    def put(self, obj: ArchiveObject | CompactObject) -> None:
        with self._lock:
            self.puts += 1
            if self.fail_next:
                self.fail_next -= 1
                raise StoreUnavailableError("injected failure", attempts=3)
            if self.objects.setdefault(obj.key, obj.body) != obj.body:
                raise ObjectConflictError(obj.key)
            kind = getattr(obj, "kind", None)  # a compact object mixes kinds: S3 records none either
            if kind is not None:
                self.kinds[obj.key] = kind

    def list_keys(self, prefix: str, start_after: str = "") -> Iterator[str]:
        with self._lock:
            found = sorted(k for k in self.objects if k.startswith(prefix) and k > start_after)
            self.lists += 1
        yield from found

    def get(self, key: str) -> bytes:
        if key not in self.objects:
            raise ObjectNotFoundError(key)
        return self.objects[key]

    def deletion_kind(self, key: str) -> str | None:
        """What S3ArchiveStore reads from the object's metadata (the fake keeps it beside the body)."""
        if key not in self.objects:
            raise ObjectNotFoundError(key)
        return self.kinds.get(key)


class FakeDeadLetterSink:
    """In-memory DeadLetterSink; ``broken`` makes every report raise DeadLetterUnavailableError."""

    def __init__(self, broken: bool = False) -> None:
        self.letters: list[DeadLetter] = []
        self.broken = broken
        self._lock = threading.Lock()

    def report(self, letter: DeadLetter) -> None:
        if self.broken:
            raise DeadLetterUnavailableError("injected failure")
        with self._lock:
            self.letters.append(letter)


class FakeItemWriter:
    """In-memory ItemWriter: ``tables[table][encoded key] = item``; a put never overwrites.

    ``fail_next`` makes the next n puts raise ItemWriteError (as after the adapter's retries);
    ``puts`` counts every put that wrote, per table.
    """

    def __init__(self, fail_next: int = 0) -> None:
        self.tables: dict[str, dict[str, Mapping[str, Any]]] = {}
        self.fail_next = fail_next
        self.writes = 0
        self._lock = threading.Lock()

    def put_if_absent(self, table: str, item: Mapping[str, Any], key: Mapping[str, Mapping[str, str]]) -> bool:
        with self._lock:
            if self.fail_next:
                self.fail_next -= 1
                raise ItemWriteError("injected failure: dynamodb:PutItem failed after 5 attempts")
            items = self.tables.setdefault(table, {})
            encoded = encode_key(key)
            if encoded in items:
                return False
            items[encoded] = dict(item)
            self.writes += 1
            return True

    def exists(self, table: str, key: Mapping[str, Mapping[str, str]]) -> bool:
        return encode_key(key) in self.tables.get(table, {})
