"""Each sample delivery through the production wiring (build + handle) over moto: what lands in S3."""

from __future__ import annotations

import json

import pytest

from adapters.delivery import handle
from adapters.lambda_handler import build
from adapters.settings import Settings
from tests.integration.conftest import BUCKET, bucket_objects, dead_letters


@pytest.fixture
def archiver(clients, s3, queue_url):
    return build(Settings(bucket=BUCKET, dlq_url=queue_url, max_concurrency=4), clients=clients)


def only_body(s3) -> dict:
    (body,) = bucket_objects(s3).values()
    return json.loads(body)


def test_eventbridge_event_archives_its_detail(archiver, s3, events):
    event = events.eventbridge()

    assert handle(event, archiver) is None

    body = only_body(s3)
    assert body["image"] == event["detail"]["dynamodb"]["OldImage"]
    assert body["deletion"] == {"kind": "user", "evidence": "none"}


@pytest.mark.parametrize("shape", ["pipe", "esm"])
def test_batches_archive_the_remove_and_skip_the_rest(shape, archiver, s3, events):
    event = getattr(events, shape)()
    records = event if shape == "pipe" else event["Records"]
    (remove,) = [r for r in records if r["eventName"] == "REMOVE"]

    assert handle(event, archiver) == {"batchItemFailures": []}

    assert only_body(s3)["stream"]["eventID"] == remove["eventID"]


def test_ttl_remove_is_archived_as_a_ttl_deletion(archiver, s3, events):
    handle(events.load("ttl_remove"), archiver)

    body = only_body(s3)
    assert body["deletion"] == {"kind": "ttl", "evidence": "userIdentity"}
    assert body["table"] == "sessions"


def test_keys_only_remove_is_archived_with_its_key_and_no_image(archiver, s3, sqs, queue_url, events):
    record = events.load("keys_only_remove")

    handle(events.esm([record]), archiver)

    body = only_body(s3)
    assert body["key"] == {"PK": {"S": "USER#3"}, "SK": {"N": "7"}}
    assert (body["image"], body["imageMissing"]) == (None, True)
    assert dead_letters(sqs, queue_url) == []


def test_the_same_delivery_twice_writes_nothing_new(archiver, s3, sqs, queue_url, events):
    event = events.esm(events.removes(5))
    handle(event, archiver)
    first = bucket_objects(s3)

    assert handle(event, archiver) == {"batchItemFailures": []}

    assert bucket_objects(s3) == first
    assert dead_letters(sqs, queue_url) == []
