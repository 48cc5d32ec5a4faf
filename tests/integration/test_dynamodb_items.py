"""DynamoDBItemTable on moto: conditional puts, every attribute type exact, throttling retried."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.aws.dynamodb_items import DynamoDBItemTable
from archiver.ports import ItemTableError, TableNotFoundError
from tests.integration.conftest import FAST
from tests.integration.faults import FlakyClient, client_error

TABLE = "orders"
KEY = {"PK": {"S": "USER#1"}, "SK": {"S": "ORDER#7"}}
#: Every attribute type, as the archive holds it (wire DynamoDB JSON: binaries base64, numbers text).
ITEM: dict[str, Any] = {
    **KEY,
    "s": {"S": "café ☕"},
    "n": {"N": "12345678901234567890123456789012345678"},
    "tiny": {"N": "-1.2345678901234567890123456789012345678E-100"},
    "b": {"B": "AP8A/w=="},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "99999999999999999999999999999999999999"]},
    "bs": {"BS": ["AQ==", "Ag=="]},
    "m": {"M": {"nested": {"L": [{"B": "Aw=="}, {"N": "0.1"}, {"NULL": True}]}}},
    "l": {"L": [{"S": "x"}, {"BOOL": False}]},
    "bool": {"BOOL": True},
    "null": {"NULL": True},
}


@pytest.fixture
def dynamodb(orders_table: Any) -> Any:
    return orders_table


def test_every_attribute_type_goes_back_exactly(dynamodb: Any) -> None:
    writer = DynamoDBItemTable(dynamodb, retry=FAST)
    assert writer.put_if_absent(TABLE, ITEM, KEY) is True
    item = dynamodb.get_item(TableName=TABLE, Key=KEY, ConsistentRead=True)["Item"]
    assert item["n"] == {"N": "12345678901234567890123456789012345678"}
    assert item["tiny"] == ITEM["tiny"]
    assert item["b"] == {"B": b"\x00\xff\x00\xff"}
    assert sorted(item["bs"]["BS"]) == [b"\x01", b"\x02"]
    assert sorted(item["ns"]["NS"]) == sorted(ITEM["ns"]["NS"])
    assert item["m"] == {"M": {"nested": {"L": [{"B": b"\x03"}, {"N": "0.1"}, {"NULL": True}]}}}
    assert (item["l"], item["bool"], item["null"], item["s"]) == (ITEM["l"], ITEM["bool"], ITEM["null"], ITEM["s"])


def test_a_live_item_is_never_overwritten(dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item={**KEY, "v": {"S": "live"}})
    writer = DynamoDBItemTable(dynamodb, retry=FAST)
    assert writer.exists(TABLE, KEY) is True
    assert writer.put_if_absent(TABLE, {**KEY, "v": {"S": "archived"}}, KEY) is False
    assert dynamodb.get_item(TableName=TABLE, Key=KEY)["Item"]["v"] == {"S": "live"}


@pytest.mark.parametrize(
    "fault",
    [
        client_error("ProvisionedThroughputExceededException", 400, "PutItem"),
        client_error("ThrottlingException", 400, "PutItem"),
        client_error("InternalServerError", 500, "PutItem"),
    ],
)
def test_throttling_and_5xx_are_retried_until_the_item_is_written(dynamodb: Any, fault: Exception) -> None:
    flaky = FlakyClient(dynamodb, faults={"put_item": [fault, fault, fault]})
    writer = DynamoDBItemTable(flaky, retry=FAST)
    assert writer.put_if_absent(TABLE, ITEM, KEY) is True
    assert flaky.calls["put_item"] == 4
    assert "Item" in dynamodb.get_item(TableName=TABLE, Key=KEY)


def test_a_rejected_item_is_not_retried_and_says_why(dynamodb: Any) -> None:
    flaky = FlakyClient(dynamodb, always={"put_item": client_error("ValidationException", 400, "PutItem")})
    with pytest.raises(ItemTableError, match=r"ValidationException.*table 'orders'"):
        DynamoDBItemTable(flaky, retry=FAST).put_if_absent(TABLE, ITEM, KEY)
    assert flaky.calls["put_item"] == 1


def test_a_missing_table_is_named_and_an_existing_one_gives_its_key(dynamodb: Any) -> None:
    writer = DynamoDBItemTable(dynamodb, retry=FAST)
    assert writer.key_schema(TABLE) == {"PK": "S", "SK": "S"}
    with pytest.raises(TableNotFoundError, match="table 'ordres' does not exist in eu-west-1"):
        writer.key_schema("ordres")
