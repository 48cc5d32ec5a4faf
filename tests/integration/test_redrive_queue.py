"""The redrive's queue handling against in-process moto: each message once per run, --max, and the reader."""

from __future__ import annotations

import pytest

from adapters.aws.sqs_queue_reader import QueueError, SQSQueueReader
from adapters.cli.redrive import NOT_ARCHIVED, UNKNOWN_SHAPE, HeldLetters, QueueSource, Redrive
from archiver.redrive import Shape
from archiver.service import Archiver
from tests.dead_letter_messages import Messages, send
from tests.fakes import FakeArchiveStore
from tests.integration.conftest import FAST

MESSAGES = Messages()


def nowhere(*_: object) -> bytes:
    raise AssertionError("no message here points anywhere")


def redrive_over(store: FakeArchiveStore, **options: object) -> Redrive:
    archiver = Archiver(store=store, dead_letters=HeldLetters())
    return Redrive(archiver, read_letter=nowhere, read_range=nowhere, wait_seconds=0, **options)


@pytest.fixture
def reader(sqs, queue_url) -> SQSQueueReader:
    return SQSQueueReader(sqs, queue_url, retry=FAST)


def test_a_message_that_stays_is_handled_once_per_run_even_when_it_comes_back_at_once(sqs, queue_url, reader, events):
    # given three letters whose records cannot be archived (the store is down), visible again as soon as received
    for n in range(3):
        send(sqs, queue_url, MESSAGES.rule_target(events.eventbridge(events.remove(n=n + 1))))
    store = FakeArchiveStore(fail_next=1000)
    # when redriven with no visibility timeout at all
    results = redrive_over(store, visibility_timeout=0, concurrency=2).run(QueueSource("dlq", queue_url), reader)
    # then each was tried once, is reported, and stays
    assert len(results) == len({r.message_id for r in results}) == 3
    assert {(r.left, r.failed, r.deleted) for r in results} == {(NOT_ARCHIVED, True, False)}
    assert store.puts == 3
    assert len(reader.receive(10, visibility_timeout=30)) == 3


def test_max_takes_at_most_that_many_messages(sqs, queue_url, reader, events):
    for n in range(25):
        send(sqs, queue_url, MESSAGES.rule_target(events.eventbridge(events.remove(n=n + 1))))
    store = FakeArchiveStore()

    results = redrive_over(store, limit=7, concurrency=3).run(QueueSource("dlq", queue_url), reader)

    assert len(results) == 7
    assert all(r.deleted for r in results)
    assert len(store.objects) == 7
    assert reader.approximate_count() == 18


def test_a_foreign_message_is_reported_and_released_untouched(sqs, queue_url, reader):
    message_id = send(sqs, queue_url, MESSAGES.foreign())

    (result,) = redrive_over(FakeArchiveStore()).run(QueueSource("dlq", queue_url), reader)

    assert (result.message_id, result.shape, result.left, result.failed) == (
        message_id,
        Shape.UNKNOWN,
        UNKNOWN_SHAPE,
        False,
    )
    (again,) = reader.receive(10, visibility_timeout=30)  # visible again at once, not after 300 s
    assert again.body == MESSAGES.foreign().body


def test_the_reader_gives_attributes_as_strings_and_deletes_and_releases_in_batches(sqs, queue_url, reader):
    for _ in range(12):
        send(sqs, queue_url, MESSAGES.letter())

    first = reader.receive(10, visibility_timeout=60) + reader.receive(10, visibility_timeout=60)

    assert len(first) == 12
    assert first[0].attributes["archiver-dead-letter"] == "v1"
    assert reader.release(first[:5]) == {}
    assert reader.delete(first[5:]) == {}
    assert len(reader.receive(10, visibility_timeout=60)) == 5


def test_a_missing_queue_is_one_error_naming_it(sqs):
    reader = SQSQueueReader(sqs, "https://sqs.eu-west-1.amazonaws.com/123456789012/nope", retry=FAST)

    with pytest.raises(QueueError, match=r"queue https://sqs\.eu-west-1\.amazonaws\.com/123456789012/nope"):
        reader.receive()
