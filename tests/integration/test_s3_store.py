"""S3ArchiveStore against in-process moto: write-once puts, what the objects carry, listing, faults."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

from adapters.aws.retries import RetryPolicy
from adapters.aws.s3_store import METADATA_KIND, S3ArchiveStore
from archiver.archive import ArchiveObject
from archiver.keys import decode_key
from archiver.ports import ObjectConflictError, ObjectNotFoundError, StoreUnavailableError
from tests.integration.conftest import BUCKET, FAST, archive_object
from tests.integration.faults import AfterCall, FlakyClient, client_error


def test_put_then_get_round_trips_the_body(store, events):
    obj = archive_object(events.remove())

    store.put(obj)

    assert store.get(obj.key) == obj.body
    assert list(store.list_keys("archive/")) == [obj.key]


def test_redelivered_record_writes_no_second_object_and_succeeds(store, s3, events):
    obj = archive_object(events.remove())
    store.put(obj)

    store.put(obj)  # the same deletion again: answered 412, which is success

    listed = s3.list_object_versions(Bucket=BUCKET).get("Versions", [])
    assert len(listed) == 1


def test_existing_key_is_never_overwritten_and_another_body_is_a_conflict(store, events):
    obj = archive_object(events.remove())
    store.put(obj)
    other = ArchiveObject(obj.key, b'{"other": true}', obj.table, obj.encoded_key, obj.kind)

    with pytest.raises(ObjectConflictError):
        store.put(other)

    assert store.get(obj.key) == obj.body


def test_a_412_whose_object_is_gone_when_read_back_is_unavailable_not_success(s3, events):
    # given a put answered 412 whose object is no longer there when read (expired in between)
    flaky = FlakyClient(s3, faults={"put_object": [client_error("PreconditionFailed", 412)]})
    store = S3ArchiveStore(flaky, BUCKET, retry=FAST)
    # then the record is not taken for archived
    with pytest.raises(StoreUnavailableError, match="gone when read back"):
        store.put(archive_object(events.remove()))


def test_awkward_characters_in_the_key_survive_the_round_trip(store, s3, events):
    keys = {"PK": {"S": "ünï/cødé #?&%+ \\ 'quote' \"dq\" 🦊"}, "SK": {"S": "../../etc/passwd"}}
    obj = archive_object(events.remove(keys=keys))

    store.put(obj)

    (listed,) = store.list_keys("archive/orders/")
    assert listed == obj.key
    _prefix, _table, encoded_key, _version = listed.split("/")
    assert decode_key(encoded_key) == keys
    assert json.loads(store.get(listed))["key"] == keys


def test_a_400_kb_item_is_archived_whole(store, events):
    obj = archive_object(events.remove(padding=400 * 1024))

    store.put(obj)

    body = json.loads(store.get(obj.key))
    assert len(body["image"]["padding"]["S"]) == 400 * 1024


def test_binary_and_set_attributes_are_preserved_exactly(store, events):
    raw = bytes(range(256))
    image = {
        "blob": {"B": base64.b64encode(raw).decode()},
        "blobs": {"BS": [base64.b64encode(b"\x00\xff").decode(), base64.b64encode(b"\xfe").decode()]},
        "numbers": {"NS": ["1.50", "-0", "1E+3"]},
        "strings": {"SS": ["b", "a", "🦊"]},
        "nested": {"M": {"list": {"L": [{"B": base64.b64encode(b"\x01").decode()}, {"NULL": True}]}}},
    }
    record = events.remove(old_image=image)

    obj = archive_object(record)
    store.put(obj)

    archived = json.loads(store.get(obj.key))["image"]
    assert base64.b64decode(archived["blob"]["B"]) == raw
    assert archived == record["dynamodb"]["OldImage"]
    assert [Decimal(n) for n in archived["numbers"]["NS"]] == [Decimal("1.5"), Decimal(0), Decimal(1000)]


def test_objects_carry_content_type_metadata_and_sse_s3_by_default(store, s3, events):
    obj = archive_object(events.remove(ttl=True))

    store.put(obj)

    head = s3.head_object(Bucket=BUCKET, Key=obj.key)
    assert head["ContentType"] == "application/json"
    assert head["ServerSideEncryption"] == "AES256"
    assert head["Metadata"] == {METADATA_KIND: "ttl"}  # the table and the encoded key are in the object key


def test_kms_key_id_selects_sse_kms(s3, events):
    store = S3ArchiveStore(s3, BUCKET, kms_key_id="alias/archive", retry=FAST)
    obj = archive_object(events.remove())

    store.put(obj)

    head = s3.head_object(Bucket=BUCKET, Key=obj.key)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"].endswith("alias/archive")
    assert head["BucketKeyEnabled"] is True


def test_metadata_is_ascii_whatever_the_kind_says(store, s3, events):
    obj = archive_object(events.remove())
    odd = ArchiveObject(obj.key, obj.body, obj.table, obj.encoded_key, "usér")

    store.put(odd)

    assert s3.head_object(Bucket=BUCKET, Key=obj.key)["Metadata"][METADATA_KIND] == "us%C3%A9r"
    assert store.deletion_kind(obj.key) == "usér"


def test_listing_pages_through_everything_in_ascending_order(s3, events):
    store = S3ArchiveStore(s3, BUCKET, retry=FAST, page_size=3)
    objects = [archive_object(record) for record in events.removes(10)]
    for obj in objects:
        store.put(obj)

    listed = list(store.list_keys("archive/orders/"))

    assert listed == sorted(obj.key for obj in objects)
    assert list(store.list_keys("archive/other/")) == []


def test_listing_retries_a_throttled_page_without_losing_the_rest(s3, events):
    flaky = FlakyClient(s3, faults={"list_objects_v2": [None, client_error("SlowDown", 503, "ListObjectsV2")]})
    store = S3ArchiveStore(flaky, BUCKET, retry=FAST, page_size=2)
    objects = [archive_object(record) for record in events.removes(5)]
    for obj in objects:
        store.put(obj)

    listed = list(store.list_keys("archive/"))

    assert listed == sorted(obj.key for obj in objects)
    assert flaky.calls["list_objects_v2"] == 4  # 3 pages + 1 retry


def test_get_of_a_missing_key_raises_key_error(store):
    with pytest.raises(ObjectNotFoundError):
        store.get("archive/orders/nothing/here.json")


def test_throttling_is_retried_then_succeeds(s3, events):
    # tests/unit/test_logs.py checks, in a clean process, that each retry is logged with its record
    flaky = FlakyClient(s3, faults={"put_object": [client_error("SlowDown", 503), client_error("SlowDown", 503)]})
    store = S3ArchiveStore(flaky, BUCKET, retry=FAST)
    obj = archive_object(events.remove())

    store.put(obj)

    assert flaky.calls["put_object"] == 3
    assert store.get(obj.key) == obj.body


@pytest.mark.parametrize(
    "error",
    [
        client_error("InternalError", 500),
        client_error("ConditionalRequestConflict", 409),
        EndpointConnectionError(endpoint_url="https://s3"),
        ReadTimeoutError(endpoint_url="https://s3"),
        ConnectionClosedError(endpoint_url="https://s3"),
    ],
    ids=["500", "409-conflict", "endpoint-connection", "read-timeout", "connection-closed"],
)
def test_transient_errors_are_retried(s3, events, error):
    flaky = FlakyClient(s3, faults={"put_object": [error]})
    store = S3ArchiveStore(flaky, BUCKET, retry=FAST)
    obj = archive_object(events.remove())

    store.put(obj)

    assert flaky.calls["put_object"] == 2
    assert store.get(obj.key) == obj.body


@pytest.mark.parametrize(("code", "status"), [("AccessDenied", 403), ("NoSuchBucket", 404), ("InvalidArgument", 400)])
def test_permanent_errors_are_not_retried(s3, events, code, status):
    flaky = FlakyClient(s3, always={"put_object": client_error(code, status)})
    store = S3ArchiveStore(flaky, BUCKET, retry=FAST)

    with pytest.raises(StoreUnavailableError, match=code) as raised:
        store.put(archive_object(events.remove()))

    assert flaky.calls["put_object"] == 1
    assert raised.value.attempts == 1


def test_persistent_throttling_gives_up_after_the_bounded_attempts(s3, events):
    flaky = FlakyClient(s3, always={"put_object": client_error("SlowDown", 503)})
    store = S3ArchiveStore(flaky, BUCKET, retry=RetryPolicy(attempts=3, initial_wait=0.001, max_wait=0.002))

    with pytest.raises(StoreUnavailableError, match="after 3 attempts") as raised:
        store.put(archive_object(events.remove()))

    assert flaky.calls["put_object"] == 3
    assert raised.value.attempts == 3


def test_retries_stop_at_the_total_time_budget(s3, events):
    flaky = FlakyClient(s3, always={"put_object": client_error("SlowDown", 503)})
    budget = RetryPolicy(attempts=100, max_delay=0.05, initial_wait=0.02, max_wait=0.02)
    store = S3ArchiveStore(flaky, BUCKET, retry=budget)

    with pytest.raises(StoreUnavailableError):
        store.put(archive_object(events.remove()))

    assert 1 < flaky.calls["put_object"] < 100


@pytest.mark.parametrize(
    "lost_answer",
    [client_error("InternalError", 500), ConnectionClosedError(endpoint_url="https://s3")],
    ids=["500-after-write", "connection-dropped-after-write"],
)
def test_put_whose_answer_was_lost_is_archived_by_the_412_of_its_retry(s3, events, lost_answer):
    flaky = FlakyClient(s3, faults={"put_object": [AfterCall(lost_answer)]})
    store = S3ArchiveStore(flaky, BUCKET, retry=FAST)
    obj = archive_object(events.remove())

    store.put(obj)  # no error: the retry is answered 412, the object is ours

    assert flaky.calls["put_object"] == 2
    assert len(s3.list_object_versions(Bucket=BUCKET).get("Versions", [])) == 1
    assert store.get(obj.key) == obj.body
