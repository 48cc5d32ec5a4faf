"""Reading one stream record: what is a deletion, of which kind, and why a record is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from archiver.attribute_values import MAX_NESTING
from archiver.policy import DeletionKind, Policies, TablePolicy
from archiver.records import (
    DeletedItem,
    NotADeletion,
    TtlEvidence,
    Unreadable,
    read_record,
    table_from_arn,
)
from tests.builders import insert_record, remove_record


def read(record: object, **policy: object) -> DeletedItem:
    parsed = read_record(record, Policies(default=TablePolicy(**policy)))  # type: ignore[arg-type]
    assert isinstance(parsed, DeletedItem), parsed
    return parsed


@pytest.mark.parametrize(
    ("arn", "table"),
    [
        ("arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2024-01-01T00:00:00.000", "orders"),
        ("arn:aws:dynamodb:us-east-1:111122223333:table/EventSourceTable", "EventSourceTable"),
        ("arn:aws-cn:dynamodb:cn-north-1:123456789012:table/a.b-c_d/stream/x", "a.b-c_d"),
        ("stream-ARN", None),
        ("arn:aws:dynamodb:us-east-1:1:table/x", None),
        (None, None),
    ],
)
def test_table_comes_from_a_table_or_stream_arn(arn: str | None, table: str | None) -> None:
    assert table_from_arn(arn) == table


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        (1693997155, datetime(2023, 9, 6, 10, 45, 55, tzinfo=UTC)),
        (1693997155.0, datetime(2023, 9, 6, 10, 45, 55, tzinfo=UTC)),
        ("1.44130524E9", datetime(2015, 9, 3, 18, 34, tzinfo=UTC)),
        (1.44130524e9, datetime(2015, 9, 3, 18, 34, tzinfo=UTC)),
        (1480642020000, datetime(2016, 12, 2, 1, 27, tzinfo=UTC)),
        (None, None),
    ],
)
def test_creation_time_is_read_in_every_published_form(created: object, expected: datetime | None) -> None:
    assert read(remove_record(created=created)).deleted_at == expected


def test_ttl_identity_marks_a_ttl_deletion() -> None:
    item = read(remove_record(ttl=True))
    assert (item.kind, item.evidence) == (DeletionKind.TTL, TtlEvidence.USER_IDENTITY)


def test_expired_ttl_attribute_marks_a_replicated_ttl_deletion() -> None:
    # given a global-table replica's REMOVE: no TTL identity, but the TTL attribute had passed
    image = {"PK": {"S": "a"}, "expires": {"N": "1699999999"}}
    record = remove_record(keys={"PK": {"S": "a"}}, old_image=image, created=1700000000)
    # then it counts as TTL, and says which evidence decided
    item = read(record, ttl_attribute="expires")
    assert (item.kind, item.evidence) == (DeletionKind.TTL, TtlEvidence.EXPIRED_ATTRIBUTE)


def test_future_ttl_attribute_is_a_user_deletion() -> None:
    image = {"PK": {"S": "a"}, "expires": {"N": "1700000001"}}
    record = remove_record(keys={"PK": {"S": "a"}}, old_image=image, created=1700000000)
    assert read(record, ttl_attribute="expires").kind is DeletionKind.USER
    assert read(remove_record()).evidence is TtlEvidence.NONE


@pytest.mark.parametrize(
    ("created", "expires", "kind"),
    [
        ("1700000000.0000000000000000000000000002", "1700000000.0000000000000000000000000001", DeletionKind.TTL),
        ("1700000000.0000000000000000000000000001", "1700000000.0000000000000000000000000002", DeletionKind.USER),
        ("1700000000000.0000000000000000000000002", "1700000000.0000000000000000000000000001", DeletionKind.TTL),
        ("1700000000000.0000000000000000000000001", "1700000000.0000000000000000000000000002", DeletionKind.USER),
    ],
    ids=["seconds-passed", "seconds-ahead", "milliseconds-passed", "milliseconds-ahead"],
)
def test_ttl_is_compared_with_the_deletion_time_exactly(created: str, expires: str, kind: DeletionKind) -> None:
    # given a TTL and a creation time that differ only past the 28th significant digit
    record = remove_record(keys={"PK": {"S": "a"}}, old_image={"e": {"N": expires}}, created=created)
    # then the TTL attribute decides exactly as the two numbers compare (28 digits saw them equal or rounded)
    assert read(record, ttl_attribute="e").kind is kind


def test_keys_only_record_is_kept_with_its_image_marked_missing() -> None:
    item = read(remove_record(view="KEYS_ONLY"))
    assert item.image_missing and item.image == {}
    assert item.key == {"PK": {"S": "USER#123"}, "SK": {"S": "PROFILE"}}


def test_insert_and_modify_are_not_deletions() -> None:
    assert isinstance(read_record(insert_record(), Policies()), NotADeletion)


def test_record_without_table_uses_the_fallback_or_is_refused() -> None:
    record = remove_record(arn="stream-ARN")
    assert read_record(record, Policies(fallback_table="orders")).table == "orders"  # type: ignore[union-attr]
    refused = read_record(record, Policies())
    assert isinstance(refused, Unreadable)
    assert "eventSourceARN" in refused.reason and "ARCHIVER_TABLE" in refused.reason


def test_java_v1_null_padded_attributes_are_read_as_their_one_type() -> None:
    padded = {
        "S": None,
        "N": "5",
        "B": None,
        "SS": None,
        "NS": None,
        "BS": None,
        "M": None,
        "L": None,
        "BOOL": None,
        "NULL": None,
    }
    item = read(remove_record(keys={"id": padded}, old_image={"id": padded}))
    assert item.key == {"id": {"N": "5"}} and item.image == {"id": {"N": "5"}}


def _without(field: str) -> dict:
    record = remove_record()
    del record["dynamodb"][field]
    return record


@pytest.mark.parametrize(
    ("record", "named"),
    [
        ("not a record", "not a JSON object"),
        ({**remove_record(), "dynamodb": None}, "dynamodb is missing"),
        ({**remove_record(), "dynamodb": []}, "dynamodb is []"),
        (_without("Keys"), "dynamodb.Keys is missing"),
        (remove_record(keys={"PK": {"S": 5}}), "dynamodb.Keys.PK.S is 5"),
        (remove_record(keys={"PK": {"X": "a"}}), "dynamodb.Keys.PK has type 'X'; a key attribute is S, N or B"),
        (remove_record(keys={"PK": {"SS": ["a"]}}), "key attribute 'PK' has type \"SS\""),
        (remove_record(old_image={"PK": {"X": "a"}}), "dynamodb.OldImage.PK has type 'X'; expected one of B, BOOL"),
        (remove_record(old_image={"n": {"N": "abc"}}), "dynamodb.OldImage.n.N is 'abc'"),
        (remove_record(old_image={"n": {"N": "1" * 39}}), "dynamodb.OldImage.n.N is '" + "1" * 39 + "', which has 39"),
        (remove_record(old_image={"n": {"NS": ["1", "1E+126"]}}), "OldImage.n.NS[1] is '1E+126', whose magnitude"),
        (remove_record(old_image={"n": {"N": "-1E-131"}}), "up to 38 significant digits, magnitude 1E-130 to"),
        (remove_record(old_image={"m": {"M": {"x": {"L": [{"BOOL": "yes"}]}}}}), "OldImage.m.M.x.L[0].BOOL"),
        (remove_record(created="yesterday"), "ApproximateCreationDateTime is 'yesterday'"),
        (remove_record(sequence="12ab"), "SequenceNumber is '12ab'"),
        ({**remove_record(), "eventName": "DELETE"}, "eventName is 'DELETE'"),
    ],
)
def test_malformed_records_are_refused_naming_the_field(record: object, named: str) -> None:
    parsed = read_record(record, Policies())
    assert isinstance(parsed, Unreadable)
    assert named in parsed.reason


@pytest.mark.parametrize(
    ("keys", "image_key", "shown"),
    [
        ({"PK": {"S": "USER#1"}}, {"PK": {"S": "USER#2"}}, '{"S": "USER#2"} but dynamodb.Keys.PK is {"S": "USER#1"}'),
        ({"PK": {"N": "1"}}, {"PK": {"S": "1"}}, '{"S": "1"} but dynamodb.Keys.PK is {"N": "1"}'),
        ({"PK": {"N": "1"}}, {"PK": {"N": "1.5"}}, '{"N": "1.5"} but dynamodb.Keys.PK is {"N": "1"}'),
        ({"PK": {"B": "AQI="}}, {"PK": {"B": "AQM="}}, '{"B": "AQM="} but dynamodb.Keys.PK is {"B": "AQI="}'),
        ({"PK": {"S": "a"}}, {"PK": {"SS": ["a"]}}, '{"SS": ["a"]} but dynamodb.Keys.PK is {"S": "a"}'),
    ],
)
def test_a_record_whose_image_holds_another_key_is_refused_naming_both_values(
    keys: dict, image_key: dict, shown: str
) -> None:
    # given a forged record: its OldImage names another item than its Keys
    record = remove_record(keys=keys, old_image={**image_key, "name": {"S": "Ada"}})
    # when it is read
    parsed = read_record(record, Policies())
    # then it is refused (so dead-lettered, never archived for a restore to write the image's key)
    assert isinstance(parsed, Unreadable)
    assert f"dynamodb.OldImage.PK is {shown}" in parsed.reason
    assert "make the two agree" in parsed.reason


@pytest.mark.parametrize(
    ("keys", "image_key"),
    [
        ({"PK": {"N": "1"}}, {"PK": {"N": "1.0"}}),  # numbers compare by value
        ({"PK": {"N": "-0"}}, {"PK": {"N": "0E+5"}}),
        ({"PK": {"N": "15E-1"}}, {"PK": {"N": "1.50"}}),
        ({"PK": {"B": "AQI="}}, {"PK": {"B": "AQJ="}}),  # the same bytes, spelt with other spare bits
        ({"PK": {"S": "a"}, "SK": {"N": "2"}}, {"SK": {"N": "2.00"}}),  # an image without PK: Keys gives it
    ],
)
def test_an_image_holding_the_same_key_in_another_spelling_is_archived(keys: dict, image_key: dict) -> None:
    item = read(remove_record(keys=keys, old_image={**image_key, "name": {"S": "Ada"}}))
    assert item.image == {**image_key, "name": {"S": "Ada"}}  # the image as received


def nested(levels: int, kind: str = "M", leaf: object = None) -> dict:
    """An attribute value ``levels`` maps (or lists) deep around ``leaf`` (a string by default)."""
    value = leaf if leaf is not None else {"S": "leaf"}
    for _ in range(levels):
        value = {"M": {"a": value}} if kind == "M" else {"L": [value]}
    return value


@pytest.mark.parametrize("kind", ["M", "L"])
def test_an_image_as_deep_as_dynamodb_allows_is_read(kind: str) -> None:
    # given an attribute nested 32 levels deep, and an empty map as the 33rd container
    image = {"deep": nested(MAX_NESTING, kind), "empty": nested(MAX_NESTING, kind, leaf={"M": {}})}
    # then it is archived as received
    assert read(remove_record(old_image=image)).image == image


@pytest.mark.parametrize("levels", [MAX_NESTING + 1, 5000])
@pytest.mark.parametrize("kind", ["M", "L"])
def test_an_image_deeper_than_dynamodb_allows_is_refused_naming_the_path_and_the_limit(kind: str, levels: int) -> None:
    # given an image nested deeper than any table holds (5,000 levels is past Python's recursion limit)
    parsed = read_record(remove_record(old_image={"deep": nested(levels, kind)}), Policies())
    # then it is refused where it passes the limit, not with a RecursionError
    assert isinstance(parsed, Unreadable)
    step = ".M.a" if kind == "M" else ".L[0]"
    assert f"dynamodb.OldImage.deep{step * (MAX_NESTING + 1)} is nested 33 levels deep" in parsed.reason
    assert "at most 32 levels deep" in parsed.reason


def test_a_deep_value_where_a_string_belongs_is_shown_not_a_recursion_error() -> None:
    deep_list: list = []
    for _ in range(5000):
        deep_list = [deep_list]
    parsed = read_record(remove_record(old_image={"s": {"S": deep_list}}), Policies())
    assert isinstance(parsed, Unreadable)
    assert parsed.reason.startswith("dynamodb.OldImage.s.S is [[[[")


def test_a_record_without_event_id_too_deep_to_identify_is_refused() -> None:
    # given a record with no eventID (so it is identified by its content) and a field too deep for JSON
    record = remove_record()
    del record["eventID"]
    record["extra"] = nested(5000)
    # then it is refused with the reason, not an internal RecursionError
    parsed = read_record(record, Policies())
    assert isinstance(parsed, Unreadable)
    assert "no eventID and cannot be identified by its content" in parsed.reason
