"""The ``_dead-letters/`` folder sits in a table's folder without ever being taken for an archived key."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings

from adapters.cli.catalog import list_versions, parse_object_key
from archiver.archive import DEAD_LETTER_FOLDER, dead_letter_key, key_folder
from archiver.keys import encode_key
from tests.fakes import FakeArchiveStore
from tests.strategies import keys

DIGEST = "ab" * 32
VERSION = "20231114T221320Z-0000000000000000000111100000000000000001-8b5cc4df7eec7d32"


def test_a_dead_letter_is_filed_by_table_day_and_content():
    assert dead_letter_key("archive", "orders", date(2026, 1, 30), DIGEST) == (
        f"archive/orders/_dead-letters/2026-01-30/{DIGEST}.json"
    )
    assert dead_letter_key("", "orders", date(2026, 1, 30), DIGEST).startswith("orders/_dead-letters/")


def test_the_catalog_does_not_take_a_dead_letter_for_an_archived_version():
    object_key = dead_letter_key("archive", "orders", date(2026, 1, 30), DIGEST)
    # even one lying directly in the folder, where a version would be
    flat = f"archive/orders/{DEAD_LETTER_FOLDER}/{VERSION}.json"

    assert parse_object_key(object_key, "archive", "orders") is None
    assert parse_object_key(flat, "archive", "orders") is None
    assert parse_object_key(f"archive/orders/PK(S)x/{VERSION}.json", "archive", "orders") is not None


def test_a_table_listing_passes_over_its_dead_letters():
    store = FakeArchiveStore()
    store.objects[dead_letter_key("archive", "orders", date(2026, 1, 30), DIGEST)] = b"{}"
    store.objects[f"archive/orders/PK(S)x/{VERSION}.json"] = b"{}"

    listed = list_versions(store, "archive", "orders")

    assert [v.encoded_key for v in listed] == ["PK(S)x"]


@settings(max_examples=200, deadline=None)
@given(key=keys())
def test_no_encoded_key_is_the_dead_letter_folder(key):
    encoded = encode_key(key)

    assert encoded != DEAD_LETTER_FOLDER
    assert not key_folder("archive", "orders", encoded).startswith(f"archive/orders/{DEAD_LETTER_FOLDER}/")
