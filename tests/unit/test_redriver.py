"""Redriver over fakes: what is archived is deleted, everything else stays visible with its reason."""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from adapters.aws.sqs_dead_letters import full_message
from archiver.dead_letters import LetterShape
from archiver.ports import DeadLetter
from archiver.redrive_results import LeftBecause, left_rows, shape_rows
from archiver.redriver import HeldLetters, Redriver, RedriveSource
from archiver.service import Archiver
from tests.conftest import STREAM_ARN, Events
from tests.dead_letter_messages import Message, Messages
from tests.fakes import FakeArchiveStore, FakeDeadLetterQueue, FakeKeptLetters, FakeStreamRanges

MESSAGES = Messages()
EVENTS = Events()
DEEP = "[" * 100_000 + "]" * 100_000


class Clock:
    """A clock the test moves: messages hidden by a receive come back only when it says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def queue() -> FakeDeadLetterQueue:
    return FakeDeadLetterQueue(clock=Clock())


def redriver_over(
    store: FakeArchiveStore,
    *,
    letters: FakeKeptLetters | None = None,
    ranges: FakeStreamRanges | None = None,
    **options: object,
) -> Redriver:
    return Redriver(
        Archiver(store=store, dead_letters=HeldLetters()),
        letters=letters or FakeKeptLetters(),
        ranges=ranges or FakeStreamRanges(),
        wait_seconds=0,
        **options,
    )


def send(queue: FakeDeadLetterQueue, message: Message) -> str:
    return queue.send(message.body, message.attributes)


def rule_target(n: int, table: str | None = None) -> Message:
    return MESSAGES.rule_target(EVENTS.eventbridge(EVENTS.remove(n=n, table=table)))


def test_a_foreign_message_nested_too_deep_is_left_and_the_good_letter_beside_it_is_deleted(queue):
    # given a good letter and, in the same receive, a foreign body nested a hundred thousand deep
    good = send(queue, rule_target(1))
    foreign = queue.send(DEEP)
    store = FakeArchiveStore()
    # when redriven
    run = redriver_over(store).run(RedriveSource("dlq", queue))
    # then the good letter is archived and deleted, the foreign one is reported, left, and visible again
    by_id = {result.message_id: result for result in run.results}
    assert (by_id[good].deleted, by_id[good].archived) == (True, 1)
    assert (by_id[foreign].shape, by_id[foreign].left, by_id[foreign].failed) == (
        LetterShape.UNKNOWN,
        LeftBecause.UNKNOWN_SHAPE,
        False,
    )
    assert "nested too deep" in by_id[foreign].detail
    assert queue.deleted == [good]
    assert queue.visible() == [DEEP]
    assert len(store.objects) == 1 and run.error is None


def test_a_bug_with_one_message_leaves_it_with_the_error_and_the_others_go_on(queue, monkeypatch):
    # given two letters, the first of which makes the Archiver raise (a bug of ours)
    first, second = send(queue, rule_target(1)), send(queue, rule_target(2))
    store = FakeArchiveStore()
    redriver = redriver_over(store)
    archive = Archiver.archive
    calls = iter([RuntimeError("boom")])

    def flaky(self, records):
        error = next(calls, None)
        if error is not None:
            raise error
        return archive(self, records)

    monkeypatch.setattr(Archiver, "archive", flaky)
    # when redriven
    run = redriver.run(RedriveSource("dlq", queue))
    # then the first stays with the error, the second is archived and deleted
    by_id = {result.message_id: result for result in run.results}
    assert (by_id[first].left, by_id[first].detail, by_id[first].failed) == (
        LeftBecause.INTERNAL_ERROR,
        "RuntimeError: boom",
        True,
    )
    assert by_id[second].deleted and queue.deleted == [second]


def test_a_message_that_stays_is_handled_once_per_run_even_when_it_comes_back_at_once(queue):
    # given three letters whose records cannot be archived (the store is down), visible again at once
    for n in range(3):
        send(queue, rule_target(n + 1))
    store = FakeArchiveStore(fail_next=1000)
    # when redriven with no visibility timeout at all, by two workers on threads
    with ThreadPoolExecutor(2) as pool:
        redriver = redriver_over(store, visibility_timeout=0, concurrency=2, mapper=pool.map)
        run = redriver.run(RedriveSource("dlq", queue))
    # then each was tried once, is reported, and stays
    assert len(run.results) == len({r.message_id for r in run.results}) == 3
    assert {(r.left, r.failed, r.deleted) for r in run.results} == {(LeftBecause.NOT_ARCHIVED, True, False)}
    assert store.puts == 3
    assert len(queue.visible()) == 3


def test_max_takes_at_most_that_many_messages_across_queues(queue):
    other = FakeDeadLetterQueue(clock=Clock())
    for n in range(25):
        send(queue if n < 20 else other, rule_target(n + 1))
    store = FakeArchiveStore()
    redriver = redriver_over(store, limit=22, concurrency=3)

    runs = [redriver.run(RedriveSource("a", queue)), redriver.run(RedriveSource("b", other))]

    assert [len(run.results) for run in runs] == [20, 2]
    assert all(r.deleted for run in runs for r in run.results)
    assert len(store.objects) == 22
    assert len(queue.visible()) + len(other.visible()) == 3


def test_a_queue_that_fails_ends_its_run_with_the_results_so_far_and_releases_the_rest(queue):
    # given twelve letters, and a queue that fails on the second receive
    for n in range(12):
        send(queue, rule_target(n + 1))
    store = FakeArchiveStore()
    redriver = redriver_over(store, concurrency=1)
    original = queue.receive

    def receive_then_fail(*args, **kwargs):
        if queue.receives == 1:
            queue.fail_receives = 1
        return original(*args, **kwargs)

    queue.receive = receive_then_fail
    # when redriven
    run = redriver.run(RedriveSource("dlq", queue))
    # then the first ten are archived and deleted, the error names the queue, two stay
    assert len(run.results) == 10 and all(r.deleted for r in run.results)
    assert run.error is not None and run.error.startswith("dlq: injected failure")
    assert len(queue.visible()) == 2


def test_an_archived_message_whose_delete_is_refused_is_reported_as_such(queue):
    message_id = send(queue, rule_target(1))
    queue.refuse_deletes.add(message_id)

    (result,) = redriver_over(FakeArchiveStore()).run(RedriveSource("dlq", queue)).results

    assert (result.archived, result.deleted, result.left) == (1, False, LeftBecause.NOT_DELETED)
    assert result.detail == "archived, but the queue kept it: InternalError: injected"
    assert not result.failed


def test_a_stream_batch_is_read_back_and_only_its_removes_are_archived(queue):
    records = EVENTS.removes(3)
    insert = {**EVENTS.remove(n=9), "eventName": "INSERT"}
    insert["dynamodb"]["SequenceNumber"] = str(int(records[1]["dynamodb"]["SequenceNumber"]) + 1)
    ranges = FakeStreamRanges()
    arn = STREAM_ARN.format(table="orders")
    ranges.add(arn, "shard-1", records)
    first, last = (records[i]["dynamodb"]["SequenceNumber"] for i in (0, 1))
    send(queue, MESSAGES.stream_batch(stream_arn=arn, shard_id="shard-1", first=first, last=last))
    store = FakeArchiveStore()

    (result,) = redriver_over(store, ranges=ranges).run(RedriveSource("dlq", queue)).results

    assert (result.shape, result.records, result.archived, result.deleted) == (LetterShape.STREAM_BATCH, 2, 2, True)


def test_a_batch_the_stream_no_longer_holds_stays_and_names_its_range(queue):
    arn = STREAM_ARN.format(table="orders")
    send(queue, MESSAGES.stream_batch(stream_arn=arn, shard_id="shard-gone", first="100", last="200"))

    (result,) = redriver_over(FakeArchiveStore()).run(RedriveSource("dlq", queue)).results

    assert (result.left, result.failed) == (LeftBecause.BEYOND_RETENTION, True)
    assert "shard shard-gone, sequence numbers 100 to 200" in result.detail
    assert "no longer in the stream" in result.detail


def test_a_kept_letter_is_read_back_and_rerun(queue):
    record = EVENTS.remove(table="orders")
    body, _ = full_message(DeadLetter(record["eventID"], "store down", "StoreUnavailableError", record, "orders"))
    letters = FakeKeptLetters()
    digest = hashlib.sha256(body.encode()).hexdigest()
    letters.letters[("archive", f"orders/_dead-letters/{digest}.json")] = body.encode()
    location = {"bucket": "archive", "key": f"orders/_dead-letters/{digest}.json", "sha256": digest}
    pointer = {"kind": "archiver-dead-letter", "table": "orders", "letterLocation": location}
    queue.send(json.dumps(pointer), {"archiver-dead-letter": "v1", "letter-location": "s3"})

    (result,) = redriver_over(FakeArchiveStore(), letters=letters).run(RedriveSource("dlq", queue)).results

    assert (result.shape, result.archived, result.deleted) == (LetterShape.KEPT_LETTER, 1, True)


def test_a_kept_letter_that_is_gone_stays_and_says_where_it_was_looked_for(queue):
    send(queue, MESSAGES.kept_letter())

    (result,) = redriver_over(FakeArchiveStore()).run(RedriveSource("dlq", queue)).results

    assert (result.left, result.failed) == (LeftBecause.LETTER_NOT_READ, True)
    assert result.detail.endswith("is not there (expired, or deleted)")


def test_a_dry_run_archives_and_deletes_nothing_and_releases_everything(queue):
    for n in range(3):
        send(queue, rule_target(n + 1))
    store = FakeArchiveStore()

    run = redriver_over(store, dry_run=True).run(RedriveSource("dlq", queue))

    assert {(r.left, r.records, r.failed) for r in run.results} == {(LeftBecause.DRY_RUN, 1, False)}
    assert store.objects == {} and queue.deleted == []
    assert len(queue.visible()) == 3


def test_a_table_takes_only_its_own_messages_from_a_shared_queue(queue):
    mine, theirs = send(queue, rule_target(1, "orders")), send(queue, rule_target(2, "sessions"))

    run = redriver_over(FakeArchiveStore(), table="orders").run(RedriveSource("shared", queue))

    by_id = {result.message_id: result for result in run.results}
    assert by_id[mine].deleted
    assert (by_id[theirs].left, by_id[theirs].detail) == (LeftBecause.OTHER_TABLE, "about sessions, not orders")


def test_the_summary_rows_count_per_shape_and_keep_each_reason_whole(queue):
    send(queue, rule_target(1))
    arn = STREAM_ARN.format(table="orders")
    send(queue, MESSAGES.stream_batch(stream_arn=arn, shard_id="s-" + "0" * 300, first="1", last="2"))

    results = redriver_over(FakeArchiveStore()).run(RedriveSource("dlq", queue)).results

    assert shape_rows(results) == [("rule-target", 1, 1, 1, 1, 0), ("stream-batch", 1, 0, 0, 0, 1)]
    ((queue_name, shape, reason, count, example),) = left_rows(results)
    assert (queue_name, shape, reason, count) == ("dlq", "stream-batch", "beyond stream retention", 1)
    assert "s-" + "0" * 300 in example and example.endswith("the shard is no longer in the stream")
