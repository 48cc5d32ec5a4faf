"""Dead letters too large for their queue are kept whole in the archive bucket, and the message says where."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

import pytest

from adapters.aws.retries import RetryPolicy
from adapters.aws.s3_dead_letters import LetterNotWrittenError, S3DeadLetterOverflow
from adapters.aws.s3_store import S3ArchiveStore
from adapters.aws.sqs_dead_letters import LOCATION_ATTRIBUTE, MARKER_ATTRIBUTE, SQSDeadLetterSink
from adapters.delivery import EventNotArchivedError, handle
from adapters.lambda_handler import build
from adapters.settings import Settings
from archiver.policy import Policies, TablePolicy
from archiver.ports import DeadLetter, DeadLetterUnavailableError
from archiver.service import Archiver
from tests.integration.conftest import BUCKET, FAST, bucket_objects, dead_letters
from tests.integration.faults import FlakyClient, client_error

DAY = date(2026, 1, 30)
POLICIES = Policies(tables={"orders": TablePolicy(prefix="vault/eu")}, fallback_table="orders")


def overflow_over(s3: Any, **overrides: Any) -> S3DeadLetterOverflow:
    options: dict[str, Any] = {"policies": POLICIES, "retry": FAST, "today": lambda: DAY, **overrides}
    return S3DeadLetterOverflow(s3, BUCKET, **options)


@pytest.fixture
def overflowing_sink(s3, sqs, queue_url) -> SQSDeadLetterSink:
    return SQSDeadLetterSink(sqs, queue_url, overflow=overflow_over(s3), retry=FAST)


def unknown_envelope(records: int, padding: int) -> dict[str, Any]:
    """An event no delivery shape matches: deletions under a key the handler does not know."""
    return {"records": [{"eventName": "REMOVE", "n": i, "padding": "x" * padding} for i in range(records)]}


def test_an_unknown_envelope_over_the_limit_is_kept_whole_and_the_message_points_to_it(
    overflowing_sink, s3, sqs, queue_url
):
    # given an event of 600 deletions, 1.5 MB in all, that no shape matches
    event = unknown_envelope(600, 2500)
    letter = DeadLetter("event", "event has records; expected ...", "UnknownEnvelope", event)
    # when it is dead-lettered
    overflowing_sink.report(letter)
    # then the bucket holds the whole letter, in the fallback table's folder
    ((key, stored),) = bucket_objects(s3).items()
    assert len(stored) > 1_500_000
    assert key == f"vault/eu/orders/_dead-letters/2026-01-30/{hashlib.sha256(stored).hexdigest()}.json"
    kept = json.loads(stored)
    assert kept["record"] == event
    assert kept["kind"] == MARKER_ATTRIBUTE and kept["error"] == "UnknownEnvelope"
    # and the message says where, and why, not what
    (message,) = dead_letters(sqs, queue_url)
    assert message["attributes"][MARKER_ATTRIBUTE] == "v1"
    assert message["attributes"][LOCATION_ATTRIBUTE] == "s3"
    assert "record" not in message["body"]
    assert message["body"]["letterLocation"] == {
        "bucket": BUCKET,
        "key": key,
        "bytes": len(stored),
        "sha256": hashlib.sha256(stored).hexdigest(),
    }
    assert "too large for SQS" in message["body"]["note"]


def test_a_record_over_the_limit_is_kept_byte_for_byte_with_its_keys_in_the_message(
    overflowing_sink, s3, sqs, queue_url, events
):
    record = events.remove(padding=1_200_000, old_image={"odd": {"S": "caf\u00e9 \ud800 \ufffe"}})
    letter = DeadLetter(record["eventID"], "archive store unavailable", "StoreUnavailableError", record, "orders")

    overflowing_sink.report(letter)

    ((key, stored),) = bucket_objects(s3).items()
    assert key.startswith("vault/eu/orders/_dead-letters/")
    assert json.loads(stored)["record"] == record
    (message,) = dead_letters(sqs, queue_url)
    assert message["body"]["keys"] == record["dynamodb"]["Keys"]
    assert message["body"]["eventID"] == record["eventID"]
    assert message["body"]["letterLocation"]["key"] == key


def test_the_same_letter_sent_twice_is_kept_once(overflowing_sink, s3, sqs, queue_url, events):
    record = events.remove(padding=1_100_000)
    letter = DeadLetter(record["eventID"], "archive store unavailable", "StoreUnavailableError", record, "orders")

    overflowing_sink.report(letter)
    overflowing_sink.report(letter)

    assert len(bucket_objects(s3)) == 1
    first, second = dead_letters(sqs, queue_url)
    assert first["body"]["letterLocation"] == second["body"]["letterLocation"]


def test_a_queue_with_a_smaller_limit_overflows_to_the_bucket_too(s3, sqs, events):
    url = sqs.create_queue(QueueName="small-dlq", Attributes={"MaximumMessageSize": "2048"})["QueueUrl"]
    sink = SQSDeadLetterSink(sqs, url, overflow=overflow_over(s3), retry=FAST)
    record = events.remove(padding=4000)

    sink.report(DeadLetter(record["eventID"], "store down", "StoreUnavailableError", record, "orders"))

    ((key, stored),) = bucket_objects(s3).items()
    assert json.loads(stored)["record"] == record
    (message,) = dead_letters(sqs, url)
    assert message["body"]["letterLocation"]["key"] == key
    assert "the queue refused the full letter" in message["body"]["note"]


def test_kept_letters_are_encrypted_as_archive_objects_are(s3, sqs, queue_url, events):
    key_id = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    overflow = overflow_over(s3)
    overflow_kms = overflow_over(s3, kms_key_id=key_id)
    big = events.remove(padding=1_100_000)

    plain = overflow.write(DeadLetter("a", "r", "E", big, "orders"), json.dumps(big))
    kms = overflow_kms.write(DeadLetter("b", "r", "E", big, "orders"), json.dumps({"other": big}))

    assert s3.head_object(Bucket=BUCKET, Key=plain.key)["ServerSideEncryption"] == "AES256"
    head = s3.head_object(Bucket=BUCKET, Key=kms.key)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == key_id
    assert head["BucketKeyEnabled"] is True


def test_when_the_bucket_fails_too_the_report_fails_and_no_letter_without_its_record_is_sent(
    s3, sqs, queue_url, events
):
    broken = FlakyClient(s3, always={"put_object": client_error("ServiceUnavailable", 503)})
    overflow = overflow_over(broken, retry=RetryPolicy(attempts=2, initial_wait=0.001, max_wait=0.001))
    sink = SQSDeadLetterSink(sqs, queue_url, overflow=overflow, retry=FAST)
    record = events.remove(padding=1_100_000)

    with pytest.raises(DeadLetterUnavailableError) as raised:
        sink.report(DeadLetter(record["eventID"], "store down", "StoreUnavailableError", record, "orders"))

    assert bucket_objects(s3) == {}
    assert dead_letters(sqs, queue_url) == []
    assert "could not be kept in the archive bucket either" in str(raised.value)
    assert "ServiceUnavailable" in str(raised.value)


def test_a_letter_with_no_table_is_not_written_outside_a_table_folder(s3, sqs, queue_url):
    overflow = overflow_over(s3, policies=Policies())  # no ARCHIVER_TABLE to fall back on
    sink = SQSDeadLetterSink(sqs, queue_url, overflow=overflow, retry=FAST)

    with pytest.raises(LetterNotWrittenError, match="names no table"):
        overflow.write(DeadLetter("event", "r", "UnknownEnvelope", {}), "{}")
    with pytest.raises(DeadLetterUnavailableError, match="names no table"):
        sink.report(DeadLetter("event", "unknown", "UnknownEnvelope", unknown_envelope(300, 4096)))

    assert bucket_objects(s3) == {}
    assert dead_letters(sqs, queue_url) == []


def test_an_unreadable_event_too_large_for_the_queue_with_no_table_known_fails_the_invocation(
    clients, s3, sqs, queue_url
):
    # given the function's own wiring without ARCHIVER_TABLE
    archiver = build(Settings(bucket=BUCKET, dlq_url=queue_url, table=None), clients=clients)
    event = unknown_envelope(600, 2500)
    # when an event of 1.5 MB that no shape matches arrives
    with pytest.raises(EventNotArchivedError) as raised:
        handle(event, archiver)
    # then the invocation fails (the platform retries it, then keeps it in its own dead letter),
    # and no letter that holds none of its deletions is sent
    assert dead_letters(sqs, queue_url) == []
    assert bucket_objects(s3) == {}
    assert "names no table" in str(raised.value)


def test_a_batch_record_whose_letter_cannot_be_kept_whole_is_named_for_the_platform_to_retry(
    s3, sqs, queue_url, events
):
    # given a store that refuses one big record, and a bucket that cannot keep its letter either
    records = [events.remove(n=1), events.remove(n=2, padding=1_100_000)]
    broken = FlakyClient(s3, always={"put_object": client_error("AccessDenied", 403)}, only_if=_big)
    overflow = overflow_over(broken)
    archiver = Archiver(
        store=S3ArchiveStore(broken, BUCKET, retry=FAST),
        dead_letters=SQSDeadLetterSink(sqs, queue_url, overflow=overflow, retry=FAST),
    )
    # when the pipe delivers both
    answer = handle(events.pipe(records), archiver)
    # then the small one is archived, and the big one is named for a retry instead of a letter without it
    assert answer == {"batchItemFailures": [{"itemIdentifier": records[1]["eventID"]}]}
    assert len(bucket_objects(s3)) == 1
    assert dead_letters(sqs, queue_url) == []


def _big(request: dict[str, Any]) -> bool:
    return len(request["Body"]) > 1_000_000


def test_a_letter_that_fits_never_touches_the_bucket(overflowing_sink, s3, sqs, queue_url, events):
    overflowing_sink.report(DeadLetter("id", "store down", "StoreUnavailableError", events.remove(), "orders"))

    assert bucket_objects(s3) == {}
    (message,) = dead_letters(sqs, queue_url)
    assert "record" in message["body"]


def test_the_function_keeps_an_oversized_unknown_event_under_its_table(clients, s3, sqs, queue_url):
    # given the function as deployed: ARCHIVER_TABLE set, its own composition root
    archiver = build(Settings(bucket=BUCKET, dlq_url=queue_url, table="orders"), clients=clients)
    event = unknown_envelope(600, 2500)
    # when an event of 1.5 MB that no shape matches arrives
    assert handle(event, archiver) is None
    # then it is kept whole under the table's folder, and the letter says where
    ((key, stored),) = bucket_objects(s3).items()
    assert key.startswith("archive/orders/_dead-letters/")
    assert json.loads(stored)["record"] == event
    (message,) = dead_letters(sqs, queue_url)
    assert message["body"]["letterLocation"]["key"] == key
    assert s3.head_object(Bucket=BUCKET, Key=key)["ServerSideEncryption"] == "AES256"


def test_a_kept_letter_is_never_overwritten(s3, events):
    # given an object already at the key a letter would be kept under
    record = events.remove(padding=1_100_000)
    letter = DeadLetter(record["eventID"], "store down", "StoreUnavailableError", record, "orders")
    body = json.dumps({"the": "letter"})
    key = f"vault/eu/orders/_dead-letters/2026-01-30/{hashlib.sha256(body.encode()).hexdigest()}.json"
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"already here")
    # when the letter is written
    location = overflow_over(s3).write(letter, body)
    # then the write was conditional: the object there is left as it was
    assert location.key == key
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"already here"
