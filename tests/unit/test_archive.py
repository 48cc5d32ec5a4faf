"""From a deletion to its object: the path, the version, and a body that loses nothing."""

from __future__ import annotations

import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from archiver.archive import build_archive_object
from archiver.policy import DeletionKind, Policies, TablePolicy
from archiver.records import DeletedItem, read_record
from tests.builders import remove_record

POLICY = TablePolicy()


def archived(record: dict, policy: TablePolicy = POLICY) -> tuple[str, dict]:
    item = read_record(record, Policies(default=policy))
    assert isinstance(item, DeletedItem), item
    obj = build_archive_object(item, policy)
    return obj.key, json.loads(obj.body)


def test_object_key_is_prefix_table_key_version() -> None:
    key, _ = archived(remove_record(event_id="e1", sequence="111100000000000000001", created=1700000000))
    assert key.startswith("archive/orders/PK(S)USER!23123*SK(S)PROFILE/20231114T221320Z-")
    assert key.endswith(".json")
    assert "-0000000000000000000111100000000000000001-" in key


def test_redelivery_gives_the_same_object_and_a_new_deletion_a_new_one() -> None:
    first = archived(remove_record(event_id="e1"))
    assert archived(remove_record(event_id="e1")) == first
    later = archived(remove_record(event_id="e2", sequence="111200000000000000001", created=1700000100))
    assert later[0] != first[0]
    assert later[0] > first[0]  # later deletions sort after earlier ones


def test_records_sharing_a_sequence_number_still_get_distinct_versions() -> None:
    assert archived(remove_record(event_id="a"))[0] != archived(remove_record(event_id="b"))[0]


def test_versions_sort_by_sequence_number_as_an_integer() -> None:
    short = archived(remove_record(event_id="a", sequence="9" * 21))[0]
    long = archived(remove_record(event_id="b", sequence="1" + "0" * 39))[0]
    assert short < long


def test_body_holds_the_image_losslessly_and_the_stream_identifiers() -> None:
    image = {
        "PK": {"S": "USER#123"},
        "SK": {"S": "PROFILE"},
        "n": {"N": "1.50"},
        "b": {"B": "AAEqQQ=="},
        "bs": {"BS": ["AAE=", "AAI="]},
        "ns": {"NS": ["1", "2.0"]},
        "m": {"M": {"l": {"L": [{"NULL": True}, {"BOOL": False}, {"SS": ["x", "y"]}]}}},
    }
    _, body = archived(remove_record(old_image=image, ttl=True))
    assert body["image"] == image  # numbers as strings, exactly as received
    assert body["schemaVersion"] == 1
    assert body["table"] == "orders"
    assert body["key"] == {"PK": {"S": "USER#123"}, "SK": {"S": "PROFILE"}}
    assert body["deletion"] == {"kind": "ttl", "evidence": "userIdentity"}
    assert body["deletedAt"] == "2023-11-14T22:13:20Z"
    assert body["stream"]["eventID"] == "e1"
    assert body["stream"]["region"] == "eu-west-1"
    assert body["stream"]["eventSourceARN"].startswith("arn:aws:dynamodb:eu-west-1")


def test_missing_image_is_marked_not_dropped() -> None:
    _, body = archived(remove_record(view="KEYS_ONLY"))
    assert body["imageMissing"] is True and body["image"] is None
    assert body["key"] == {"PK": {"S": "USER#123"}, "SK": {"S": "PROFILE"}}


def test_dropped_attributes_leave_the_key_alone_and_are_listed() -> None:
    policy = TablePolicy(drop_attributes=frozenset({"name", "PK"}))
    _, body = archived(remove_record(), policy)
    assert "name" not in body["image"] and "PK" in body["image"]
    assert body["droppedAttributes"] == ["name"]


def test_prefix_and_kind_follow_the_policy() -> None:
    policy = TablePolicy(prefix="deleted/v1", capture=frozenset({DeletionKind.TTL}))
    key, _ = archived(remove_record(), policy)
    assert key.startswith("deleted/v1/orders/")


def body_of(record: dict) -> bytes:
    item = read_record(record, Policies())
    assert isinstance(item, DeletedItem), item
    return build_archive_object(item, POLICY).body


def test_a_lone_surrogate_is_written_as_an_escape_so_the_body_stays_utf8_and_exact() -> None:
    # given a non-key string and an attribute name holding lone surrogates (a JSON event can: "\ud800")
    image = {"PK": {"S": "USER#123"}, "SK": {"S": "PROFILE"}, "s": {"S": "a\ud800b\udfff"}, "n\udc80": {"S": "é😀"}}
    body = body_of(remove_record(old_image=image))
    # then the body is strict UTF-8 JSON that gives back the exact strings
    parsed = json.loads(body.decode("utf-8"))
    assert parsed["image"] == image
    # the surrogates are escaped, every other character is written as itself, as before
    assert b"a\\ud800b\\udfff" in body and "é😀".encode() in body
    # and the same record still gives the same bytes
    assert body_of(remove_record(old_image=image)) == body


#: Strings a JSON event can carry: any code point, lone surrogates included, but never a high surrogate
#: right before a low one (JSON reads that escaped pair as one astral character).
_event_text = st.text(st.one_of(st.characters(), st.characters(categories=["Cs"]))).filter(
    lambda text: re.search("[\ud800-\udbff][\udc00-\udfff]", text) is None
)


@settings(max_examples=200, deadline=None)
@given(text=_event_text, name=_event_text.filter(bool))
def test_every_body_is_valid_utf8_json_that_round_trips(text: str, name: str) -> None:
    image = {"PK": {"S": "USER#123"}, "SK": {"S": "PROFILE"}, name: {"S": text}}
    body = body_of(remove_record(old_image=image))
    assert json.loads(body.decode("utf-8"))["image"] == image
