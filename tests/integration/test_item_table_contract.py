"""One ItemTable contract, two implementations: FakeItemTable and DynamoDBItemTable over moto.

The Restorer's unit tests trust the fake's refusals (an item over 400 KB, one missing a key
attribute) and its key schema; these checks make DynamoDB (as moto plays it) promise the same.
"""

from __future__ import annotations

from typing import Any

import pytest

from adapters.aws.dynamodb_items import DynamoDBItemTable
from archiver.item_size import MAX_ITEM_BYTES
from archiver.ports import ItemTable, ItemTableError, TableNotFoundError
from tests.fakes import FakeItemTable
from tests.integration.conftest import FAST

TABLE = "orders"
KEY = {"PK": {"S": "USER#1"}, "SK": {"S": "ORDER#7"}}
ITEM = {**KEY, "total": {"N": "12.50"}}


@pytest.fixture(params=["fake", "moto"])
def table(request: pytest.FixtureRequest) -> ItemTable:
    if request.param == "fake":
        return FakeItemTable(key_schemas={TABLE: {"PK": "S", "SK": "S"}})
    client: Any = request.getfixturevalue("orders_table")
    return DynamoDBItemTable(client, retry=FAST)


def test_the_key_schema_names_each_key_attribute_and_its_type(table):
    assert dict(table.key_schema(TABLE)) == {"PK": "S", "SK": "S"}


def test_a_table_that_is_not_there_raises_table_not_found(table):
    with pytest.raises(TableNotFoundError):
        table.key_schema("no-such-table")


def test_a_put_writes_only_where_no_item_has_the_key(table):
    assert table.exists(TABLE, KEY) is False
    assert table.put_if_absent(TABLE, ITEM, KEY) is True
    assert table.put_if_absent(TABLE, {**ITEM, "total": {"N": "99"}}, KEY) is False
    assert table.exists(TABLE, KEY) is True


def test_an_item_over_400_kb_is_refused(table):
    big = {**ITEM, "note": {"S": "x" * MAX_ITEM_BYTES}}

    with pytest.raises(ItemTableError):
        table.put_if_absent(TABLE, big, KEY)

    assert table.exists(TABLE, KEY) is False


def test_an_item_missing_a_key_attribute_is_refused(table):
    with pytest.raises(ItemTableError):
        table.put_if_absent(TABLE, {"PK": KEY["PK"], "total": {"N": "1"}}, {"PK": KEY["PK"]})
