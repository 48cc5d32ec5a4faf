"""list_folder on threads, against the fake and S3 (moto): exactly the sequential walk's archive versions.

Pages are tiny here so that every table is split, again and again, on several threads at once.
"""

from __future__ import annotations

import base64
import itertools
from typing import TYPE_CHECKING

import pytest

from adapters.aws.s3_store import S3ArchiveStore
from adapters.cli.catalog import list_folder, list_table_versions
from archiver.archive import ArchiveObject
from archiver.keys import encode_key
from archiver.ports import ObjectNotFoundError
from tests.fakes import FakeArchiveStore
from tests.integration.conftest import BUCKET, FAST

if TYPE_CHECKING:
    from typing import Any

FOLDER = "archive/orders/"
VERSION = "20261125T100000Z-{:040d}-0123456789abcdef"


def _keys() -> list[dict[str, Any]]:
    """Key shapes that stress a split: shared prefixes, every type, digests, awkward characters."""
    keys: list[dict[str, Any]] = [{"PK": {"S": f"USER#{n}"}, "SK": {"S": "PROFILE"}} for n in range(40)]
    keys += [{"PK": {"N": str(n)}} for n in (-5, 0, 1, 10, 1.5, 12345678901234567890)]
    keys += [{"id": {"B": base64.b64encode(bytes([n, 255 - n])).decode()}} for n in range(0, 256, 37)]
    keys += [{"PK": {"S": text}} for text in ("café", "a/b", "~", "!", "*", "(x)", "x" * 600)]
    return keys


def _objects() -> list[str]:
    objects = [f"{FOLDER}{encode_key(key)}/{VERSION.format(n)}.json" for n, key in enumerate(_keys())]
    objects += [f"{FOLDER}{encode_key(_keys()[0])}/{VERSION.format(1000 + n)}.json" for n in range(5)]  # versions
    return objects


STRAYS = [f"{FOLDER}_dead-letters/{n:02d}.json" for n in range(12)] + [
    f"{FOLDER}notes.txt",
    "archive/orders-2/PK(S)x/" + VERSION.format(1) + ".json",
    "archive/other/x.json",
]


def _filled(request: pytest.FixtureRequest, backend: str) -> Any:
    """A function making a store, with a given page size, that holds every object and stray."""
    everything = [*_objects(), *STRAYS]
    if backend == "fake":
        fake = FakeArchiveStore()
        fake.objects.update({key: b"{}" for key in everything})
        return lambda _page: fake
    s3 = request.getfixturevalue("s3")
    for key in everything:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"{}")
    return lambda page: S3ArchiveStore(s3, BUCKET, retry=FAST, page_size=page)


@pytest.mark.parametrize(
    ("backend", "page_size"),
    [("fake", 1), ("fake", 2), ("fake", 3), ("fake", 7), ("moto", 3), ("moto", 7), ("moto", 1000)],
)
def test_the_parallel_listing_holds_exactly_the_archive_objects_of_the_walk(
    request: pytest.FixtureRequest, backend: str, page_size: int
) -> None:
    store = _filled(request, backend)(page_size)
    walk = [k for k in store.list_keys(FOLDER)]
    listed = list_folder(store, FOLDER, concurrency=4, page_size=page_size)
    assert listed is not None
    assert len(listed) == len(set(listed))  # nothing twice
    assert set(listed) <= set(walk)
    archive = set(_objects())
    assert archive <= set(listed)  # nothing missed
    versions = list_table_versions(store, "archive", "orders", concurrency=4, page_size=page_size)
    assert sorted(v.object_key for v in versions) == sorted(archive)  # dead letters and strays left out


def test_a_small_table_costs_one_request() -> None:
    store = FakeArchiveStore()
    store.objects.update({key: b"{}" for key in _objects()})
    assert list_folder(store, FOLDER, page_size=1000) == sorted(_objects())
    assert store.lists == 1


def test_a_stop_ends_the_listing_with_none() -> None:
    store = FakeArchiveStore()
    store.objects.update({key: b"{}" for key in _objects()})
    assert list_folder(store, FOLDER, page_size=2, stop=lambda: True) is None


@pytest.fixture(params=["fake", "moto"])
def store(request: pytest.FixtureRequest) -> Any:
    return FakeArchiveStore() if request.param == "fake" else request.getfixturevalue("store")


def test_listing_after_a_key_starts_past_it(store: Any) -> None:
    for n, key in zip(range(5), itertools.repeat({"PK": {"S": "a"}})):
        store.put(ArchiveObject(f"{FOLDER}{encode_key(key)}/{VERSION.format(n)}.json", b"{}", "orders", "", "user"))
    every = list(store.list_keys(FOLDER))
    assert list(store.list_keys(FOLDER, every[1])) == every[2:]
    assert list(store.list_keys(FOLDER, every[-1])) == []


def test_the_deletion_kind_is_read_from_metadata(store: Any) -> None:
    key = f"{FOLDER}{encode_key({'PK': {'S': 'a'}})}/{VERSION.format(1)}.json"
    store.put(ArchiveObject(key, b"{}", "orders", "PK(S)a", "ttl"))
    assert store.deletion_kind(key) == "ttl"
    with pytest.raises(ObjectNotFoundError):
        store.deletion_kind(key + ".missing")
