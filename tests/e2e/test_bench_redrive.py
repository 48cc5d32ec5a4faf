"""bench/bench_redrive.py's measures work at a small size (the benchmark itself is run by hand)."""

from __future__ import annotations

import contextlib
import uuid

import pytest

from adapters.aws.clients import aws_clients
from bench.bench_redrive import BUCKET, REGION, add_put_latency, fill, time_raw, time_redrive
from tests.conftest import Events

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("process_logging_left_alone")]


def test_the_redrive_and_its_ceiling_each_take_every_letter_once(aws: str) -> None:
    clients = aws_clients(region=REGION)
    with contextlib.suppress(clients.s3.exceptions.BucketAlreadyOwnedByYou):
        clients.s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    add_put_latency(clients.s3, 0.001)
    queue = clients.sqs.create_queue(QueueName=f"bench-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    events = Events()

    fill(clients.sqs, queue, events, 1, 23)
    _, redriven = time_redrive(clients, queue, concurrency=3)
    fill(clients.sqs, queue, events, 101, 17)
    _, raw = time_raw(clients, queue, concurrency=3)

    assert (redriven, raw) == (23, 17)
    assert clients.sqs.receive_message(QueueUrl=queue).get("Messages", []) == []
