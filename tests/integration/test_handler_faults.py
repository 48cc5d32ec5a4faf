"""The handler over moto with faults injected: nothing is lost, and the platform retries only what failed."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ConnectionClosedError

from adapters import lambda_handler
from adapters.delivery import RecordNotArchivedError, handle
from adapters.lambda_handler import build
from adapters.settings import Settings
from tests.integration.conftest import BUCKET, archive_object, bucket_objects, dead_letters
from tests.integration.faults import AfterCall, FlakyClient, client_error

ACCESS_DENIED = client_error("AccessDenied", 403)
SQS_DOWN = client_error("AccessDenied", 403, "SendMessage")  # permanent, so the test need not wait


def test_throttled_puts_are_retried_and_the_batch_is_archived(s3, sqs, queue_url, archiver_over, events):
    flaky = FlakyClient(s3, faults={"put_object": [client_error("SlowDown", 503), client_error("SlowDown", 503)]})
    records = events.removes(3)

    answer = handle(events.pipe(records), archiver_over(flaky, sqs, queue_url))

    assert answer == {"batchItemFailures": []}
    assert len(bucket_objects(s3)) == 3
    assert dead_letters(sqs, queue_url) == []


def test_permanent_store_failure_dead_letters_the_record_with_the_reason(s3, sqs, queue_url, archiver_over, events):
    flaky = FlakyClient(s3, always={"put_object": ACCESS_DENIED})
    record = events.remove()

    answer = handle(events.esm([record]), archiver_over(flaky, sqs, queue_url))

    assert answer == {"batchItemFailures": []}  # dead-lettered is handled: no platform retry
    (letter,) = dead_letters(sqs, queue_url)
    assert letter["body"]["record"] == record
    assert "AccessDenied" in letter["body"]["reason"]
    assert letter["body"]["error"] == "StoreUnavailableError"
    assert letter["body"]["context"]["encodedKey"] == "PK(S)USER!23123*SK(S)ORDER!232024-11-25"
    assert bucket_objects(s3) == {}


def test_store_and_queue_both_failing_names_the_pipe_record_by_event_id(s3, sqs, queue_url, archiver_over, events):
    records = events.removes(3)
    doomed = archive_object(records[1]).key
    store = FlakyClient(s3, always={"put_object": ACCESS_DENIED}, only_if=lambda request: request["Key"] == doomed)
    queue = FlakyClient(sqs, always={"send_message": SQS_DOWN})

    answer = handle(events.pipe(records), archiver_over(store, queue, queue_url))

    assert answer == {"batchItemFailures": [{"itemIdentifier": records[1]["eventID"]}]}
    assert doomed not in bucket_objects(s3)
    assert len(bucket_objects(s3)) == 2


def test_store_and_queue_both_failing_names_esm_records_by_sequence_number(s3, sqs, queue_url, archiver_over, events):
    store = FlakyClient(s3, always={"put_object": ACCESS_DENIED})
    queue = FlakyClient(sqs, always={"send_message": SQS_DOWN})
    records = events.removes(2)

    answer = handle(events.esm(records), archiver_over(store, queue, queue_url))

    assert answer == {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in records]}


def test_store_and_queue_both_failing_raises_for_an_eventbridge_event(s3, sqs, queue_url, archiver_over, events):
    store = FlakyClient(s3, always={"put_object": ACCESS_DENIED})
    queue = FlakyClient(sqs, always={"send_message": SQS_DOWN})

    with pytest.raises(RecordNotArchivedError, match="dead-letter queue failed"):
        handle(events.eventbridge(), archiver_over(store, queue, queue_url))


def test_lost_answer_is_archived_once_without_a_dead_letter(s3, sqs, queue_url, archiver_over, events):
    flaky = FlakyClient(s3, faults={"put_object": [AfterCall(ConnectionClosedError(endpoint_url="https://s3"))]})

    answer = handle(events.eventbridge(), archiver_over(flaky, sqs, queue_url))

    assert answer is None
    assert flaky.calls["put_object"] == 2
    assert len(bucket_objects(s3)) == 1
    assert dead_letters(sqs, queue_url) == []


def test_a_redelivery_with_another_image_is_dead_lettered_as_a_conflict_and_an_identical_one_is_not(
    s3, sqs, queue_url, archiver_over, events
):
    # given a deletion archived, then delivered again unchanged and once more with another image
    archiver = archiver_over(s3, sqs, queue_url)
    record = events.remove()
    altered = events.remove()
    altered["dynamodb"]["OldImage"]["total"] = {"N": "99.99"}
    handle(events.pipe([record]), archiver)
    (stored,) = bucket_objects(s3).values()
    # when both arrive
    answers = [handle(events.pipe([record]), archiver), handle(events.pipe([altered]), archiver)]
    # then the identical one is archived already (no letter), the other is reported, not dropped
    assert answers == [{"batchItemFailures": []}, {"batchItemFailures": []}]
    assert list(bucket_objects(s3).values()) == [stored]
    (letter,) = dead_letters(sqs, queue_url)
    assert letter["body"]["error"] == "ObjectConflictError"
    assert letter["body"]["record"] == altered
    assert "already holds another body for this deletion" in letter["body"]["reason"]
    assert letter["body"]["context"]["objectKey"] == archive_object(record).key


def test_build_wires_a_concurrent_archiver_that_keeps_batch_order(clients, s3, sqs, queue_url, events):
    archiver = build(Settings(bucket=BUCKET, dlq_url=queue_url, max_concurrency=8), clients=clients)
    records = events.removes(40)

    outcomes = archiver.archive(records)
    again = handle(events.pipe(records), archiver)

    assert [o.record_id for o in outcomes] == [r["eventID"] for r in records]
    assert {type(o).__name__ for o in outcomes} == {"Archived"}
    assert again == {"batchItemFailures": []}
    assert len(bucket_objects(s3)) == 40


def test_build_without_a_queue_turns_unarchivable_records_into_failures(clients, s3, events):
    archiver = build(Settings(bucket=BUCKET, max_concurrency=1), clients=clients)
    broken = events.remove()
    del broken["dynamodb"]["Keys"]

    answer = handle(events.pipe([broken]), archiver)

    assert answer == {"batchItemFailures": [{"itemIdentifier": broken["eventID"]}]}


def test_handler_entry_point_builds_once_per_process(aws, s3, sqs, queue_url, monkeypatch, events):
    monkeypatch.setenv("ARCHIVER_BUCKET", BUCKET)
    monkeypatch.setenv("ARCHIVER_DLQ_URL", queue_url)
    configured: list[str] = []  # logging is process-wide: record the call rather than leak it
    monkeypatch.setattr(lambda_handler, "configure_logging", configured.append)
    lambda_handler._wiring.cache_clear()
    lambda_handler._clients.cache_clear()
    try:
        first = lambda_handler.handler(events.pipe(), None)
        second = lambda_handler.handler(events.esm(), None)

        assert first == second == {"batchItemFailures": []}
        assert configured == ["INFO"]
        assert lambda_handler._wiring.cache_info().misses == 1
        assert lambda_handler._clients.cache_info().misses == 1
        assert len(bucket_objects(s3)) == 2
    finally:
        lambda_handler._wiring.cache_clear()
        lambda_handler._clients.cache_clear()


def test_handler_entry_point_writes_metrics_in_the_configured_namespace(
    aws, s3, sqs, queue_url, monkeypatch, events, capsys
):
    monkeypatch.setenv("ARCHIVER_BUCKET", BUCKET)
    monkeypatch.setenv("ARCHIVER_DLQ_URL", queue_url)
    monkeypatch.setenv("ARCHIVER_METRICS_NAMESPACE", "Ops/Archive")
    monkeypatch.setattr(lambda_handler, "configure_logging", lambda level: None)  # process-wide: leave it
    lambda_handler._wiring.cache_clear()
    try:
        lambda_handler.handler(events.pipe(events.removes(2)), None)
    finally:
        lambda_handler._wiring.cache_clear()

    (document,) = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Ops/Archive"
    assert (document["Table"], document["Archived"], len(document["ArchiveLag"])) == ("orders", 2, 2)
