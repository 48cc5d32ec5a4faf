"""One DeadLetterQueue contract, two implementations: FakeDeadLetterQueue and SQSDeadLetterQueue over moto.

The Redriver's unit tests trust the fake; these checks keep it honest: a receive hides what it
hands out, a delete removes for good, a release brings back at once, and a queue that cannot be
reached raises the core's QueueUnavailableError.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from adapters.aws.sqs_queue import SQSDeadLetterQueue
from archiver.ports import DeadLetterQueue, QueueUnavailableError
from tests.dead_letter_messages import Message, send
from tests.fakes import FakeDeadLetterQueue
from tests.integration.conftest import FAST

if TYPE_CHECKING:
    from collections.abc import Callable

LETTER = Message('{"kind": "archiver-dead-letter"}', {"archiver-dead-letter": "v1", "error": "Unreadable"})


@dataclass(frozen=True)
class Backend:
    queue: DeadLetterQueue
    send: Callable[[Message], str]  # puts a message in the queue as its sender would; its id
    unreachable: DeadLetterQueue


@pytest.fixture(params=["fake", "moto"])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "fake":
        fake, broken = FakeDeadLetterQueue(), FakeDeadLetterQueue()
        broken.fail_receives = 1_000
        return Backend(fake, lambda message: fake.send(message.body, message.attributes), broken)
    sqs, url = request.getfixturevalue("sqs"), request.getfixturevalue("queue_url")
    return Backend(
        SQSDeadLetterQueue(sqs, url, retry=FAST),
        lambda message: send(sqs, url, message),
        SQSDeadLetterQueue(sqs, url + "-missing", retry=FAST),
    )


def receive(queue: DeadLetterQueue, count: int = 10):
    return queue.receive(count, visibility_timeout=60, wait_seconds=0)


def test_a_receive_gives_body_and_string_attributes_and_hides_the_message(backend):
    message_id = backend.send(LETTER)

    (message,) = receive(backend.queue)

    assert (message.message_id, message.body) == (message_id, LETTER.body)
    assert dict(message.attributes) == LETTER.attributes
    assert receive(backend.queue) == []


def test_a_receive_brings_at_most_the_count_asked(backend):
    for _ in range(4):
        backend.send(LETTER)

    assert len(receive(backend.queue, 3)) == 3
    assert len(receive(backend.queue)) == 1


def test_a_deleted_message_never_comes_back(backend):
    backend.send(LETTER)
    (message,) = receive(backend.queue)

    assert backend.queue.delete([message]) == {}
    backend.queue.release([message])  # whatever it answers, a release after the delete brings nothing back

    assert receive(backend.queue) == []


def test_a_released_message_is_visible_again_at_once_with_a_new_handle(backend):
    backend.send(LETTER)
    (first,) = receive(backend.queue)

    assert backend.queue.release([first]) == {}

    (again,) = receive(backend.queue)
    assert again.message_id == first.message_id
    assert backend.queue.delete([again]) == {}
    assert receive(backend.queue) == []


def test_deletes_and_releases_take_more_than_one_batch(backend):
    for _ in range(12):
        backend.send(LETTER)
    received = receive(backend.queue) + receive(backend.queue)

    assert backend.queue.release(received[:5]) == {}
    assert backend.queue.delete(received[5:]) == {}
    assert len(receive(backend.queue)) == 5


def test_an_unreachable_queue_raises_queue_unavailable(backend):
    with pytest.raises(QueueUnavailableError):
        receive(backend.unreachable)
