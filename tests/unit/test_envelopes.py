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
