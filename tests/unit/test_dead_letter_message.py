"""A dead letter always fits the queue: in full when it can, reduced to keys and identifiers when not."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.aws.sqs_dead_letters import MAX_MESSAGE_BYTES, dead_letter_message
from archiver.ports import DeadLetter
from tests.conftest import Events

EVENTS = Events()


def message_bytes(body: str, attributes: dict) -> int:
    values = (name + v["DataType"] + v["StringValue"] for name, v in attributes.items())
    return len(body.encode()) + sum(len(value.encode()) for value in values)


@settings(max_examples=60, deadline=None)
@given(
    padding=st.integers(min_value=0, max_value=1_200_000),
    text=st.text(max_size=50),
    limit=st.integers(min_value=8 * 1024, max_value=MAX_MESSAGE_BYTES),
)
def test_a_letter_never_exceeds_the_limit_and_keeps_its_identifiers(padding, text, limit):
    record = EVENTS.remove(padding=padding, old_image={"text": {"S": text}})
    letter = DeadLetter(record["eventID"], "archive store unavailable", "StoreUnavailableError", record, "orders")

    body, attributes = dead_letter_message(letter, limit)

    assert message_bytes(body, attributes) <= limit
    parsed = json.loads(body)
    if "record" in parsed:
        assert parsed["record"] == record
    else:
        assert parsed["keys"] == record["dynamodb"]["Keys"]
        assert parsed["eventID"] == record["eventID"]
        assert parsed["sequenceNumber"] == record["dynamodb"]["SequenceNumber"]


def test_a_record_too_deep_for_json_still_makes_a_letter():
    # given a record nested deeper than json.dumps (and repr) can recurse
    record = EVENTS.remove()
    value: dict = {"S": "leaf"}
    for _ in range(5000):
        value = {"M": {"a": value}}
    record["dynamodb"]["OldImage"]["deep"] = value
    letter = DeadLetter(record["eventID"], "nested 5000 levels", "Unreadable", record, "orders")

    body, _ = dead_letter_message(letter)

    # then the letter is sent with the reason, the record id and what of the record can be written
    parsed = json.loads(body)
    assert parsed["recordId"] == record["eventID"] and parsed["reason"] == "nested 5000 levels"
    assert parsed["record"]["unserialisable"].startswith("RecursionError")
    assert "'Keys': {'PK': {'S': 'USER#123'}" in parsed["record"]["repr"]
