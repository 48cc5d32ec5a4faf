"""Stream records as GetRecords gives them -> as a pipe delivers them, and the moto key repair."""

from __future__ import annotations

import base64
import datetime as dt
import uuid

from adapters.aws.stream_records import repair_keys, to_wire
from adapters.local.local_pipe import eventbridge_event

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/sessions/stream/2026-11-25T09:38:25.028759"
RAW = b"\x00\xffab"


def _record(keys: dict[str, object], old: dict[str, object] | None = None) -> dict[str, object]:
    dynamodb: dict[str, object] = {
        "ApproximateCreationDateTime": dt.datetime(2026, 11, 25, 9, 38, 25, tzinfo=dt.UTC),
        "Keys": keys,
        "SequenceNumber": "1100000000017454423010",
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if old is not None:
        dynamodb["OldImage"] = old
    return {"eventID": "d8382a09", "eventName": "REMOVE", "awsRegion": "us-east-1", "dynamodb": dynamodb}


def test_to_wire_writes_binaries_as_base64_times_as_epoch_seconds_and_adds_the_stream_arn() -> None:
    wire = to_wire(_record({"id": {"B": RAW}}, {"id": {"B": RAW}, "tags": {"BS": [RAW]}}), ARN)
    assert wire["eventSourceARN"] == ARN
    assert wire["dynamodb"]["OldImage"] == {"id": {"B": "AP9hYg=="}, "tags": {"BS": ["AP9hYg=="]}}
    assert wire["dynamodb"]["ApproximateCreationDateTime"] == 1795599505.0


def test_moto_double_encoded_binary_keys_are_taken_from_the_old_image() -> None:
    # moto 5.2.5 returns Keys.B as base64 of the base64 text: boto3 hands back b"AP9hYg=="
    wire = to_wire(_record({"id": {"B": b"AP9hYg=="}}, {"id": {"B": RAW}}), ARN)
    assert repair_keys(wire, binary_keys_double_encoded=False)["dynamodb"]["Keys"] == {"id": {"B": "AP9hYg=="}}


def test_without_an_old_image_double_encoding_is_undone_only_when_declared() -> None:
    wire = to_wire(_record({"id": {"B": b"AP9hYg=="}}), ARN)
    assert repair_keys(wire, binary_keys_double_encoded=True)["dynamodb"]["Keys"] == {"id": {"B": "AP9hYg=="}}
    as_aws_sends_it = repair_keys(wire, binary_keys_double_encoded=False)["dynamodb"]["Keys"]
    assert as_aws_sends_it == {"id": {"B": base64.b64encode(b"AP9hYg==").decode()}}


def test_binary_keys_that_are_not_base64_text_are_left_alone() -> None:
    wire = to_wire(_record({"id": {"B": RAW}}), ARN)
    assert repair_keys(wire, binary_keys_double_encoded=True)["dynamodb"]["Keys"] == {"id": {"B": "AP9hYg=="}}


def test_the_eventbridge_envelope_is_stable_for_a_redelivered_record() -> None:
    record = to_wire(_record({"id": {"B": RAW}}, {"id": {"B": RAW}}), ARN)
    event = eventbridge_event(record, "sessions")
    assert event == eventbridge_event(record, "sessions")
    assert uuid.UUID(event["id"]).version == 5
    assert {k: event[k] for k in ("version", "detail-type", "source", "account", "region", "time", "resources")} == {
        "version": "0",
        "detail-type": "Event from aws:dynamodb",
        "source": "Pipe sessions-archive",
        "account": "123456789012",
        "region": "us-east-1",
        "time": "2026-11-25T09:38:25Z",
        "resources": ["arn:aws:dynamodb:us-east-1:123456789012:table/sessions"],
    }
    assert event["detail"] is record
