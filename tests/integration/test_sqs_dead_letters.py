"""SQSDeadLetterSink against in-process moto: what a letter says, oversize letters, failures."""

from __future__ import annotations

import pytest

from adapters.aws.retries import RetryPolicy
from adapters.aws.sqs_dead_letters import (
    MARKER_ATTRIBUTE,
    MAX_MESSAGE_BYTES,
    NoDeadLetterQueue,
    SQSDeadLetterSink,
    full_message,
)
from archiver.ports import DeadLetter, DeadLetterUnavailableError
from tests.integration.conftest import FAST, dead_letters
from tests.integration.faults import FlakyClient, client_error


def letter_for(record: object, **overrides: object) -> DeadLetter:
    fields = {
        "record_id": "c4ca4238a0b923820dcc509a6f75849b",
        "reason": "archive store unavailable: s3:PutObject failed: AccessDenied",
        "error": "StoreUnavailableError",
        "record": record,
        "table": "orders",
        "attempts": 1,
        "object_key": "archive/orders/x/y.json",
        "encoded_key": "PK(S)x",
    }
    return DeadLetter(**{**fields, **overrides})  # type: ignore[arg-type]


def test_a_letter_is_one_message_with_everything_needed_to_redrive(sink, sqs, queue_url, events):
    record = events.remove()

    sink.report(letter_for(record))

    (message,) = dead_letters(sqs, queue_url)
    assert message["body"] == {
        "kind": MARKER_ATTRIBUTE,
        "version": "v1",
        "recordId": "c4ca4238a0b923820dcc509a6f75849b",
        "table": "orders",
        "reason": "archive store unavailable: s3:PutObject failed: AccessDenied",
        "error": "StoreUnavailableError",
        "attempts": 1,
        "context": {"objectKey": "archive/orders/x/y.json", "encodedKey": "PK(S)x"},
        "record": record,
    }
    assert message["attributes"] == {
        MARKER_ATTRIBUTE: "v1",
        "table": "orders",
        "error": "StoreUnavailableError",
        "record-id": "c4ca4238a0b923820dcc509a6f75849b",
    }


def test_a_letter_without_table_omits_the_table_attribute(sink, sqs, queue_url):
    sink.report(letter_for(["not", "a", "record"], table=None, record_id="record#0"))

    (message,) = dead_letters(sqs, queue_url)
    assert "table" not in message["attributes"]
    assert message["body"]["record"] == ["not", "a", "record"]


def test_characters_sqs_refuses_still_travel(sink, sqs, queue_url, events):
    record = events.remove(old_image={"odd": {"S": "\ud800 lone surrogate \ufffe and \x00"}})

    sink.report(letter_for(record, record_id="id-with-\x01-control"))

    (message,) = dead_letters(sqs, queue_url)
    assert message["body"]["record"] == record
    assert message["attributes"]["record-id"] == "id-with-?-control"


def test_an_oversize_letter_without_a_bucket_fails_the_report_and_sends_nothing(sink, sqs, queue_url, events):
    # given a sink with no bucket to keep a letter whole, and a record whose letter exceeds SQS's limit
    record = events.remove(padding=MAX_MESSAGE_BYTES)
    # when it is reported
    with pytest.raises(DeadLetterUnavailableError) as raised:
        sink.report(letter_for(record))
    # then no letter without its record is sent: the report fails, so the platform keeps the record
    assert dead_letters(sqs, queue_url) == []
    assert "too large for SQS" in str(raised.value)
    assert "no bucket is configured to keep it whole" in str(raised.value)
    assert "the platform retries it" in str(raised.value)


def test_a_letter_refused_by_a_queue_with_a_smaller_limit_fails_the_report_without_a_bucket(sqs, events):
    url = sqs.create_queue(QueueName="small-dlq", Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    sink = SQSDeadLetterSink(sqs, url, retry=FAST)

    with pytest.raises(DeadLetterUnavailableError, match="the queue refused the full letter"):
        sink.report(letter_for(events.remove()))

    assert dead_letters(sqs, url) == []


def test_an_unreadable_event_too_large_for_the_queue_is_never_sent_without_its_records(sink, sqs, queue_url):
    envelope = {"records": [{"n": i, "padding": "x" * 4096} for i in range(300)]}

    with pytest.raises(DeadLetterUnavailableError):
        sink.report(letter_for(envelope, record_id="event", table=None, error="UnknownEnvelope"))

    assert dead_letters(sqs, queue_url) == []


def test_the_size_limit_counts_attributes_too(sqs, queue_url, events):
    letter = letter_for(events.remove())
    body, attributes = full_message(letter)
    limit = len(body) + sum(len(name) + len(v["DataType"]) + len(v["StringValue"]) for name, v in attributes.items())

    SQSDeadLetterSink(sqs, queue_url, retry=FAST, max_message_bytes=limit).report(letter)
    with pytest.raises(DeadLetterUnavailableError, match=f"limit {limit - 1}"):
        SQSDeadLetterSink(sqs, queue_url, retry=FAST, max_message_bytes=limit - 1).report(letter)

    (message,) = dead_letters(sqs, queue_url)
    assert message["body"]["record"] == letter.record


def test_throttled_sends_are_retried(sqs, queue_url, events):
    flaky = FlakyClient(sqs, faults={"send_message": [client_error("ThrottlingException", 400, "SendMessage")]})
    sink = SQSDeadLetterSink(flaky, queue_url, retry=FAST)

    sink.report(letter_for(events.remove()))

    assert flaky.calls["send_message"] == 2
    assert len(dead_letters(sqs, queue_url)) == 1


def test_a_queue_that_keeps_failing_raises_dead_letter_unavailable(sqs, queue_url, events):
    flaky = FlakyClient(sqs, always={"send_message": client_error("ServiceUnavailable", 503, "SendMessage")})
    sink = SQSDeadLetterSink(flaky, queue_url, retry=RetryPolicy(attempts=2, initial_wait=0.001, max_wait=0.001))

    with pytest.raises(DeadLetterUnavailableError, match="after 2 attempts"):
        sink.report(letter_for(events.remove()))


def test_a_missing_queue_is_not_retried(sqs, events):
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/nope"
    flaky = FlakyClient(sqs, faults={"send_message": []})
    sink = SQSDeadLetterSink(flaky, url, retry=FAST)

    with pytest.raises(DeadLetterUnavailableError, match=r"NonExistentQueue|QueueDoesNotExist"):
        sink.report(letter_for(events.remove()))

    assert flaky.calls["send_message"] == 1


@pytest.mark.parametrize("sink", [NoDeadLetterQueue(), SQSDeadLetterSink(None, None)], ids=["none", "sqs-without-url"])
def test_without_a_queue_every_report_fails_so_the_record_is_retried(sink, events):
    with pytest.raises(DeadLetterUnavailableError, match="no dead-letter queue configured"):
        sink.report(letter_for(events.remove()))


def test_fifo_queue_gets_group_and_deduplication_ids(sqs, events):
    url = sqs.create_queue(QueueName="archive-dlq.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    sink = SQSDeadLetterSink(sqs, url, retry=FAST)

    sink.report(letter_for(events.remove()))
    sink.report(letter_for(events.remove()))  # the same letter twice: deduplicated

    assert len(dead_letters(sqs, url)) == 1
