"""A dead letter is sent whole or not at all: never a letter without its record."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.aws.sqs_dead_letters import MAX_MESSAGE_BYTES, SQSDeadLetterSink, full_message
from archiver.ports import DeadLetter, DeadLetterUnavailableError
from tests.conftest import Events

EVENTS = Events()
QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/archive-dlq"


class RecordingSQS:
    """Takes every message it is sent (an SQS that never fails), and keeps them."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, **request: Any) -> dict[str, str]:
        self.sent.append(request)
        return {"MessageId": str(len(self.sent))}


def message_bytes(body: str, attributes: dict) -> int:
    values = (name + v["DataType"] + v["StringValue"] for name, v in attributes.items())
    return len(body.encode()) + sum(len(value.encode()) for value in values)


@settings(max_examples=60, deadline=None)
@given(
    padding=st.integers(min_value=0, max_value=1_200_000),
    text=st.text(max_size=50),
    limit=st.integers(min_value=8 * 1024, max_value=MAX_MESSAGE_BYTES),
)
def test_a_letter_is_sent_whole_within_the_limit_or_not_at_all(padding, text, limit):
    # given a sink without a bucket to keep oversized letters, and a record of any size
    record = EVENTS.remove(padding=padding, old_image={"text": {"S": text}})
    letter = DeadLetter(record["eventID"], "archive store unavailable", "StoreUnavailableError", record, "orders")
    sqs = RecordingSQS()
    sink = SQSDeadLetterSink(sqs, QUEUE_URL, max_message_bytes=limit)  # type: ignore[arg-type]
    fits = message_bytes(*full_message(letter)) <= limit
    # when it is reported
    try:
        sink.report(letter)
    except DeadLetterUnavailableError:
        sent_whole = False
    else:
        sent_whole = True
    # then it went whole, within the limit, exactly when it fits; otherwise nothing went (the record is Failed)
    assert sent_whole is fits
    if fits:
        (request,) = sqs.sent
        assert message_bytes(request["MessageBody"], request["MessageAttributes"]) <= limit
        assert json.loads(request["MessageBody"])["record"] == record
    else:
        assert sqs.sent == []


def test_a_record_too_deep_for_json_still_makes_a_letter():
    # given a record nested deeper than json.dumps (and repr) can recurse
    record = EVENTS.remove()
    value: dict = {"S": "leaf"}
    for _ in range(5000):
        value = {"M": {"a": value}}
    record["dynamodb"]["OldImage"]["deep"] = value
    letter = DeadLetter(record["eventID"], "nested 5000 levels", "Unreadable", record, "orders")

    body, _ = full_message(letter)

    # then the letter is sent with the reason, the record id and what of the record can be written
    parsed = json.loads(body)
    assert parsed["recordId"] == record["eventID"] and parsed["reason"] == "nested 5000 levels"
    assert parsed["record"]["unserialisable"].startswith("RecursionError")
    assert "'Keys': {'PK': {'S': 'USER#123'}" in parsed["record"]["repr"]


@pytest.mark.parametrize("limit", [8 * 1024, MAX_MESSAGE_BYTES])
def test_an_unreadable_event_over_the_limit_is_not_sent_reduced(limit):
    event = {"records": [{"eventName": "REMOVE", "n": i, "padding": "x" * 4096} for i in range(300)]}
    sqs = RecordingSQS()

    with pytest.raises(DeadLetterUnavailableError, match="not sent without its record"):
        SQSDeadLetterSink(sqs, QUEUE_URL, max_message_bytes=limit).report(  # type: ignore[arg-type]
            DeadLetter("event", "no shape", "UnknownEnvelope", event)
        )

    assert sqs.sent == []
