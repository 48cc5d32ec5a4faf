"""One contract, two implementations: the fakes in tests/fakes.py and the boto3 adapters over moto.

Unit tests trust the fakes; these checks keep the fakes honest, by making both promise the same
thing (write-once puts, idempotent redelivery, ascending listing, ObjectNotFoundError, the core's errors).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from adapters.aws.s3_store import S3ArchiveStore
from adapters.aws.sqs_dead_letters import SQSDeadLetterSink
from archiver.archive import ArchiveObject
from archiver.ports import (
    ArchiveStore,
    DeadLetter,
    DeadLetterSink,
    DeadLetterUnavailableError,
    ObjectConflictError,
    ObjectNotFoundError,
    StoreUnavailableError,
)
from tests.fakes import FakeArchiveStore, FakeDeadLetterSink
from tests.integration.conftest import FAST, archive_object, dead_letters

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclass(frozen=True)
class Backend:
    store: ArchiveStore
    sink: DeadLetterSink
    letters: Callable[[], list[tuple[str, str, Any]]]  # (record_id, reason, record) as delivered
    unavailable_store: ArchiveStore
    unavailable_sink: DeadLetterSink
    unavailable_attempts: int  # how many calls the unavailable store makes before giving up


@pytest.fixture(params=["fake", "moto"])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "fake":
        sink = FakeDeadLetterSink()
        return Backend(
            store=FakeArchiveStore(),
            sink=sink,
            letters=lambda: [(x.record_id, x.reason, x.record) for x in sink.letters],
            unavailable_store=FakeArchiveStore(fail_next=1),
            unavailable_sink=FakeDeadLetterSink(broken=True),
            unavailable_attempts=3,  # the fake stands for a store that retried and gave up
        )
    s3, sqs, queue_url = (request.getfixturevalue(name) for name in ("s3", "sqs", "queue_url"))
    return Backend(
        store=request.getfixturevalue("store"),
        sink=request.getfixturevalue("sink"),
        letters=lambda: [
            (m["body"]["recordId"], m["body"]["reason"], m["body"]["record"]) for m in dead_letters(sqs, queue_url)
        ],
        unavailable_store=S3ArchiveStore(s3, "no-such-archive-bucket", retry=FAST),
        unavailable_sink=SQSDeadLetterSink(sqs, queue_url + "-missing", retry=FAST),
        unavailable_attempts=1,  # NoSuchBucket is lasting: not retried
    )


def test_put_then_get_returns_the_body(backend, events):
    obj = archive_object(events.remove())

    backend.store.put(obj)

    assert backend.store.get(obj.key) == obj.body


def test_putting_the_same_object_twice_is_a_success_with_one_key(backend, events):
    obj = archive_object(events.remove())

    backend.store.put(obj)
    backend.store.put(obj)

    assert list(backend.store.list_keys("")) == [obj.key]


def test_another_body_under_a_taken_key_is_a_conflict_and_never_overwrites(backend, events):
    # given an archived deletion
    obj = archive_object(events.remove())
    backend.store.put(obj)
    # when the same version arrives with another body (another image for the same deletion)
    other = ArchiveObject(obj.key, obj.body.replace(b"42.50", b"99.99"), obj.table, obj.encoded_key, obj.kind)
    # then the store says so, and keeps what it had
    with pytest.raises(ObjectConflictError, match=re.escape(obj.key)):
        backend.store.put(other)
    assert backend.store.get(obj.key) == obj.body
    assert list(backend.store.list_keys("")) == [obj.key]


def test_listing_is_ascending_and_limited_to_the_prefix(backend, events):
    objects = [archive_object(record) for record in events.removes(12)]
    for obj in reversed(objects):
        backend.store.put(obj)
    folder = objects[0].key.rsplit("/", 1)[0] + "/"

    assert list(backend.store.list_keys("archive/")) == sorted(obj.key for obj in objects)
    assert list(backend.store.list_keys(folder)) == [objects[0].key]  # USER#1's folder, not USER#10's
    assert list(backend.store.list_keys("elsewhere/")) == []


def test_getting_a_missing_key_raises_object_not_found(backend):
    with pytest.raises(ObjectNotFoundError):
        backend.store.get("archive/orders/PK(S)nobody/none.json")


def test_an_unavailable_store_raises_store_unavailable_saying_how_often_it_tried(backend, events):
    with pytest.raises(StoreUnavailableError) as raised:
        backend.unavailable_store.put(archive_object(events.remove()))

    assert raised.value.attempts == backend.unavailable_attempts


def test_a_report_is_delivered_with_its_record_and_reason(backend, events):
    record = events.remove()

    backend.sink.report(DeadLetter("c4ca", "why it failed", "Unreadable", record, "orders"))

    assert backend.letters() == [("c4ca", "why it failed", record)]


def test_an_unavailable_sink_raises_dead_letter_unavailable(backend, events):
    with pytest.raises(DeadLetterUnavailableError):
        backend.unavailable_sink.report(DeadLetter("c4ca", "why", "Unreadable", events.remove()))


def test_a_streamed_read_hands_the_whole_body_in_chunks_to_the_reader(backend, events):
    obj = archive_object(events.remove())
    backend.store.put(obj)
    seen: list[bytes] = []

    def consume(chunks):
        seen.extend(chunks)
        return len(seen)

    assert backend.store.read_streamed(obj.key, consume, 16) == len(seen) > 1
    assert b"".join(seen) == obj.body and all(len(chunk) <= 16 for chunk in seen)
    with pytest.raises(ObjectNotFoundError):
        backend.store.read_streamed("archive/orders/compact/none.jsonl.gz", consume)
