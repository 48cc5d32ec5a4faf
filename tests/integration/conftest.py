"""In-process moto (``mock_aws``): a bucket, a dead-letter queue, and the adapters over them.

Retries use tiny waits here (the policy's shape is what is under test, not its timing), and the
environment is made safe first: fake credentials, and no endpoint or profile that could send a
request to a real account.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import pytest
from moto import mock_aws

from adapters.aws.clients import aws_clients
from adapters.aws.retries import RetryPolicy
from adapters.aws.s3_store import S3ArchiveStore
from adapters.aws.sqs_dead_letters import SQSDeadLetterSink
from adapters.delivery import RecordMapper
from archiver.archive import ArchiveObject, build_archive_object
from archiver.policy import Policies, TablePolicy
from archiver.records import DeletedItem, read_record
from archiver.service import Archiver

if TYPE_CHECKING:
    from collections.abc import Iterator
REGION = "eu-west-1"
BUCKET = "archive-integration"
QUEUE = "archive-integration-dlq"
FAST = RetryPolicy(attempts=5, max_delay=5.0, initial_wait=0.001, max_wait=0.005)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL") or name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
            monkeypatch.delenv(name)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield


@pytest.fixture
def clients(aws: None):
    return aws_clients(region=REGION)


@pytest.fixture
def s3(clients):
    client = clients.s3
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    return client


@pytest.fixture
def sqs(clients):
    return clients.sqs


@pytest.fixture
def orders_table(clients):
    """A DynamoDB table ``orders`` keyed PK (S) + SK (S); its client."""
    client = clients.dynamodb
    client.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


@pytest.fixture
def queue_url(sqs) -> str:
    return sqs.create_queue(QueueName=QUEUE)["QueueUrl"]


@pytest.fixture
def store(s3) -> S3ArchiveStore:
    return S3ArchiveStore(s3, BUCKET, retry=FAST)


@pytest.fixture
def sink(sqs, queue_url) -> SQSDeadLetterSink:
    return SQSDeadLetterSink(sqs, queue_url, retry=FAST)


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(4) as executor:
        yield executor


@pytest.fixture
def archiver_over(pool):
    """archiver_over(s3_client, sqs_client, queue_url) -> the production wiring, with fast retries."""

    def make(s3_client: Any, sqs_client: Any, url: str | None) -> Archiver:
        return Archiver(
            store=S3ArchiveStore(s3_client, BUCKET, retry=FAST),
            dead_letters=SQSDeadLetterSink(sqs_client, url, retry=FAST),
            mapper=RecordMapper(pool),
        )

    return make


def archive_object(record: dict[str, Any]) -> ArchiveObject:
    """The object the core builds for ``record`` under the default policy."""
    item = read_record(record, Policies())
    assert isinstance(item, DeletedItem), item
    return build_archive_object(item, TablePolicy())


def bucket_objects(s3: Any) -> dict[str, bytes]:
    """Every object in the bucket: key -> body."""
    objects = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            objects[item["Key"]] = s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
    return objects


def dead_letters(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message in the queue, as {"body": parsed JSON, "attributes": {name: value}}."""
    out = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=600
        ).get("Messages", [])
        if not messages:
            return out
        for message in messages:
            attributes = {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()}
            out.append({"body": json.loads(message["Body"]), "attributes": attributes, "raw": message["Body"]})
