"""The application service on fakes: every record ends archived, skipped, dead-lettered or failed."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from archiver.policy import DeletionKind, Policies, TablePolicy
from archiver.service import Archived, Archiver, DeadLettered, Failed, Skipped, summarise
from tests.builders import insert_record, remove_record
from tests.fakes import FakeArchiveStore, FakeDeadLetterSink


@pytest.fixture
def store() -> FakeArchiveStore:
    return FakeArchiveStore()


@pytest.fixture
def letters() -> FakeDeadLetterSink:
    return FakeDeadLetterSink()


def test_a_remove_is_archived_once(store: FakeArchiveStore, letters: FakeDeadLetterSink) -> None:
    outcomes = Archiver(store, letters).archive([remove_record()])
    assert [type(o) for o in outcomes] == [Archived]
    assert list(store.objects) == [outcomes[0].object_key]  # type: ignore[union-attr]
    assert letters.letters == []


def test_redelivered_record_writes_no_second_object(store: FakeArchiveStore, letters: FakeDeadLetterSink) -> None:
    archiver = Archiver(store, letters)
    archiver.archive([remove_record()])
    again = archiver.archive([remove_record()])
    assert isinstance(again[0], Archived)
    assert len(store.objects) == 1


def test_deleting_the_same_key_twice_keeps_both_deletions(store: FakeArchiveStore) -> None:
    Archiver(store, FakeDeadLetterSink()).archive(
        [remove_record(event_id="a"), remove_record(event_id="b", sequence="222200000000000000001")]
    )
    assert len(store.objects) == 2


def test_insert_and_uncaptured_kinds_are_skipped_with_the_reason(store: FakeArchiveStore) -> None:
    policies = Policies(default=TablePolicy(capture=frozenset({DeletionKind.TTL})))
    outcomes = Archiver(store, FakeDeadLetterSink(), policies).archive([insert_record(), remove_record()])
    assert all(isinstance(o, Skipped) for o in outcomes)
    assert "INSERT" in outcomes[0].reason and "user deletion not captured" in outcomes[1].reason  # type: ignore[union-attr]
    assert store.objects == {}


def test_per_table_policies_apply_by_table(store: FakeArchiveStore) -> None:
    policies = Policies(tables={"orders": TablePolicy(prefix="orders-archive")})
    outcome = Archiver(store, FakeDeadLetterSink(), policies).archive([remove_record()])[0]
    assert isinstance(outcome, Archived) and outcome.object_key.startswith("orders-archive/orders/")


def test_unreadable_record_is_dead_lettered_and_the_rest_archived(
    store: FakeArchiveStore, letters: FakeDeadLetterSink
) -> None:
    broken = remove_record(event_id="bad")
    del broken["dynamodb"]["Keys"]
    outcomes = Archiver(store, letters).archive([broken, remove_record(event_id="good")])
    assert [type(o) for o in outcomes] == [DeadLettered, Archived]
    (letter,) = letters.letters
    assert letter.record_id == "bad" and "dynamodb.Keys" in letter.reason and letter.record == broken


def test_a_forged_record_whose_image_names_another_key_is_dead_lettered_not_archived(
    store: FakeArchiveStore, letters: FakeDeadLetterSink
) -> None:
    # given a record whose Keys say USER#1 and whose OldImage is USER#2's item
    forged = remove_record(event_id="forged", keys={"PK": {"S": "USER#1"}}, old_image={"PK": {"S": "USER#2"}})
    # when it is archived
    (outcome,) = Archiver(store, letters).archive([forged])
    # then nothing is stored (a restore cannot write USER#2's item back as USER#1's), and the letter says why
    assert isinstance(outcome, DeadLettered)
    assert store.objects == {}
    (letter,) = letters.letters
    assert letter.error == "Unreadable" and letter.record == forged
    assert 'dynamodb.OldImage.PK is {"S": "USER#2"} but dynamodb.Keys.PK is {"S": "USER#1"}' in letter.reason


def test_store_failure_is_dead_lettered_with_the_reason(letters: FakeDeadLetterSink) -> None:
    outcome = Archiver(FakeArchiveStore(fail_next=1), letters).archive([remove_record()])[0]
    assert isinstance(outcome, DeadLettered)
    (letter,) = letters.letters
    assert letter.error == "StoreUnavailableError" and letter.attempts == 3
    assert (
        letter.object_key is not None and letter.object_key.startswith("archive/orders/") and letter.table == "orders"
    )


def test_store_and_dead_letters_both_failing_is_a_failure_to_retry() -> None:
    outcome = Archiver(FakeArchiveStore(fail_next=1), FakeDeadLetterSink(broken=True)).archive([remove_record()])[0]
    assert isinstance(outcome, Failed)
    assert "dead-letter queue failed" in outcome.reason


def test_conflicting_content_under_one_key_is_dead_lettered(store: FakeArchiveStore) -> None:
    record = remove_record()
    Archiver(store, FakeDeadLetterSink()).archive([record])
    record["dynamodb"]["OldImage"]["name"] = {"S": "Grace"}  # same event identity, other image
    letters = FakeDeadLetterSink()
    assert isinstance(Archiver(store, letters).archive([record])[0], DeadLettered)
    (letter,) = letters.letters
    assert letter.error == "ObjectConflictError" and letter.record == record
    assert "already holds another body for this deletion" in letter.reason
    assert "the stored object is kept" in letter.reason


def test_concurrent_mapper_keeps_one_outcome_per_record_in_order(store: FakeArchiveStore) -> None:
    records = [remove_record(event_id=f"e{i}", sequence=f"{1000 + i}") for i in range(50)]
    with ThreadPoolExecutor(8) as pool:
        outcomes = Archiver(store, FakeDeadLetterSink(), mapper=pool.map).archive(records)
    assert [o.record_id for o in outcomes] == [f"e{i}" for i in range(50)]
    assert summarise(outcomes) == {"archived": 50, "skipped": 0, "dead_lettered": 0, "failed": 0}


def test_unknown_envelope_is_dead_lettered_whole(letters: FakeDeadLetterSink) -> None:
    outcome = Archiver(FakeArchiveStore(), letters).dead_letter_event({"foo": 1}, "unknown")
    assert isinstance(outcome, DeadLettered) and letters.letters[0].record == {"foo": 1}


def test_an_element_the_delivery_refused_is_dead_lettered_alone_with_its_reason(
    store: FakeArchiveStore, letters: FakeDeadLetterSink
) -> None:
    foreign = {"messageId": "m1", "body": "{}"}
    outcomes = Archiver(store, letters).archive([remove_record(), foreign], refused={1: "batch[1] is an SQS message"})
    assert [type(o) for o in outcomes] == [Archived, DeadLettered]
    (letter,) = letters.letters
    assert (letter.record_id, letter.reason, letter.error, letter.record) == (
        "record#1",
        "batch[1] is an SQS message",
        "UnknownEnvelope",
        foreign,
    )


class _BuggyStore(FakeArchiveStore):
    def put(self, obj: object) -> None:  # type: ignore[override]
        raise RuntimeError("bug in an adapter")


def test_an_unexpected_error_for_one_record_dead_letters_it_and_spares_the_rest(
    letters: FakeDeadLetterSink,
) -> None:
    outcomes = Archiver(_BuggyStore(), letters).archive([remove_record(event_id="x"), {"eventName": "INSERT"}])
    assert isinstance(outcomes[0], DeadLettered) and isinstance(outcomes[1], Skipped)
    assert letters.letters[0].record_id == "x" and "RuntimeError: bug in an adapter" in letters.letters[0].reason


KEY = "PK(S)USER!23123*SK(S)PROFILE"


def test_every_outcome_carries_the_encoded_key_the_core_read_so_logs_need_not_read_the_record_again() -> None:
    # given a record archived, one of a kind not captured, one unreadable but with readable Keys, one
    # whose put fails, and one whose put and letter both fail
    ttl_only = Policies(default=TablePolicy(capture=frozenset({DeletionKind.TTL})))
    unreadable = remove_record(event_id="bad")
    unreadable["dynamodb"]["OldImage"] = "not an image"
    # when each is archived
    archived = Archiver(FakeArchiveStore(), FakeDeadLetterSink()).archive([remove_record(), unreadable])
    skipped = Archiver(FakeArchiveStore(), FakeDeadLetterSink(), ttl_only).archive([remove_record()])
    dead = Archiver(FakeArchiveStore(fail_next=1), FakeDeadLetterSink()).archive([remove_record()])
    failed = Archiver(FakeArchiveStore(fail_next=1), FakeDeadLetterSink(broken=True)).archive([remove_record()])
    # then each outcome names the key, and only an INSERT or MODIFY (never parsed for a key) does not
    outcomes = [*archived, *skipped, *dead, *failed]
    assert [type(o) for o in outcomes] == [Archived, DeadLettered, Skipped, DeadLettered, Failed]
    assert [o.encoded_key for o in outcomes] == [KEY] * 5
    insert = Archiver(FakeArchiveStore(), FakeDeadLetterSink()).archive([insert_record()])
    assert [o.encoded_key for o in insert] == [None]


def test_a_record_whose_keys_cannot_be_read_is_dead_lettered_without_a_key(letters: FakeDeadLetterSink) -> None:
    broken = remove_record(event_id="bad", keys={"PK": {"S": 1}})
    (outcome,) = Archiver(FakeArchiveStore(), letters).archive([broken])
    assert isinstance(outcome, DeadLettered) and outcome.encoded_key is None
    assert letters.letters[0].encoded_key is None
