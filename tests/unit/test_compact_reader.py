"""The compact layout's reader: gzip JSON lines in, deletions (each once) or named problems out."""

from __future__ import annotations

import gzip
import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archiver.archive import build_archive_object, version_of
from archiver.compact_reader import CompactIndex, archive_body, read_compact_object
from archiver.keys import encode_key
from archiver.layouts import compact_object_key
from archiver.policy import TablePolicy
from archiver.ports import ObjectNotFoundError
from tests.compact_objects import CompactDeletions, compact_line, gzip_lines
from tests.fakes import FakeArchiveStore

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
OBJECT = compact_object_key("archive", "orders", T0, "batch-1")


def order(n: int) -> dict[str, Any]:
    return {"PK": {"S": f"USER#{n}"}, "SK": {"S": "ORDER"}}


@pytest.fixture
def deletions() -> CompactDeletions:
    return CompactDeletions(FakeArchiveStore())


def lines_of(deletions: CompactDeletions, count: int, *, ttl_every: int = 0) -> list[bytes]:
    ttl = [bool(ttl_every and n % ttl_every == 0) for n in range(count)]
    records = [
        deletions.record(order(n), T0 + timedelta(minutes=n), {"n": {"N": str(n)}}, ttl=ttl[n]) for n in range(count)
    ]
    return [compact_line(item, deletions.policy) for item in deletions.items(records)]


def test_each_line_is_a_deletion_named_by_the_compact_object_with_its_kind_and_body(
    deletions: CompactDeletions,
) -> None:
    # given three deletions, the middle one by TTL
    records = [deletions.record(order(n), T0 + timedelta(minutes=n), ttl=n == 1) for n in range(3)]
    items = deletions.items(records)

    read = read_compact_object(OBJECT, [gzip_lines(compact_line(i, deletions.policy) for i in items)], "orders")

    assert read.problems == () and read.line_count == 3
    assert [line.name.object_key for line in read.lines] == [OBJECT] * 3
    assert [line.name.version for line in read.lines] == [version_of(i) for i in items]
    assert [line.name.encoded_key for line in read.lines] == [encode_key(order(n)) for n in range(3)]
    assert [line.name.key for line in read.lines] == [order(n) for n in range(3)]
    assert [line.name.deleted_at for line in read.lines] == [T0 + timedelta(minutes=n) for n in range(3)]
    assert [line.kind for line in read.lines] == ["user", "ttl", "user"]
    # and each line, less its version, is the body the objects layout stores for that deletion
    assert archive_body(read.lines[0].body) == json.loads(build_archive_object(items[0], deletions.policy).body)


@given(cuts=st.lists(st.integers(0, 10_000), max_size=12), members=st.integers(1, 4))
def test_any_cut_of_the_bytes_and_any_number_of_gzip_members_read_the_same(cuts: list[int], members: int) -> None:
    deletions = CompactDeletions(FakeArchiveStore())
    lines = lines_of(deletions, 9)
    step = -(-len(lines) // members)
    data = b"".join(gzip_lines(lines[i : i + step]) for i in range(0, len(lines), step))
    points = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})

    read = read_compact_object(OBJECT, [data[a:b] for a, b in itertools.pairwise(points)], "orders")

    assert read.problems == ()
    assert [line.body for line in read.lines] == lines


@pytest.mark.parametrize(
    ("mangle", "says"),
    [
        (lambda data: b"not gzip at all", "incorrect header check"),
        (lambda data: data[: len(data) // 2], "truncated"),
        (lambda data: data[:-8] + bytes(8), "incorrect data check"),  # CRC-32 and size zeroed
        (lambda data: b"", "empty"),
        (lambda data: data + b"trailing junk", "incorrect header check"),
    ],
    ids=["not-gzip", "truncated", "bad-crc", "empty", "junk-after-a-member"],
)
def test_a_broken_gzip_stream_is_one_problem_naming_the_object_and_gives_no_deletion(
    deletions: CompactDeletions, mangle: Any, says: str
) -> None:
    data = gzip_lines(lines_of(deletions, 50))

    read = read_compact_object(OBJECT, [mangle(data)], "orders")

    assert read.lines == ()
    (problem,) = read.problems
    assert problem.startswith(f"{OBJECT}: bad gzip") and says in problem and "none of its lines is used" in problem


def test_zero_padding_after_a_member_is_read_as_gzip_reads_it(deletions: CompactDeletions) -> None:
    lines = lines_of(deletions, 2)
    data = gzip_lines(lines[:1]) + bytes(10) + gzip_lines(lines[1:]) + bytes(3)

    read = read_compact_object(OBJECT, [data], "orders")

    assert read.problems == () and [line.body for line in read.lines] == lines == gzip.decompress(data).splitlines()


def test_a_bad_line_is_named_by_number_and_the_object_s_other_lines_count(deletions: CompactDeletions) -> None:
    good = lines_of(deletions, 4)
    other_table = json.loads(good[3]) | {"table": "invoices"}
    wrong_encoding = json.loads(good[3]) | {"encodedKey": "PK(S)someone-else"}
    no_version = {k: v for k, v in json.loads(good[3]).items() if k != "version"}
    stored = [
        good[0],
        b'{"truncated": ',
        good[1],
        b"[1, 2]",
        json.dumps(other_table).encode(),
        json.dumps(wrong_encoding).encode(),
        json.dumps(no_version).encode(),
        json.dumps(json.loads(good[3]) | {"version": "yesterday"}).encode(),
        b"",
        good[2],
    ]

    read = read_compact_object(OBJECT, [gzip_lines(stored)], "orders")

    assert [line.body for line in read.lines] == good[:3]
    assert [p.removeprefix(f"{OBJECT}: ").split(" (")[0] for p in read.problems] == [
        "line 2 is not JSON",
        "line 4 is a JSON list, not an object",
        "line 5 is a deletion of table 'invoices', not 'orders'",
        f"line 6 says encodedKey 'PK(S)someone-else', but its key encodes to {encode_key(order(3))!r}",
        "line 7 has no archive version",
        "line 8 has no archive version",
    ]


def test_asked_for_one_key_only_its_lines_are_parsed_and_returned(deletions: CompactDeletions) -> None:
    lines = lines_of(deletions, 30)
    stored = [*lines[:10], b"{broken line of another key", *lines[10:]]

    read = read_compact_object(OBJECT, [gzip_lines(stored)], "orders", encoded_key=encode_key(order(7)))

    assert [line.name.key for line in read.lines] == [order(7)]
    assert read.problems == () and read.line_count == 31  # a broken line cannot be the key's: not parsed


def test_a_deletion_stored_in_two_objects_is_listed_once_whichever_object_is_read_first(
    deletions: CompactDeletions,
) -> None:
    # given a batch of 6, then its retried second half stored again as its own object (bisected)
    lines = lines_of(deletions, 6)
    whole = compact_object_key("archive", "orders", T0, "b-whole")
    half = compact_object_key("archive", "orders", T0, "a-half")
    reads = [read_compact_object(whole, [gzip_lines(lines)], "orders"),
             read_compact_object(half, [gzip_lines(lines[3:])], "orders")]  # fmt: skip

    for order_read in (reads, reads[::-1]):
        index = CompactIndex(keep_body=lambda name: True)
        for read in order_read:
            index.add(read)
        # then each deletion once, newest first, the copy in the object whose key sorts first
        names = index.names()
        assert [n.key for n in names] == [order(n) for n in range(5, -1, -1)]
        assert [n.object_key for n in names] == [half] * 3 + [whole] * 3
        assert (index.objects, index.lines) == (2, 9)
        assert index.body(names[0]) == lines[5]


def test_the_index_keeps_only_the_bodies_asked_for(deletions: CompactDeletions) -> None:
    read = read_compact_object(OBJECT, [gzip_lines(lines_of(deletions, 4, ttl_every=2))], "orders")
    index = CompactIndex(keep_body=lambda name: name.encoded_key == encode_key(order(1)))
    index.add(read)

    kept, dropped = (next(n for n in index.names() if n.key == order(k)) for k in (1, 2))

    assert json.loads(index.body(kept))["key"] == order(1)
    with pytest.raises(ObjectNotFoundError, match="no line of PK"):
        index.body(dropped)
    assert (index.kind(kept), index.kind(dropped)) == ("user", "ttl")


def test_a_digest_form_key_is_listed_with_its_key_from_the_line() -> None:
    long_key = {"PK": {"S": "x" * 600}}
    deletions = CompactDeletions(FakeArchiveStore(), policy=TablePolicy())
    (item,) = deletions.items([deletions.record(long_key, T0)])

    (line,) = read_compact_object(OBJECT, [gzip_lines([compact_line(item, deletions.policy)])], "orders").lines

    assert line.name.encoded_key.startswith("sha256-") and line.name.key == long_key
