"""Hypothesis against the proof of concept's naming, ``<table>/PK_<v>_SK_<v>.json``.

Each test asks hypothesis to find a key that breaks one property of issue 2 under the old naming,
asserts that it finds one, and then checks that ``encode_key`` survives the very same example.
The minimal examples it finds are the bugs the new encoding exists to fix.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import defaultdict
from fractions import Fraction
from typing import TYPE_CHECKING

from hypothesis import find, settings
from hypothesis import strategies as st

from archiver.archive import build_archive_object
from archiver.keys import canonical_key, encode_key
from archiver.policy import Policies, TablePolicy
from archiver.records import DeletedItem, read_record
from tests import strategies as kst
from tests.builders import remove_record

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

# derandomize: the search is the same on every run, so a pass is not luck and a failure is not flaky.
SEARCH = settings(max_examples=5000, database=None, deadline=None, derandomize=True)
S3_SAFE = re.compile(r"[A-Za-z0-9!\-_.*'()/]+")


def legacy_path(table: str, key: Mapping[str, Mapping[str, str]]) -> str:
    """What the proof of concept wrote: attribute names and raw values joined by '_'."""
    parts = [f"{name}_{value}" for name, attribute in key.items() for value in attribute.values()]
    return f"{table}/{'_'.join(parts)}.json"


def _small_keys() -> Iterator[dict[str, dict[str, str]]]:
    """Every key of one or two attributes named PK/SK, typed S or N, valued 1-3 of '1', '_', 'S', 'K'.

    Small enough to enumerate (about 57,000 keys, a second), so the search below is exhaustive
    rather than a sample: it cannot pass or fail by luck or by how busy the machine is.
    """
    values = ["".join(chars) for size in (1, 2, 3) for chars in itertools.product("1_SK", repeat=size)]
    attributes = [(kind, value) for kind in ("S", "N") for value in values]
    for name in ("PK", "SK"):
        for kind, value in attributes:
            yield {name: {kind: value}}
    for first, second in (("PK", "SK"), ("SK", "PK")):
        for (kind_a, value_a), (kind_b, value_b) in itertools.product(attributes, repeat=2):
            yield {first: {kind_a: value_a}, second: {kind_b: value_b}}


def _valid(key: dict) -> bool:
    try:
        canonical_key(key)
    except ValueError:
        return False
    return True


def test_old_naming_gives_two_keys_one_path_new_naming_does_not() -> None:
    by_path: dict[str, dict[str, dict]] = defaultdict(dict)  # legacy path -> {canonical form: key}
    for key in filter(_valid, _small_keys()):
        by_path[legacy_path("t", key)].setdefault(json.dumps(canonical_key(key), sort_keys=True), key)
    shared = {path: list(keys.values()) for path, keys in by_path.items() if len(keys) > 1}

    assert "t/SK_1.json" in shared  # {SK: S "1"} and {SK: N "1"}: two keys, one old path
    for keys in shared.values():
        assert len({encode_key(key) for key in keys}) == len(keys)


def test_old_naming_gives_one_number_two_paths_new_naming_does_not() -> None:
    first, second = find(
        kst.numbers().flatmap(lambda n: st.tuples(kst.spellings(n), kst.spellings(n))),
        lambda pair: legacy_path("t", {"PK": {"N": pair[0]}}) != legacy_path("t", {"PK": {"N": pair[1]}}),
        settings=SEARCH,
    )
    assert Fraction(first) == Fraction(second)
    assert encode_key({"PK": {"N": first}}) == encode_key({"PK": {"N": second}})


def test_old_naming_leaves_s3s_safe_characters_new_naming_does_not() -> None:
    key = find(kst.keys(), lambda k: S3_SAFE.fullmatch(legacy_path("t", k)) is None, settings=SEARCH)
    assert re.fullmatch(r"[A-Za-z0-9!\-_.*'()]+", encode_key(key))


def test_old_naming_makes_false_folders_new_naming_does_not() -> None:
    key = find(kst.keys(), lambda k: legacy_path("t", k).count("/") > 1, settings=SEARCH)
    assert "/" not in encode_key(key)


def test_old_naming_overflows_s3s_key_limit_new_naming_does_not() -> None:
    key = find(kst.keys(), lambda k: len(legacy_path("t", k).encode()) > 1024, settings=SEARCH)
    assert len(encode_key(key)) <= 512


def test_old_naming_overwrites_a_second_deletion_of_the_same_key_new_naming_keeps_both() -> None:
    # given one key deleted, re-created and deleted again: two stream records
    first = remove_record(event_id="first", sequence="100000000000000000001", created=1700000000)
    second = remove_record(event_id="second", sequence="100000000000000000002", created=1700000060)
    # the old naming gives both the same path, so the second overwrote the first
    assert legacy_path("orders", first["dynamodb"]["Keys"]) == legacy_path("orders", second["dynamodb"]["Keys"])
    # the new one gives two objects, in deletion order
    paths = [_object_key(first), _object_key(second)]
    assert paths[0] < paths[1]


def _object_key(record: dict) -> str:
    item = read_record(record, Policies())
    assert isinstance(item, DeletedItem)
    return build_archive_object(item, TablePolicy()).key
