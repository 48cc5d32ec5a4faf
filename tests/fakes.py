"""In-memory fakes of the core's ports: honest (same contract as the real adapters), and recording.

``tests/integration/test_store_contract.py`` runs the same checks on these and on the boto3
adapters, so a fake cannot drift into promising what S3 or SQS would not do.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import TYPE_CHECKING, Any

from archiver.item_size import MAX_ITEM_BYTES, item_size
from archiver.keys import encode_key
from archiver.ports import (
    DeadLetterUnavailableError,
    ItemTableError,
    ObjectConflictError,
    ObjectNotFoundError,
    QueueMessage,
    QueueUnavailableError,
    StoreUnavailableError,
    StreamRangeGoneError,
    StreamUnavailableError,
    TableNotFoundError,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

    from archiver.archive import ArchiveObject
    from archiver.compact import CompactObject
    from archiver.dead_letters import StreamRange
    from archiver.ports import DeadLetter


class FakeArchiveStore:
    """In-memory ArchiveStore; ``fail_next`` makes the next n puts raise StoreUnavailableError."""

    def __init__(self, fail_next: int = 0) -> None:
        self.objects: dict[str, bytes] = {}
        self.fail_next = fail_next
        self.puts = 0
        self.lists = 0
        self.gets = 0
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
        with self._lock:
            self.gets += 1
        if key not in self.objects:
            raise ObjectNotFoundError(key)
        return self.objects[key]

    def read_streamed(self, key: str, consume: Callable[[Iterator[bytes]], Any], chunk_size: int = 7) -> Any:
        """``consume`` of the body in ``chunk_size`` pieces (small: a reader must join what it is cut into)."""
        body = self.get(key)
        return consume(iter([body[i : i + chunk_size] for i in range(0, len(body), chunk_size)]))

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


class FakeItemTable:
    """In-memory ItemTable: ``tables[table][encoded key] = item``; a put never overwrites.

    ``key_schemas[table]`` is a table's key (name -> type); a table not named there does not exist.
    A put refuses, as DynamoDB does, an item over 400 KB or one that lacks an attribute of the key.
    ``fail_next`` makes the next n puts raise ItemTableError (as after the adapter's retries);
    ``writes`` counts every put that wrote.
    """

    def __init__(self, fail_next: int = 0, key_schemas: dict[str, dict[str, str]] | None = None) -> None:
        self.tables: dict[str, dict[str, Mapping[str, Any]]] = {}
        self.key_schemas = key_schemas if key_schemas is not None else {"orders": {"PK": "S", "SK": "S"}}
        self.fail_next = fail_next
        self.writes = 0
        self._lock = threading.Lock()

    def key_schema(self, table: str) -> Mapping[str, str]:
        if table not in self.key_schemas:
            raise TableNotFoundError(f"table {table!r} does not exist")
        return self.key_schemas[table]

    def put_if_absent(self, table: str, item: Mapping[str, Any], key: Mapping[str, Mapping[str, str]]) -> bool:
        with self._lock:
            if self.fail_next:
                self.fail_next -= 1
                raise ItemTableError("injected failure: dynamodb:PutItem failed after 5 attempts")
            if item_size(item) > MAX_ITEM_BYTES:
                raise ItemTableError("ValidationException: Item size has exceeded the maximum allowed size")
            if any(name not in item for name in self.key_schemas.get(table, {})):
                raise ItemTableError("ValidationException: One or more parameter values were invalid")
            items = self.tables.setdefault(table, {})
            encoded = encode_key(key)
            if encoded in items:
                return False
            items[encoded] = dict(item)
            self.writes += 1
            return True

    def exists(self, table: str, key: Mapping[str, Mapping[str, str]]) -> bool:
        return encode_key(key) in self.tables.get(table, {})


class FakeDeadLetterQueue:
    """In-memory DeadLetterQueue with SQS's visibility rules, on a clock a test may drive.

    A receive hides each message for its visibility timeout and hands out a new receipt handle; a
    delete or release with anything but the newest handle is accepted and does nothing (SQS may do
    just that). ``fail_receives`` makes the next n receives raise QueueUnavailableError;
    ``refuse_deletes`` names message ids whose delete the queue refuses. ``deleted`` records the ids
    deleted, in order.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.messages: dict[str, tuple[str, dict[str, str]]] = {}  # id -> (body, attributes)
        self.deleted: list[str] = []
        self.receives = 0
        self.fail_receives = 0
        self.refuse_deletes: set[str] = set()
        self._hidden_until: dict[str, float] = {}
        self._handles: dict[str, str] = {}
        self._ids = itertools.count(1)
        self._clock = clock
        self._lock = threading.Lock()

    def send(self, body: str, attributes: Mapping[str, str] | None = None) -> str:
        """Put a message in the queue (as a sender would); its id."""
        with self._lock:
            message_id = f"m-{next(self._ids)}"
            self.messages[message_id] = (body, dict(attributes or {}))
        return message_id

    def receive(self, count: int, *, visibility_timeout: int, wait_seconds: int) -> list[QueueMessage]:
        with self._lock:
            self.receives += 1
            if self.fail_receives:
                self.fail_receives -= 1
                raise QueueUnavailableError("injected failure: sqs:ReceiveMessage failed after 5 attempts")
            now = self._clock()
            visible = [i for i in self.messages if self._hidden_until.get(i, now) <= now][: max(1, min(10, count))]
            received = []
            for message_id in visible:
                self._hidden_until[message_id] = now + visibility_timeout
                handle = self._handles[message_id] = f"{message_id}/{next(self._ids)}"
                body, attributes = self.messages[message_id]
                received.append(QueueMessage(message_id, handle, body, dict(attributes)))
            return received

    def delete(self, messages: Sequence[QueueMessage]) -> dict[str, str]:
        refused = {}
        with self._lock:
            for message in messages:
                if message.message_id in self.refuse_deletes:
                    refused[message.message_id] = "InternalError: injected"
                elif self._handles.get(message.message_id) == message.receipt_handle:
                    self.messages.pop(message.message_id, None)
                    self.deleted.append(message.message_id)
        return refused

    def release(self, messages: Sequence[QueueMessage]) -> dict[str, str]:
        with self._lock:
            for message in messages:
                if self._handles.get(message.message_id) == message.receipt_handle:
                    self._hidden_until.pop(message.message_id, None)
        return {}

    def visible(self) -> list[str]:
        """The bodies a receive would bring now (without receiving them)."""
        now = self._clock()
        with self._lock:
            return [body for i, (body, _) in self.messages.items() if self._hidden_until.get(i, now) <= now]


class FakeStreamRanges:
    """In-memory StreamRanges: ``shards[(stream ARN, shard id)]`` holds wire records in stream order.

    A shard not there raises StreamRangeGoneError (trimmed with the stream's retention); a range
    whose end the shard has not reached yet raises StreamUnavailableError, as a read that stayed
    empty does. ``reads`` counts the reads.
    """

    def __init__(self) -> None:
        self.shards: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.reads = 0

    def add(self, stream_arn: str, shard_id: str, records: Sequence[dict[str, Any]]) -> None:
        self.shards.setdefault((stream_arn, shard_id), []).extend(records)

    def read(self, stream_range: StreamRange) -> list[dict[str, Any]]:
        self.reads += 1
        records = self.shards.get((stream_range.stream_arn, stream_range.shard_id))
        if records is None:
            raise StreamRangeGoneError("the shard is no longer in the stream")
        numbers = [int(record["dynamodb"]["SequenceNumber"]) for record in records]
        if not numbers or max(numbers) < int(stream_range.last):
            raise StreamUnavailableError(f"the shard gave no record up to {stream_range.last}")
        return [
            r for r, n in zip(records, numbers, strict=True) if int(stream_range.first) <= n <= int(stream_range.last)
        ]


class FakeKeptLetters:
    """In-memory KeptLetters: ``letters[(bucket, key)] = bytes``; ``broken`` makes every read fail."""

    def __init__(self, broken: bool = False) -> None:
        self.letters: dict[tuple[str, str], bytes] = {}
        self.broken = broken

    def read(self, bucket: str, key: str) -> bytes:
        if self.broken:
            raise StoreUnavailableError("injected failure", attempts=5)
        if (bucket, key) not in self.letters:
            raise ObjectNotFoundError(f"s3://{bucket}/{key}")
        return self.letters[(bucket, key)]
