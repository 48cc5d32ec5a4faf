"""`--key` parsing: DynamoDB JSON always, plain values where the table's key schema types them."""

from __future__ import annotations

import json

import pytest

from adapters.cli.catalog import KeyArgumentError, item_from_wire, parse_key_argument
from adapters.config import KeyAttribute, KeySchema
from archiver.keys import encode_key
from archiver.restore_plan import ArchivedImage, image_to_restore

ORDERS = KeySchema(partition_key=KeyAttribute(name="PK", type="S"), sort_key=KeyAttribute(name="SK", type="N"))
SESSIONS = KeySchema(partition_key=KeyAttribute(name="session_id", type="B"))


def test_dynamodb_json_is_taken_as_it_is_and_canonicalised() -> None:
    key = parse_key_argument('{"SK": {"N": "1.50"}, "PK": {"S": "USER#123"}}', ORDERS)
    assert key == {"PK": {"S": "USER#123"}, "SK": {"N": "1.5"}}


def test_dynamodb_json_works_without_a_key_schema() -> None:
    assert parse_key_argument('{"PK": {"S": "a/b c"}}', None) == {"PK": {"S": "a/b c"}}


def test_plain_values_are_typed_from_the_key_schema() -> None:
    assert parse_key_argument('{"PK": "USER#123", "SK": 42}', ORDERS) == {"PK": {"S": "USER#123"}, "SK": {"N": "42"}}
    assert parse_key_argument('{"session_id": "AP8="}', SESSIONS) == {"session_id": {"B": "AP8="}}


@pytest.mark.parametrize(
    ("number", "canonical"),
    [
        ("1.0000000000000000000000000001", "1.0000000000000000000000000001"),
        ("12345678901234567890123456789012345679", "12345678901234567890123456789012345679"),
        ("1.50e2", "150"),
    ],
)
def test_a_plain_number_reaches_the_key_exactly_not_as_a_float(number: str, canonical: str) -> None:
    # a JSON number parsed as a float kept 17 digits: 1.0000000000000000000000000001 was the key 1
    assert parse_key_argument(f'{{"PK": "a", "SK": {number}}}', ORDERS)["SK"] == {"N": canonical}


@pytest.mark.parametrize(
    ("text", "schema", "message"),
    [
        ("{not json", ORDERS, "--key is not JSON"),
        ("[1]", ORDERS, "expected a JSON object"),
        ('{"PK": "x"}', ORDERS, "this table's key is PK (S), SK (N)"),
        ('{"PK": "x"}', None, "without a key_schema"),
        ('{"PK": "x", "SK": "not a number"}', ORDERS, "not a number"),
        ('{"session_id": "not base64!"}', SESSIONS, "not base64"),
        ('{"PK": true, "SK": 1}', ORDERS, "'PK' is true; expected an S value"),
        ('{"PK": 1.5, "SK": 1}', ORDERS, '\'PK\' is 1.5; an S value is given as a JSON string, e.g. {"PK": "1.5"}'),
        ('{"PK": [123], "SK": 1}', ORDERS, "'PK' is [123]; expected an S value"),
        ('{"PK": {"S": 123}}', None, 'has type "S" with value 123; key attributes are S, N or B with a string value'),
        ('{"PK": {"X": "1"}, "SK": 1}', ORDERS, "'PK' has type tag \"X\"; a key attribute's type is S, N or B"),
        ('{"PK": {"X": "1"}}', None, "'PK' has type tag \"X\"; a key attribute's type is S, N or B"),
        ('{"PK": {"N": "1"}, "SK": 1}', ORDERS, "'PK' is given as N, but this table's key_schema says S"),
        ("[" * 100_000 + "]" * 100_000, None, "--key is JSON nested too deep to read (200,000 characters)"),
        ('{"PK": "x", "SK": 1E+126}', ORDERS, "whose magnitude DynamoDB refuses"),
        ('{"PK": "x", "SK": NaN}', ORDERS, "not finite"),
    ],
)
def test_a_bad_key_says_what_would_be_accepted(text: str, schema: KeySchema | None, message: str) -> None:
    with pytest.raises(KeyArgumentError) as refused:
        parse_key_argument(text, schema)
    assert message in str(refused.value)
    assert "Decimal" not in str(refused.value)


def test_restore_puts_binary_values_back_as_bytes() -> None:
    key = {"session_id": {"B": "AP8="}}
    body = {
        "key": key,
        "image": {"session_id": {"B": "AP8="}, "tags": {"BS": ["AQ=="]}, "m": {"M": {"x": {"B": "Ag=="}}}},
        "imageMissing": False,
    }
    image = image_to_restore(json.dumps(body).encode(), encode_key(key))
    assert isinstance(image, ArchivedImage)
    assert item_from_wire(image.item) == {
        "session_id": {"B": b"\x00\xff"},
        "tags": {"BS": [b"\x01"]},
        "m": {"M": {"x": {"B": b"\x02"}}},
    }


def test_item_from_wire_leaves_other_types_alone() -> None:
    assert item_from_wire({"a": {"S": "B"}, "B": {"N": "1"}}) == {"a": {"S": "B"}, "B": {"N": "1"}}
