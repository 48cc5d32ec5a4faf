"""In-memory fakes of the core's ports: honest (same contract as the real adapters), and recording.

``tests/integration/test_store_contract.py`` runs the same checks on these and on the boto3
adapters, so a fake cannot drift into promising what S3 or SQS would not do.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from archiver.ports import DeadLetterUnavailableError, ObjectConflictError, ObjectNotFoundError, StoreUnavailableError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from archiver.archive import ArchiveObject
    from archiver.ports import DeadLetter


class FakeArchiveStore:
    """In-memory ArchiveStore; ``fail_next`` makes the next n puts raise StoreUnavailableError."""

    def __init__(self, fail_next: int = 0) -> None:
        self.objects: dict[str, bytes] = {}
        self.fail_next = fail_next
        self.puts = 0
        self._lock = threading.Lock()

    def put(self, obj: ArchiveObject) -> None:
        with self._lock:
            self.puts += 1
            if self.fail_next:
                self.fail_next -= 1
                raise StoreUnavailableError("injected failure", attempts=3)
            if self.objects.setdefault(obj.key, obj.body) != obj.body:
                raise ObjectConflictError(obj.key)

    def list_keys(self, prefix: str) -> Iterator[str]:
        yield from sorted(k for k in self.objects if k.startswith(prefix))

    def get(self, key: str) -> bytes:
        if key not in self.objects:
            raise ObjectNotFoundError(key)
        return self.objects[key]


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
