"""Which delivery an invocation is, and how each platform wants failures named."""

from __future__ import annotations

import pytest

from archiver.envelopes import Delivery, Shape, UnknownEnvelope, failure_identifier, read_delivery
from tests.builders import remove_record


def test_eventbridge_event_carries_one_record_under_detail() -> None:
    event = {
        "version": "0",
        "id": "x",
        "detail-type": "Event from aws:dynamodb",
        "source": "Pipe p",
        "resources": [],
        "detail": remove_record(),
    }
    delivery = read_delivery(event)
    assert isinstance(delivery, Delivery) and delivery.shape is Shape.EVENTBRIDGE
    assert delivery.records == [remove_record()] and not delivery.reports_partial_failures


def test_pipe_batch_is_a_list_and_esm_batch_has_records() -> None:
    assert read_delivery([remove_record()]).shape is Shape.PIPE_BATCH  # type: ignore[union-attr]
    assert read_delivery({"Records": [remove_record()]}).shape is Shape.ESM_BATCH  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("event", "said"),
    [
        ({"foo": 1}, "event has foo"),
        ("text", "event is a str"),
        ({"Records": "x"}, "Records is a str"),
        ({"detail": "x"}, "detail is a str"),
        ({}, "no keys"),
    ],
)
def test_anything_else_is_an_unknown_envelope_with_the_reason(event: object, said: str) -> None:
    result = read_delivery(event)
    assert isinstance(result, UnknownEnvelope) and said in result.reason


def test_failures_are_named_by_sequence_number_for_esm_and_event_id_for_pipes() -> None:
    record = remove_record(event_id="e9", sequence="123")
    assert failure_identifier(Shape.ESM_BATCH, record, "x") == "123"
    assert failure_identifier(Shape.PIPE_BATCH, record, "x") == "e9"
    assert failure_identifier(Shape.PIPE_BATCH, "garbage", "record#0") == "record#0"


def _fits(event: object, *shapes: str) -> None:
    result = read_delivery(event)
    assert isinstance(result, UnknownEnvelope), result
    assert f"fits {len(shapes)} delivery shapes" in result.reason
    for shape in shapes:
        assert shape in result.reason


def test_records_beside_a_detail_is_unknown_not_an_empty_batch() -> None:
    # read as a batch, {"Records": []} archived nothing and the record under detail was dropped
    _fits({"Records": [], "detail": remove_record()}, "EventBridge event ('detail')", "batch ('Records')")


def test_an_eventbridge_event_that_also_has_records_is_unknown(events) -> None:
    _fits({**events.eventbridge(), "Records": [remove_record()]}, "EventBridge event", "batch ('Records')")


@pytest.mark.parametrize(
    ("extra", "shape"),
    [({"detail": {"note": "x"}}, "EventBridge event ('detail')"), ({"Records": []}, "batch ('Records')")],
    ids=["detail", "Records"],
)
def test_a_stream_record_carrying_another_shapes_key_is_unknown(extra: dict, shape: str) -> None:
    # a REMOVE with a stray detail was read as EventBridge: its detail failed and the REMOVE was lost
    _fits({**remove_record(), **extra}, shape, "a stream record ('eventName' and 'dynamodb')")


def test_an_sqs_delivery_says_it_is_one_and_how_the_function_is_meant_to_be_invoked(events) -> None:
    result = read_delivery(events.sqs())
    assert isinstance(result, UnknownEnvelope)
    assert "SQS messages, whose body is an EventBridge event" in result.reason
    assert "not through an SQS queue" in result.reason and "rule or pipe invoke it" in result.reason


def test_a_single_sqs_message_says_so(events) -> None:
    (message,) = events.sqs(remove_record())["Records"]
    result = read_delivery(message)
    assert isinstance(result, UnknownEnvelope)
    assert "an SQS message (eventSource 'aws:sqs'), whose body is a stream record" in result.reason


def test_an_sns_notification_says_so(events) -> None:
    result = read_delivery(events.sns())
    assert isinstance(result, UnknownEnvelope)
    assert "SNS notifications, whose message is an EventBridge event" in result.reason
    assert "not through an SNS topic" in result.reason


S3_RECORD = {"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {}}


def test_records_of_another_event_source_are_not_a_stream_batch() -> None:
    result = read_delivery({"Records": [dict(S3_RECORD), dict(S3_RECORD)]})
    assert isinstance(result, UnknownEnvelope)
    assert "holding 'aws:s3' records, not DynamoDB stream records" in result.reason


def test_a_list_of_eventbridge_events_is_named_not_read_as_a_pipe_batch(events) -> None:
    # read as a pipe batch, each event was dead-lettered as a record with "eventName is None"
    result = read_delivery([events.eventbridge(), events.eventbridge()])
    assert isinstance(result, UnknownEnvelope)
    assert "a JSON list holding EventBridge events" in result.reason
    assert "no deployed path sends" in result.reason


@pytest.mark.parametrize("envelope", ["pipe", "esm"])
def test_a_foreign_element_among_stream_records_is_refused_alone_and_the_records_are_read(events, envelope) -> None:
    # given a batch of two stream records with an SQS message, an EventBridge event and an S3 record among them
    batch = [remove_record(event_id="a"), events.sqs()["Records"][0], events.eventbridge(), dict(S3_RECORD)]
    batch.append(remove_record(event_id="b"))
    # when it is read
    result = read_delivery(events.pipe(batch) if envelope == "pipe" else events.esm(batch))
    # then it is a batch of every element, in order, and only the three foreign ones are refused, each saying what it is
    assert isinstance(result, Delivery)
    assert list(result.records) == batch
    assert sorted(result.refused) == [1, 2, 3]
    assert result.refused[1].startswith("batch[1] is an SQS message (eventSource 'aws:sqs'), whose body is an")
    assert "not a DynamoDB stream record" in result.refused[1] and "not through an SQS queue" in result.refused[1]
    assert result.refused[2].startswith("batch[2] is an EventBridge event ('detail')")
    assert result.refused[3].startswith("batch[3] is one of 'aws:s3' records")
    assert all("The batch's stream records are read without it" in reason for reason in result.refused.values())


def test_a_stream_record_that_is_also_another_shape_is_refused_alone_in_a_batch() -> None:
    both = {**remove_record(event_id="both"), "detail": {"note": "x"}}

    result = read_delivery([remove_record(), both])

    assert isinstance(result, Delivery)
    assert list(result.refused) == [1]
    assert "batch[1] is a stream record and also an EventBridge event ('detail')" in result.refused[1]
    assert "would drop what the other holds" in result.refused[1]


def test_a_batch_of_stream_records_refuses_nothing(events) -> None:
    result = read_delivery(events.pipe())
    assert isinstance(result, Delivery) and result.refused == {}


def test_stream_records_of_every_documented_delivery_are_still_read(events) -> None:
    # the samples carry eventSource 'aws:dynamodb', which is no wrapper
    assert read_delivery(events.pipe()).shape is Shape.PIPE_BATCH  # type: ignore[union-attr]
    assert read_delivery(events.esm()).shape is Shape.ESM_BATCH  # type: ignore[union-attr]
    assert read_delivery(events.eventbridge()).shape is Shape.EVENTBRIDGE  # type: ignore[union-attr]
    assert read_delivery(events.remove()).shape is Shape.RECORD  # type: ignore[union-attr]
    assert read_delivery([]).shape is Shape.PIPE_BATCH  # type: ignore[union-attr]
