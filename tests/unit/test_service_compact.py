"""The Archiver on a compact table, on fakes: one PUT per batch and hour, outcomes still per record."""

from __future__ import annotations

import gzip
import json
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

from adapters.delivery import RecordMapper, handle
from archiver.layouts import read_compact_key
from archiver.policy import Layout, Policies, TablePolicy
from archiver.service import Archived, Archiver, DeadLettered, Failed, summarise
from tests.builders import ARN, insert_record, remove_record
from tests.fakes import FakeArchiveStore, FakeDeadLetterSink

if TYPE_CHECKING:
    from tests.conftest import Events

HOUR = 1_700_000_000 - 1_700_000_000 % 3600  # 2023-11-14T22:00:00Z
COMPACT = Policies(default=TablePolicy(layout=Layout.COMPACT))


def _removal(n: int, *, at: int = HOUR + 60) -> dict:
    return remove_record(event_id=f"event-{n}", sequence=str(10**20 + n), created=at, keys={"PK": {"S": f"USER#{n}"}})


def _lines(body: bytes) -> list[dict]:
    return [json.loads(line) for line in gzip.decompress(body).splitlines()]


@pytest.fixture
def store() -> FakeArchiveStore:
    return FakeArchiveStore()


@pytest.fixture
def letters() -> FakeDeadLetterSink:
    return FakeDeadLetterSink()


def test_a_batch_is_one_put_and_every_record_is_archived_under_that_object(store, letters) -> None:
    outcomes = Archiver(store, letters, COMPACT).archive([_removal(n) for n in range(1, 6)])

    (key,) = store.objects
    assert store.puts == 1
    assert all(isinstance(o, Archived) and o.object_key == key for o in outcomes)
    assert [o.encoded_key for o in outcomes] == [f"PK(S)USER!23{n}" for n in range(1, 6)]  # type: ignore[union-attr]
    assert len(_lines(store.objects[key])) == 5


def test_a_batch_across_an_hour_boundary_writes_one_object_in_each_hour(store, letters) -> None:
    outcomes = Archiver(store, letters, COMPACT).archive([_removal(1, at=HOUR + 3599), _removal(2, at=HOUR + 3600)])

    hours = sorted(read_compact_key(key, "archive", "orders").hour.hour for key in store.objects)  # type: ignore[union-attr]
    assert hours == [22, 23]
    assert {o.object_key for o in outcomes} == set(store.objects)  # type: ignore[union-attr]


def test_a_redelivered_identical_batch_names_the_same_object_and_succeeds(store, letters) -> None:
    archiver = Archiver(store, letters, COMPACT)
    first = archiver.archive([_removal(n) for n in range(1, 4)])

    again = archiver.archive([_removal(n) for n in (3, 1, 2)])  # the platform may order it otherwise

    assert len(store.objects) == 1 and store.puts == 2
    assert {o.object_key for o in first} == {o.object_key for o in again}  # type: ignore[union-attr]
    assert all(isinstance(o, Archived) for o in again) and letters.letters == []


def test_a_retried_slice_after_the_whole_batch_was_written_is_a_second_object_holding_the_slice(store, letters) -> None:
    archiver = Archiver(store, letters, COMPACT)
    archiver.archive([_removal(n) for n in range(1, 7)])

    archiver.archive([_removal(n) for n in range(4, 7)])  # bisected, or retried from the 4th record

    whole, part = sorted(store.objects.values(), key=lambda body: -len(_lines(body)))
    assert {line["stream"]["eventID"] for line in _lines(part)} <= {line["stream"]["eventID"] for line in _lines(whole)}
    assert len(_lines(part)) == 3


def test_a_failed_put_dead_letters_every_record_of_that_object_and_spares_the_other_hour(letters) -> None:
    # given a store whose first PUT fails, and a batch over two hours, the first record in the first hour
    store = FakeArchiveStore(fail_next=1)
    records = [_removal(1), _removal(2, at=HOUR + 3600), _removal(3)]

    outcomes = Archiver(store, letters, COMPACT).archive(records)

    # then both records of the failed object are dead-lettered with the reason, each with its record
    assert [type(o) for o in outcomes] == [DeadLettered, Archived, DeadLettered]
    assert [letter.record for letter in letters.letters] == [records[0], records[2]]
    failed_key = letters.letters[0].object_key
    assert failed_key is not None and "/hh=22/" in failed_key and failed_key not in store.objects
    assert all(x.error == "StoreUnavailableError" and x.attempts == 3 for x in letters.letters)
    assert "archive store unavailable" in letters.letters[0].reason
    assert [letter.encoded_key for letter in letters.letters] == ["PK(S)USER!231", "PK(S)USER!233"]


def test_a_failed_put_and_a_failed_dead_letter_queue_fail_every_record_of_the_object() -> None:
    outcomes = Archiver(FakeArchiveStore(fail_next=1), FakeDeadLetterSink(broken=True), COMPACT).archive(
        [_removal(1), _removal(2)]
    )

    assert [type(o) for o in outcomes] == [Failed, Failed]


def test_a_record_the_core_refuses_is_dead_lettered_alone_and_the_rest_archived(store, letters) -> None:
    broken = _removal(2)
    del broken["dynamodb"]["Keys"]

    outcomes = Archiver(store, letters, COMPACT).archive([_removal(1), broken, _removal(3)])

    assert [type(o) for o in outcomes] == [Archived, DeadLettered, Archived]
    (letter,) = letters.letters
    assert letter.record == broken and "dynamodb.Keys" in letter.reason
    assert len(_lines(next(iter(store.objects.values())))) == 2


def test_a_deletion_twice_in_one_batch_is_one_line_and_two_archived_outcomes(store, letters) -> None:
    outcomes = Archiver(store, letters, COMPACT).archive([_removal(1), _removal(1)])

    assert [type(o) for o in outcomes] == [Archived, Archived]
    assert len(_lines(next(iter(store.objects.values())))) == 1


def test_a_second_record_claiming_a_deletion_with_other_content_is_dead_lettered_alone(store, letters) -> None:
    other = _removal(1)
    other["dynamodb"]["OldImage"]["name"] = {"S": "Grace"}

    outcomes = Archiver(store, letters, COMPACT).archive([_removal(1), other])

    assert [type(o) for o in outcomes] == [Archived, DeadLettered]
    assert letters.letters[0].record == other and "other content" in letters.letters[0].reason


def test_objects_and_compact_tables_share_a_batch_each_in_its_layout(store, letters) -> None:
    policies = Policies(tables={"invoices": TablePolicy(layout=Layout.COMPACT)})
    invoice = _removal(2)
    invoice["eventSourceARN"] = ARN.replace("/orders/", "/invoices/")

    outcomes = Archiver(store, letters, policies).archive([_removal(1), invoice])

    assert [o.object_key.rpartition("/")[2].partition(".")[2] for o in outcomes] == ["json", "jsonl.gz"]  # type: ignore[union-attr]
    assert sorted(store.objects) == sorted(o.object_key for o in outcomes)  # type: ignore[union-attr]


def test_on_a_pool_each_object_is_put_once_and_outcomes_keep_their_order(store, letters) -> None:
    records = [_removal(n, at=HOUR + 60 + n * 120) for n in range(100)]  # over four hours

    with ThreadPoolExecutor(8) as pool:
        outcomes = Archiver(store, letters, COMPACT, mapper=RecordMapper(pool)).archive(records)

    assert [o.record_id for o in outcomes] == [f"event-{n}" for n in range(100)]
    assert summarise(outcomes)["archived"] == 100
    assert store.puts == len(store.objects) == 4


def test_a_pipe_batch_near_6_mb_is_archived_in_one_object_per_hour(store, letters, events: Events) -> None:
    # given a pipe batch of 58 deletions of 100 KB items (just under Lambda's 6 MB payload)
    records = events.removes(58, padding=100_000)
    assert 5_700_000 < len(json.dumps(records)) < 6 * 1024 * 1024

    answer = handle(records, Archiver(store, letters, COMPACT))

    assert answer == {"batchItemFailures": []}
    (body,) = store.objects.values()
    assert len(_lines(body)) == 58 and len(body) < 200_000  # the padding compresses


class _CountingMapper:
    """The built-in ``map``, recording how many items each call was given."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, fn, *iterables):  # type: ignore[no-untyped-def]
        self.calls.append(len(iterables[0]))
        return map(fn, *iterables)


def test_a_stored_compact_batch_puts_through_the_mapper_and_settles_its_records_without_it(store, letters) -> None:
    # given a batch of 100 deletions in two hours, and an INSERT
    mapper = _CountingMapper()
    records = [_removal(n, at=HOUR + 3000 + n * 10) for n in range(100)] + [insert_record()]

    outcomes = Archiver(store, letters, COMPACT, mapper=mapper).archive(records)

    # then the mapper ran the two PUTs, and no record needed a call of its own
    assert summarise(outcomes) == {"archived": 100, "skipped": 1, "dead_lettered": 0, "failed": 0}
    assert mapper.calls == [2, 0]


def test_when_a_put_fails_its_records_are_dead_lettered_through_the_mapper(letters) -> None:
    mapper = _CountingMapper()

    outcomes = Archiver(FakeArchiveStore(fail_next=1), letters, COMPACT, mapper=mapper).archive(
        [_removal(n) for n in range(5)]
    )

    assert [type(o) for o in outcomes] == [DeadLettered] * 5
    assert mapper.calls == [1, 5]
