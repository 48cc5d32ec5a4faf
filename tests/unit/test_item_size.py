"""item_size: an item's size as DynamoDB documents it, checked on the documented rules one by one."""

from __future__ import annotations

import base64

import pytest

from archiver.item_size import MAX_ITEM_BYTES, item_size


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ({"S": "héllo"}, 6),  # UTF-8 bytes
        ({"N": "123"}, 3),  # two bytes of digits (rounded up), plus one
        ({"N": "-0012.3400"}, 3),  # leading and trailing zeros trimmed: 1234
        ({"N": "1E+125"}, 2),
        ({"B": base64.b64encode(b"\x00" * 10).decode()}, 10),  # raw bytes, not the base64 text
        ({"BOOL": True}, 1),
        ({"NULL": True}, 1),
        ({"SS": ["ab", "c"]}, 3),
        ({"NS": ["1", "22"]}, 4),
        ({"L": []}, 3),
        ({"L": [{"S": "ab"}, {"N": "1"}]}, 3 + (1 + 2) + (1 + 2)),
        ({"M": {"k": {"S": "ab"}}}, 3 + 1 + 1 + 2),  # a map's keys count as names
    ],
)
def test_each_type_counts_as_documented(value, size):
    assert item_size({"a": value}) == len("a") + size


def test_the_limit_is_400_kb():
    assert MAX_ITEM_BYTES == 409_600


def test_a_value_of_no_known_type_counts_by_its_text_rather_than_as_nothing():
    assert item_size({"a": {"X": "y" * 100}}) >= 100
