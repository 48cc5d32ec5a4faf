"""The Lambda composition root with ARCHIVER_LAYOUT=compact, fed real event-source-mapping batches.

The batches are published captures, copied from the shared fixtures (see their SOURCES.md):
``real_esm_insert_modify_remove.json`` (Ankcorn/dynamodb-streams-test, INSERT, MODIFY and REMOVE
of one item), ``real_esm_all_types_remove.json`` (derived from aws-lambda-java-libs' sample: a
REMOVE whose image has all ten attribute types) and ``real_esm_ttl_remove.json`` (a TTL deletion
captured by KieranHunt). An ESM batch answers ``batchItemFailures`` naming each failed record by
its ``SequenceNumber``.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

from adapters.delivery import handle
from adapters.lambda_handler import build
from adapters.settings import Settings
from archiver.layouts import read_compact_key
from archiver.records import table_from_arn
from tests.integration.conftest import BUCKET, bucket_objects


def _real_batch(events: Any) -> dict[str, Any]:
    records = [
        record
        for name in ("real_esm_insert_modify_remove", "real_esm_all_types_remove", "real_esm_ttl_remove")
        for record in events.load(name)["Records"]
    ]
    return {"Records": records}


def test_a_real_esm_batch_is_archived_as_compact_objects_one_line_per_removal(clients, s3, queue_url, events):
    # given the function configured with the compact layout, and a real ESM batch from three tables
    archiver = build(Settings(bucket=BUCKET, dlq_url=queue_url, layout="compact"), clients=clients)
    batch = _real_batch(events)
    removals = [r for r in batch["Records"] if r["eventName"] == "REMOVE"]

    # when it is handled
    answer = handle(batch, archiver)

    # then nothing is reported failed, and each table has one compact object holding its removals
    assert answer == {"batchItemFailures": []}
    objects = bucket_objects(s3)
    tables = {table_from_arn(r["eventSourceARN"]) for r in removals}
    assert len(objects) == len(tables) == 3
    lines = []
    for key, body in objects.items():
        assert any(read_compact_key(key, "archive", str(table)) for table in tables), key
        lines += [json.loads(line) for line in gzip.decompress(body).splitlines()]
    assert sorted(line["stream"]["eventID"] for line in lines) == sorted(r["eventID"] for r in removals)
    ttl = next(line for line in lines if line["deletion"]["kind"] == "ttl")
    assert ttl["deletion"]["evidence"] == "userIdentity"
    typed = next(line for line in lines if "SS" in json.dumps(line["image"]))
    assert typed["image"] == next(
        r["dynamodb"]["OldImage"] for r in removals if r["eventID"] == typed["stream"]["eventID"]
    )


def test_when_neither_store_nor_queue_takes_them_each_removal_is_named_by_its_sequence_number(
    clients, s3, queue_url, events
):
    # given a compact function whose bucket and queue are both missing
    settings = Settings(bucket="no-such-archive-bucket", dlq_url=queue_url + "-missing", layout="compact")
    archiver = build(settings, clients=clients)
    batch = _real_batch(events)

    answer = handle(batch, archiver)

    # then the ESM is told to retry exactly the removals (INSERT and MODIFY were skipped), by SequenceNumber
    expected = [r["dynamodb"]["SequenceNumber"] for r in batch["Records"] if r["eventName"] == "REMOVE"]
    assert answer == {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in expected]}
