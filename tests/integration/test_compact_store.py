"""Compact objects in S3 (in-process moto): stored as gzip files, write-once, 412 read as "already archived"."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace

from adapters.aws.s3_store import COMPACT_CONTENT_TYPE, S3ArchiveStore
from archiver.policy import Layout, Policies, TablePolicy
from archiver.service import Archived, DeadLettered
from tests.integration.conftest import BUCKET, FAST, bucket_objects, dead_letters

COMPACT = Policies(default=TablePolicy(layout=Layout.COMPACT))


def test_a_compact_object_is_a_gzip_file_without_content_encoding_and_encrypted(
    archiver_over, s3, sqs, queue_url, events
):
    archiver = replace(archiver_over(s3, sqs, queue_url), policies=COMPACT)

    outcomes = archiver.archive(events.removes(3))

    (key,) = {o.object_key for o in outcomes if isinstance(o, Archived)}
    head = s3.head_object(Bucket=BUCKET, Key=key)
    assert head["ContentType"] == COMPACT_CONTENT_TYPE == "application/gzip"
    assert "ContentEncoding" not in head and head["Metadata"] == {}
    assert head["ServerSideEncryption"] == "AES256"
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()  # what a download gets: the stored gzip
    assert len([json.loads(line) for line in gzip.decompress(body).splitlines()]) == 3


def test_a_redelivered_batch_meets_its_object_and_is_archived_with_no_dead_letter(
    archiver_over, s3, sqs, queue_url, events
):
    archiver = replace(archiver_over(s3, sqs, queue_url), policies=COMPACT)
    records = events.removes(4)
    first = archiver.archive(records)

    answers: list[int] = []
    s3.meta.events.register(
        "after-call.s3.PutObject", lambda http_response, **_: answers.append(http_response.status_code)
    )
    again = archiver.archive(records)

    assert answers == [412]  # the conditional PUT found the object: this batch is archived already
    assert [o.object_key for o in again] == [o.object_key for o in first]  # type: ignore[union-attr]
    assert all(isinstance(o, Archived) for o in again)
    assert len(bucket_objects(s3)) == 1 and dead_letters(sqs, queue_url) == []


def test_a_put_that_fails_dead_letters_every_record_of_the_object_with_the_reason(
    archiver_over, s3, sqs, queue_url, events
):
    archiver = replace(
        archiver_over(s3, sqs, queue_url),
        policies=COMPACT,
        store=S3ArchiveStore(s3, "no-such-archive-bucket", retry=FAST),
    )
    records = events.removes(3)

    outcomes = archiver.archive(records)

    assert [type(o) for o in outcomes] == [DeadLettered] * 3
    letters = dead_letters(sqs, queue_url)
    assert sorted(m["body"]["record"]["eventID"] for m in letters) == sorted(r["eventID"] for r in records)
    assert all("archive store unavailable" in m["body"]["reason"] for m in letters)
    (object_key,) = {m["body"]["context"]["objectKey"] for m in letters}  # the one object they were all in
    assert "/compact/dt=" in object_key and object_key.endswith(".jsonl.gz")
