"""Malformed records and unknown envelopes: each gets a dead letter saying what is wrong, and the
rest of the batch is archived as if it were not there."""

from __future__ import annotations

import json

import pytest

from adapters.aws.sqs_dead_letters import full_message
from adapters.delivery import handle
from archiver.dead_letters import LetterShape, Rerun, Unknown, classify
from archiver.ports import DeadLetter
from tests.conftest import without
from tests.integration.conftest import bucket_objects, dead_letters


def missing_dynamodb(events):
    return without(events.remove(n=90), "dynamodb")


def missing_keys(events):
    return without(events.remove(n=91), "dynamodb.Keys")


def key_of_wrong_type(events):
    record = events.remove(n=92)
    record["dynamodb"]["Keys"]["PK"] = {"S": 123}
    return record


def key_of_unknown_type(events):
    record = events.remove(n=97)
    record["dynamodb"]["Keys"]["PK"] = {"X": "1"}
    return record


def key_typed_otherwise_in_the_image(events):
    # filed under PK(N)1, a restore of the item's real key (PK is S) would answer "nothing archived"
    record = events.remove(n=98)
    record["dynamodb"]["Keys"]["PK"] = {"N": "1"}
    record["dynamodb"]["OldImage"]["PK"] = {"S": "1"}
    return record


def image_of_wrong_type(events):
    record = events.remove(n=93)
    record["dynamodb"]["OldImage"] = ["not", "an", "object"]
    return record


def nested_maps(levels):
    value = {"S": "leaf"}
    for _ in range(levels):
        value = {"M": {"a": value}}
    return value


def image_nested_too_deep(events):
    record = events.remove(n=95)
    record["dynamodb"]["OldImage"]["deep"] = nested_maps(40)
    return record


def not_an_object(events):
    return "REMOVE USER#123"


def unknown_event_name(events):
    record = events.remove(n=94)
    record["eventName"] = "DELETE"
    return record


MALFORMED = {
    missing_dynamodb: "dynamodb is missing",
    missing_keys: "dynamodb.Keys is missing",
    key_of_wrong_type: "dynamodb.Keys.PK.S is 123; expected a string",
    key_of_unknown_type: "dynamodb.Keys.PK has type 'X'; a key attribute is S, N or B",
    key_typed_otherwise_in_the_image: 'dynamodb.OldImage.PK is {"S": "1"} but dynamodb.Keys.PK is {"N": "1"}',
    image_of_wrong_type: "dynamodb.OldImage is ['not', 'an', 'object']",
    image_nested_too_deep: "dynamodb.OldImage.deep" + ".M.a" * 33 + " is nested 33 levels deep",
    not_an_object: "record is a str, not a JSON object",
    unknown_event_name: "eventName is 'DELETE'",
}


@pytest.mark.parametrize("make", list(MALFORMED), ids=[make.__name__ for make in MALFORMED])
def test_a_malformed_record_is_dead_lettered_with_a_clear_reason_and_the_batch_goes_on(
    make, s3, sqs, queue_url, archiver_over, events
):
    good_before, good_after = events.remove(n=1), events.remove(n=2)
    bad = make(events)

    answer = handle(events.pipe([good_before, bad, good_after]), archiver_over(s3, sqs, queue_url))

    assert answer == {"batchItemFailures": []}
    assert len(bucket_objects(s3)) == 2
    (letter,) = dead_letters(sqs, queue_url)
    assert MALFORMED[make] in letter["body"]["reason"]
    assert letter["body"]["record"] == bad
    assert letter["body"]["error"] == "Unreadable"


def test_every_malformed_record_of_one_batch_gets_its_own_letter(s3, sqs, queue_url, archiver_over, events):
    bad = [make(events) for make in MALFORMED]
    good = events.removes(3)

    answer = handle(events.esm([*bad, *good]), archiver_over(s3, sqs, queue_url))

    assert answer == {"batchItemFailures": []}
    assert len(bucket_objects(s3)) == 3
    assert sorted(letter["body"]["recordId"] for letter in dead_letters(sqs, queue_url)) == sorted(
        r["eventID"] if isinstance(r, dict) else f"record#{i}" for i, r in enumerate(bad)
    )


def test_a_record_too_deep_for_json_is_dead_lettered_and_the_batch_goes_on(s3, sqs, queue_url, archiver_over, events):
    # given a record nested 5,000 maps deep, past what json.dumps can write, between two good ones
    deep = events.remove(n=96)
    deep["dynamodb"]["OldImage"]["deep"] = nested_maps(5000)

    answer = handle(events.pipe([events.remove(n=1), deep, events.remove(n=2)]), archiver_over(s3, sqs, queue_url))

    # then the batch is not taken down: the good ones are archived, the deep one has a letter with its reason
    assert answer == {"batchItemFailures": []}
    assert len(bucket_objects(s3)) == 2
    (letter,) = dead_letters(sqs, queue_url)
    assert letter["body"]["recordId"] == deep["eventID"]
    assert "is nested 33 levels deep" in letter["body"]["reason"]
    assert letter["body"]["record"]["unserialisable"].startswith("RecursionError")


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"source": "aws.s3", "detail-type": "Object Created"}, "expected 'detail' (EventBridge)"),
        ({"Records": "not a list"}, "Records is a str"),
        ({"detail": "a string", "detail-type": "Event from aws:dynamodb"}, "input transformer"),
        (42, "event is a int"),
    ],
    ids=["foreign-event", "records-not-a-list", "detail-not-an-object", "not-json-object"],
)
def test_an_unknown_envelope_is_dead_lettered_whole(event, reason, s3, sqs, queue_url, archiver_over):
    answer = handle(event, archiver_over(s3, sqs, queue_url))

    assert answer is None
    (letter,) = dead_letters(sqs, queue_url)
    assert reason in letter["body"]["reason"]
    assert letter["body"]["record"] == event
    assert letter["attributes"]["error"] == "UnknownEnvelope"
    assert bucket_objects(s3) == {}


def test_a_foreign_element_in_a_pipe_batch_is_its_own_letter_and_the_records_beside_it_are_archived(
    s3, sqs, queue_url, archiver_over, events
):
    # given a pipe batch of two REMOVEs with an SQS message between them
    foreign = events.sqs()["Records"][0]
    good = events.removes(2)
    # when it is delivered
    answer = handle(events.pipe([good[0], foreign, good[1]]), archiver_over(s3, sqs, queue_url))
    # then both deletions are archived, and the SQS message alone is dead-lettered, saying what it is
    assert answer == {"batchItemFailures": []}
    assert len(bucket_objects(s3)) == 2
    (letter,) = dead_letters(sqs, queue_url)
    assert letter["body"]["record"] == foreign
    assert letter["body"]["recordId"] == "record#1"
    assert letter["body"]["error"] == "UnknownEnvelope"
    assert letter["body"]["reason"].startswith("batch[1] is an SQS message (eventSource 'aws:sqs')")
    # and a redrive reads that letter as what it is (kept, with the reason), not as a lost batch
    plan = classify(json.dumps(letter["body"]), letter["attributes"])
    assert isinstance(plan, Unknown) and plan.shape is LetterShape.LETTER
    assert "an SQS message" in plan.reason


def test_a_letter_of_a_mixed_batch_from_before_is_replayed_record_by_record(s3, sqs, queue_url, archiver_over, events):
    # given a letter written before: a whole mixed batch, dead-lettered as one unknown event
    good = events.removes(2)
    batch = [good[0], events.eventbridge(), good[1]]
    old_letter = DeadLetter("event", "event is a JSON list holding EventBridge events", "UnknownEnvelope", batch)
    body, attributes = full_message(old_letter)
    # when a redrive reads it and re-runs what it holds
    plan = classify(body, {name: value["StringValue"] for name, value in attributes.items()})
    assert isinstance(plan, Rerun)
    outcomes = archiver_over(s3, sqs, queue_url).archive(plan.records)
    # then the two deletions are archived, and the foreign element is dead-lettered on its own
    assert [type(o).__name__ for o in outcomes] == ["Archived", "DeadLettered", "Archived"]
    assert len(bucket_objects(s3)) == 2
    (letter,) = dead_letters(sqs, queue_url)
    assert letter["body"]["record"] == batch[1]
